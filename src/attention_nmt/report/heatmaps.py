"""The report's attention heatmaps: a few test sentences per attention arm, and on corpora with gold
alignments (the synthetic tasks) the alignment error rate of each arm beside them.

Heatmaps come from the attention.json of each arm's first seed (source words across, target words down,
as in Bahdanau et al.'s Figure 3). AER is what the runs measured at test time under forced decoding
(results.json `test.aer`, see attention_record.py); an arm's AER is the mean over its seeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from attention_nmt.evaluation.alignments import heatmap_figure
from attention_nmt.evaluation.attention_record import ATTENTION_FILE
from attention_nmt.report.figures import figure_bytes, file_safe
from attention_nmt.report.grouping import NO_ATTENTION, Comparison
from attention_nmt.report.tables import Table


@dataclass
class Heatmap:
    caption: str
    png: bytes
    path: Path


def read_attention(run_path: Path) -> list[dict[str, Any]]:
    """The sentences of a run's attention.json; none when it has no such file or it cannot be read."""
    try:
        sentences = json.loads((run_path / ATTENTION_FILE).read_text(encoding="utf-8"))["sentences"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return sentences if isinstance(sentences, list) else []


def heatmaps(comparison: Comparison, out: Path, stem: str) -> list[Heatmap]:
    """PNG heatmaps written to `out` for every attention arm's first seed that recorded attention."""
    made = []
    for arm in comparison.arms:
        if arm.attention == NO_ATTENTION:
            continue
        for run in arm.runs:
            sentences = read_attention(run.path)
            if not sentences:
                continue
            for s in sentences:
                words = len(s["source_words"]) - 1  # without </s>
                title = f"{arm.label}, seed {run.seed}: test #{s['index']}, {words} source words"
                fig = heatmap_figure(np.asarray(s["weights"]), s["source_words"], s["target_words"], title)
                png = figure_bytes(fig, "png")
                path = out / f"{stem}_{file_safe(arm.label)}_{s['index']}.png"
                path.write_bytes(png)
                made.append(Heatmap(f"{title}. Source: {s.get('source', '')}", png, path))
            break  # one seed per arm is enough to see what the attention does
    return made


def aer_table(comparison: Comparison) -> Table | None:
    """Arm x slice AER (mean over seeds, lower is better); None when no run measured AER."""
    measured = [
        (arm, [r.results.test.aer for r in arm.runs if r.results.test.aer is not None]) for arm in comparison.arms
    ]
    measured = [(arm, aers) for arm, aers in measured if aers]
    if not measured:
        return None
    buckets = measured[0][1][0].buckets
    headers = [
        "arm",
        "seeds",
        f"all (links={measured[0][1][0].links})",
        *(f"{b.label} (links={b.n})" for b in buckets),
    ]
    rows = []
    for arm, aers in measured:
        overall = np.mean([a.aer for a in aers])
        per_bucket = [[a.buckets[k].aer for a in aers] for k in range(len(buckets))]
        rows.append(
            [
                arm.label,
                str(len(aers)),
                f"{overall:.3f}",
                *("-" if None in values else f"{np.mean(values):.3f}" for values in per_bucket),
            ]
        )
    return headers, rows
