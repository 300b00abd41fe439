"""Regenerates the shipped Spanish->English Bible corpus (`resources/bible_es_en.tsv.gz`).

This script owns every decision that shapes the shipped file: reading the two SWORD modules
(Reina-Valera 1909 `spaRV1909eb`, World English Bible `engWEB2015eb`), cleaning the verse text,
pairing verses in KJV versification, repairing versification shifts, dropping misaligned pairs,
and the deterministic, leak-free train/validation/test split (`split_pairs`: no validation or test
source, normalised by `overlap.normalize`, occurs in train or twice in its split). The loader
(`bible.py`) only reads its output.

Run it (needs the optional `pysword` dependency and the Debian packages `sword-text-sparv` and
`sword-text-web`)::

    python -m attention_nmt.data.build_bible [--sword-path /usr/share/sword] [--out PATH]

Pairing rules, in order (each one's count is printed and recorded in resources/README.md):
  1. `empty_es` / `empty_en`: a KJV reference whose cleaned text is empty on one side is not paired.
  2. realignment: the RV1909 module declares KJV versification but keeps the Spanish (Hebrew-style)
     numbering in places (Num 12:16 -> 13:1, Job 38:39-41 -> 39:1-3, Jonah 1:17 -> 2:1, Hos 11:12,
     2 Cor 13:13-14, ...). Each book is re-aligned with a banded Gale-Church dynamic program on
     character lengths plus shared name/cognate prefixes (`AlignModel`); a 1-1 link between different
     references is `realigned` (kept, under the English reference), and verses the program links 1-0, 0-1,
     2-1 or 1-2 are `unaligned` (dropped).
  3. `length_outlier`: a 1-1 pair whose log word-count ratio lies more than `OUTLIER_Z` robust
     standard deviations (median/MAD) from the median is dropped.
Psalm titles are `fixed`: RV1909 has them inside verse 1, the WEB in a canonical <title>, which
pysword's cleaner deletes, so the WEB title is put back in front of verse 1.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import logging
import math
import random
import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from attention_nmt.data.overlap import find_leaks, unique_indices

LOGGER = logging.getLogger(__name__)

DEFAULT_SWORD_PATH = "/usr/share/sword"
ES_MODULE = "spaRV1909eb"
EN_MODULE = "engWEB2015eb"
DEFAULT_OUT = Path(__file__).parent / "resources" / "bible_es_en.tsv.gz"
HEADER = ("ref", "split", "es", "en")

SEED = 1909  # fixed: the split must never change unless this script is rerun on purpose
VALID_SIZE = 1000
TEST_QUOTA = 300  # test sentences per source-length bucket, at most half the bucket
TEST_MIN_PER_BUCKET = 150
BUCKETS = ((1, 10), (11, 20), (21, 30), (31, 40), (41, 50), (51, None))  # source words, inclusive
OUTLIER_Z = 4.0
BAND = 25  # the Gale-Church program only links verse i to verse j with |i - j| <= BAND
# Gale-Church link priors (-log prob), tuned for verse-numbered text where 1-1 dominates.
LINK_COSTS = {
    (1, 1): -math.log(0.98),
    (1, 0): -math.log(0.001),
    (0, 1): -math.log(0.001),
    (2, 1): -math.log(0.009),
    (1, 2): -math.log(0.009),
}

_PSALM_TITLE = re.compile(r'<title[^>]*canonical="true"[^>]*type="psalm"[^>]*>(.*?)</title>', re.S)
_TAG = re.compile(r"<[^>]+>")
_NOTE = re.compile(r"<note\b.*?</note>", re.S)
_SPACE_BEFORE_PUNCT = re.compile(r" ([,.;:!?’”)])")


@dataclass(frozen=True)
class Verse:
    """One cleaned verse: `ref` is `Book.chapter.verse` in OSIS book names."""

    ref: str
    text: str


@dataclass(frozen=True)
class AlignModel:
    """Parameters of the verse-alignment cost, estimated from same-numbered pairs.

    Attributes:
        ratio: Mean English/Spanish character ratio (Gale-Church `c`).
        var: Variance of English characters per Spanish character (Gale-Church `s^2`).
        shared_same: Mean number of shared cognate keys between a verse and its translation.
        shared_other: Mean number of shared cognate keys between a verse and the next verse's translation.
    """

    ratio: float
    var: float
    shared_same: float
    shared_other: float

    def cost(self, es: list[Verse], en: list[Verse], es_keys: list[set], en_keys: list[set]) -> float:
        """-log-likelihood of linking the verses `es` to `en`: Gale-Church length term plus cognate term.

        The cognate term is the Poisson log-likelihood ratio of the shared-key count under
        "translations" (`shared_same`) against "neighbours" (`shared_other`).
        """
        es_chars, en_chars = sum(len(v.text) for v in es), sum(len(v.text) for v in en)
        mean = (es_chars + en_chars / self.ratio) / 2
        delta = (en_chars - es_chars * self.ratio) / math.sqrt(max(mean, 1.0) * self.var)
        length = -math.log(max(math.erfc(abs(delta) / math.sqrt(2)), 1e-300))  # -log 2(1 - Phi(|delta|))
        shared = len(set().union(*es_keys) & set().union(*en_keys))
        return length + (self.shared_same - self.shared_other) - shared * math.log(self.shared_same / self.shared_other)


def cognate_keys(text: str) -> set[str]:
    """First four letters (accents stripped, lower-cased) of each word of 4+ letters: names and cognates."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return {w[:4].lower() for w in re.findall(r"[A-Za-z]{4,}", ascii_text)}


def bucket_name(n_words: int) -> str:
    """Return the source-length bucket (`"1-10"` ... `"51+"`) of a sentence of `n_words` words."""
    for low, high in BUCKETS:
        if high is None or n_words <= high:
            return f"{low}+" if high is None else f"{low}-{high}"
    raise AssertionError(f"unreachable: {n_words} words fits no bucket")


def clean_text(raw: str, cleaner, keep_psalm_title: bool) -> str:
    """Strip OSIS markup with pysword's cleaner and normalise whitespace to single spaces.

    Args:
        raw: The verse as stored in the module (OSIS XML fragment).
        cleaner: A `pysword.cleaner.OSISCleaner`.
        keep_psalm_title: Put a canonical psalm title (which the cleaner deletes) in front of the verse.

    Returns:
        The cleaned verse, possibly empty.
    """
    titles = _PSALM_TITLE.findall(raw) if keep_psalm_title else []
    # A footnote sits between words ("God<note>..</note><w>created"): replace it by a space, not nothing.
    text = cleaner.clean(_NOTE.sub(" ", raw))
    if titles:
        title = " ".join(_TAG.sub("", t) for t in titles)
        text = f"{title} {text}"
    return _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(text.split()))


def read_module(
    sword_path: str, module: str, refs: list[tuple[str, int, int]], counts: Counter, keep_psalm_title: bool
) -> list[Verse]:
    """Read the given KJV references from a SWORD module.

    Args:
        sword_path: Directory holding `mods.d/` and `modules/`.
        module: SWORD module name, e.g. `spaRV1909eb`.
        refs: `(osis_book, chapter, verse)` triples, in canon order.
        counts: Incremented under `psalm_title_restored` for every psalm title put back.
        keep_psalm_title: See `clean_text`.

    Returns:
        One `Verse` per reference (text may be empty; refs absent from the module's versification are empty).
    """
    from pysword.cleaner import OSISCleaner  # optional dependency: only the build needs it
    from pysword.modules import SwordModules

    modules = SwordModules(sword_path)
    found = modules.parse_modules()
    if module not in found:
        raise SystemExit(
            f"SWORD module {module!r} not found under {sword_path} (found {sorted(found)}); "
            "install sword-text-sparv and sword-text-web or pass --sword-path."
        )
    bible = modules.get_bible_from_module(module)
    # Speed-up: zText modules decompress a whole book per verse lookup; cache the last few blocks.
    bible._decompressed_text = functools.lru_cache(maxsize=8)(bible._decompressed_text)
    lengths = {b.osis_name: b.chapter_lengths for books in bible.get_structure().get_books().values() for b in books}
    cleaner = OSISCleaner()
    verses = []
    for book, chapter, verse in refs:
        raw = ""
        if book in lengths and chapter <= len(lengths[book]) and verse <= lengths[book][chapter - 1]:
            raw = bible.get(books=[book], chapters=[chapter], verses=[verse], clean=False)
        counts["psalm_title_restored"] += keep_psalm_title and bool(_PSALM_TITLE.search(raw))
        verses.append(Verse(f"{book}.{chapter}.{verse}", clean_text(raw, cleaner, keep_psalm_title)))
    return verses


def kjv_refs() -> list[tuple[str, int, int]]:
    """All KJV references (OT then NT) as `(osis_book, chapter, verse)`."""
    from pysword.canons import canons

    return [
        (osis, c, v)
        for testament in ("ot", "nt")
        for _, osis, _, chapters in canons["kjv"][testament]
        for c, n in enumerate(chapters, 1)
        for v in range(1, n + 1)
    ]


def align_book(es: list[Verse], en: list[Verse], model: AlignModel) -> list[tuple[list[int], list[int]]]:
    """Align one book's Spanish and English verses with a banded Gale-Church program.

    Args:
        es: Non-empty Spanish verses of the book, in order.
        en: Non-empty English verses of the book, in order.
        model: Link cost parameters.

    Returns:
        Links `(es_indices, en_indices)` in order, covering every verse of both sides.
    """
    n, m = len(es), len(en)
    es_keys, en_keys = [cognate_keys(v.text) for v in es], [cognate_keys(v.text) for v in en]
    inf = float("inf")
    cost: dict[tuple[int, int], float] = {(0, 0): 0.0}
    back: dict[tuple[int, int], tuple[int, int]] = {}
    for i in range(n + 1):
        for j in range(max(0, i - BAND), min(m, i + BAND) + 1):
            best, step = cost.get((i, j), inf), None
            for (di, dj), prior in LINK_COSTS.items():
                prev = cost.get((i - di, j - dj))
                if prev is None or i < di or j < dj:
                    continue
                c = prev + prior
                if di and dj:
                    c += model.cost(es[i - di : i], en[j - dj : j], es_keys[i - di : i], en_keys[j - dj : j])
                if c < best:
                    best, step = c, (di, dj)
            if step is not None:
                cost[(i, j)], back[(i, j)] = best, step
    if (n, m) not in cost:
        raise RuntimeError(f"book {es[0].ref.split('.')[0]}: alignment left the band of {BAND} verses")
    links, (i, j) = [], (n, m)
    while (i, j) != (0, 0):
        di, dj = back[(i, j)]
        links.append((list(range(i - di, i)), list(range(j - dj, j))))
        i, j = i - di, j - dj
    return links[::-1]


def pair_verses(es: list[Verse], en: list[Verse], counts: Counter) -> list[tuple[str, str, str]]:
    """Pair the two translations, applying rules 1-3 of the module docstring and counting each.

    Returns:
        `(ref, es_text, en_text)` triples in canon order.
    """
    by_book: dict[str, tuple[list[Verse], list[Verse]]] = {}
    for s, e in zip(es, en):
        counts["kjv_refs"] += 1
        counts["empty_es"] += not s.text
        counts["empty_en"] += not e.text
        book = by_book.setdefault(s.ref.split(".")[0], ([], []))
        if s.text and e.text:  # a Spanish verse whose English twin is empty (a textual variant) has no partner
            book[0].append(s)
        if e.text:
            book[1].append(e)
    same = [(s.text, e.text) for s, e in zip(es, en) if s.text and e.text]
    ratio = sum(len(e) for _, e in same) / sum(len(s) for s, _ in same)
    var = statistics.fmean((len(e) - len(s) * ratio) ** 2 / len(s) for s, e in same)
    neighbours = [(s.text, e.text) for s, e in zip(es, en[1:]) if s.text and e.text]
    model = AlignModel(
        ratio,
        var,
        *(statistics.fmean(len(cognate_keys(s) & cognate_keys(e)) for s, e in pairs) for pairs in (same, neighbours)),
    )
    LOGGER.info("alignment model: %s", model)
    links = []
    for book_es, book_en in by_book.values():
        for es_idx, en_idx in align_book(book_es, book_en, model):
            if len(es_idx) == 1 and len(en_idx) == 1:
                s, e = book_es[es_idx[0]], book_en[en_idx[0]]
                counts["realigned"] += s.ref != e.ref
                links.append((e.ref, s.text, e.text))
            else:
                counts["unaligned_es_verses"] += len(es_idx)
                counts["unaligned_en_verses"] += len(en_idx)
    log_ratios = [math.log(len(e.split()) / len(s.split())) for _, s, e in links]
    median = statistics.median(log_ratios)
    mad = statistics.median(abs(r - median) for r in log_ratios) * 1.4826
    kept = [link for link, r in zip(links, log_ratios) if abs(r - median) <= OUTLIER_Z * mad]
    counts["length_outlier"] = len(links) - len(kept)
    LOGGER.info(
        "length-ratio test: median log(en/es words) %.3f, robust sd %.3f, |z| > %.1f dropped", median, mad, OUTLIER_Z
    )
    return kept


def split_pairs(pairs: list[tuple[str, str, str]], counts: Counter) -> dict[str, str]:
    """Assign each pair to train/validation/test, deterministically (`random.Random(SEED)`) and leak-free.

    1. Test: from each source-length bucket, `min(TEST_QUOTA, bucket_size // 2)` pairs drawn uniformly.
    2. Validation: `VALID_SIZE` pairs drawn uniformly from the rest. Train: everything else.
    3. Leak-free: a source whose normalised form (`overlap.normalize`) is shared by two or more pairs of
       the corpus belongs to train only. A test or validation pair drawn in 1-2 with such a source is
       moved back to train and replaced by a uniform draw from the train pairs with a source of their own
       (test: from the same bucket). So no validation/test source occurs in train or twice in a split, and
       the draws of 1-2 are otherwise kept. Moves are counted in `counts` (`moved_test_<bucket>`, `moved_validation`).

    Returns:
        ref -> split name.
    """
    rng = random.Random(SEED)
    by_bucket: dict[str, list[str]] = {}
    for ref, es, _ in pairs:
        by_bucket.setdefault(bucket_name(len(es.split())), []).append(ref)
    split = {ref: "train" for ref, _, _ in pairs}
    for name, refs in by_bucket.items():
        quota = min(TEST_QUOTA, len(refs) // 2)
        if quota < TEST_MIN_PER_BUCKET:
            raise SystemExit(f"bucket {name} has {len(refs)} pairs: too few for {TEST_MIN_PER_BUCKET} test sentences")
        for ref in rng.sample(refs, quota):
            split[ref] = "test"
    rest = [ref for ref, _, _ in pairs if split[ref] == "train"]
    for ref in rng.sample(rest, VALID_SIZE):
        split[ref] = "validation"
    shared = set(range(len(pairs))) - set(unique_indices([es for _, es, _ in pairs]))
    train_only = {pairs[i][0] for i in shared}
    counts["train_only_pairs"] = len(train_only)  # pairs whose normalised source another pair shares
    for name, refs in [*by_bucket.items(), ("validation", [ref for ref, _, _ in pairs])]:
        target = "test" if name != "validation" else "validation"
        moved = [ref for ref in refs if split[ref] == target and ref in train_only]
        pool = [ref for ref in refs if split[ref] == "train" and ref not in train_only]
        if len(pool) < len(moved):
            raise SystemExit(
                f"{target} ({name}): {len(moved)} drawn pairs share a source with another pair but only "
                f"{len(pool)} train pairs with a source of their own are left to replace them"
            )
        for ref in moved:
            split[ref] = "train"
        for ref in rng.sample(pool, len(moved)):
            split[ref] = target
        counts[f"moved_test_{name}" if target == "test" else "moved_validation"] = len(moved)
    return split


def write_tsv(path: Path, pairs: list[tuple[str, str, str]], split: dict[str, str]) -> None:
    """Write the gzip'd TSV (no quoting: cleaned text never holds a tab or newline); mtime 0 keeps it byte-stable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["\t".join(HEADER)] + [f"{ref}\t{split[ref]}\t{es}\t{en}" for ref, es, en in pairs]
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(("\n".join(lines) + "\n").encode("utf-8"))


def report(pairs: list[tuple[str, str, str]], split: dict[str, str], counts: Counter) -> str:
    """Format the statistics printed by the build and copied into resources/README.md."""
    es_len = sorted(len(es.split()) for _, es, _ in pairs)
    en_len = sorted(len(en.split()) for _, _, en in pairs)
    out = (
        ["## Counts"]
        + [f"- {k}: {v}" for k, v in counts.items()]
        + [f"- pairs written: {len(pairs)}", "", "## Lengths (words)"]
    )
    for side, lens in (("es (source)", es_len), ("en", en_len)):
        out.append(
            f"- {side}: mean {statistics.fmean(lens):.1f}, median {statistics.median(lens):g}, "
            f"max {lens[-1]}, >30: {sum(n > 30 for n in lens)}, >50: {sum(n > 50 for n in lens)}"
        )
    table = Counter((split[ref], bucket_name(len(es.split()))) for ref, es, _ in pairs)
    names = [bucket_name(low) for low, _ in BUCKETS]
    out += [
        "",
        "## Split x source-length bucket",
        "",
        "| split | " + " | ".join(names) + " | total |",
        "|---" * (len(names) + 2) + "|",
    ]
    for s in ("train", "validation", "test"):
        row = [table[(s, b)] for b in names]
        out.append(f"| {s} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    test_max = max(len(es.split()) for ref, es, _ in pairs if split[ref] == "test")
    out.append(f"\nlongest test source: {test_max} words")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: build the corpus and print its statistics."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sword-path", default=DEFAULT_SWORD_PATH, help="SWORD library root (mods.d/, modules/)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .tsv.gz")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    refs = kjv_refs()
    LOGGER.info("reading %d KJV references from %s and %s", len(refs), ES_MODULE, EN_MODULE)
    counts: Counter = Counter()
    es = read_module(args.sword_path, ES_MODULE, refs, counts, keep_psalm_title=False)
    en = read_module(args.sword_path, EN_MODULE, refs, counts, keep_psalm_title=True)
    pairs = pair_verses(es, en, counts)
    split = split_pairs(pairs, counts)
    leaks = find_leaks(
        {name: [es for ref, es, _ in pairs if split[ref] == name] for name in ("train", "validation", "test")}
    )
    if any(leak.indices for leak in leaks):
        raise SystemExit(f"split_pairs left leaking validation/test pairs: {leaks}")
    write_tsv(args.out, pairs, split)
    print(report(pairs, split, counts))
    print(f"\nwrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
