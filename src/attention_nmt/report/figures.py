"""The BLEU-against-source-length figure (Bahdanau et al. 2014, Figure 2 style): one line per arm through the
buckets' middles, its bootstrap 95% band shaded, sentence counts under the bucket labels.

Built on matplotlib's object API with the Agg canvas: no pyplot, so no global figure state, and it runs
headless.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from attention_nmt.evaluation.bleu import bucket_middles
from attention_nmt.report.scores import ComparisonScores

SIZE_INCHES = (8.0, 5.0)
DPI = 100  # the PNG is SIZE_INCHES * DPI = 800 x 500 pixels
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def bleu_by_length_figure(scores: ComparisonScores) -> Figure:
    """BLEU (mean over seeds) per source-length bucket for every arm, with 95% bootstrap bands."""
    fig = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ticks: list[float] = []
    labels: list[str] = []
    for i, arm in enumerate(scores.arms):
        buckets = arm.buckets
        xs = bucket_middles([(b.lower, b.upper) for b in buckets])
        seeds = len(arm.arm.runs)
        name = f"{arm.arm.label} ({seeds} seed{'s' if seeds != 1 else ''}, all: {arm.overall.bleu:.2f})"
        line, = ax.plot(xs, [b.bleu for b in buckets], marker=MARKERS[i % len(MARKERS)], linewidth=2, label=name)
        ax.fill_between(xs, [b.ci[0] for b in buckets], [b.ci[1] for b in buckets], color=line.get_color(),
                        alpha=0.18, linewidth=0)
        if not ticks:
            ticks, labels = xs, [f"{b.label}\nn={b.n}" for b in buckets]
    ax.set_xticks(ticks, labels)
    ax.set_xlabel("source sentence length (words); n = test sentences per bucket")
    ax.set_ylabel("BLEU (sacreBLEU)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.set_title(f"BLEU against source length: {scores.comparison.name}\n"
                 f"(mean over seeds; shaded: 95% bootstrap interval, {scores.resamples} resamples)", fontsize=10)
    ax.legend(fontsize=9, loc="best")
    fig.tight_layout()
    return fig


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
