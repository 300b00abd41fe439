"""The plain-language verdict on the project's claim, written from the numbers of a comparison.

The claim: without attention (`none`) an RNN encoder-decoder loses quality on long sentences; with attention
it does not. Its two halves are three named conditions, each with its interval:
  (a) `none` loses with length: its drop (BLEU on the short slice, sources of 1-20 words, minus BLEU on the
      longest non-empty bucket) has a 95% interval above 0;
  (b) each attention arm is better than its `none` arm on the longest bucket, p < ALPHA after Holm's
      correction over the attention arms (paired bootstrap);
  (c) each attention arm's interaction drop(none) - drop(arm) has an interval above 0.
Labels: "Supported" when all hold for every attention arm; "Not supported" when an interaction interval lies
wholly below 0 (an arm loses more with length than `none`), when every arm fails both (b) and (c), or when
`none` does not lose with length while the attention arms merely beat it (attention helps, but no
length-specific effect is shown); otherwise "Partly supported", naming what holds and what fails. Every label
gives each condition with its numbers, and says what `none`'s drop is made of (content or length: `describe`).

Seeds: with fewer than 2 training runs per arm the label says so ("Supported on one training run per arm"),
since the intervals then cover the test sentences only. Curves: an arm whose validation curve was still rising
or had diverged (`health`) is named in the headline. An arm (or its `none` arm) whose overall BLEU is below a
floor is "not trained enough to judge" and cannot make the claim supported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from attention_nmt.report.describe import (
    caveats,
    describe_drop,
    describe_gap,
    describe_interaction,
    describe_seeds,
    gap,
    interval,
    loss_kind,
    trained,
    words,
)
from attention_nmt.report.grouping import NO_ATTENTION
from attention_nmt.report.health import CurveFlag
from attention_nmt.report.scores import ArmScores, ComparisonScores
from attention_nmt.report.tables import ALPHA

DEFAULT_MIN_BLEU = 2.0  # overall BLEU below which an arm is not trained enough to judge
SUPPORTED, PARTLY, NOT_SUPPORTED, NOT_TESTABLE = "Supported", "Partly supported", "Not supported", "Not testable"


@dataclass
class Condition:
    """One condition of the claim for one arm: `key` "a", "b" or "c", whether it holds, and in words."""

    key: str
    arm: str  # the `none` arm for (a), the attention arm for (b) and (c)
    holds: bool
    text: str


@dataclass
class Verdict:
    headline: str
    details: list[str] = field(default_factory=list)
    supported: bool | None = None  # None: partly, or not testable
    label: str = NOT_TESTABLE
    conditions: list[Condition] = field(default_factory=list)
    flags: list[CurveFlag] = field(default_factory=list)  # the curve flags named in the headline

    def text(self) -> str:
        return "\n".join([self.headline, *(f"- {d}" for d in self.details)])


def condition_a(base: ArmScores) -> Condition:
    """(a) the `none` arm loses with length: its BLEU drop's interval above 0; what the loss is made of."""
    label, drop = base.arm.label, base.drop
    if drop is None:
        return Condition(
            "a", label, False, f"(a) `{label}`: no drop measured (no short sources below the longest bucket)"
        )
    span = f"{drop.value:+.2f} BLEU from {drop.short_label} to {drop.long_label} words {interval(drop.ci)}"
    if drop.ci[0] > 0:
        return Condition("a", label, True, f"(a) `{label}` loses with length: {span}, {loss_kind(drop)}")
    return Condition("a", label, False, f"(a) `{label}` does not lose with length: {span}, an interval not above 0")


def condition_b(arm: ArmScores) -> Condition:
    """(b) the attention arm is better than its `none` arm on the longest bucket after Holm's correction."""
    longest = arm.buckets[-1]
    holds = longest.delta > 0 and longest.p_holm is not None and longest.p_holm < ALPHA
    where = f"`{arm.baseline}` on {words(longest)}"
    if holds:
        return Condition("b", arm.arm.label, True, f"(b) {arm.arm.label}: better than {where} ({gap(longest)})")
    text = f"(b) {arm.arm.label}: not better than {where} at p<{ALPHA} after Holm's correction ({gap(longest)})"
    return Condition("b", arm.arm.label, False, text)


def condition_c(arm: ArmScores, none_loses: bool) -> Condition:
    """(c) the interaction drop(none) - drop(arm) has an interval above 0; when (a) fails, a positive
    interaction is the arm's own change with length, and the text says so."""
    label, found = arm.arm.label, arm.interaction
    if found is None:
        return Condition(
            "c", label, False, f"(c) {label}: no interaction measured (no short sources below the longest bucket)"
        )
    numbers = f"interaction drop({arm.baseline}) - drop({label}) {found.value:+.2f} {interval(found.ci)}"
    if found.above_zero:
        own = "" if none_loses else f", carried by {label}'s own drop of {arm.drop.value:+.2f} {interval(arm.drop.ci)}"
        return Condition("c", label, True, f"(c) {label}: {numbers}, above 0{own}")
    if found.below_zero:
        text = f"(c) {label}: {numbers}, wholly below 0: {label} loses more with length than `{arm.baseline}`"
        return Condition("c", label, False, text)
    text = f"(c) {label}: {numbers}, not above 0, so its advantage is not shown to be specific to long sentences"
    return Condition("c", label, False, text)


def seeds_qualifier(arms: Sequence[ArmScores]) -> str:
    """' on one training run per arm', ' on one training run for none', or ' over 3 seeds per arm'."""
    single = [a.arm.label for a in arms if a.seeds < 2]
    if single and len(single) == len(arms):
        return " on one training run per arm"
    if single:
        return f" on one training run for {', '.join(single)}"
    counts = sorted({a.seeds for a in arms})
    return f" over {counts[0]} seeds per arm" if len(counts) == 1 else f" over {counts[0]}-{counts[-1]} seeds per arm"


def verdict(scores: ComparisonScores, min_bleu: float = DEFAULT_MIN_BLEU, flags: Sequence[CurveFlag] = ()) -> Verdict:
    """The verdict for one comparison (module docstring); `flags` are the runs' curve flags."""
    arms = scores.arms
    labels = {a.arm.label for a in arms}
    flags = [f for f in flags if f.arm in labels]
    flagged = [f"Curve: {f.text()}." for f in flags]
    if len(arms[0].buckets) < 2:
        only = arms[0].buckets[0] if arms[0].buckets else None
        where = f" ({words(only)})" if only else ""
        return Verdict(
            f"Not testable: every test sentence falls into one length bucket{where}, so this test set "
            "cannot show how quality changes with length.",
            flagged,
        )
    compared = [a for a in arms if a.baseline is not None]
    details = [describe_drop(a, min_bleu) for a in arms]
    details += [describe_gap(a) for a in compared]
    details += [describe_interaction(a) for a in compared if a.interaction is not None]
    details += [describe_seeds(scores), *caveats(scores), *flagged]
    if not any(a.arm.attention == NO_ATTENTION for a in arms):
        return Verdict(
            "Not testable: no `none` arm among these runs, so attention cannot be compared with the "
            "fixed-length context; only each arm's loss with length is given.",
            details,
        )
    if not compared:
        return Verdict("Not testable: no attention arm among these runs to compare with `none`.", details)
    if all(a.drop is None for a in arms):
        return Verdict(
            f"Not testable: no test source of 1-{scores.short_max_words} words lies below the longest bucket "
            f"({words(arms[0].buckets[-1])}), so no drop with length is measured (--short-max-words).",
            details,
        )
    return _judge(scores, compared, details, min_bleu, flags)


def _judge(
    scores: ComparisonScores,
    compared: list[ArmScores],
    details: list[str],
    min_bleu: float,
    flags: list[CurveFlag],
) -> Verdict:
    by_label = {a.arm.label: a for a in scores.arms}
    unjudged = [_untrained(a, by_label[a.baseline], min_bleu) for a in compared]
    unjudged = [u for u in unjudged if u]
    judged = [a for a in compared if trained(a, min_bleu) and trained(by_label[a.baseline], min_bleu)]
    curves = _curves(flags)
    if not judged:
        return Verdict(f"Not testable: no attention arm can be judged ({'; '.join(unjudged)}).{curves}", details)
    bases = [by_label[label] for label in dict.fromkeys(a.baseline for a in judged)]
    first = [condition_a(b) for b in bases]
    none_loses = all(c.holds for c in first)
    second = [condition_b(a) for a in judged]
    third = [condition_c(a, none_loses) for a in judged]
    conditions = [*first, *second, *third]
    holding = [c.text for c in conditions if c.holds]
    failing = [c.text for c in conditions if not c.holds] + unjudged
    qualifier = seeds_qualifier(scores.arms)
    against = [a for a in judged if a.interaction is not None and a.interaction.below_zero]
    helps = all(c.holds for c in second)
    if not failing:
        label, supported = SUPPORTED, True
        body = "; ".join(holding)
    elif against:
        label, supported = NOT_SUPPORTED, False
        names = ", ".join(a.arm.label for a in against)
        body = f"{names} loses more with length than `none` (interaction wholly below 0); {_lists(holding, failing)}"
    elif not none_loses and helps and not any(c.holds for c in third):
        label, supported = NOT_SUPPORTED, False
        where = "at every length" if all(_better_everywhere(a) for a in judged) else "on the longest sentences"
        body = f"attention helps {where}; no length-specific effect shown; {_lists(holding, failing)}"
    elif all(not b.holds and not c.holds for b, c in zip(second, third)):
        label, supported = NOT_SUPPORTED, False
        body = (
            f"no attention arm is better on the longest sentences or loses less with length; {_lists(holding, failing)}"
        )
    else:
        label, supported = PARTLY, None
        body = _lists(holding, failing)
    headline = f"{label}{qualifier}: {body}.{curves}"
    return Verdict(headline, details, supported, label, conditions, flags)


def _untrained(arm: ArmScores, base: ArmScores, min_bleu: float) -> str | None:
    if not trained(arm, min_bleu):
        return (
            f"{arm.arm.label}: not trained enough to judge ({arm.overall.bleu:.2f} BLEU overall, below the floor "
            f"of {min_bleu:.1f})"
        )
    if not trained(base, min_bleu):
        return (
            f"{arm.arm.label}: its `{base.arm.label}` arm is not trained enough to judge ({base.overall.bleu:.2f} "
            f"BLEU overall, below the floor of {min_bleu:.1f})"
        )
    return None


def _better_everywhere(arm: ArmScores) -> bool:
    """Better than its `none` arm on every bucket (p < ALPHA, uncorrected)."""
    return all(b.delta is not None and b.delta > 0 and b.p_value < ALPHA for b in arm.buckets)


def _lists(holding: list[str], failing: list[str]) -> str:
    parts = [f"holds: {'; '.join(holding)}"] if holding else []
    return "; ".join([*parts, f"fails: {'; '.join(failing)}"] if failing else parts)


def _curves(flags: list[CurveFlag]) -> str:
    """The headline's sentence naming each diverged or still-rising arm, with its numbers."""
    if not flags:
        return ""
    return (
        f" Curves: {'; '.join(f.text() for f in flags)}. A flagged arm is judged at the checkpoint it was "
        "tested with, which its curve puts in doubt: it counts toward this verdict only with that said."
    )
