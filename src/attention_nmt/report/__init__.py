"""The report: many finished runs aggregated into a BLEU-against-source-length figure, tables with bootstrap
intervals and paired p-values, a verdict computed from them, and a self-contained HTML page.

collect (run folders and their status) -> grouping (test sets, arms) -> statistics/diagnostics/scores/drops
(BLEU, BLEU without the brevity penalty, chrF, length ratio, bootstrap over seeds and sentences, p-value floor,
Holm, each drop decomposed, interaction; consistency warnings) and curves/health (learning curves from
csv/metrics.csv, still-rising and diverged flags) -> figures, tables, bleu_csv, describe/verdict (conditions
(a)-(c) and the label), html -> build (writes the folder) -> wandb_log; cli is `report.py`.
"""

from attention_nmt.report.build import Report, build_report
from attention_nmt.report.collect import ReportError

__all__ = ["Report", "ReportError", "build_report"]
