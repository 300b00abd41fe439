"""The report's tables as plain (headers, rows) data, rendered to Markdown and HTML by their writers, and the
long-format CSV (one row per comparison, arm and slice) for analysis elsewhere.

Tables: BLEU per arm and slice with 95% intervals and parameter counts; the difference to `none` with its
paired-bootstrap p-value; and every run found, with its status (failed and incomplete runs included).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Optional, Sequence

from attention_nmt.report.collect import Run
from attention_nmt.report.scores import ComparisonScores, SliceScore

ALPHA = 0.05
Table = tuple[list[str], list[list[str]]]  # headers, rows of cells

CSV_COLUMNS = ["comparison", "test_set", "arm", "attention", "runs", "seeds", "num_parameters", "slice", "lower",
               "upper", "sentences", "bleu", "ci_low", "ci_high", "seed_bleus", "seed_sd", "baseline", "delta",
               "delta_ci_low", "delta_ci_high", "p_value", "significant"]


def _params(counts: Sequence[int]) -> str:
    return " / ".join(f"{c:,}" for c in counts)


def _slice_header(piece: SliceScore) -> str:
    return f"{piece.label} (n={piece.n})"


def bleu_table(scores: ComparisonScores) -> Table:
    """Arm x slice: 'BLEU [low, high]' (mean over seeds, 95% bootstrap interval); with several seeds, a last
    column gives each seed's overall BLEU."""
    headers = ["arm", "seeds", "parameters", *(_slice_header(p) for p in scores.arms[0].slices)]
    rows = [[a.arm.label, str(len(a.arm.runs)), _params(a.num_parameters),
             *(f"{p.bleu:.2f} [{p.ci[0]:.2f}, {p.ci[1]:.2f}]" for p in a.slices)] for a in scores.arms]
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


def delta_table(scores: ComparisonScores) -> Optional[Table]:
    """Arm x slice: difference to its `none` arm and the paired p-value; None when no arm has a baseline."""
    compared = [a for a in scores.arms if a.baseline is not None]
    if not compared:
        return None
    headers = ["arm", "compared with", *(_slice_header(p) for p in scores.arms[0].slices)]
    rows = [[a.arm.label, a.baseline or "", *(format_delta(p) for p in a.slices)] for a in compared]
    return headers, rows


def runs_table(runs: Sequence[Run], root: Optional[Path] = None) -> Table:
    """Every run folder found: status, arm, seed, overall BLEU from results.json, and why it is unusable."""
    headers = ["run", "status", "attention", "seed", "BLEU", "note"]
    rows = []
    for run in runs:
        name = str(run.path.relative_to(root)) if root and run.path.is_relative_to(root) else str(run.path)
        bleu = f"{run.results['test']['bleu']:.2f}" if run.ok else "-"
        rows.append([name, run.status, run.attention, str(run.seed if run.seed is not None else "?"), bleu,
                     run.reason])
    return headers, rows


def _escape_markdown(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", " ")


def to_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table."""
    headers, rows = table
    lines = ["| " + " | ".join(map(_escape_markdown, headers)) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(map(_escape_markdown, row)) + " |" for row in rows]
    return "\n".join(lines)


def csv_rows(all_scores: Sequence[ComparisonScores]) -> list[dict[str, Any]]:
    """One dict per comparison, arm and slice, keyed by CSV_COLUMNS; floats unrounded."""
    rows = []
    for scores in all_scores:
        for arm in scores.arms:
            for piece in arm.slices:
                rows.append({
                    "comparison": scores.comparison.name, "test_set": scores.comparison.test_id,
                    "arm": arm.arm.label, "attention": arm.arm.attention, "runs": len(arm.arm.runs),
                    "seeds": ";".join(str(s) for s in arm.arm.seeds),
                    "num_parameters": ";".join(map(str, arm.num_parameters)), "slice": piece.label,
                    "lower": piece.lower, "upper": piece.upper, "sentences": piece.n, "bleu": piece.bleu,
                    "ci_low": piece.ci[0], "ci_high": piece.ci[1],
                    "seed_bleus": ";".join(f"{b:.4f}" for b in piece.seed_bleus), "seed_sd": piece.seed_sd,
                    "baseline": arm.baseline, "delta": piece.delta,
                    "delta_ci_low": piece.delta_ci[0] if piece.delta_ci else None,
                    "delta_ci_high": piece.delta_ci[1] if piece.delta_ci else None,
                    "p_value": piece.p_value,
                    "significant": None if piece.p_value is None else piece.p_value < ALPHA})
    return rows


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
