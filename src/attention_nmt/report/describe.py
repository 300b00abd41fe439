"""The verdict's sentences about the numbers, each built from the scores: an arm's drop with length and what it
is made of (content or length), its gap to `none` on the longest bucket, its interaction, how many seeds each
arm had, and the caveats on the intervals. Nothing here judges the claim; `verdict` does.
"""

from __future__ import annotations

from attention_nmt.report.diagnostics import BP, CHRF_KEY, LENGTH_RATIO, NO_BP
from attention_nmt.report.drops import Change, Drop
from attention_nmt.report.scores import SEEDS_AND_SENTENCES, ArmScores, ComparisonScores, SliceScore
from attention_nmt.report.tables import ALPHA, p_text

FEW_SENTENCES = 50  # below this many sentences in the longest bucket, say that its intervals are wide


def words(piece: SliceScore) -> str:
    return f"{piece.label} words"


def interval(ci: tuple[float, float]) -> str:
    return f"[{ci[0]:+.2f}, {ci[1]:+.2f}]"


def trained(arm: ArmScores, min_bleu: float) -> bool:
    return arm.overall.bleu >= min_bleu


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _change(name: str, change: Change) -> str:
    if change.short is None or change.long is None:
        return f"{name} not measured"
    return f"{name} {change.short:.2f} -> {change.long:.2f}, {change.value:+.2f} {interval(change.ci)}"


def loss_kind(drop: Drop) -> str:
    """Whether a drop is a loss of content (BLEU without the brevity penalty or chrF drops: interval above 0),
    of length (the brevity penalty's share of the BLEU drop has an interval above 0), both or neither, with
    the numbers behind it."""
    if drop.in_content and drop.in_length:
        kind = "a loss in content and in length"
    elif drop.in_length:
        kind = "a loss in length, not content"
    elif drop.in_content:
        kind = "a loss in content, not length"
    else:
        kind = "neither clearly in content nor in length"
    return f"{kind} ({decomposition(drop)})"


def change_kind(drop: Drop) -> str:
    """`loss_kind` for a drop whose interval lies above 0; else a gain or no change shown, with its parts."""
    if drop.ci[0] > 0:
        return loss_kind(drop)
    kind = "a gain with length" if drop.ci[1] < 0 else "no change with length shown"
    return f"{kind} ({decomposition(drop)})"


def decomposition(drop: Drop) -> str:
    """The drop's parts in words: the brevity penalty's share with its interval and the length ratios, then
    BLEU without the brevity penalty and chrF on both slices with their drops' intervals."""
    parts = [
        f"the brevity penalty accounts for {drop.bp_share:+.2f} {interval(drop.bp_share_ci)} of the BLEU drop, "
        f"BP {drop.short_points[BP]:.3f} -> {drop.long_points[BP]:.3f}, length ratio "
        f"{_ratio(drop.short_points[LENGTH_RATIO])} -> {_ratio(drop.long_points[LENGTH_RATIO])}",
        _change("BLEU without the brevity penalty", drop.changes[NO_BP]),
        _change("chrF", drop.changes[CHRF_KEY]),
    ]
    return "; ".join(parts)


def describe_drop(arm: ArmScores, min_bleu: float) -> str:
    """The arm's BLEU on the short slice and the longest bucket, the drop with its interval, and its parts."""
    label, drop = arm.arm.label, arm.drop
    if drop is None:
        measured = f"no short sources below the longest bucket ({words(arm.buckets[-1])}), so no drop is measured"
    else:
        measured = (
            f"{drop.short_bleu:.2f} BLEU on {drop.short_label} words (n={drop.short_n}), {drop.long_bleu:.2f} "
            f"on the longest bucket ({drop.long_label} words, n={drop.long_n}): a drop of {drop.value:+.2f} "
            f"BLEU (95% interval {drop.ci[0]:+.2f} to {drop.ci[1]:+.2f}), {change_kind(drop)}"
        )
    if not trained(arm, min_bleu):
        return (
            f"{label}: {arm.overall.bleu:.2f} BLEU overall, below the floor of {min_bleu:.1f}: not trained "
            f"enough to judge how it changes with length ({measured})."
        )
    return f"{label}: {measured}."


def gap(piece: SliceScore) -> str:
    """'+17.47 BLEU, Holm p <= 0.004' (Holm's p where there is one)."""
    if piece.p_holm is not None:
        return f"{piece.delta:+.2f} BLEU, {p_text(piece.p_holm, piece.p_holm_bound, 'Holm p')}"
    return f"{piece.delta:+.2f} BLEU, {p_text(piece.p_value, piece.p_bound)}"


def describe_gap(arm: ArmScores) -> str:
    longest = arm.buckets[-1]
    low, high = longest.delta_ci or (float("nan"), float("nan"))
    holm = f", {p_text(longest.p_holm, longest.p_holm_bound, 'Holm p')}" if longest.p_holm is not None else ""
    p = p_text(longest.p_value, longest.p_bound)
    numbers = f"{longest.delta:+.2f} BLEU (95% interval {low:+.2f} to {high:+.2f}), {p}{holm}"
    if longest.p_decisive >= ALPHA:
        outcome = f"not significant at p<{ALPHA}; the difference could be chance."
    elif longest.delta > 0:
        outcome = f"significant at p<{ALPHA}: {arm.arm.label} is better on the longest sentences."
    else:
        outcome = f"significant at p<{ALPHA}: {arm.baseline} is better on the longest sentences."
    return f"{arm.arm.label} minus {arm.baseline} on {words(longest)}: {numbers}, {outcome}"


def describe_interaction(arm: ArmScores) -> str:
    found = arm.interaction
    if found.above_zero:
        outcome = f"`{arm.baseline}` loses more with length than {arm.arm.label}."
    elif found.below_zero:
        outcome = f"{arm.arm.label} loses more with length than `{arm.baseline}`."
    else:
        outcome = "the interval covers 0: no evidence that the two lose differently with length."
    return (
        f"Interaction, {arm.arm.label}: drop({arm.baseline}) - drop({arm.arm.label}) = {found.value:+.2f} BLEU "
        f"(95% interval {found.ci[0]:+.2f} to {found.ci[1]:+.2f}, {p_text(found.p_value, found.p_bound)}): {outcome}"
    )


def describe_seeds(scores: ComparisonScores) -> str:
    counts = ", ".join(f"{a.arm.label} {a.seeds}" for a in scores.arms)
    return f"Seeds (training runs) per arm: {counts}; the bootstrap resampled {scores.bootstrap}."


def caveats(scores: ComparisonScores) -> list[str]:
    """What limits the intervals: a small longest bucket, empty buckets, a cut short slice, seeds."""
    notes = []
    longest = scores.arms[0].buckets[-1]
    if longest.n < FEW_SENTENCES:
        notes.append(f"The longest bucket holds only {longest.n} sentences: its intervals are wide.")
    if scores.empty_buckets:
        notes.append(
            f"No test sentences in bucket(s) {', '.join(scores.empty_buckets)}: they are left out, and "
            f"the longest bucket here is {longest.label}."
        )
    drop = scores.arms[0].drop
    if drop is not None and drop.short_label != f"1-{scores.short_max_words}":
        notes.append(
            f"The short reference slice is {drop.short_label} words: sources of up to "
            f"{scores.short_max_words} words, cut below the longest bucket ({longest.label})."
        )
    spread = [
        f"{a.arm.label} {min(a.overall.seed_bleus):.2f} to {max(a.overall.seed_bleus):.2f}"
        for a in scores.arms
        if a.seeds > 1
    ]
    if scores.bootstrap == SEEDS_AND_SENTENCES:
        notes.append(
            "Intervals and p-values resample each arm's seeds (with replacement), then the test sentences, "
            f"so they cover the variation between training runs; overall BLEU between seeds: {'; '.join(spread)}."
        )
    elif spread:
        notes.append(
            "Intervals and p-values resample the test sentences only; between seeds, overall BLEU "
            f"ranges {'; '.join(spread)}."
        )
    if any(a.seeds == 1 for a in scores.arms):
        notes.append(
            "With one training run per arm, intervals and p-values cover the sampling of test sentences, not "
            "the variation between training runs (an experiment's `seeds=3` trains three per arm)."
        )
    return notes
