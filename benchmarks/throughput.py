"""Training and decoding throughput of attention-nmt, optionally side by side with Joey NMT 2.3.0.

    python benchmarks/throughput.py                         # our arms only
    python benchmarks/throughput.py --compare joeynmt       # the comparison table (about 25 min, 2 cores)
    python benchmarks/throughput.py --quick                 # a seconds-long smoke run of every code path

Every row runs each side in a fresh process with the same thread count (torch.set_num_threads and the
OMP/MKL variables), the same seeded synthetic corpus (`corpus.py`), the same model sizes and the same
batches; repeats alternate between the sides and each side's median is reported (`runner.py`).
Training rows count target tokens per second over a fixed number of warm batches; decoding rows
count sentences per second over an evenly spread sample of the test set (untrained, seeded models,
so both sides decode to their maximum length of 1.5 x the source). Peak memory is each process's
peak RSS above its own RSS after imports. Where the CPU has bf16 units our rows are repeated under bf16
autocast (`--precisions`). Every speed row also carries each side's FLOPs per unit of work, counted by
PyTorch's `FlopCounterMode` on one pass (`flops.py`), the GFLOP/s that makes, and that as a share of the
matrix-multiply peak at the decoder's per-step shape, measured in the same run (`peak.py`). A second table
(ours only) shows cost by source length and peak memory by batch size, a third where our time goes per arm
(`profile_pass.py`). The CPU is named above the tables and in the JSON.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # noqa: E402  (a script beside its helpers)

import corpus as corpus_lib  # noqa: E402
import peak  # noqa: E402
import runner  # noqa: E402
import scaling  # noqa: E402
import tables  # noqa: E402
from protocol import EMBEDDING, HIDDEN  # noqa: E402
from tables import Row  # noqa: E402

HERE = Path(__file__).resolve().parent
ARMS = ("none", "additive", "multiplicative", "multiplicative+feed")
PRECISIONS = ("fp32", "bf16")
JOEY_NOTE = {
    "none": "Joey has no attention-free decoder: vs its cheapest, luong without input feeding",
    "additive": "Joey bahdanau (queried after the GRU update) with input feeding",
    "multiplicative": "Joey luong, no input feeding",
    "multiplicative+feed": "Joey luong",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", choices=["joeynmt"], help="also run Joey NMT 2.3.0 (own virtualenv)")
    parser.add_argument("--json", type=Path, help="write the tables as JSON to this file")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--repeats", type=int, default=3, help="measured repeats per row and side (median)")
    parser.add_argument("--train-batches", type=int, default=6, help="training batches per repeat")
    parser.add_argument("--greedy-sentences", type=int, default=256, help="test sentences per greedy repeat")
    parser.add_argument("--beam-sentences", type=int, default=64, help="test sentences per beam-5 repeat")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--no-scaling", action="store_true", help="skip the second table")
    parser.add_argument("--no-profile", action="store_true", help="skip the third table (where our time goes)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks every path, measures nothing")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "attention-nmt")
    parser.add_argument(
        "--precisions",
        nargs="+",
        choices=PRECISIONS,
        help="fp32, and bf16 (ours under bf16 autocast, as trainer.precision=bf16-mixed; Joey runs fp32 only); "
        "default: both where the CPU has bf16 units, else fp32",
    )
    args = parser.parse_args(argv)
    if args.precisions is None:
        args.precisions = list(PRECISIONS) if tables.cpu_has_bf16() else ["fp32"]
    if args.quick:
        args.threads, args.repeats, args.train_batches = [1], 1, 1
        args.greedy_sentences, args.beam_sentences, args.batch_size = 8, 4, 8
    return args


def spread(batches_of: list[list[int]], count: int) -> list[int]:
    """`count` sentence indices spread evenly over the length-sorted test set (every length represented)."""
    flat = [i for batch in batches_of for i in batch]
    if count >= len(flat):
        return flat
    return [flat[round(j * (len(flat) - 1) / max(count - 1, 1))] for j in range(count)]


def plans(args: argparse.Namespace, data: dict, precision: str = "fp32") -> list[tuple[str, dict]]:
    """(row name, worker setup) of every row, without the thread count. Rows in a precision other than fp32
    say so in their name and their setup."""
    train = corpus_lib.pairs(data, "train", corpus_lib.train_batches(data, args.batch_size, args.train_batches))
    common = {"vocab_size": data["vocab_size"]}
    suffix = ""
    if precision != "fp32":
        common["precision"], suffix = precision, f", {precision}"
    ordered = corpus_lib.test_batches(data, args.batch_size)
    rows = []
    for arm in args.arms:
        rows.append((f"train tokens/s, {arm}{suffix}", {**common, "kind": "train", "arm": arm, "batches": train}))
    for beam, count in ((1, args.greedy_sentences), (5, args.beam_sentences)):
        sample = sorted(spread(ordered, count), key=lambda i: (len(data["test"]["src"][i]), i))
        batches = corpus_lib.pairs(
            data, "test", [sample[i : i + args.batch_size] for i in range(0, len(sample), args.batch_size)]
        )
        for arm in args.arms:
            label = "greedy" if beam == 1 else f"beam {beam}"
            rows.append(
                (
                    f"decode sentences/s, {label}, {arm}{suffix}",
                    {**common, "kind": "decode", "arm": arm, "beam": beam, "batches": batches},
                )
            )
    return rows


def sides(compare: str | None) -> list[runner.Side]:
    ours = [runner.Side("ours", Path(sys.executable), HERE / "worker_ours.py")]
    if compare != "joeynmt":
        return ours
    from joey_env import joey_python

    return ours + [runner.Side("joeynmt", joey_python(), HERE / "worker_joey.py")]


def measure_peaks(args: argparse.Namespace) -> list[peak.Peak]:
    """The matmul peak at every thread count and precision of the run (`peak.py`), at the workers' model sizes."""
    sizes = peak.shapes(args.batch_size, EMBEDDING, HIDDEN, 2 * HIDDEN, quick=args.quick)
    return peak.measure(sides(None)[0], sizes, args.threads, args.precisions, args.repeats, args.quick)


def compare_rows(args: argparse.Namespace, data: dict, peaks: list[peak.Peak] | None = None) -> list[Row]:
    """The first table: every row at every thread count and precision, plus each row's peak memory. Joey
    runs the fp32 rows only (it has no bf16 training or search on the CPU). Each side's FLOPs per unit are
    counted on one more pass, and each speed row carries the per-step matmul peak of its threads and precision."""
    speed, memory = [], []
    for threads, precision in itertools.product(args.threads, args.precisions):
        chosen = sides(args.compare if precision == "fp32" else None)
        for name, setup in plans(args, data, precision):
            result = runner.measure(chosen, setup, threads, args.repeats, count=True)
            ours, joey = result["ours"], result.get("joeynmt")
            note = JOEY_NOTE[setup["arm"]] if joey and setup["arm"] == "none" else ""
            speed.append(
                Row(
                    name,
                    threads,
                    ours.rate,
                    joey and joey.rate,
                    runner.ratio(ours.rate, joey and joey.rate),
                    note,
                    ours.flops_per_unit,
                    joey and joey.flops_per_unit,
                    peak.step_peak(peaks or [], threads, precision),
                )
            )
            memory.append(
                Row(
                    f"peak MiB, {name.replace(' tokens/s', '').replace(' sentences/s', '')}",
                    threads,
                    ours.peak_rss_mb,
                    joey and joey.peak_rss_mb,
                    runner.ratio(ours.peak_rss_mb, joey and joey.peak_rss_mb),
                )
            )
            logging.info("%s", tables.markdown(speed[-1:] + memory[-1:], bool(joey)).splitlines()[-2:])
    return speed + memory


def profiles(args: argparse.Namespace, data: dict) -> list[dict]:
    """The third table: our fp32 training and greedy rows at the first thread count, profiled (`profile_pass`)."""
    threads, out = args.threads[0], []
    for name, setup in plans(args, data):
        if setup["kind"] == "train" or setup["beam"] == 1:
            out.append({"what": name, "threads": threads, **runner.profile(sides(None)[0], setup, threads)})
            logging.info("%s", tables.profile_markdown(out[-1:]).splitlines()[-1])
    return out


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    args = parse_args(argv)
    corpus_path = corpus_lib.corpus_file(args.cache_dir / "benchmark")
    data = corpus_lib.load(corpus_path)
    peaks = measure_peaks(args)
    logging.info("%s", peak.describe(peaks))
    rows = compare_rows(args, data, peaks)
    print(tables.header(tables.machine()))
    print()
    print(peak.describe(peaks))
    print()
    print(tables.markdown(rows, args.compare is not None))
    scaled: list[Row] = []
    if not args.no_scaling:
        scaled = scaling.rows(args, data, sides(None))
        print()
        print(tables.markdown(scaled, compare=False))
    profiled: list[dict] = []
    if not args.no_profile:
        profiled = profiles(args, data)
        print()
        print(tables.profile_markdown(profiled))
    print()
    print("machine:", tables.machine())
    if args.json:
        settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        tables.write_json(args.json, rows, scaled, settings, peaks, profiled)


if __name__ == "__main__":
    main()
