"""The report as a W&B run (`job_type=report`), in the same project and group as the runs it reads.

Mode as for training (`attention_nmt.tracking.wandb_logger.wandb_mode`): `WANDB_MODE` if set, else online
when logged in, else offline, in which case the run is written to `<report folder>/wandb/offline-run-*` for
`wandb sync`.
"""

from __future__ import annotations

import logging

from attention_nmt.report.build import Report
from attention_nmt.report.tables import CSV_COLUMNS, csv_rows, runs_table
from attention_nmt.tracking.wandb_logger import wandb_mode

log = logging.getLogger(__name__)
PROJECT = "attention-nmt"


def log_report(report: Report, project: str = PROJECT, mode: str | None = None) -> str | None:
    """Figures (learning curves included), tables (AER included), attention heatmaps, verdicts and the HTML page
    as one W&B run; returns its folder (None when disabled)."""
    mode = mode or wandb_mode()
    if mode == "disabled":
        return None
    import wandb

    name = f"report-{report.group}" if report.group else "report"
    run = wandb.init(
        project=project,
        job_type="report",
        group=report.group,
        name=name,
        dir=str(report.out),
        mode=mode,
        tags=["report"],
        reinit="finish_previous",
        config={
            "resamples": report.scores[0].resamples,
            "bootstrap_seed": report.scores[0].seed,
            "runs": [str(r.path) for r in report.runs],
        },
    )
    try:
        media = {"report/page": wandb.Html(report.files["html"].read_text(encoding="utf-8"))}
        for section in report.sections:
            key = f"report/{section.scores.comparison.name}"
            media[f"{key}/bleu_by_length"] = wandb.Image(str(report.figures[section.scores.comparison.name]["png"]))
            if (curves := report.curve_figures.get(section.scores.comparison.name)) is not None:
                media[f"{key}/learning_curves"] = wandb.Image(str(curves["png"]))
            for i, (_caption, (headers, rows)) in enumerate(section.tables):
                media[f"{key}/table_{i}"] = wandb.Table(columns=headers, data=rows)
            for heatmap in section.heatmaps:  # one key each: different sizes in one list are drawn distorted
                media[f"{key}/attention/{heatmap.path.stem}"] = wandb.Image(str(heatmap.path), caption=heatmap.caption)
            run.summary[f"{key}/verdict"] = section.verdict.text()
        rows = csv_rows(report.scores)
        media["report/bleu"] = wandb.Table(columns=CSV_COLUMNS, data=[[r.get(c) for c in CSV_COLUMNS] for r in rows])
        headers, run_rows = runs_table(report.runs)
        media["report/runs"] = wandb.Table(columns=headers, data=run_rows)
        run.log(media)
        folder = str(run.dir)
    finally:
        run.finish()
    log.info("W&B report run (%s mode, group %s): %s", mode, report.group, folder)
    return folder
