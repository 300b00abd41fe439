"""The attention-nmt side of the benchmark: one process that trains or decodes with the package's own code.

It sets up the allocator as training does (`keep_freed_memory`), builds the model with `build_model` (what
training builds), collates with the package's `collate`, steps the optimiser that `OptimConfig` builds,
computes the loss with `token_loss` (the training loss) and decodes with `search` (what validation and test
call). It also measures the machine's matrix-multiply peak (`kind="matmul"`, `flops.matmul_pass`), counts a
pass's FLOPs (`count`) and profiles a pass (`profile`). Run by `throughput.py`; speaks `protocol`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # noqa: E402  (a script beside its helpers)

import flops  # noqa: E402
import profile_pass  # noqa: E402
import protocol  # noqa: E402
import torch  # noqa: E402

from attention_nmt.allocator import keep_freed_memory  # noqa: E402
from attention_nmt.data.batching import collate  # noqa: E402
from attention_nmt.data.tokenization import SPECIAL_IDS  # noqa: E402
from attention_nmt.model.arms.additive import AdditiveAttentionConfig  # noqa: E402
from attention_nmt.model.arms.multiplicative import MultiplicativeAttentionConfig, Score  # noqa: E402
from attention_nmt.model.arms.none import NoAttentionConfig  # noqa: E402
from attention_nmt.model.attention import AttentionConfig  # noqa: E402
from attention_nmt.model.config import EncoderConfig, ModelConfig  # noqa: E402
from attention_nmt.model.encoder import Cell  # noqa: E402
from attention_nmt.model.search import search  # noqa: E402
from attention_nmt.model.seq2seq import Seq2Seq, build_model, token_loss  # noqa: E402
from attention_nmt.training.optim import OptimConfig  # noqa: E402

HIDDEN, EMBEDDING, OUTPUT, DROPOUT = protocol.HIDDEN, protocol.EMBEDDING, protocol.OUTPUT, protocol.DROPOUT


def arm_config(arm: str) -> AttentionConfig:
    """The benchmark's arms by name: none, additive, multiplicative (general), multiplicative+feed."""
    return {
        "none": NoAttentionConfig(),
        "additive": AdditiveAttentionConfig(attention_size=HIDDEN),
        "multiplicative": MultiplicativeAttentionConfig(score=Score.general, input_feeding=False),
        "multiplicative+feed": MultiplicativeAttentionConfig(score=Score.general, input_feeding=True),
    }[arm]


def make_model(arm: str, vocab_size: int, seed: int = 0) -> Seq2Seq:
    torch.manual_seed(seed)
    model = ModelConfig(
        embedding_size=EMBEDDING, hidden_size=HIDDEN, output_size=OUTPUT, dropout=DROPOUT, decoder_cell=Cell.gru
    )
    encoder = EncoderConfig(name="bigru", cell=Cell.gru, bidirectional=True, hidden_size=HIDDEN, dropout=DROPOUT)
    size = vocab_size + protocol.WORD_OFFSET
    return build_model(model, encoder, arm_config(arm), size, size, SPECIAL_IDS)


def _batches(batches: list[list[list[list[int]]]]) -> list:
    """Collate batches of (source words, target words) pairs as our DataModule does (ids end in EOS)."""

    def ids(words: list[int]) -> list[int]:
        return [w + protocol.WORD_OFFSET for w in words] + [SPECIAL_IDS.eos]

    return [
        collate([(i, ids(src), ids(trg)) for i, (src, trg) in enumerate(batch)], SPECIAL_IDS.pad, SPECIAL_IDS.bos)
        for batch in batches
    ]


def setup(threads: int, kind: str, **row: Any) -> Callable[[], dict[str, Any]]:
    """One row's measured pass at `threads` threads: a matrix product (`kind="matmul"`: m, k, n, dtype) or
    the model's training or decoding (`model_row`)."""
    torch.set_num_threads(threads)
    keep_freed_memory()  # as training and evaluation set up glibc's allocator
    if kind == "matmul":
        return flops.matmul_pass(**row)
    return model_row(kind, **row)


def model_row(
    kind: str,
    arm: str,
    vocab_size: int,
    batches: list[list[list[list[int]]]],
    warmup: int = 1,
    beam: int = 1,
    max_len_ratio: float = 1.5,
    lr: float = 3e-3,
    precision: str = "fp32",
) -> Callable[[], dict[str, Any]]:
    """Build the model and the collated batches; return the function that measures one repeat. `precision`
    bf16 runs forward passes and search under bf16 autocast, as `trainer.precision=bf16-mixed` does."""
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
    model = make_model(arm, vocab_size)
    collated = _batches(batches)
    if kind == "train":
        optimizer = OptimConfig(lr=lr).build(model.parameters())["optimizer"]
        model.train()

        def one_pass() -> dict[str, Any]:
            tokens, start = 0, time.perf_counter()
            for batch in collated:
                with autocast:
                    logits, _ = model(batch.src, batch.src_lengths, batch.trg_input)
                    loss, count = token_loss(logits, batch.trg_output, SPECIAL_IDS.pad)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                tokens += count
            return {"work": tokens, "seconds": time.perf_counter() - start}
    else:
        model.eval()

        def one_pass() -> dict[str, Any]:
            sentences, start = 0, time.perf_counter()
            for batch in collated:
                with autocast:
                    sentences += len(search(model, batch.src, batch.src_lengths, beam, max_len_ratio))
            return {"work": sentences, "seconds": time.perf_counter() - start}

    one_pass.inference = kind != "train"  # `flops.count` counts decoding without autograd
    for _ in range(warmup):
        _warm(one_pass, collated)
    return one_pass


def _warm(one_pass: Callable[[], dict[str, Any]], collated: list) -> None:
    """Warm up on the first batch only (a whole pass would double the cost of every training row)."""
    saved = collated[1:]
    del collated[1:]
    one_pass()
    collated.extend(saved)


if __name__ == "__main__":
    protocol.serve(setup, {"count": flops.count, "profile": profile_pass.profile})
