"""The report's tables as plain (headers, rows) data, rendered to Markdown and HTML by their writers, and the
long-format CSV (one row per comparison, arm and slice) for analysis elsewhere.

Tables: BLEU per arm and slice with 95% intervals and parameter counts; the difference to `none` with its
paired-bootstrap p-value; each arm's drop with length and the interaction test; chrF and the length ratio per
arm and slice; and every run found, with its status (failed and incomplete runs included).

In the CSV, each arm also has a `drop` row (slice "drop <short>-><longest>"): `bleu` and `ci_*` hold its drop
(short-slice BLEU minus longest-bucket BLEU), `interaction*` the test drop(none) - drop(arm).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from attention_nmt.evaluation.results import RunResults
from attention_nmt.report.collect import Run
from attention_nmt.report.scores import ArmScores, ComparisonScores, SliceScore

ALPHA = 0.05
Table = tuple[list[str], list[list[str]]]  # headers, rows of cells

CSV_COLUMNS = [
    "comparison",
    "test_set",
    "arm",
    "attention",
    "runs",
    "seeds",
    "num_parameters",
    "slice",
    "lower",
    "upper",
    "sentences",
    "bleu",
    "ci_low",
    "ci_high",
    "seed_bleus",
    "seed_sd",
    "baseline",
    "delta",
    "delta_ci_low",
    "delta_ci_high",
    "p_value",
    "significant",
    "p_holm",
    "chrf",
    "length_ratio",
    "interaction",
    "interaction_ci_low",
    "interaction_ci_high",
    "interaction_p",
    "bootstrap",
]


def _params(counts: Sequence[int]) -> str:
    return " / ".join(f"{c:,}" for c in counts)


def _slice_header(piece: SliceScore) -> str:
    return f"{piece.label} (n={piece.n})"


def bleu_table(scores: ComparisonScores) -> Table:
    """Arm x slice: 'BLEU [low, high]' (mean over seeds, 95% bootstrap interval); with several seeds, a last
    column gives each seed's overall BLEU."""
    headers = ["arm", "seeds", "parameters", *(_slice_header(p) for p in scores.arms[0].slices)]
    rows = [
        [
            a.arm.label,
            str(len(a.arm.runs)),
            _params(a.num_parameters),
            *(f"{p.bleu:.2f} [{p.ci[0]:.2f}, {p.ci[1]:.2f}]" for p in a.slices),
        ]
        for a in scores.arms
    ]
    if any(len(a.arm.runs) > 1 for a in scores.arms):  # the spread the intervals do not cover
        headers.append("each seed, all")
        for row, arm in zip(rows, scores.arms):
            row.append(", ".join(f"{seed}: {b:.2f}" for seed, b in zip(arm.arm.seeds, arm.overall.seed_bleus)))
    return headers, rows


def format_delta(piece: SliceScore) -> str:
    """'+2.31 (p=0.002*)': difference to the baseline and its p-value, starred below ALPHA."""
    if piece.delta is None or piece.p_value is None:
        return "-"
    star = "*" if piece.p_value < ALPHA else ""
    return f"{piece.delta:+.2f} (p={piece.p_value:.3f}{star})"


def delta_table(scores: ComparisonScores) -> Table | None:
    """Arm x slice: difference to its `none` arm and the paired p-value; None when no arm has a baseline."""
    compared = [a for a in scores.arms if a.baseline is not None]
    if not compared:
        return None
    headers = ["arm", "compared with", *(_slice_header(p) for p in scores.arms[0].slices)]
    rows = [[a.arm.label, a.baseline or "", *(format_delta(p) for p in a.slices)] for a in compared]
    return headers, rows


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def chrf_table(scores: ComparisonScores) -> Table:
    """Arm x slice: chrF (mean over seeds)."""
    headers = ["arm", *(_slice_header(p) for p in scores.arms[0].slices)]
    return headers, [[a.arm.label, *(_number(p.chrf) for p in a.slices)] for a in scores.arms]


def length_ratio_table(scores: ComparisonScores) -> Table:
    """Arm x slice: hypothesis words / reference words (mean over seeds); below 1 truncates, above 1 wanders."""
    headers = ["arm", *(_slice_header(p) for p in scores.arms[0].slices)]
    return headers, [[a.arm.label, *(_number(p.length_ratio, 3) for p in a.slices)] for a in scores.arms]


def _interval(low: float, high: float) -> str:
    return f"[{low:+.2f}, {high:+.2f}]"


def drop_table(scores: ComparisonScores) -> Table | None:
    """Per arm: short-slice BLEU, longest-bucket BLEU, the drop [95% interval]; per attention arm the gap on the
    longest bucket with its Holm-corrected p and the interaction drop(none) - drop(arm) [interval] with p.
    None when no drop was measured (one bucket, or no short sources below the longest)."""
    measured = [a for a in scores.arms if a.drop is not None]
    if not measured:
        return None
    first = measured[0].drop
    headers = [
        "arm",
        f"BLEU {first.short_label} (n={first.short_n})",
        f"BLEU {first.long_label} (n={first.long_n})",
        "drop [95% interval]",
        f"minus none on {first.long_label} (Holm p)",
        "interaction: drop(none) - drop(arm) [95% interval]",
        "interaction p",
    ]
    return headers, [_drop_row(a) for a in measured]


def _drop_row(arm: ArmScores) -> list[str]:
    drop, longest, found = arm.drop, arm.buckets[-1], arm.interaction
    gap = "-" if longest.delta is None else f"{longest.delta:+.2f} (Holm p={_number(longest.p_holm, 3)})"
    return [
        arm.arm.label,
        f"{drop.short_bleu:.2f}",
        f"{drop.long_bleu:.2f}",
        f"{drop.value:+.2f} {_interval(*drop.ci)}",
        gap,
        "-" if found is None else f"{found.value:+.2f} {_interval(*found.ci)}",
        "-" if found is None else f"{found.p_value:.3f}",
    ]


def runs_table(runs: Sequence[Run], root: Path | None = None) -> Table:
    """Every run folder found: status, arm, seed, overall BLEU, updates, training time and tokens/s from
    results.json, its W&B run (URL when online, else id), and why it is unusable."""
    headers = ["run", "status", "attention", "seed", "BLEU", "updates", "train time", "tokens/s", "W&B", "note"]
    rows = []
    for run in runs:
        name = str(run.path.relative_to(root)) if root and run.path.is_relative_to(root) else str(run.path)
        bleu = f"{run.results.test.bleu:.2f}" if run.ok else "-"
        seed = str(run.seed if run.seed is not None else "?")
        rows.append([name, run.status, run.attention, seed, bleu, *_training_cells(run.results), run.reason])
    return headers, rows


def _training_cells(results: RunResults | None) -> list[str]:
    """updates, training time, training tokens/s and the W&B run of a results.json ("-" where it has none,
    e.g. an evaluate run or an unfinished one)."""
    if results is None:
        return ["-"] * 4
    steps, seconds, speed = results.global_step, results.train_time_s, results.train_tokens_per_s
    wandb = results.wandb or {}
    return [
        f"{steps:,}" if steps is not None else "-",
        _duration(seconds) if seconds is not None else "-",
        f"{speed:,.0f}" if speed is not None else "-",
        wandb.get("url") or wandb.get("id") or "-",
    ]


def _duration(seconds: float) -> str:
    """1 h 02 min, 15 min 49 s, 42 s."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _escape_markdown(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def to_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table."""
    headers, rows = table
    lines = ["| " + " | ".join(map(_escape_markdown, headers)) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(map(_escape_markdown, row)) + " |" for row in rows]
    return "\n".join(lines)


def csv_rows(all_scores: Sequence[ComparisonScores]) -> list[dict[str, Any]]:
    """One dict per comparison, arm and slice (then the arm's drop row), keyed by CSV_COLUMNS; floats unrounded."""
    rows = []
    for scores in all_scores:
        for arm in scores.arms:
            common = {
                "comparison": scores.comparison.name,
                "test_set": scores.comparison.test_id,
                "arm": arm.arm.label,
                "attention": arm.arm.attention,
                "runs": len(arm.arm.runs),
                "seeds": ";".join(str(s) for s in arm.arm.seeds),
                "num_parameters": ";".join(map(str, arm.num_parameters)),
                "baseline": arm.baseline,
                "bootstrap": scores.bootstrap,
            }
            for piece in arm.slices:
                rows.append(
                    {
                        **common,
                        "slice": piece.label,
                        "lower": piece.lower,
                        "upper": piece.upper,
                        "sentences": piece.n,
                        "bleu": piece.bleu,
                        "ci_low": piece.ci[0],
                        "ci_high": piece.ci[1],
                        "seed_bleus": ";".join(f"{b:.4f}" for b in piece.seed_bleus),
                        "seed_sd": piece.seed_sd,
                        "delta": piece.delta,
                        "delta_ci_low": piece.delta_ci[0] if piece.delta_ci else None,
                        "delta_ci_high": piece.delta_ci[1] if piece.delta_ci else None,
                        "p_value": piece.p_value,
                        "significant": None if piece.p_value is None else piece.p_value < ALPHA,
                        "p_holm": piece.p_holm,
                        "chrf": piece.chrf,
                        "length_ratio": piece.length_ratio,
                    }
                )
            if arm.drop is not None:
                rows.append(_drop_csv_row(arm, common))
    return rows


def _drop_csv_row(arm: ArmScores, common: dict[str, Any]) -> dict[str, Any]:
    drop, found = arm.drop, arm.interaction
    return {
        **common,
        "slice": f"drop {drop.short_label}->{drop.long_label}",
        "sentences": drop.short_n + drop.long_n,
        "bleu": drop.value,
        "ci_low": drop.ci[0],
        "ci_high": drop.ci[1],
        "interaction": found.value if found else None,
        "interaction_ci_low": found.ci[0] if found else None,
        "interaction_ci_high": found.ci[1] if found else None,
        "interaction_p": found.p_value if found else None,
    }


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if row.get(k) is None else row[k]) for k in CSV_COLUMNS} for row in rows)
