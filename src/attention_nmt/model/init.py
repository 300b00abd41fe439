"""Parameter initialisation, one named scheme for every arm (`model.init=`), each after its source.

- `luong2015` (the default): Luong et al. 2015, sec. 4.1: every parameter from U(-0.1, 0.1).
- `bahdanau2014`: Bahdanau et al. 2014, appendix B.1. Recurrent matrices random orthogonal (one orthogonal
  block per gate); the attention matrices W_a and U_a from N(0, 0.001^2); v_a and every bias zero; every
  other matrix, embeddings included, from N(0, 0.01^2). Made for Adadelta: with Adam at the default budget
  its tiny weights leave every arm near the unigram distribution for hundreds of updates.
- `torch`: PyTorch's own module defaults (embeddings N(0, 1), linear and recurrent weights
  U(-1/sqrt(fan_in), 1/sqrt(fan_in))), what the project used before the schemes existed.

The padding row of each embedding stays zero under every scheme. Which parameter is "attention" is read from
the module that owns it (`Attention` subclasses), not from its name.
"""

from __future__ import annotations

from enum import Enum

import torch
from torch import nn

from attention_nmt.model.attention import Attention

ATTENTION_STD = 0.001  # Bahdanau et al.: W_a, U_a
WEIGHT_STD = 0.01  # Bahdanau et al.: any other weight matrix
UNIFORM_RANGE = 0.1  # Luong et al.


class Init(Enum):
    bahdanau2014 = "bahdanau2014"
    luong2015 = "luong2015"
    torch = "torch"


def initialise(model: nn.Module, scheme: Init) -> None:
    """Initialise every parameter of `model` in place by `scheme` (module docstring)."""
    if scheme is Init.torch:
        return
    with torch.no_grad():
        if scheme is Init.luong2015:
            for param in model.parameters():
                param.uniform_(-UNIFORM_RANGE, UNIFORM_RANGE)
        else:
            _bahdanau2014(model)
        for module in model.modules():
            if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                module.weight[module.padding_idx].zero_()


def _bahdanau2014(model: nn.Module) -> None:
    attention = {id(p) for m in model.modules() if isinstance(m, Attention) for p in m.parameters()}
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if name.startswith("bias") or param.dim() == 1:
                param.zero_()
            elif isinstance(module, nn.RNNBase) and name.startswith("weight_hh"):
                for gate in param.split(module.hidden_size, dim=0):  # (H, H) per gate, orthogonal each
                    nn.init.orthogonal_(gate)
            elif id(param) in attention:
                param.normal_(0.0, ATTENTION_STD)
            else:
                param.normal_(0.0, WEIGHT_STD)
    for module in model.modules():  # v_a: zero (its weight is (1, A), a matrix in torch's layout)
        energy = getattr(module, "energy_layer", None)
        if isinstance(module, Attention) and isinstance(energy, nn.Linear):
            energy.weight.zero_()
