"""The report as one self-contained HTML page (figures embedded as base64 PNG, no external files, scripts or
fonts), readable offline, plus the method note that the Markdown report shares.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from attention_nmt.report.heatmaps import Heatmap
from attention_nmt.report.scores import SEEDS_AND_SENTENCES, ComparisonScores
from attention_nmt.report.tables import ALPHA, Table
from attention_nmt.report.verdict import DEFAULT_MIN_BLEU, Verdict

STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; }
.verdict { background: #f6f8fa; border-left: 4px solid #4a7; padding: 0.6em 1em; }
.warning { color: #a40; }
.note { color: #555; font-size: 0.9em; }
"""


@dataclass
class Section:
    """What the page shows for one comparison."""

    scores: ComparisonScores
    verdict: Verdict
    png: bytes
    tables: list[tuple[str, Table]]  # (caption, table)
    heatmaps: list[Heatmap] = field(default_factory=list)  # attention of a few test sentences per attention arm
    curves_png: bytes | None = None  # learning curves, when the runs logged validations to csv/metrics.csv
    health_png: bytes | None = None  # attention health against updates, when the runs logged it


def method_note(scores: ComparisonScores, min_bleu: float) -> str:
    """How the numbers of a comparison were computed, for the Markdown report and the page."""
    resampled = (
        "each arm's seeds (with replacement), then the test sentences"
        if scores.bootstrap == SEEDS_AND_SENTENCES
        else "the test sentences"
    )
    drop = next((a.drop for a in scores.arms if a.drop is not None), None)
    short = f"{drop.short_label} words" if drop else f"1-{scores.short_max_words} words"
    seeds = ", ".join(f"{a.arm.label} {a.seeds}" for a in scores.arms)
    return (
        f"BLEU is sacreBLEU corpus BLEU ({scores.comparison.signature}) recomputed from each run's hypotheses.tsv; "
        "BLEU without the brevity penalty is BLEU / BP (the geometric mean of the n-gram precisions) from the same "
        "sacreBLEU score; chrF is sacreBLEU's chrF and the length ratio is hypothesis over reference words "
        "(BLEU's tokenizer); all from summed sufficient statistics. An arm's value is the mean over its seeds "
        f"(seeds per arm: {seeds}). Intervals: 95% percentile bootstrap over {scores.resamples} resamples "
        f"(--resamples; seed {scores.seed}) of {resampled} ({scores.bootstrap}); each slice (the whole set, "
        "each length bucket, the short slice of the drop) is resampled on its own (stratified), and every arm "
        "is scored on the same resamples of a slice. Difference: the arm's mean minus its `none` arm's mean. p: "
        "paired bootstrap (Koehn 2004), two-sided (twice the smaller share of resamples on either side of zero, "
        f"+1 smoothed); its floor is 2/(B+1) = {scores.p_floor:.4f}, where no resample fell on the other side, "
        f"so it is printed as an upper bound (p <= ...), and so is a Holm p taken from it; * marks p<{ALPHA}, "
        "uncorrected; on the longest bucket the verdict uses Holm's correction over the attention arms. Drop: a "
        f"measure on the short slice ({short}, --short-max-words) minus the same on the longest bucket; the "
        "brevity penalty's share is drop(BLEU) - drop(BLEU without BP). A drop is in content when BLEU without "
        "BP or chrF drops (interval above 0), in length when the brevity penalty's share does. Interaction: "
        'drop(none) - drop(arm) in BLEU on the same resamples for both arms. "Supported" needs (a) `none` to '
        f"lose with length (drop interval above 0), (b) every attention arm better than `none` on the longest "
        f"bucket (Holm p<{ALPHA}) and (c) every interaction interval above 0; with one training run per arm it "
        'says so. An interaction interval below 0, or `none` not losing while attention merely helps, is "Not '
        f'supported". Arms under {min_bleu:.1f} BLEU overall (--min-bleu) are not trained enough to judge; an '
        "arm whose validation curve was still rising (best checkpoint at its last validation, or the last "
        "quarter of updates gained over a quarter of the final BLEU) or diverged (final validation BLEU under "
        "80% of its peak, or validation loss rising over the last third of validations) is named in the verdict."
    )


def text_html(text: str) -> str:
    """Escaped text with Markdown's `code` spans as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def table_html(table: Table) -> str:
    headers, rows = table
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def verdict_html(verdict: Verdict) -> str:
    items = "".join(f"<li>{text_html(d)}</li>" for d in verdict.details)
    return f'<div class="verdict"><p><strong>{text_html(verdict.headline)}</strong></p><ul>{items}</ul></div>'


def section_html(section: Section, min_bleu: float) -> str:
    comparison = section.scores.comparison
    image = base64.b64encode(section.png).decode("ascii")
    parts = [
        f"<h2>{escape(comparison.name)}</h2>",
        f'<p class="note">test set {escape(comparison.test_id)}, {len(comparison.rows)} sentences, '
        f"{len(comparison.arms)} arm(s)</p>",
        verdict_html(section.verdict),
        f'<p><img alt="BLEU against source length, {escape(comparison.name)}" src="data:image/png;base64,{image}"></p>',
    ]
    for png, alt in ((section.curves_png, "Learning curves"), (section.health_png, "Attention health")):
        if png is not None:
            data = base64.b64encode(png).decode("ascii")
            parts.append(f'<p><img alt="{alt}, {escape(comparison.name)}" src="data:image/png;base64,{data}"></p>')
    for caption, table in section.tables:
        parts += [f"<h3>{text_html(caption)}</h3>", table_html(table)]
    if section.heatmaps:
        parts.append("<h3>Attention on test sentences</h3>")
        parts += [
            f'<figure><img alt="{escape(h.caption)}" src="data:image/png;base64,'
            f'{base64.b64encode(h.png).decode("ascii")}"><figcaption class="note">{escape(h.caption)}'
            "</figcaption></figure>"
            for h in section.heatmaps
        ]
    parts += [f'<p class="warning">{escape(w)}</p>' for w in section.scores.warnings]
    note = method_note(section.scores, min_bleu)
    parts.append(f'<p class="note">{text_html(note)}</p>')
    return "\n".join(parts)


def page(
    title: str,
    sections: Sequence[Section],
    runs: Table,
    notes: Sequence[str] | None = None,
    min_bleu: float = DEFAULT_MIN_BLEU,
) -> str:
    """The whole page: one section per comparison, then every run found with its status."""
    body = [f"<h1>{escape(title)}</h1>"]
    body += [f'<p class="warning">{escape(n)}</p>' for n in notes or []]
    body += [section_html(s, min_bleu) for s in sections]
    body += ["<h2>Runs</h2>", table_html(runs)]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
