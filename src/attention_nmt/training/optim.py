"""Typed optimiser and learning-rate schedule config, and the objects it builds (Adam, Adadelta, SGD)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from functools import partial
from typing import Any

import torch

from attention_nmt.errors import ConfigError


class OptimizerName(Enum):
    adam = "adam"
    adadelta = "adadelta"  # Bahdanau et al. 2014: rho 0.95, eps 1e-6
    sgd = "sgd"


DEFAULT_EPS = {
    OptimizerName.adam: 1e-8,  # Kingma and Ba 2015, and torch's default
    OptimizerName.adadelta: 1e-6,
}  # Bahdanau et al. 2014 (Zeiler 2012)


class SchedulerName(Enum):
    none = "none"
    plateau = "plateau"  # multiply lr by `decay` when the monitored metric stalls for `patience` validations
    exponential = "exponential"  # multiply lr by `decay` after every epoch


@dataclass
class OptimConfig:
    name: OptimizerName = OptimizerName.adam
    lr: float = 3e-3
    weight_decay: float = 0.0
    momentum: float = 0.0  # sgd only
    rho: float = 0.95  # adadelta only
    eps: float | None = None  # adam and adadelta; null: each one's usual value (DEFAULT_EPS)
    label_smoothing: float = 0.0
    scheduler: SchedulerName = SchedulerName.none
    decay: float = 0.5
    decay_start: int = 1  # exponential: epochs at the full rate before the first decay (Luong et al.: 5, or 8)
    patience: int = 2
    monitor: str = "val/bleu"  # what plateau watches; bleu is maximised, loss minimised

    def __post_init__(self) -> None:
        if not 0 < self.lr < math.inf:
            raise ConfigError(f"optim.lr={self.lr}: must be a finite number > 0.")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"optim.label_smoothing={self.label_smoothing}: must lie in [0, 1).")
        if not 0.0 < self.decay <= 1.0:
            raise ConfigError(f"optim.decay={self.decay}: must lie in (0, 1].")
        if self.decay_start < 1:
            raise ConfigError(
                f"optim.decay_start={self.decay_start}: must be a number of epochs >= 1 (1: decay after every epoch)."
            )

    def build(self, parameters: Iterable[torch.nn.Parameter], allow_fused: bool = True) -> dict[str, Any]:
        """What `configure_optimizers` returns: the optimizer and, if any, its lr scheduler. Adam runs fused where
        `allow_fused` and the parameters allow it (`fused_adam_supported`)."""
        params = list(parameters)
        eps = self.eps if self.eps is not None else DEFAULT_EPS.get(self.name)
        if self.name is OptimizerName.adam:
            optimizer = torch.optim.Adam(
                params,
                lr=self.lr,
                weight_decay=self.weight_decay,
                eps=eps,
                fused=allow_fused and fused_adam_supported(params),
            )
        elif self.name is OptimizerName.adadelta:
            optimizer = torch.optim.Adadelta(params, lr=self.lr, rho=self.rho, eps=eps, weight_decay=self.weight_decay)
        else:
            optimizer = torch.optim.SGD(params, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        if self.scheduler is SchedulerName.none:
            return {"optimizer": optimizer}
        if self.scheduler is SchedulerName.exponential:
            factor = partial(delayed_decay, decay=self.decay, start=self.decay_start)
            scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
        mode = "max" if "bleu" in self.monitor else "min"
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=self.decay, patience=self.patience
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": self.monitor}}


def fused_adam_supported(params: list[torch.nn.Parameter]) -> bool:
    """Whether Adam can run as one fused kernel per parameter: floating-point parameters on the CPU or a CUDA
    GPU. On the CPU torch's default is the per-tensor loop (foreach is for GPUs only); the fused kernel makes
    the same update in one pass over each parameter, 3-7% of a headline training step (benchmarks/README.md)."""
    return bool(params) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)


def delayed_decay(epoch: int, decay: float, start: int) -> float:
    """The lr factor of epoch `epoch` (0-based): 1 for the first `start` epochs, then times `decay` per epoch
    (start=1 is torch's ExponentialLR)."""
    return decay ** max(0, epoch + 1 - start)
