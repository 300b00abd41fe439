"""Attention health: is an arm's attention soft and roughly aligned, or collapsed to one-hot rows?

`AttentionHealth` is a torchmetrics `Metric` fed at every validation with the teacher-forced attention weights
alpha_ij and raw scores e_ij of the validation set (`recorded_scores` captures e_ij from the arm's own `score`).
Its states are sums and counts over real (non-padding) target steps and source positions, so DDP ranks add
them exactly. What it reports (the `val/attn_*` keys of metrics.csv and W&B):

- `entropy`: mean over target steps of H_i = -sum_j alpha_ij log alpha_ij (nats), over real source positions;
- `entropy_norm`: mean of H_i / log S (S the sentence's source length in tokens): 1 = uniform, 0 = one-hot
  (rows of one-token sources, where both are the same, are left out);
- `max_weight`: mean of max_j alpha_ij (1 = one-hot);
- `score_mean_abs`, `score_max_abs`: mean and largest |e_ij|, the scale the softmax sees;
- `diagonal`: share of target steps whose largest weight lies within 10% of the source length (at least one
  token) of the position a monotone diagonal predicts, j = round(i (S - 1) / (T - 1));
- `aer`: where the split has gold word alignments (synthetic tasks), the alignment error rate of the argmax
  links under teacher forcing, from the `AERCounts` given to `update`.

Shapes: B batch, T target steps, S source length.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor
from torchmetrics import Metric

from attention_nmt.evaluation.aer import AERCounts
from attention_nmt.model.attention import Attention

DIAGONAL_WINDOW = 0.1  # a step is "on the diagonal" within this share of the source length (>= 1 token)
HEALTH_KEYS = ("entropy", "entropy_norm", "max_weight", "score_mean_abs", "score_max_abs", "diagonal")
_SUMS = ("steps", "entropy", "norm_steps", "entropy_norm", "max_weight", "diagonal", "scores", "score_abs")
_AER = ("predicted", "sure", "predicted_sure", "predicted_possible")


@contextmanager
def recorded_scores(attention: Attention) -> Iterator[list[Tensor]]:
    """Collect every (B, T, S) score tensor `attention.score` returns inside the block (detached), in call
    order; the arm's own method computes them, shadowed for this block only by a recording wrapper."""
    record: list[Tensor] = []
    score = attention.score

    def recording(query: Tensor, keys: Tensor) -> Tensor:
        scores = score(query, keys)
        record.append(scores.detach())
        return scores

    attention.score = recording  # an instance attribute shadows the method ...
    try:
        yield record
    finally:
        del attention.score  # ... and deleting it brings the method back


class AttentionHealth(Metric):
    """Summed attention statistics of a split; `compute()` gives the module docstring's keys (None before any
    weights were seen, e.g. attention=none)."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        for name in _SUMS:
            self.add_state(name, default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        for name in _AER:
            self.add_state(f"aer_{name}", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("score_max", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="max")

    def update(
        self, weights: Tensor, scores: Tensor | None, src_mask: Tensor, trg_mask: Tensor, aer: AERCounts | None = None
    ) -> None:
        """Add a batch.

        Args:
            weights: (B, T, S) alpha, each real row summing to 1 over the real source positions.
            scores: (B, T, S) raw e_ij before the softmax, or None where the arm's scores were not recorded.
            src_mask: (B, S) True on real source tokens; trg_mask: (B, T) True on real target steps.
            aer: the batch's AER set sizes where the split has gold alignments.
        """
        alpha = weights.detach().double()
        real = trg_mask[:, :, None] & src_mask[:, None, :]  # (B, T, S)
        alpha = alpha.masked_fill(~real, 0.0)
        entropy = -torch.special.xlogy(alpha, alpha).sum(-1)  # H_i, (B, T)
        src_len = src_mask.sum(-1).to(torch.float64)  # S per sentence, (B,)
        trg_len = trg_mask.sum(-1).to(torch.float64)  # T per sentence, (B,)
        normable = trg_mask & (src_len > 1)[:, None]  # (B, T)
        log_len = src_len.clamp(min=2).log()[:, None]  # (B, 1)
        self.steps += trg_mask.sum()
        self.entropy += entropy[trg_mask].sum()
        self.norm_steps += normable.sum()
        self.entropy_norm += (entropy / log_len)[normable].sum()
        self.max_weight += alpha.amax(-1)[trg_mask].sum()
        step = torch.arange(alpha.shape[1], device=alpha.device, dtype=torch.float64)[None, :]  # i, (1, T)
        diagonal = (step * (src_len - 1)[:, None] / (trg_len - 1).clamp(min=1)[:, None]).round()  # (B, T)
        window = (DIAGONAL_WINDOW * src_len).floor().clamp(min=1)[:, None]  # (B, 1)
        on_diagonal = (alpha.argmax(-1).to(torch.float64) - diagonal).abs() <= window
        self.diagonal += (on_diagonal & trg_mask).sum()
        if scores is not None:
            magnitude = scores.detach().double().abs()[real]
            self.scores += magnitude.numel()
            self.score_abs += magnitude.sum()
            if magnitude.numel():
                self.score_max = torch.maximum(self.score_max, magnitude.max())
        for name in _AER if aer is not None else ():
            state = getattr(self, f"aer_{name}")
            state += getattr(aer, name)

    def compute(self) -> dict[str, float] | None:
        steps = float(self.steps)
        if steps == 0:
            return None
        result = {
            "entropy": float(self.entropy) / steps,
            "entropy_norm": float(self.entropy_norm) / float(self.norm_steps) if self.norm_steps else math.nan,
            "max_weight": float(self.max_weight) / steps,
            "diagonal": float(self.diagonal) / steps,
        }
        if self.scores:
            result.update(
                score_mean_abs=float(self.score_abs) / float(self.scores), score_max_abs=float(self.score_max)
            )
        counts = AERCounts(*(int(getattr(self, f"aer_{name}")) for name in _AER))
        if counts.predicted + counts.sure:
            result["aer"] = counts.aer
        return result
