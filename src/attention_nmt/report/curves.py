"""Learning curves: validation BLEU and loss against updates, read from each run's `csv/metrics.csv` (Lightning's
CSVLogger), one line per arm (mean over its seeds) in a band from its lowest to its highest seed at each update.
What a curve says about a run (still rising, diverged) is
`health`'s.

Lightning logs a validation that follows update k at `step` k - 1 (a run validating every 10 updates logs steps
9, 19, ...), so updates = step + 1.
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

VAL_BLEU, VAL_LOSS = "val/bleu", "val/loss"
SIZE_INCHES = (12.0, 4.5)
DPI = 100


@dataclass
class Curve:
    """Validation metrics of a run, or their mean over an arm's seeds, in update order (NaN where not logged)."""

    updates: np.ndarray
    bleu: np.ndarray
    loss: np.ndarray
    seeds: int = 1  # runs averaged
    bleu_band: tuple[np.ndarray, np.ndarray] | None = None  # lowest and highest seed at each update (seeds > 1)
    loss_band: tuple[np.ndarray, np.ndarray] | None = None


def metrics_csv(run_dir: Path) -> Path | None:
    """The run's CSVLogger file: csv/metrics.csv, else the newest csv/<version>/metrics.csv; None without one."""
    found = [run_dir / "csv" / "metrics.csv", *sorted((run_dir / "csv").glob("*/metrics.csv"))]
    return next((p for p in found if p.is_file()), None)


def validation_rows(path: Path) -> list[dict[str, str]] | None:
    """The rows of a metrics.csv that a validation logged (val/bleu and a step); None when it cannot be read."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            return [r for r in csv.DictReader(f) if r.get(VAL_BLEU) and r.get("step")]
    except (OSError, ValueError, csv.Error):
        return None


def read_curve(path: Path) -> Curve | None:
    """The validation rows of a metrics.csv (None when it has none or cannot be read)."""
    rows = validation_rows(path)
    if rows is None:
        return None
    by_step = {int(float(r["step"])): r for r in rows}  # the last row of a step wins
    if not by_step:
        return None
    steps = sorted(by_step)
    loss = [float(by_step[s].get(VAL_LOSS) or "nan") for s in steps]
    return Curve(
        np.array(steps, dtype=float) + 1, np.array([float(by_step[s][VAL_BLEU]) for s in steps]), np.array(loss)
    )


def mean_curve(curves: Sequence[Curve]) -> Curve | None:
    """Mean over seeds at every update any seed validated at (over the seeds that did), with the lowest and
    highest seed there as a band when there are several; None without curves."""
    if not curves:
        return None
    updates = np.unique(np.concatenate([c.updates for c in curves]))
    bleu, loss = np.full((len(curves), len(updates)), np.nan), np.full((len(curves), len(updates)), np.nan)
    for i, curve in enumerate(curves):
        at = np.searchsorted(updates, curve.updates)
        bleu[i, at], loss[i, at] = curve.bleu, curve.loss
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an update only some seeds logged a loss at
        mean = Curve(updates, np.nanmean(bleu, axis=0), np.nanmean(loss, axis=0), seeds=len(curves))
        if len(curves) > 1:
            mean.bleu_band = (np.nanmin(bleu, axis=0), np.nanmax(bleu, axis=0))
            mean.loss_band = (np.nanmin(loss, axis=0), np.nanmax(loss, axis=0))
        return mean


def arm_curves(arms: Sequence[tuple[str, Sequence[Path]]]) -> dict[str, Curve]:
    """{arm label: mean learning curve} for the arms (label, run folders) whose runs logged validations."""
    found = {}
    for label, folders in arms:
        curves = [c for c in (read_curve(p) for p in filter(None, map(metrics_csv, folders))) if c is not None]
        if (curve := mean_curve(curves)) is not None:
            found[label] = curve
    return found


def learning_curves_figure(curves: dict[str, Curve], title: str, arms: Sequence[str] = ()) -> Figure:
    """Validation BLEU and validation loss against updates, one line per arm (mean over seeds) in a shaded band
    from its lowest to its highest seed; an arm listed in `arms` (the comparison's arms in order) gets the colour
    it has in the BLEU-by-length figure."""
    fig = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(fig)
    bleu_ax, loss_ax = fig.subplots(1, 2)
    for i, (label, curve) in enumerate(curves.items()):
        colour = f"C{list(arms).index(label) if label in arms else i}"
        name = label if curve.seeds == 1 else f"{label} ({curve.seeds} seeds)"
        for ax, values, band in ((bleu_ax, curve.bleu, curve.bleu_band), (loss_ax, curve.loss, curve.loss_band)):
            ax.plot(curve.updates, values, marker="o", markersize=3, linewidth=2, color=colour, label=name)
            if band is not None:
                ax.fill_between(curve.updates, *band, color=colour, alpha=0.2, linewidth=0)
    for ax, name in ((bleu_ax, "validation BLEU"), (loss_ax, "validation loss (per token)")):
        ax.set_xlabel("updates")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    banded = any(c.bleu_band is not None for c in curves.values())
    how = "mean over seeds; shaded: lowest to highest seed" if banded else "mean over seeds"
    bleu_ax.set_title(f"Learning curves: {title} ({how})", fontsize=10)
    loss_ax.set_title("Validation loss", fontsize=10)
    fig.tight_layout()
    return fig
