"""The plain-language verdict on the project's claim, written from the numbers of a comparison.

The claim: without attention (`none`) an RNN encoder-decoder loses quality on long sentences, with attention it
does not. "Supported" needs, for every attention arm, two named conditions:
  (1) better than its `none` arm on the longest non-empty bucket, with p < ALPHA after Holm's correction over
      the attention arms (paired bootstrap);
  (2) an interaction interval above 0: drop(none) - drop(arm), where an arm's drop is its BLEU on the short
      reference slice (sources of 1-20 words) minus its BLEU on the longest bucket.
An arm (or its `none` arm) whose overall BLEU is below a floor is "not trained enough to judge": it is never
described as losing nothing with length and cannot make the claim supported. If no arm that can be judged meets
either condition the claim is "Not supported"; otherwise "Partly supported", naming each failed condition per
arm. Every sentence is built from the scores; nothing is fixed text about the outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from attention_nmt.report.grouping import NO_ATTENTION
from attention_nmt.report.scores import SEEDS_AND_SENTENCES, ArmScores, ComparisonScores, SliceScore
from attention_nmt.report.tables import ALPHA

FEW_SENTENCES = 50  # below this many sentences in the longest bucket, say that its intervals are wide
DEFAULT_MIN_BLEU = 2.0  # overall BLEU below which an arm is not trained enough to judge


@dataclass
class Verdict:
    headline: str
    details: list[str] = field(default_factory=list)
    supported: bool | None = None  # None: partly, or not testable

    def text(self) -> str:
        return "\n".join([self.headline, *(f"- {d}" for d in self.details)])


def _words(piece: SliceScore) -> str:
    return f"{piece.label} words"


def trained(arm: ArmScores, min_bleu: float) -> bool:
    return arm.overall.bleu >= min_bleu


def describe_drop(arm: ArmScores, min_bleu: float) -> str:
    """The arm's BLEU on the short slice and the longest bucket, and the drop with its interval."""
    label = arm.arm.label
    drop = arm.drop
    if drop is None:
        measured = f"no short sources below the longest bucket ({_words(arm.buckets[-1])}), so no drop is measured"
    else:
        measured = (
            f"{drop.short_bleu:.2f} BLEU on {drop.short_label} words (n={drop.short_n}), {drop.long_bleu:.2f} "
            f"on the longest bucket ({drop.long_label} words, n={drop.long_n}): a drop of {drop.value:+.2f} "
            f"BLEU (95% interval {drop.ci[0]:+.2f} to {drop.ci[1]:+.2f})"
        )
    if not trained(arm, min_bleu):
        return (
            f"{label}: {arm.overall.bleu:.2f} BLEU overall, below the floor of {min_bleu:.1f}: not trained "
            f"enough to judge how it changes with length ({measured})."
        )
    return f"{label}: {measured}."


def describe_gap(arm: ArmScores) -> str:
    longest = arm.buckets[-1]
    low, high = longest.delta_ci or (float("nan"), float("nan"))
    holm = f", {longest.p_holm:.3f} after Holm's correction" if longest.p_holm is not None else ""
    gap = f"{longest.delta:+.2f} BLEU (95% interval {low:+.2f} to {high:+.2f}), p={longest.p_value:.3f}{holm}"
    p = longest.p_holm if longest.p_holm is not None else longest.p_value
    if p >= ALPHA:
        outcome = f"not significant at p<{ALPHA}; the difference could be chance."
    elif longest.delta > 0:
        outcome = f"significant at p<{ALPHA}: {arm.arm.label} is better on the longest sentences."
    else:
        outcome = f"significant at p<{ALPHA}: {arm.baseline} is better on the longest sentences."
    return f"{arm.arm.label} minus {arm.baseline} on {_words(longest)}: {gap}, {outcome}"


def describe_interaction(arm: ArmScores) -> str:
    found = arm.interaction
    low, high = found.ci
    if low > 0:
        outcome = f"`{arm.baseline}` loses more with length than {arm.arm.label}."
    elif high < 0:
        outcome = f"{arm.arm.label} loses more with length than `{arm.baseline}`."
    else:
        outcome = "the interval covers 0: no evidence that the two lose differently with length."
    return (
        f"Interaction, {arm.arm.label}: drop({arm.baseline}) - drop({arm.arm.label}) = {found.value:+.2f} BLEU "
        f"(95% interval {low:+.2f} to {high:+.2f}, p={found.p_value:.3f}): {outcome}"
    )


def verdict(scores: ComparisonScores, min_bleu: float = DEFAULT_MIN_BLEU, notes: Sequence[str] = ()) -> Verdict:
    """The verdict for one comparison (module docstring); `notes` (e.g. arms still learning fast) are added to
    the details."""
    arms = scores.arms
    if len(arms[0].buckets) < 2:
        only = arms[0].buckets[0] if arms[0].buckets else None
        where = f" ({_words(only)})" if only else ""
        return Verdict(
            f"Not testable: every test sentence falls into one length bucket{where}, so this test set "
            "cannot show how quality changes with length.",
            [*notes],
        )
    details = [describe_drop(a, min_bleu) for a in arms]
    compared = [a for a in arms if a.baseline is not None]
    details += [describe_gap(a) for a in compared]
    details += [describe_interaction(a) for a in compared if a.interaction is not None]
    details += [*_caveats(scores), *notes]
    if not any(a.arm.attention == NO_ATTENTION for a in arms):
        return Verdict(
            "Not testable: no `none` arm among these runs, so attention cannot be compared with the "
            "fixed-length context; only each arm's loss with length is given.",
            details,
        )
    if not compared:
        return Verdict("Not testable: no attention arm among these runs to compare with `none`.", details)
    return _judge(scores, compared, details, min_bleu)


def failed_conditions(arm: ArmScores, baseline: ArmScores, min_bleu: float) -> list[str]:
    """The conditions `arm` fails, in words; empty when it supports the claim."""
    if not trained(arm, min_bleu):
        return [f"not trained enough to judge ({arm.overall.bleu:.2f} BLEU overall, below the floor of {min_bleu:.1f})"]
    if not trained(baseline, min_bleu):
        return [
            f"its `{baseline.arm.label}` arm is not trained enough to judge ({baseline.overall.bleu:.2f} BLEU "
            f"overall, below the floor of {min_bleu:.1f})"
        ]
    longest, failed = arm.buckets[-1], []
    if not (longest.delta > 0 and longest.p_holm is not None and longest.p_holm < ALPHA):
        failed.append(
            f"not better than `{baseline.arm.label}` on {_words(longest)} at p<{ALPHA} after Holm's "
            f"correction ({longest.delta:+.2f} BLEU, Holm p={longest.p_holm:.3f})"
        )
    if arm.interaction is None:
        failed.append("no interaction measured (no short sources below the longest bucket)")
    elif not arm.interaction.above_zero:
        low, high = arm.interaction.ci
        failed.append(
            f"interaction interval [{low:+.2f}, {high:+.2f}] not above 0, so its advantage is not shown "
            "to be specific to long sentences"
        )
    return failed


def _judge(scores: ComparisonScores, compared: list[ArmScores], details: list[str], min_bleu: float) -> Verdict:
    by_label = {a.arm.label: a for a in scores.arms}
    failures = {a.arm.label: failed_conditions(a, by_label[a.baseline], min_bleu) for a in compared}
    longest, short = compared[0].buckets[-1], compared[0].drop
    if not any(failures.values()):
        return Verdict(
            f"Supported: on the longest sentences ({_words(longest)}) every attention arm is better than "
            f"`none` (p<{ALPHA} after Holm's correction over {len(compared)} arm(s)), and `none` loses more "
            f"BLEU from {short.short_label} words to {_words(longest)} than each of them (interaction "
            "intervals above 0).",
            details,
            True,
        )
    judged = [a for a in compared if trained(a, min_bleu) and trained(by_label[a.baseline], min_bleu)]
    parts = "; ".join(
        f"{label}: {', '.join(failed) if failed else 'meets both conditions'}" for label, failed in failures.items()
    )
    if not judged:
        return Verdict(f"Not testable: no attention arm can be judged ({parts}).", details)
    if all(len(failures[a.arm.label]) == 2 for a in judged):
        return Verdict(f"Not supported by these runs: {parts}.", details, False)
    return Verdict(f"Partly supported: {parts}.", details, None)


def _caveats(scores: ComparisonScores) -> list[str]:
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
        if len(a.arm.runs) > 1
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
    if any(len(a.arm.runs) == 1 for a in scores.arms):
        notes.append(
            "At least one arm has a single seed: its intervals and p-values cover the sampling of test "
            "sentences, not the variation between training runs."
        )
    return notes
