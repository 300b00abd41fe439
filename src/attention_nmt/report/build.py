"""The report task: runs in, report folder out.

`build_report(paths, out)` collects the runs under `paths`, splits the finished ones by test set and arm,
scores them, and writes into `out` (default: `report/` in the multirun folder, or next to the run folders):
  bleu_by_length[_<test set>].png/.svg   the figure, one per test set: BLEU, difference to `none` and length
                   ratio by bucket
  learning_curves[_<test set>].png/.svg validation BLEU and loss against updates per arm (runs with csv/metrics.csv),
                   the mean over seeds with a band from the lowest to the highest seed
  attention_health[_<test set>].png/.svg normalised entropy and largest attention weight against updates per arm
  report.md        verdicts, tables (BLEU with intervals; with several seeds, the spread over seeds; difference to
                   `none` with p-values; drop with length and interaction test; what each drop is made of; BLEU
                   without the brevity penalty and chrF with intervals; length ratio and brevity penalty; example
                   translations per bucket, from one named seed), runs and method
  bleu.csv         every number of the tables, one row per test set, arm and slice (and one drop row per arm)
  runs.csv         every run folder found, with its status (finished / failed / incomplete) and why, its seed,
                   test BLEU overall and per bucket, updates, training time, training tokens/s and the W&B run
  attention_<arm>_<sentence>.png   attention heatmaps of a few test sentences per attention arm
  report.html      all of it on one self-contained page
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from attention_nmt.report.attention_health import CAPTION as HEALTH_CAPTION
from attention_nmt.report.attention_health import health_figure, health_table, recipe_note
from attention_nmt.report.bleu_csv import csv_rows, write_csv
from attention_nmt.report.collect import OK, ReportError, Run, collect, is_run_folder
from attention_nmt.report.curves import arm_curves, learning_curves_figure
from attention_nmt.report.examples import CAPTION as EXAMPLES_CAPTION
from attention_nmt.report.examples import DEFAULT_PER_BUCKET, examples_table
from attention_nmt.report.figures import bleu_by_length_figure, figure_bytes, file_safe, save_figure
from attention_nmt.report.grouping import make_comparisons
from attention_nmt.report.health import arm_flags
from attention_nmt.report.heatmaps import aer_table, heatmaps
from attention_nmt.report.html import Section, method_note, page
from attention_nmt.report.scores import DEFAULT_SHORT_MAX_WORDS, ComparisonScores, score_comparison
from attention_nmt.report.seed_spread import CAPTION as SEEDS_CAPTION
from attention_nmt.report.seed_spread import seeds_table
from attention_nmt.report.statistics import DEFAULT_RESAMPLES, DEFAULT_SEED
from attention_nmt.report.tables import (
    Table,
    bleu_table,
    chrf_table,
    decomposition_table,
    delta_table,
    drop_table,
    length_ratio_table,
    nobp_table,
    runs_csv_table,
    runs_table,
    to_markdown,
)
from attention_nmt.report.verdict import DEFAULT_MIN_BLEU, Verdict, verdict
from attention_nmt.tracking.wandb_logger import multirun_group

log = logging.getLogger(__name__)


@dataclass
class Report:
    """What was written, for the caller (CLI, W&B, tests)."""

    out: Path
    title: str
    runs: list[Run]
    sections: list[Section]
    figures: dict[str, dict[str, Path]] = field(default_factory=dict)  # comparison name -> {"png", "svg"}
    curve_figures: dict[str, dict[str, Path]] = field(default_factory=dict)  # the same, for learning curves
    health_figures: dict[str, dict[str, Path]] = field(default_factory=dict)  # the same, for attention health
    files: dict[str, Path] = field(default_factory=dict)  # "markdown", "csv", "runs", "html"
    group: str | None = None  # W&B group: the runs' experiment, else the multirun folder

    @property
    def scores(self) -> list[ComparisonScores]:
        return [s.scores for s in self.sections]

    @property
    def verdicts(self) -> list[Verdict]:
        return [s.verdict for s in self.sections]


def default_out(paths: Sequence[Path]) -> Path:
    """`<folder>/report` for one multirun folder; else `report/` in the run folders' common parent."""
    paths = [Path(p).resolve() for p in paths]
    if len(paths) == 1 and not is_run_folder(paths[0]):
        return paths[0] / "report"
    parents = [p if not is_run_folder(p) else p.parent for p in paths]
    return Path(os.path.commonpath(parents)) / "report"


def wandb_group(runs: Sequence[Run], paths: Sequence[Path]) -> str | None:
    """The runs' shared `experiment_name` (as their W&B runs are grouped); else, for one multirun folder, the group
    training gave its jobs (multirun_<date>_<time>); else none."""
    experiments = {str(r.config.get("experiment_name")) for r in runs if r.config.get("experiment_name")}
    if len(experiments) == 1 and (name := experiments.pop()) != "default":
        return name
    if len(paths) == 1 and not is_run_folder(Path(paths[0])):
        return multirun_group(Path(paths[0]).resolve())
    return None


AER_CAPTION = (
    "Alignment error rate of the attention against the gold alignments (forced decoding of the "
    "references; mean over seeds; lower is better)"
)


def _tables(scores: ComparisonScores) -> list[tuple[str, Table]]:
    tables = [("BLEU per arm: mean over seeds [95% bootstrap interval]", bleu_table(scores))]
    if (spread := seeds_table(scores)) is not None:
        tables.append((SEEDS_CAPTION, spread))
    deltas = delta_table(scores)
    if deltas is not None:
        tables.append(("Difference to `none` in BLEU points (paired bootstrap p-value)", deltas))
    drops = drop_table(scores)
    if drops is not None:
        tables.append(("Drop with length (short-slice BLEU minus longest-bucket BLEU) and the interaction test", drops))
    parts = decomposition_table(scores)
    if parts is not None:
        tables.append(
            (
                "Drop decomposed: short slice -> longest bucket, the drop [95% interval] in BLEU, in BLEU without "
                "the brevity penalty (content) and in chrF (content), the brevity penalty's share (length)",
                parts,
            )
        )
    tables.append(
        (
            "Precision part: BLEU without the brevity penalty (BLEU / BP), mean over seeds [95% bootstrap interval]",
            nobp_table(scores),
        )
    )
    tables.append(("chrF per arm (sacreBLEU, mean over seeds) [95% bootstrap interval]", chrf_table(scores)))
    tables.append(
        (
            "Length ratio: hypothesis words / reference words (below 1 stops early, above 1 wanders), and BLEU's "
            "brevity penalty",
            length_ratio_table(scores),
        )
    )
    tables.append((EXAMPLES_CAPTION.format(n=DEFAULT_PER_BUCKET), examples_table(scores.comparison)))
    return tables


def _unusable_note(runs: Sequence[Run]) -> list[str]:
    bad = [r for r in runs if r.status != OK]
    if not bad:
        return []
    kinds = ", ".join(f"{sum(r.status == s for r in bad)} {s}" for s in sorted({r.status for r in bad}))
    return [f"{len(bad)} of {len(runs)} runs are not in the figures and tables ({kinds}); see Runs below."]


def build_report(
    paths: Sequence[Path],
    out: Path | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    short_max_words: int = DEFAULT_SHORT_MAX_WORDS,
    min_bleu: float = DEFAULT_MIN_BLEU,
) -> Report:
    """Collect, score and write the report (module docstring). Raises ReportError when no run finished."""
    if resamples < 1:
        raise ReportError(f"--resamples={resamples}: must be a positive number of bootstrap resamples.")
    if short_max_words < 1:
        raise ReportError(f"--short-max-words={short_max_words}: must be at least 1 word.")
    paths = [Path(p) for p in paths]
    runs = collect(paths)
    for run in runs:
        if not run.ok:
            log.warning("%s: %s (%s)", run.path, run.status, run.reason)
    comparisons = make_comparisons(runs)
    if not comparisons:
        listing = "\n".join(f"  {r.path}: {r.status}, {r.reason}" for r in runs)
        raise ReportError(f"None of the {len(runs)} runs finished, so there is nothing to compare:\n{listing}")
    out = Path(out) if out is not None else default_out(paths)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(os.path.commonpath([r.path for r in runs])) if len(runs) > 1 else runs[0].path.parent
    group = wandb_group(runs, paths)
    report = Report(out, f"BLEU against source length: {group or root.name}", runs, [], group=group)
    for comparison in comparisons:
        scores = score_comparison(comparison, resamples, seed, short_max_words)
        fig = bleu_by_length_figure(scores)
        suffix = "" if len(comparisons) == 1 else f"_{file_safe(comparison.name)}"
        report.figures[comparison.name] = save_figure(fig, out / f"bleu_by_length{suffix}")
        curves = arm_curves([(arm.label, [r.path for r in arm.runs]) for arm in comparison.arms])
        curves_png = None
        if curves:
            curves_fig = learning_curves_figure(curves, comparison.name, [a.label for a in comparison.arms])
            report.curve_figures[comparison.name] = save_figure(curves_fig, out / f"learning_curves{suffix}")
            curves_png = figure_bytes(curves_fig, "png")
        flags = arm_flags([(arm.label, [(r.seed, r.path) for r in arm.runs]) for arm in comparison.arms])
        tables = _tables(scores)
        if (aer := aer_table(comparison)) is not None:
            tables.append((AER_CAPTION, aer))
        if (health := health_table(comparison)) is not None:
            note = recipe_note(comparison)
            tables.append((HEALTH_CAPTION + (f". {note}" if note else ""), health))
        health_png = None
        if (health_fig := health_figure(comparison, comparison.name)) is not None:
            report.health_figures[comparison.name] = save_figure(health_fig, out / f"attention_health{suffix}")
            health_png = figure_bytes(health_fig, "png")
        maps = heatmaps(
            comparison, out, "attention" if len(comparisons) == 1 else f"attention_{file_safe(comparison.name)}"
        )
        report.sections.append(
            Section(
                scores, verdict(scores, min_bleu, flags), figure_bytes(fig, "png"), tables, maps, curves_png, health_png
            )
        )
        for warning in scores.warnings:
            log.warning(warning)
    runs_tab = runs_table(runs, root)
    notes = _unusable_note(runs)
    report.files = {
        "markdown": out / "report.md",
        "csv": out / "bleu.csv",
        "runs": out / "runs.csv",
        "html": out / "report.html",
    }
    report.files["markdown"].write_text(markdown(report, runs_tab, notes, min_bleu), encoding="utf-8")
    write_csv(report.files["csv"], csv_rows(report.scores))
    _write_runs_csv(report.files["runs"], runs_csv_table(runs, root))
    report.files["html"].write_text(page(report.title, report.sections, runs_tab, notes, min_bleu), encoding="utf-8")
    return report


def markdown(report: Report, runs_tab: Table, notes: Sequence[str], min_bleu: float = DEFAULT_MIN_BLEU) -> str:
    lines = [f"# {report.title}", ""]
    lines += [f"**{n}**\n" for n in notes]
    for section in report.sections:
        comparison = section.scores.comparison
        figure = report.figures[comparison.name]["png"].name
        lines += [
            f"## {comparison.name}",
            "",
            f"Test set {comparison.test_id}: {len(comparison.rows)} sentences.",
            "",
            f"**{section.verdict.headline}**",
            "",
            *(f"- {d}" for d in section.verdict.details),
            "",
            f"![BLEU against source length]({figure})",
            "",
        ]
        if comparison.name in report.curve_figures:
            curves = report.curve_figures[comparison.name]["png"].name
            lines += [f"![Learning curves: validation BLEU and loss against updates]({curves})", ""]
        if comparison.name in report.health_figures:
            health = report.health_figures[comparison.name]["png"].name
            lines += [f"![Attention health: normalised entropy and largest weight against updates]({health})", ""]
        for caption, table in section.tables:
            lines += [f"### {caption}", "", to_markdown(table), ""]
        if section.heatmaps:
            lines += ["### Attention on test sentences", ""]
            lines += [f"![{h.caption}]({h.path.name})\n" for h in section.heatmaps]
        lines += [f"> {w}\n" for w in section.scores.warnings]
        lines += [method_note(section.scores, min_bleu), ""]
    lines += ["## Runs", "", to_markdown(runs_tab), ""]
    return "\n".join(lines)


def _write_runs_csv(path: Path, table: Table) -> None:
    headers, rows = table
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
