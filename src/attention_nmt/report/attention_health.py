"""The report's attention health: is each arm's attention soft and aligned, or collapsed to one-hot rows?

Read from the diagnostics every run logs at each validation (`val/attn_*` in csv/metrics.csv, from
`evaluation/attention_health.py`): a table of their values at the last validation (mean over seeds) beside
each arm's recipe (learning rate, whether it was tuned, the Luong score), and a figure of the normalised
entropy and the largest weight against updates. `none` has no attention weights and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from attention_nmt.report.curves import metrics_csv, validation_rows
from attention_nmt.report.grouping import Comparison
from attention_nmt.report.tables import Table

# metrics.csv key (without "val/") -> column heading
COLUMNS = {
    "attn_entropy_norm": "entropy / log S (1 uniform, 0 one-hot)",
    "attn_max_weight": "largest weight",
    "attn_score_mean_abs": "mean |e_ij|",
    "attn_score_max_abs": "max |e_ij|",
    "attn_diagonal": "argmax near the diagonal",
    "aer": "AER (validation)",
}
CAPTION = (
    "Attention health at the last validation (teacher-forced validation set, mean over seeds) and each arm's "
    "recipe: a collapsed attention has entropy near 0 and largest weight near 1"
)
FIGURE_KEYS = ("attn_entropy_norm", "attn_max_weight")


def health_rows(run_dir: Path) -> list[dict[str, float]]:
    """The run's validations with attention diagnostics: [{"updates": k, "attn_entropy_norm": ...}, ...]."""
    path = metrics_csv(run_dir)
    rows = (validation_rows(path) or []) if path is not None else []
    return [
        {"updates": float(r["step"]) + 1, **{k: float(r[f"val/{k}"]) for k in COLUMNS if r.get(f"val/{k}")}}
        for r in rows
        if r.get("val/attn_max_weight")
    ]


def _recipe(config: dict) -> str:
    lr = config.get("optim.lr")
    text = "lr ?" if lr is None else f"lr {lr:g}" + (" (tuned)" if config.get("tuned.command") else "")
    if config.get("attention.score"):
        text += f", score {config['attention.score']}"
        text += ", input feeding" if config.get("attention.input_feeding") else ""
    return text


def health_table(comparison: Comparison) -> Table | None:
    """Arm rows: seeds, recipe, the last validation's diagnostics; None when no run logged any."""
    per_arm = [(arm, [health_rows(r.path) for r in arm.runs]) for arm in comparison.arms]
    present = [k for k in COLUMNS if any(rows and k in rows[-1] for _, runs in per_arm for rows in runs)]
    if not present:
        return None
    headers = ["arm", "seeds", "recipe", *(COLUMNS[k] for k in present)]
    table_rows = []
    for arm, runs in per_arm:
        recipes = sorted({_recipe(r.config) for r in arm.runs})
        last = [rows[-1] for rows in runs if rows]
        cells = [f"{np.mean([row[k] for row in last]):.3f}" if last else "no weights" for k in present]
        table_rows.append([arm.label, str(len(arm.runs)), "; ".join(recipes), *cells])
    return headers, table_rows


def recipe_note(comparison: Comparison) -> str | None:
    """Where the tuned values came from (conf/tuned/), when the runs read them, and a scaled Luong score named
    as the departure from the paper's equation it is."""
    runs = [r for arm in comparison.arms for r in arm.runs]
    sources = sorted(
        {
            (r.config["tuned.command"], r.config.get("tuned.date"), r.config.get("tuned.record"))
            for r in runs
            if r.config.get("tuned.command")
        }
    )
    notes = [f"Tuned values chosen by `{c}` ({d}; record: {rec})" for c, d, rec in sources]
    scaled = sorted(
        {
            str(r.config["attention.score"])
            for r in runs
            if str(r.config.get("attention.score", "")).startswith("scaled")
        }
    )
    if scaled:
        notes.append(
            f"Score {', '.join(scaled)}: Luong et al.'s score divided by sqrt(H), not the paper's equation (the same "
            "bilinear form with W_a reparametrised; the paper's `general` collapsed to one-hot attention here)"
        )
    return ". ".join(notes) + "." if notes else None


def health_figure(comparison: Comparison, title: str) -> Figure | None:
    """Normalised entropy and largest weight against updates, one line per arm with weights (mean over seeds)."""
    fig = Figure(figsize=(12.0, 4.0), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(FIGURE_KEYS))
    drawn = False
    for i, arm in enumerate(comparison.arms):
        series = [rows for rows in (health_rows(r.path) for r in arm.runs) if rows]
        if not series:
            continue
        updates = sorted({row["updates"] for rows in series for row in rows})
        for ax, key in zip(axes, FIGURE_KEYS):
            means = [_mean_at(series, u, key) for u in updates]
            ax.plot(updates, means, marker="o", markersize=3, linewidth=2, color=f"C{i}", label=arm.label)
        drawn = True
    if not drawn:
        return None
    for ax, key in zip(axes, FIGURE_KEYS):
        ax.set_xlabel("updates")
        ax.set_ylabel(COLUMNS[key])
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    axes[0].set_title(f"Attention health: {title} (validation, mean over seeds)", fontsize=10)
    fig.tight_layout()
    return fig


def _mean_at(series: Sequence[list[dict[str, float]]], updates: float, key: str) -> float:
    values = [row[key] for rows in series for row in rows if row["updates"] == updates and key in row]
    return float(np.mean(values)) if values else float("nan")
