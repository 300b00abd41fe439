"""Alignment error rate (Och & Ney 2003) of attention against gold word alignments.

AER = 1 - (|A & S| + |A & P|) / (|A| + |S|) for predicted links A, sure gold links S and possible links
P (S is a subset of P; the synthetic tasks give only sure links, so P = S). Summed over a corpus the
counts add up before the ratio, as Och & Ney and Luong et al. 2015 (Table 6) report it. Links are
(source word, target word) pairs, 0-based, as in the Pharaoh format "i-j".

Attention becomes links the way Luong et al. 2015 do it: each target word is linked to the source word
with the highest (word-folded) attention weight, end-of-sentence tokens excluded on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

Link = tuple[int, int]  # (source word, target word)


def parse_pharaoh(text: str, where: str = "alignment") -> set[Link]:
    """Links from Pharaoh text "0-1 1-0 ..."; a malformed link raises ValueError naming `where`."""
    links = set()
    for item in text.split():
        src, sep, trg = item.partition("-")
        if not sep or not src.isdigit() or not trg.isdigit():
            raise ValueError(
                f"{where}: {item!r} is not a Pharaoh link 'source-target' of 0-based word indices (in {text[:80]!r})."
            )
        links.add((int(src), int(trg)))
    return links


def argmax_links(matrix: np.ndarray) -> set[Link]:
    """One link per target word (row) to its highest-weighted source word (column)."""
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError(f"attention over words must be (target, source) with a source word; got {matrix.shape}")
    return {(int(src), trg) for trg, src in enumerate(matrix.argmax(axis=1))}


@dataclass
class AERCounts:
    """The four set sizes AER is made of; add sentences with `+`."""

    predicted: int = 0  # |A|
    sure: int = 0  # |S|
    predicted_sure: int = 0  # |A & S|
    predicted_possible: int = 0  # |A & P|

    @classmethod
    def of(cls, predicted: set[Link], sure: set[Link], possible: set[Link] | None = None) -> AERCounts:
        possible = sure | (possible or set())
        return cls(len(predicted), len(sure), len(predicted & sure), len(predicted & possible))

    def __add__(self, other: AERCounts) -> AERCounts:
        return AERCounts(
            self.predicted + other.predicted,
            self.sure + other.sure,
            self.predicted_sure + other.predicted_sure,
            self.predicted_possible + other.predicted_possible,
        )

    @property
    def aer(self) -> float:
        """AER in [0, 1]; 0 when A equals S. Undefined (NaN) with no links on either side."""
        total = self.predicted + self.sure
        return float("nan") if total == 0 else 1.0 - (self.predicted_sure + self.predicted_possible) / total


def corpus_aer(counts: Iterable[AERCounts]) -> AERCounts:
    """The summed counts of many sentences (their `.aer` is the corpus AER)."""
    total = AERCounts()
    for c in counts:
        total = total + c
    return total
