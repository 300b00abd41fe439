"""The second table (ours only): how cost grows with work.

Training tokens/s and greedy decoding sentences/s by source-length bucket, and peak memory against
batch size. Each bucket's training batches come from the same sampler as the first table, restricted
to sources of that length; each batch size gets a fresh process so its peak memory is its own.
"""

from __future__ import annotations

import argparse

import corpus as corpus_lib
import runner
from tables import Row

BUCKETS = ((5, 15), (16, 30), (31, 45), (46, 60))
BATCH_SIZES = (16, 32, 64, 128)


def rows(args: argparse.Namespace, data: dict, ours: list[runner.Side]) -> list[Row]:
    """Rows at the first thread count of `args.threads`, for `args.arms`."""
    threads, out, repeats = args.threads[0], [], 1  # trends, not ratios: one repeat keeps this table short
    for low, high in BUCKETS if not args.quick else BUCKETS[:1]:
        train = corpus_lib.pairs(
            data,
            "train",
            corpus_lib.train_batches(data, args.batch_size, max(1, args.train_batches // 3), src_range=(low, high)),
        )
        test = corpus_lib.pairs(
            data,
            "test",
            corpus_lib.test_batches(
                data, args.batch_size, limit=max(1, args.greedy_sentences // 8), src_range=(low, high)
            ),
        )
        for arm in args.arms:
            base = {"vocab_size": data["vocab_size"], "arm": arm}
            trained = runner.measure(ours, {**base, "kind": "train", "batches": train}, threads, repeats)["ours"]
            decoded = runner.measure(ours, {**base, "kind": "decode", "beam": 1, "batches": test}, threads, repeats)[
                "ours"
            ]
            out.append(Row(f"train tokens/s, source {low}-{high} words, {arm}", threads, trained.rate))
            out.append(Row(f"decode sentences/s, greedy, source {low}-{high} words, {arm}", threads, decoded.rate))
    for batch_size in BATCH_SIZES if not args.quick else BATCH_SIZES[:1]:
        train = corpus_lib.pairs(data, "train", corpus_lib.train_batches(data, batch_size, 1))
        for arm in args.arms:
            setup = {"vocab_size": data["vocab_size"], "arm": arm, "kind": "train", "batches": train}
            measured = runner.measure(ours, setup, threads, 1)["ours"]
            out.append(Row(f"peak MiB, train, batch {batch_size}, {arm}", threads, measured.peak_rss_mb))
    return out
