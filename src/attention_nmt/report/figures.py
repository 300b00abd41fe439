"""The BLEU-against-source-length figure, three panels side by side: (1) BLEU by bucket (Bahdanau et al. 2014,
Figure 2 style), one line per arm through the buckets' middles, its bootstrap 95% band shaded, sentence counts
under the bucket labels; (2) each attention arm's difference to `none` by bucket with its paired 95% interval,
the interaction test in the legend; (3) the hypothesis/reference length ratio by bucket (below 1: the system
stops early; above 1: it wanders).

Built on matplotlib's object API with the Agg canvas: no pyplot, so no global figure state, and it runs
headless.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from attention_nmt.evaluation.bleu import bucket_middles
from attention_nmt.report.scores import ArmScores, ComparisonScores

SIZE_INCHES = (18.0, 5.5)
DPI = 100  # the PNG is SIZE_INCHES * DPI = 1800 x 550 pixels
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def bleu_by_length_figure(scores: ComparisonScores) -> Figure:
    """BLEU, difference to `none` and length ratio per source-length bucket for every arm (module docstring)."""
    fig = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(fig)
    bleu_ax, delta_ax, ratio_ax = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.3, 1, 1]})
    colours = {}
    for i, arm in enumerate(scores.arms):
        buckets = arm.buckets
        xs = bucket_middles([(b.lower, b.upper) for b in buckets])
        seeds = len(arm.arm.runs)
        name = f"{arm.arm.label} ({seeds} seed{'s' if seeds != 1 else ''}, all: {arm.overall.bleu:.2f})"
        marker = MARKERS[i % len(MARKERS)]
        (line,) = bleu_ax.plot(xs, [b.bleu for b in buckets], marker=marker, linewidth=2, color=f"C{i}", label=name)
        colours[arm.arm.label] = colour = line.get_color()
        bleu_ax.fill_between(
            xs, [b.ci[0] for b in buckets], [b.ci[1] for b in buckets], color=colour, alpha=0.18, linewidth=0
        )
        ratios = [(x, b.length_ratio) for x, b in zip(xs, buckets) if b.length_ratio is not None]
        ratio_ax.plot(
            [x for x, _ in ratios],
            [r for _, r in ratios],
            marker=marker,
            linewidth=2,
            color=colour,
            label=arm.arm.label,
        )
        if arm.baseline is not None:
            _draw_delta(delta_ax, arm, xs, colour, marker)
    buckets = scores.arms[0].buckets
    xs = bucket_middles([(b.lower, b.upper) for b in buckets])
    for ax in (bleu_ax, delta_ax, ratio_ax):
        ax.set_xticks(xs, [f"{b.label}\nn={b.n}" for b in buckets])
        ax.set_xlabel("source sentence length (words); n = test sentences")
        ax.grid(alpha=0.3)
    bleu_ax.set_ylabel("BLEU (sacreBLEU)")
    bleu_ax.set_ylim(bottom=0)
    bleu_ax.set_title(
        f"BLEU against source length: {scores.comparison.name}\n(mean over seeds; shaded: 95% "
        f"bootstrap interval, {scores.resamples} resamples, {scores.bootstrap})",
        fontsize=10,
    )
    bleu_ax.legend(fontsize=8, loc="best")
    delta_ax.axhline(0.0, color="black", linewidth=1)
    delta_ax.set_ylabel("BLEU minus `none` (paired, 95% interval)")
    delta_ax.set_title("Difference to `none` by bucket\n(legend: interaction drop(none) - drop(arm))", fontsize=10)
    if delta_ax.get_legend_handles_labels()[0]:
        delta_ax.legend(fontsize=8, loc="best")
    ratio_ax.axhline(1.0, color="black", linewidth=1)
    ratio_ax.set_ylabel("hypothesis words / reference words")
    ratio_ax.set_title("Length ratio by bucket\n(<1 stops early, >1 wanders)", fontsize=10)
    ratio_ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def _draw_delta(ax: Axes, arm: ArmScores, xs: list[float], colour: str, marker: str) -> None:
    """The arm's difference to `none` per bucket with error bars of its paired interval."""
    deltas = [b.delta for b in arm.buckets]
    low = [d - b.delta_ci[0] for d, b in zip(deltas, arm.buckets)]
    high = [b.delta_ci[1] - d for d, b in zip(deltas, arm.buckets)]
    found = arm.interaction
    extra = f"; interaction {found.value:+.2f} [{found.ci[0]:+.2f}, {found.ci[1]:+.2f}]" if found else ""
    ax.errorbar(
        xs,
        deltas,
        yerr=[low, high],
        marker=marker,
        color=colour,
        linewidth=2,
        capsize=4,
        label=f"{arm.arm.label} - {arm.baseline}{extra}",
    )


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """The figure encoded as `fmt` ("png" or "svg") at the fixed size and DPI."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=DPI)
    return buffer.getvalue()


def save_figure(fig: Figure, stem: Path) -> dict[str, Path]:
    """stem.png and stem.svg; returns {"png": path, "svg": path}."""
    paths = {}
    for fmt in ("png", "svg"):
        path = stem.with_suffix(f".{fmt}")
        path.write_bytes(figure_bytes(fig, fmt))
        paths[fmt] = path
    return paths


def file_safe(name: str) -> str:
    """`name` with every run of characters that are unsafe in file names replaced by "_"."""
    return re.sub(r"[^\w.-]+", "_", name)
