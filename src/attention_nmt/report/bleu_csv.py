"""`bleu.csv`: every number of the report's tables in long format, one row per comparison, arm and slice (the
whole test set, then each non-empty bucket), plus one drop row per arm, for analysis elsewhere.

Slice rows: BLEU, BLEU without the brevity penalty (`bleu_nobp`) and chrF with their 95% intervals, the brevity
penalty and length ratio, each seed's BLEU, and for attention arms the difference to `none` with its p-value
(`p_holm` on the longest bucket); `significant` uses Holm's p where there is one, else the raw p; `p_floor` is
the smallest p-value the resamples can give (2 / (B + 1)): a p-value equal to it is only an upper bound.

Drop rows (slice "drop <short>-><longest>"): `bleu`, `bleu_nobp`, `chrf` and their `*_ci_*` hold the drop of
each measure (short slice minus longest bucket), `bp_share*` the brevity penalty's share of the BLEU drop,
`length_ratio_short`/`_long` the length ratio on both slices, and `interaction*` the test drop(none) - drop(arm).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from attention_nmt.report.diagnostics import BLEU_KEY, CHRF_KEY, LENGTH_RATIO, NO_BP
from attention_nmt.report.scores import ArmScores, ComparisonScores, SliceScore
from attention_nmt.report.tables import ALPHA

CSV_COLUMNS = [
    "comparison",
    "test_set",
    "arm",
    "attention",
    "runs",
    "seeds",
    "num_parameters",
    "slice",
    "lower",
    "upper",
    "sentences",
    "bleu",
    "ci_low",
    "ci_high",
    "seed_bleus",
    "seed_sd",
    "baseline",
    "delta",
    "delta_ci_low",
    "delta_ci_high",
    "p_value",
    "significant",
    "p_holm",
    "p_floor",
    "bleu_nobp",
    "bleu_nobp_ci_low",
    "bleu_nobp_ci_high",
    "chrf",
    "chrf_ci_low",
    "chrf_ci_high",
    "brevity_penalty",
    "length_ratio",
    "bp_share",
    "bp_share_ci_low",
    "bp_share_ci_high",
    "length_ratio_short",
    "length_ratio_long",
    "interaction",
    "interaction_ci_low",
    "interaction_ci_high",
    "interaction_p",
    "bootstrap",
]


def csv_rows(all_scores: Sequence[ComparisonScores]) -> list[dict[str, Any]]:
    """One dict per comparison, arm and slice (then the arm's drop row), keyed by CSV_COLUMNS; floats unrounded."""
    rows = []
    for scores in all_scores:
        for arm in scores.arms:
            common = {
                "comparison": scores.comparison.name,
                "test_set": scores.comparison.test_id,
                "arm": arm.arm.label,
                "attention": arm.arm.attention,
                "runs": len(arm.arm.runs),
                "seeds": ";".join(str(s) for s in arm.arm.seeds),
                "num_parameters": ";".join(map(str, arm.num_parameters)),
                "baseline": arm.baseline,
                "p_floor": scores.p_floor,
                "bootstrap": scores.bootstrap,
            }
            rows += [{**common, **_slice_row(piece)} for piece in arm.slices]
            if arm.drop is not None:
                rows.append({**common, **_drop_row(arm)})
    return rows


def _slice_row(piece: SliceScore) -> dict[str, Any]:
    decisive = piece.p_decisive
    return {
        "slice": piece.label,
        "lower": piece.lower,
        "upper": piece.upper,
        "sentences": piece.n,
        "bleu": piece.bleu,
        "ci_low": piece.ci[0],
        "ci_high": piece.ci[1],
        "seed_bleus": ";".join(f"{b:.4f}" for b in piece.seed_bleus),
        "seed_sd": piece.seed_sd,
        "delta": piece.delta,
        "delta_ci_low": piece.delta_ci[0] if piece.delta_ci else None,
        "delta_ci_high": piece.delta_ci[1] if piece.delta_ci else None,
        "p_value": piece.p_value,
        "significant": None if decisive is None else decisive < ALPHA,
        "p_holm": piece.p_holm,
        "bleu_nobp": piece.nobp,
        "bleu_nobp_ci_low": piece.nobp_ci[0],
        "bleu_nobp_ci_high": piece.nobp_ci[1],
        "chrf": piece.chrf,
        "chrf_ci_low": piece.chrf_ci[0],
        "chrf_ci_high": piece.chrf_ci[1],
        "brevity_penalty": piece.brevity_penalty,
        "length_ratio": piece.length_ratio,
    }


def _drop_row(arm: ArmScores) -> dict[str, Any]:
    drop, found = arm.drop, arm.interaction
    nobp, chrf = drop.changes[NO_BP], drop.changes[CHRF_KEY]
    return {
        "slice": f"drop {drop.short_label}->{drop.long_label}",
        "sentences": drop.short_n + drop.long_n,
        "bleu": drop.value,
        "ci_low": drop.changes[BLEU_KEY].ci[0],
        "ci_high": drop.changes[BLEU_KEY].ci[1],
        "bleu_nobp": nobp.value,
        "bleu_nobp_ci_low": nobp.ci[0],
        "bleu_nobp_ci_high": nobp.ci[1],
        "chrf": chrf.value,
        "chrf_ci_low": chrf.ci[0],
        "chrf_ci_high": chrf.ci[1],
        "bp_share": drop.bp_share,
        "bp_share_ci_low": drop.bp_share_ci[0],
        "bp_share_ci_high": drop.bp_share_ci[1],
        "length_ratio_short": drop.short_points[LENGTH_RATIO],
        "length_ratio_long": drop.long_points[LENGTH_RATIO],
        "interaction": found.value if found else None,
        "interaction_ci_low": found.ci[0] if found else None,
        "interaction_ci_high": found.ci[1] if found else None,
        "interaction_p": found.p_value if found else None,
    }


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if row.get(k) is None else row[k]) for k in CSV_COLUMNS} for row in rows)
