"""Alignment error rate: hand-computed values, Pharaoh parsing, argmax links and corpus sums."""

import math

import numpy as np
import pytest

from attention_nmt.evaluation.aer import AERCounts, argmax_links, corpus_aer, parse_pharaoh


def test_aer_equals_the_hand_computed_value_with_sure_and_possible_links():
    sure = {(0, 0), (1, 1), (2, 2)}
    possible = {(2, 1)}  # P = S + this
    predicted = {(0, 0), (2, 1), (1, 2)}  # one sure hit, one possible-only hit, one miss
    counts = AERCounts.of(predicted, sure, possible)
    assert (counts.predicted, counts.sure, counts.predicted_sure, counts.predicted_possible) == (3, 3, 1, 2)
    assert counts.aer == pytest.approx(1 - (1 + 2) / (3 + 3))  # 0.5


def test_aer_is_zero_for_the_gold_links_and_one_for_disjoint_links():
    gold = parse_pharaoh("0-2 1-1 2-0")
    assert AERCounts.of(gold, gold).aer == 0.0
    assert AERCounts.of({(0, 0), (2, 2)}, gold).aer == 1.0  # no link in common
    assert math.isnan(AERCounts().aer)


def test_corpus_aer_adds_counts_before_the_ratio_rather_than_averaging_sentences():
    short = AERCounts.of({(0, 0)}, {(0, 0)})  # AER 0 on 1 link
    long = AERCounts.of({(0, 1), (1, 0), (2, 2)}, {(0, 0), (1, 1), (2, 2)})  # 1 of 3 right: AER 2/3
    total = corpus_aer([short, long])
    assert total.aer == pytest.approx(1 - (2 * 2) / (4 + 4))  # 0.5, not the sentence mean 1/3
    assert (total.predicted, total.sure) == (4, 4)


def test_argmax_links_take_each_target_words_strongest_source_word():
    weights = np.array(
        [
            [0.1, 0.7, 0.2],  # target 0 -> source 1
            [0.6, 0.3, 0.1],
        ]
    )  # target 1 -> source 0
    assert argmax_links(weights) == {(1, 0), (0, 1)}
    with pytest.raises(ValueError, match="target, source"):
        argmax_links(np.zeros((2, 0)))


def test_malformed_pharaoh_link_names_where_it_is():
    with pytest.raises(ValueError, match="test pair 3: alignment: '1:2'"):
        parse_pharaoh("0-0 1:2", where="test pair 3: alignment")
    assert parse_pharaoh("") == set()
