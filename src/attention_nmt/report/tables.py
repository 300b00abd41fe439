"""The report's tables as plain (headers, rows) data, rendered to Markdown and HTML by their writers, and the
long-format CSV (one row per comparison, arm and slice) for analysis elsewhere.

Tables: BLEU per arm and slice with 95% intervals and parameter counts; the difference to `none` with its
paired-bootstrap p-value; each arm's drop with length and the interaction test; what each drop is made of
(BLEU, BLEU without the brevity penalty, chrF, the brevity penalty's share, length ratio); BLEU without the
brevity penalty and chrF per arm and slice with intervals, and the length ratio with the brevity penalty; and
every run found, with its status (failed and incomplete runs included). The CSV is `bleu_csv`'s.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from attention_nmt.evaluation.results import RunResults
from attention_nmt.report.collect import Run
from attention_nmt.report.diagnostics import BLEU_KEY, CHRF_KEY, LENGTH_RATIO, NO_BP
from attention_nmt.report.drops import Change
from attention_nmt.report.scores import ArmScores, ComparisonScores, SliceScore

ALPHA = 0.05
Table = tuple[list[str], list[list[str]]]  # headers, rows of cells


def p_text(p: float, bound: bool = False, name: str = "p") -> str:
    """'p=0.123', or 'p <= 0.002' when `p` is only an upper bound (at the floor 2/(B+1) of B resamples, or a
    Holm p taken from one); a bound is rounded up, to two significant digits, so it stays a bound."""
    if bound:
        digits = 1 - math.floor(math.log10(p))
        return f"{name} <= {math.ceil(p * 10**digits - 1e-9) / 10**digits:g}"
    return f"{name}={p:.3f}" if p >= 0.01 else f"{name}={p:.2g}"


def _params(counts: Sequence[int]) -> str:
    return " / ".join(f"{c:,}" for c in counts)


def _slice_header(piece: SliceScore) -> str:
    return f"{piece.label} (n={piece.n})"


def bleu_table(scores: ComparisonScores) -> Table:
    """Arm x slice: 'BLEU [low, high]' (mean over seeds, 95% bootstrap interval); each seed's BLEU is in
    `seed_spread`'s table."""
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
    return headers, rows


def format_delta(piece: SliceScore) -> str:
    """'+2.31 (p=0.012*)' or '+9.80 (p <= 0.002*)': difference to the baseline and its p-value (an upper
    bound at the resamples' floor), starred below ALPHA (uncorrected)."""
    if piece.delta is None or piece.p_value is None:
        return "-"
    star = "*" if piece.p_value < ALPHA else ""
    return f"{piece.delta:+.2f} ({p_text(piece.p_value, piece.p_bound)}{star})"


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


def _estimate(value: float | None, ci: tuple[float, float]) -> str:
    """'9.90 [8.21, 11.63]'."""
    return "-" if value is None else f"{value:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"


def nobp_table(scores: ComparisonScores) -> Table:
    """Arm x slice: BLEU without the brevity penalty (BLEU / BP) [95% interval], mean over seeds."""
    headers = ["arm", *(_slice_header(p) for p in scores.arms[0].slices)]
    return headers, [[a.arm.label, *(_estimate(p.nobp, p.nobp_ci) for p in a.slices)] for a in scores.arms]


def chrf_table(scores: ComparisonScores) -> Table:
    """Arm x slice: chrF [95% interval], mean over seeds."""
    headers = ["arm", *(_slice_header(p) for p in scores.arms[0].slices)]
    return headers, [[a.arm.label, *(_estimate(p.chrf, p.chrf_ci) for p in a.slices)] for a in scores.arms]


def length_ratio_table(scores: ComparisonScores) -> Table:
    """Arm x slice: hypothesis words / reference words and BLEU's brevity penalty (means over seeds); a ratio
    below 1 truncates, above 1 wanders."""
    headers = ["arm", *(_slice_header(p) for p in scores.arms[0].slices)]
    rows = [
        [a.arm.label, *(f"{_number(p.length_ratio, 3)} (BP {_number(p.brevity_penalty, 3)})" for p in a.slices)]
        for a in scores.arms
    ]
    return headers, rows


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
    gap = (
        "-"
        if longest.delta is None
        else f"{longest.delta:+.2f} ({p_text(longest.p_holm, longest.p_holm_bound, 'Holm p')})"
    )
    return [
        arm.arm.label,
        f"{drop.short_bleu:.2f}",
        f"{drop.long_bleu:.2f}",
        f"{drop.value:+.2f} {_interval(*drop.ci)}",
        gap,
        "-" if found is None else f"{found.value:+.2f} {_interval(*found.ci)}",
        "-" if found is None else p_text(found.p_value, found.p_bound),
    ]


def decomposition_table(scores: ComparisonScores) -> Table | None:
    """Per arm, what its drop (short slice minus longest bucket) is made of: the drop in BLEU, in BLEU without
    the brevity penalty and in chrF [95% intervals], the brevity penalty's share of the BLEU drop [interval],
    and the length ratio on both slices; None when no drop was measured."""
    measured = [a for a in scores.arms if a.drop is not None]
    if not measured:
        return None
    first = measured[0].drop
    headers = [
        "arm",
        "BLEU drop",
        "BLEU without BP: drop",
        "chrF: drop",
        "brevity penalty's share of the BLEU drop",
        f"length ratio {first.short_label} -> {first.long_label}",
    ]
    rows = []
    for arm in measured:
        drop = arm.drop
        changes = [drop.changes[m] for m in (BLEU_KEY, NO_BP, CHRF_KEY)]
        ratio = f"{_number(drop.short_points[LENGTH_RATIO], 3)} -> {_number(drop.long_points[LENGTH_RATIO], 3)}"
        rows.append(
            [
                arm.arm.label,
                *(_change_cell(c) for c in changes),
                f"{drop.bp_share:+.2f} {_interval(*drop.bp_share_ci)}",
                ratio,
            ]
        )
    return headers, rows


def _change_cell(change: Change) -> str:
    """'10.61 -> 9.90: +0.71 [-0.82, +2.29]'."""
    if change.short is None or change.long is None:
        return "-"
    return f"{change.short:.2f} -> {change.long:.2f}: {change.value:+.2f} {_interval(*change.ci)}"


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


def runs_csv_table(runs: Sequence[Run], root: Path | None = None) -> Table:
    """`runs_table` with each run's test BLEU per source-length bucket after it (from its results.json), so
    runs.csv holds every seed's BLEU on every bucket."""
    headers, rows = runs_table(runs, root)
    labels = list(dict.fromkeys(b.label for r in runs if r.results is not None for b in r.results.test.buckets))
    at = headers.index("BLEU") + 1
    for run, row in zip(runs, rows):
        found = {b.label: b for b in run.results.test.buckets} if run.ok and run.results is not None else {}
        row[at:at] = [f"{found[label].bleu:.2f}" if found.get(label) and found[label].n else "-" for label in labels]
    return headers[:at] + [f"BLEU {label}" for label in labels] + headers[at:], rows


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
