"""Folding subword attention to words, and the heatmap figure."""

import numpy as np
import pytest

from attention_nmt.evaluation.alignments import figure_pixels, fold_to_words, heatmap_figure, word_index, words


def test_word_index_follows_metaspace_markers_and_keeps_specials_apart():
    pieces = ["▁Hol", "a", ",", "▁mun", "do", "</s>"]
    assert word_index(pieces) == [0, 0, 0, 1, 1, 2]
    assert words(pieces) == ["Hola,", "mundo", "</s>"]


def test_fold_sums_source_pieces_and_averages_target_pieces():
    # target pieces: ▁ab, c (one word "abc"), </s>; source pieces: ▁x, y (word "xy"), ▁z, </s>
    weights = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.1, 0.2, 0.2], [0.0, 0.0, 0.0, 1.0]])
    folded = fold_to_words(weights, ["▁x", "y", "▁z", "</s>"], ["▁ab", "c", "</s>"])
    # row "abc" = mean of rows 0 and 1 after summing source columns 0+1: [(0.3+0.6)/2, (0.3+0.2)/2, (0.4+0.2)/2]
    np.testing.assert_allclose(folded, [[0.45, 0.25, 0.30], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(folded.sum(1), 1.0)  # still a distribution over source words


def test_fold_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        fold_to_words(np.ones((2, 2)), ["▁a"], ["▁b", "</s>"])


def test_heatmap_renders_labelled_image_whose_bright_cell_is_where_the_weight_is():
    matrix = np.zeros((3, 4))
    matrix[0, 3] = 1.0  # the first target word attends to the last source word only
    fig = heatmap_figure(matrix, ["a", "b", "c", "</s>"], ["x", "y", "</s>"], "t")
    pixels = figure_pixels(fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c", "</s>"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y", "</s>"]

    def pixel(col: int, row: int) -> np.ndarray:  # the rendered colour at the centre of cell (row, col)
        x, y = ax.transData.transform((col, row))
        return pixels[int(pixels.shape[0] - y), int(x)]

    assert pixel(3, 0).min() > 200  # white where the weight is 1
    assert pixel(0, 0).max() < 40 and pixel(3, 1).max() < 40  # black where it is 0
