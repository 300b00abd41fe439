"""The report: many finished runs aggregated into a BLEU-against-source-length figure, tables with bootstrap
intervals and paired p-values, a verdict computed from them, and a self-contained HTML page.

collect (run folders and their status) -> grouping (test sets, arms) -> statistics/diagnostics/scores (BLEU,
chrF, length ratio, bootstrap over seeds and sentences, drop and interaction, Holm) and curves (learning curves
from csv/metrics.csv) -> figures, tables, verdict, html -> build (writes the folder) -> wandb_log; cli is
`report.py`.
"""

from attention_nmt.report.build import Report, build_report
from attention_nmt.report.collect import ReportError

__all__ = ["Report", "ReportError", "build_report"]
