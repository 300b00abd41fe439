"""Evaluation: sacreBLEU overall and per source-length bucket (a torchmetrics Metric), alignments."""
