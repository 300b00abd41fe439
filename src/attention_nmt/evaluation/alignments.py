"""Attention as word alignments: subword weights folded to words, and the labelled heatmap figure.

Tokenizers here mark the first piece of every whitespace word with the Metaspace "▁"; a piece without
it (a BPE continuation, or punctuation split off a word) belongs to the word before it. Folding keeps
the weights a distribution over source words: a target word's row is the mean of its pieces' rows,
and a source word's column is the sum of its pieces' columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

WORD_START = "\u2581"  # Metaspace's "▁"


def word_index(pieces: Sequence[str]) -> list[int]:
    """For each piece, the index of the whitespace word it belongs to (special tokens are words of their own)."""
    index, word = [], -1
    for i, piece in enumerate(pieces):
        if i == 0 or piece.startswith(WORD_START) or _is_special(piece) or _is_special(pieces[i - 1]):
            word += 1
        index.append(word)
    return index


def words(pieces: Sequence[str]) -> list[str]:
    """The words the pieces spell, with the "▁" markers removed."""
    out: list[str] = []
    for piece, w in zip(pieces, word_index(pieces)):
        text = piece if _is_special(piece) else piece.replace(WORD_START, "")
        if w == len(out):
            out.append(text)
        else:
            out[w] += text
    return out


def fold_to_words(weights: np.ndarray, src_pieces: Sequence[str], trg_pieces: Sequence[str]) -> np.ndarray:
    """(target pieces, source pieces) attention -> (target words, source words)."""
    if weights.shape != (len(trg_pieces), len(src_pieces)):
        raise ValueError(f"weights have shape {weights.shape}, pieces give ({len(trg_pieces)}, {len(src_pieces)})")
    src_of, trg_of = np.array(word_index(src_pieces)), np.array(word_index(trg_pieces))
    by_src = np.zeros((weights.shape[0], src_of.max() + 1))
    np.add.at(by_src.T, src_of, weights.T)  # sum the columns of each source word
    rows = np.zeros((trg_of.max() + 1, by_src.shape[1]))
    np.add.at(rows, trg_of, by_src)
    return rows / np.bincount(trg_of)[:, None]  # mean over the pieces of each target word


def heatmap_figure(matrix: np.ndarray, src_words: Sequence[str], trg_words: Sequence[str], title: str = "") -> Figure:
    """A labelled heatmap: source words along x (top), target words down y, as in Bahdanau et al.'s Figure 3."""
    cell = 0.28
    fig = Figure(figsize=(max(3.0, 1.5 + cell * len(src_words)), max(2.5, 1.5 + cell * len(trg_words))), dpi=100)
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="gray", vmin=0.0, vmax=1.0, aspect="equal")
    ax.set_xticks(range(len(src_words)), labels=src_words, rotation=90, fontsize=8)
    ax.set_yticks(range(len(trg_words)), labels=trg_words, fontsize=8)
    ax.xaxis.tick_top()
    if title:
        ax.set_title(title, fontsize=9, pad=4)
    fig.tight_layout()
    return fig


def figure_pixels(fig: Figure) -> np.ndarray:
    """The figure rendered by Agg as an (H, W, 3) uint8 array, with no pyplot state involved."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _is_special(piece: str) -> bool:
    return piece.startswith("<") and piece.endswith(">") and len(piece) > 2
