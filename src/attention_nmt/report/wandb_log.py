"""The report as a W&B run (`job_type=report`), in the same project, entity and group as the runs it reads.

- project / entity: as given (`report.py --wandb-project`, or the experiment's `logger.wandb.*` when the report
  runs at the end of a multirun), else the runs' own `logger.wandb.project` / `entity`, else this project's
  default (conf/logger/wandb.yaml); group: the runs' `logger.wandb.group`, else the report's (experiment name or
  multirun folder, as training groups its runs).
- mode: as for training (`attention_nmt.tracking.wandb_logger`): W&B's own settings decide, else offline,
  in which case the run is written to `<report folder>/wandb/offline-run-*` for `wandb sync`.
- what it holds: per comparison, BLEU against source length as a native W&B line chart (one line per arm, from a
  table with an `arm` column that also holds BLEU without the brevity penalty, chrF, their intervals and the
  length ratio per bucket) beside the PNG, the learning curves, every table of the report under its own key
  (BLEU per arm, difference to `none`, drop and interaction, the drop decomposed, BLEU without the brevity
  penalty, chrF, length ratio, example translations, AER),
  the heatmaps and the verdict; the runs table and bleu.csv; the HTML page; and the report folder as an artifact.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from attention_nmt.evaluation.bleu import bucket_middles
from attention_nmt.report.bleu_csv import CSV_COLUMNS, csv_rows
from attention_nmt.report.build import Report
from attention_nmt.report.collect import Run
from attention_nmt.report.scores import ComparisonScores
from attention_nmt.report.tables import runs_csv_table
from attention_nmt.tracking.wandb_logger import effective_mode, wandb_mode
from attention_nmt.tracking.wandb_media import artifact_name

log = logging.getLogger(__name__)
PROJECT = "attention-nmt"  # conf/logger/wandb.yaml's project, for runs that logged none (tested to agree)
CHART_COLUMNS = [
    "arm",
    "bucket",
    "lower",
    "upper",
    "length",
    "sentences",
    "bleu",
    "ci_low",
    "ci_high",
    "bleu_nobp",
    "bleu_nobp_ci_low",
    "bleu_nobp_ci_high",
    "chrf",
    "chrf_ci_low",
    "chrf_ci_high",
    "length_ratio",
]


def shared_setting(runs: Sequence[Run], key: str) -> Any | None:
    """The value of a flat config key that every run giving one agrees on; None if none or they differ."""
    values = {str(run.config[key]) for run in runs if run.config.get(key) not in (None, "")}
    return values.pop() if len(values) == 1 else None


def chart_rows(scores: ComparisonScores) -> list[list[Any]]:
    """One row per arm and non-empty bucket (CHART_COLUMNS); `length` is the bucket's middle, the chart's x."""
    rows = []
    for arm in scores.arms:
        middles = bucket_middles([(b.lower, b.upper) for b in arm.buckets])
        for b, middle in zip(arm.buckets, middles):
            rows.append(
                [arm.arm.label, b.label, b.lower, b.upper, middle, b.n, b.bleu, *b.ci, b.nobp, *b.nobp_ci, b.chrf]
                + [*b.chrf_ci, b.length_ratio]
            )
    return rows


def table_key(caption: str) -> str:
    """A short W&B key from a table's caption: "BLEU per arm: mean ..." -> "bleu_per_arm"."""
    head = re.split(r"[:(]", caption, maxsplit=1)[0]
    words = re.findall(r"[a-z0-9]+", head.lower())[:3]
    return "_".join(words) or "table"


def log_report(
    report: Report,
    project: str | None = None,
    mode: str | None = None,
    entity: str | None = None,
) -> str | None:
    """Log the report as one W&B run (module docstring); returns its folder (None when W&B is disabled)."""
    if effective_mode(mode) == "disabled":
        return None
    import wandb

    project = project or shared_setting(report.runs, "logger.wandb.project") or PROJECT
    entity = entity or shared_setting(report.runs, "logger.wandb.entity")
    group = shared_setting(report.runs, "logger.wandb.group") or report.group
    run = wandb.init(
        project=project,
        entity=entity,
        job_type="report",
        group=group,
        name=f"report-{group}" if group else "report",
        dir=str(report.out),
        mode=wandb_mode(mode),
        tags=["report"],
        reinit="finish_previous",
        config={
            "resamples": report.scores[0].resamples,
            "bootstrap_seed": report.scores[0].seed,
            "runs": [str(r.path) for r in report.runs],
        },
    )
    try:
        run.log(_media(report))
        for section in report.sections:
            run.summary[f"report/{section.scores.comparison.name}/verdict"] = section.verdict.text()
        _log_folder(run, report)
        folder = str(run.dir)
    finally:
        run.finish()
    log.info("W&B report run (project %s, group %s): %s", project, group, folder)
    return folder


def _media(report: Report) -> dict[str, Any]:
    import wandb

    media: dict[str, Any] = {"report/page": wandb.Html(report.files["html"].read_text(encoding="utf-8"))}
    for section in report.sections:
        name = section.scores.comparison.name
        key = f"report/{name}"
        media[f"{key}/bleu_by_length"] = wandb.Image(str(report.figures[name]["png"]))
        chart = wandb.Table(columns=CHART_COLUMNS, data=chart_rows(section.scores))
        media[f"{key}/bleu_by_length_table"] = chart
        media[f"{key}/bleu_by_length_chart"] = wandb.plot.line(
            chart, "length", "bleu", stroke="arm", title=f"{name}: BLEU against source length (words), per arm"
        )
        for figure, figures in (("learning_curves", report.curve_figures), ("attention_health", report.health_figures)):
            if (saved := figures.get(name)) is not None:
                media[f"{key}/{figure}"] = wandb.Image(str(saved["png"]))
        for caption, (headers, rows) in section.tables:
            media[f"{key}/{table_key(caption)}"] = wandb.Table(columns=headers, data=rows)
        for heatmap in section.heatmaps:  # one key each: different sizes in one list are drawn distorted
            media[f"{key}/attention/{heatmap.path.stem}"] = wandb.Image(str(heatmap.path), caption=heatmap.caption)
    rows = csv_rows(report.scores)
    media["report/bleu"] = wandb.Table(columns=CSV_COLUMNS, data=[[r.get(c) for c in CSV_COLUMNS] for r in rows])
    headers, run_rows = runs_csv_table(report.runs)
    media["report/runs"] = wandb.Table(columns=headers, data=run_rows)
    return media


def _log_folder(run: Any, report: Report) -> None:
    """The report's files (not its wandb/ folder) as an artifact of type `report`."""
    import wandb

    artifact = wandb.Artifact(artifact_name("report", report.group or "runs"), type="report")
    for path in sorted(report.out.iterdir()):
        if path.is_file():
            artifact.add_file(str(path), name=path.name)
    run.log_artifact(artifact)
