"""Warnings about the runs behind a comparison's scores: an arm averaging two runs with the same seed, and a
run whose results.json BLEU disagrees with the BLEU the report recomputes from its hypotheses.tsv."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from attention_nmt.report.scores import ArmScores


def repeated_seeds(arms: list[ArmScores]) -> list[str]:
    """Arms averaging two runs with the same seed (e.g. a train run and an evaluate run of its checkpoint)."""
    warnings = []
    for scores in arms:
        seeds = scores.arm.seeds
        for repeated in sorted({str(s) for s in seeds if seeds.count(s) > 1}):
            paths = ", ".join(str(r.path) for r in scores.arm.runs if str(r.seed) == repeated)
            warnings.append(
                f"{scores.arm.label}: seed {repeated} appears in several runs ({paths}); they are "
                "averaged as if they were different seeds. Leave one out if they repeat each other."
            )
    return warnings


def disagreements(arms: list[ArmScores], whole: str, tolerance: float) -> list[str]:
    """Runs whose results.json BLEU (overall, on the slice labelled `whole`, and per bucket) differs from the
    recomputation by more than `tolerance` BLEU points (e.g. hypotheses.tsv edited by hand)."""
    warnings = []
    for scores in arms:
        for i, run in enumerate(scores.arm.runs):
            test = run.results.test
            reported = {whole: test.bleu, **{b.label: b.bleu for b in test.buckets}}
            for piece in scores.slices:
                if abs(reported.get(piece.label, piece.seed_bleus[i]) - piece.seed_bleus[i]) > tolerance:
                    warnings.append(
                        f"{run.path}: results.json gives BLEU {reported[piece.label]:.2f} on "
                        f"{piece.label} but its hypotheses.tsv scores {piece.seed_bleus[i]:.2f}; "
                        "the report uses the latter."
                    )
    return warnings
