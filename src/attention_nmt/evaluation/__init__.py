"""Evaluation: sacreBLEU overall and per source-length bucket (a torchmetrics Metric), alignments and AER,
the attention a test pass records, and the files a finished run leaves (results.json, hypotheses.tsv)."""
