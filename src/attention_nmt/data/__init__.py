"""Corpora (shipped Bible, synthetic, local files, hub sets), tokenizers, batching and the DataModule."""
