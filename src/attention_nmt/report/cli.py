"""`python report.py <multirun folder | run folders...> [--out DIR]`: arguments, logging, exit status; and
`ReportWhenDone`, the Hydra callback that makes the same report at the end of an experiment's multirun.

Plain argparse rather than `@hydra.main`: the report takes folders as positional arguments, which Hydra's
override grammar cannot express, and it composes no config.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from attention_nmt.report.build import build_report
from attention_nmt.report.collect import ReportError
from attention_nmt.report.scores import DEFAULT_SHORT_MAX_WORDS
from attention_nmt.report.statistics import DEFAULT_RESAMPLES, DEFAULT_SEED
from attention_nmt.report.verdict import DEFAULT_MIN_BLEU

log = logging.getLogger("attention_nmt.report")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="report.py",
        description="BLEU-against-source-length report of finished runs: "
        "figure, tables with bootstrap intervals and paired p-values, verdict, HTML page.",
    )
    p.add_argument("paths", nargs="+", type=Path, help="a multirun folder, or run folders (holding results.json)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report folder (default: <multirun folder>/report, or report/ next to the run folders)",
    )
    p.add_argument(
        "--resamples", type=int, default=DEFAULT_RESAMPLES, help="bootstrap resamples (default: %(default)s)"
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="bootstrap seed (default: %(default)s)")
    p.add_argument(
        "--short-max-words",
        type=int,
        default=DEFAULT_SHORT_MAX_WORDS,
        help="the short reference slice of the drop and interaction test: sources of 1 to this many words "
        "(cut below the longest bucket; default: %(default)s)",
    )
    p.add_argument(
        "--min-bleu",
        type=float,
        default=DEFAULT_MIN_BLEU,
        help="overall BLEU below which an arm is 'not trained enough to judge' (default: %(default)s)",
    )
    p.add_argument(
        "--no-wandb",
        action="store_true",
        help="do not log the report as a W&B run (W&B's own settings decide its mode, else offline; "
        "WANDB_MODE=disabled or `wandb disabled` also turn it off)",
    )
    p.add_argument(
        "--wandb-project",
        default=None,
        help="W&B project of the report run (default: the runs' logger.wandb.project)",
    )
    p.add_argument(
        "--wandb-entity", default=None, help="W&B entity of the report run (default: the runs' logger.wandb.entity)"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(name)s: %(message)s")
    return run_report(
        args.paths,
        args.out,
        args.resamples,
        args.seed,
        use_wandb=not args.no_wandb,
        short_max_words=args.short_max_words,
        min_bleu=args.min_bleu,
        wandb_settings={"project": args.wandb_project, "entity": args.wandb_entity},
    )


def run_report(
    paths: Sequence[Path],
    out: Path | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    use_wandb: bool = True,
    short_max_words: int = DEFAULT_SHORT_MAX_WORDS,
    min_bleu: float = DEFAULT_MIN_BLEU,
    wandb_settings: dict[str, Any] | None = None,
) -> int:
    """Build the report, log its verdicts, log it to W&B unless told not to; the exit status (2: no report).
    `wandb_settings`: project / entity / mode of the report run (None values: the runs' own)."""
    try:
        report = build_report(paths, out, resamples, seed, short_max_words, min_bleu)
    except ReportError as e:
        log.error("%s", e)
        return 2
    for section in report.sections:
        log.info("%s:\n%s", section.scores.comparison.name, section.verdict.text())
    if use_wandb:
        from attention_nmt.report.wandb_log import log_report

        try:
            log_report(report, **(wandb_settings or {}))
        except Exception as e:  # the files are written; a W&B problem must not hide them
            log.warning("Could not log the report to W&B (%s: %s); the files are complete.", type(e).__name__, e)
    log.info("Report: %s (figures, report.md, bleu.csv, runs.csv)", report.files["html"])
    return 0


class ReportWhenDone(Callback):
    """Hydra callback the experiment configs register: when every job of a multirun has finished, the
    report of the sweep folder (Hydra skips this when a job failed: run report.py on the folder then; it
    lists the failed job). A report problem is logged and never fails the finished sweep."""

    def __init__(self, resamples: int = DEFAULT_RESAMPLES, use_wandb: bool = True) -> None:
        self.resamples, self.use_wandb = resamples, use_wandb

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        wandb_cfg = OmegaConf.select(config, "logger.wandb", default=None)
        settings = {k: wandb_cfg.get(k) for k in ("project", "entity", "mode")} if wandb_cfg else {}
        try:
            run_report([sweep_dir], resamples=self.resamples, use_wandb=self.use_wandb, wandb_settings=settings)
        except Exception as e:  # the runs are complete; say how to make the report by hand
            log.error(
                "The report of %s failed (%s: %s); the runs are intact: python report.py %s",
                sweep_dir,
                type(e).__name__,
                e,
                sweep_dir,
            )


if __name__ == "__main__":
    sys.exit(main())
