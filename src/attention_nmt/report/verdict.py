"""The plain-language verdict on the project's claim, written from the numbers of a comparison.

The claim: without attention (`none`) an RNN encoder-decoder loses quality on long sentences, with attention it
does not. Read here as two checks on the longest non-empty bucket: (1) each attention arm beats its `none` arm
there, significantly (paired bootstrap, p < ALPHA); (2) `none` loses more BLEU from its best bucket to the
longest bucket than the attention arm does. Both for every attention arm: supported; for some: partly; for
none: not supported. Every sentence is built from the scores; nothing is fixed text about the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from attention_nmt.report.grouping import NO_ATTENTION
from attention_nmt.report.scores import ArmScores, ComparisonScores, SliceScore
from attention_nmt.report.tables import ALPHA

FEW_SENTENCES = 50  # below this many sentences in the longest bucket, say that its intervals are wide


@dataclass
class Verdict:
    headline: str
    details: list[str] = field(default_factory=list)
    supported: Optional[bool] = None  # None: partly, or not testable

    def text(self) -> str:
        return "\n".join([self.headline, *(f"- {d}" for d in self.details)])


def _words(piece: SliceScore) -> str:
    return f"{piece.label} words"


def length_loss(arm: ArmScores) -> tuple[SliceScore, SliceScore, float]:
    """(best bucket, longest bucket, BLEU lost from the first to the second)."""
    best = max(arm.buckets, key=lambda b: b.bleu)
    longest = arm.buckets[-1]
    return best, longest, best.bleu - longest.bleu


def describe_loss(arm: ArmScores) -> str:
    best, longest, loss = length_loss(arm)
    if best is longest:
        return (f"{arm.arm.label}: highest on the longest bucket ({_words(longest)}, {longest.bleu:.2f} BLEU), "
                "so it loses nothing with length.")
    return (f"{arm.arm.label}: {best.bleu:.2f} BLEU at best ({_words(best)}), {longest.bleu:.2f} on the longest "
            f"bucket ({_words(longest)}): it loses {loss:.2f} BLEU points.")


def describe_gap(arm: ArmScores) -> str:
    longest = arm.buckets[-1]
    low, high = longest.delta_ci or (float("nan"), float("nan"))
    gap = f"{longest.delta:+.2f} BLEU (95% interval {low:+.2f} to {high:+.2f}), p={longest.p_value:.3f}"
    if longest.p_value >= ALPHA:
        outcome = f"not significant at p<{ALPHA}; the difference could be chance."
    elif longest.delta > 0:
        outcome = f"significant at p<{ALPHA}: {arm.arm.label} is better on the longest sentences."
    else:
        outcome = f"significant at p<{ALPHA}: {arm.baseline} is better on the longest sentences."
    return f"{arm.arm.label} minus {arm.baseline} on {_words(longest)}: {gap}, {outcome}"


def verdict(scores: ComparisonScores) -> Verdict:
    """The verdict for one comparison (module docstring)."""
    arms = scores.arms
    if len(arms[0].buckets) < 2:
        only = arms[0].buckets[0] if arms[0].buckets else None
        where = f" ({_words(only)})" if only else ""
        return Verdict(f"Not testable: every test sentence falls into one length bucket{where}, so this test set "
                       "cannot show how quality changes with length.", [describe_loss(a) for a in arms if a.buckets])
    details = [describe_loss(a) for a in arms]
    compared = [a for a in arms if a.baseline is not None]
    details += [describe_gap(a) for a in compared]
    details += _caveats(scores)
    if not any(a.arm.attention == NO_ATTENTION for a in arms):
        return Verdict("Not testable: no `none` arm among these runs, so attention cannot be compared with the "
                       "fixed-length context; only each arm's loss with length is given.", details)
    if not compared:
        return Verdict("Not testable: no attention arm among these runs to compare with `none`.", details)
    return _judge(scores, compared, details)


def _judge(scores: ComparisonScores, compared: list[ArmScores], details: list[str]) -> Verdict:
    by_label = {a.arm.label: a for a in scores.arms}
    holds = {}
    for arm in compared:
        longest = arm.buckets[-1]
        beats = longest.delta > 0 and longest.p_value < ALPHA
        loses_less = length_loss(arm)[2] < length_loss(by_label[arm.baseline])[2]
        holds[arm.arm.label] = (beats, loses_less)
    longest_label = _words(compared[0].buckets[-1])
    good = [label for label, (beats, less) in holds.items() if beats and less]
    if len(good) == len(holds):
        return Verdict(f"Supported: on the longest sentences ({longest_label}) every attention arm beats `none` "
                       f"significantly (p<{ALPHA}) and `none` loses more BLEU from its best bucket than each of "
                       "them.", details, True)
    if not any(beats for beats, _ in holds.values()):
        return Verdict(f"Not supported by these runs: no attention arm is significantly better than `none` on the "
                       f"longest sentences ({longest_label}).", details, False)
    parts = []
    for label, (beats, less) in holds.items():
        if beats and less:
            parts.append(f"{label} holds both checks")
        elif beats:
            parts.append(f"{label} beats `none` significantly on {longest_label} but loses as much or more with "
                         "length, so its advantage is not specific to long sentences")
        else:
            parts.append(f"{label} is not significantly better than `none` on {longest_label}")
    return Verdict(f"Partly supported: {'; '.join(parts)}.", details, None)


def _caveats(scores: ComparisonScores) -> list[str]:
    notes = []
    longest = scores.arms[0].buckets[-1]
    if longest.n < FEW_SENTENCES:
        notes.append(f"The longest bucket holds only {longest.n} sentences: its intervals are wide.")
    if scores.empty_buckets:
        notes.append(f"No test sentences in bucket(s) {', '.join(scores.empty_buckets)}: they are left out, and "
                     f"the longest bucket here is {longest.label}.")
    spread = [f"{a.arm.label} {min(a.overall.seed_bleus):.2f} to {max(a.overall.seed_bleus):.2f}"
              for a in scores.arms if len(a.arm.runs) > 1]
    if spread:
        notes.append("Intervals and p-values cover the sampling of test sentences; between seeds, overall BLEU "
                     f"ranges {'; '.join(spread)}.")
    if any(len(a.arm.runs) == 1 for a in scores.arms):
        notes.append("At least one arm has a single seed: intervals and p-values cover the sampling of test "
                     "sentences, not the variation between training runs.")
    return notes
