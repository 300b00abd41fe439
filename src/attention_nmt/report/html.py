"""The report as one self-contained HTML page (figures embedded as base64 PNG, no external files, scripts or
fonts), readable offline, plus the method note that the Markdown report shares.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from attention_nmt.report.attention import Heatmap
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


def method_note(scores: ComparisonScores, min_bleu: float) -> str:
    """How the numbers of a comparison were computed, for the Markdown report and the page."""
    resampled = (
        "each arm's seeds (with replacement), then the test sentences"
        if scores.bootstrap == SEEDS_AND_SENTENCES
        else "the test sentences"
    )
    drop = next((a.drop for a in scores.arms if a.drop is not None), None)
    short = f"{drop.short_label} words" if drop else f"1-{scores.short_max_words} words"
    return (
        f"BLEU is sacreBLEU corpus BLEU ({scores.comparison.signature}) recomputed from each run's hypotheses.tsv, "
        "chrF is sacreBLEU's chrF and the length ratio is hypothesis over reference words (BLEU's tokenizer), "
        "all from summed sufficient statistics. An arm's value is the mean over its seeds. Intervals: 95% "
        f"percentile bootstrap over {scores.resamples} resamples (seed {scores.seed}) of {resampled} "
        f"({scores.bootstrap}) in each slice (the whole set, or one length bucket). Difference: the arm's mean "
        "minus its `none` arm's mean. p: paired bootstrap (Koehn 2004), the same resampled sentences for both "
        f"arms, two-sided (twice the smaller share of resamples on either side of zero, +1 smoothed); * marks "
        f"p<{ALPHA}, uncorrected; on the longest bucket the verdict uses Holm's correction over the attention "
        f"arms. Drop: BLEU on the short slice ({short}, --short-max-words) minus BLEU on the longest bucket; "
        'interaction: drop(none) - drop(arm) on the same resamples for both arms and slices. "Supported" '
        f"needs every attention arm better than `none` on the longest bucket (Holm p<{ALPHA}) and an "
        f"interaction interval above 0; arms under {min_bleu:.1f} BLEU overall (--min-bleu) are not trained "
        "enough to judge."
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
    if section.curves_png is not None:
        curves = base64.b64encode(section.curves_png).decode("ascii")
        parts.append(
            f'<p><img alt="Learning curves, {escape(comparison.name)}" src="data:image/png;base64,{curves}"></p>'
        )
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
