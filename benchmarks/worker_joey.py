"""The Joey NMT 2.3 side of the benchmark, run by the Python of Joey's own virtualenv.

It builds Joey's recurrent model with `joeynmt.model.build_model` from a config with our sizes, trains
the way `TrainManager._train_step` does (sort by source length, `model(return_type="loss")`, batch
normalisation, backward, Adam step) and decodes with `joeynmt.search.search`, what `joeynmt test`
calls; `count` counts a pass's FLOPs with the same counter as ours (`flops`). It imports only the standard
library, torch, joeynmt, `protocol` and `flops`, never attention_nmt.
Joey has no attention-free decoder: the `none` arm runs Joey's cheapest config (luong, no input feeding).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # noqa: E402  (a script beside its helpers)

import flops  # noqa: E402
import protocol  # noqa: E402
import torch  # noqa: E402
from joeynmt.batch import Batch  # noqa: E402
from joeynmt.config import _check_special_symbols  # noqa: E402
from joeynmt.model import build_model  # noqa: E402
from joeynmt.search import search  # noqa: E402
from joeynmt.vocabulary import Vocabulary  # noqa: E402

HIDDEN, EMBEDDING, DROPOUT = protocol.HIDDEN, protocol.EMBEDDING, protocol.DROPOUT
#: our arm -> Joey's decoder settings (attention, input_feeding)
ARMS = {
    "none": ("luong", False),
    "additive": ("bahdanau", True),
    "multiplicative": ("luong", False),
    "multiplicative+feed": ("luong", True),
}


def model_config(arm: str) -> dict:
    attention, input_feeding = ARMS[arm]
    embeddings = {"embedding_dim": EMBEDDING, "dropout": DROPOUT}
    return {
        "encoder": {
            "type": "recurrent",
            "rnn_type": "gru",
            "hidden_size": HIDDEN,
            "bidirectional": True,
            "num_layers": 1,
            "dropout": DROPOUT,
            "embeddings": dict(embeddings),
        },
        "decoder": {
            "type": "recurrent",
            "rnn_type": "gru",
            "hidden_size": HIDDEN,
            "num_layers": 1,
            "attention": attention,
            "input_feeding": input_feeding,
            "init_hidden": "bridge",
            "dropout": DROPOUT,
            "hidden_dropout": DROPOUT,
            "embeddings": dict(embeddings),
        },
    }


def _vocabulary(size: int) -> Vocabulary:
    specials = SimpleNamespace(**_check_special_symbols({}))
    vocab = Vocabulary([f"t{i}" for i in range(size)], specials)
    assert len(vocab) == size + protocol.WORD_OFFSET, "Joey's four specials come first"
    return vocab


def _batch(pairs: list[list[list[int]]], vocab: Vocabulary, with_target: bool) -> Batch:
    """A Joey batch of (source words, target words) pairs: sources end in EOS, targets are BOS y EOS."""
    pad, bos, eos = vocab.pad_index, vocab.bos_index, vocab.eos_index
    rows = list(range(len(pairs)))
    src = [[w + protocol.WORD_OFFSET for w in s] + [eos] for s, _ in pairs]
    src_t = torch.full((len(rows), max(map(len, src))), pad, dtype=torch.long)
    for r, s in enumerate(src):
        src_t[r, : len(s)] = torch.tensor(s)
    trg_t = None
    if with_target:
        trg = [[bos] + [w + protocol.WORD_OFFSET for w in t] + [eos] for _, t in pairs]
        trg_t = torch.full((len(rows), max(map(len, trg))), pad, dtype=torch.long)
        for r, t in enumerate(trg):
            trg_t[r, : len(t)] = torch.tensor(t)
    lengths = torch.tensor([len(s) for s in src])
    return Batch(
        src_t, lengths, None, trg_t, None, torch.tensor(rows), torch.device("cpu"), pad, eos, is_train=with_target
    )


def setup(
    threads: int,
    kind: str,
    arm: str,
    vocab_size: int,
    batches: list[list[list[list[int]]]],
    warmup: int = 1,
    beam: int = 1,
    max_len_ratio: float = 1.5,
    lr: float = 3e-3,
) -> Callable[[], dict[str, Any]]:
    """Build Joey's model and batches; return the function that measures one repeat."""
    torch.set_num_threads(threads)
    vocab = _vocabulary(vocab_size)
    torch.manual_seed(0)
    model = build_model(model_config(arm), vocab, vocab)
    if kind == "train":
        model.loss_function = ("crossentropy", 0.0)
        prepared = [_batch(pairs, vocab, with_target=True) for pairs in batches]
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-6)

        def one_pass() -> dict[str, Any]:
            tokens, start = 0, time.perf_counter()
            for batch in prepared:
                model.train()
                batch.sort_by_src_length()
                loss, _, _, _ = model(return_type="loss", **vars(batch))
                batch.normalize(loss, normalization="batch").backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                tokens += batch.ntokens
            return {"work": tokens, "seconds": time.perf_counter() - start}
    else:
        prepared = [_batch(pairs, vocab, with_target=False) for pairs in batches]
        model.eval()
        if max_len_ratio != 1.5:
            raise ValueError("Joey's default maximum output length is 1.5 x the longest source of a batch")

        def one_pass() -> dict[str, Any]:
            sentences, start = 0, time.perf_counter()
            for batch in prepared:
                batch.sort_by_src_length()
                output, _, _ = search(model, batch, max_output_length=-1, beam_size=beam, beam_alpha=0.0, n_best=1)
                sentences += batch.nseqs
            return {"work": sentences, "seconds": time.perf_counter() - start}

    one_pass.inference = kind != "train"  # `flops.count` counts decoding without autograd
    for _ in range(warmup):
        saved = prepared[1:]
        del prepared[1:]
        one_pass()
        prepared.extend(saved)
    return one_pass


if __name__ == "__main__":
    protocol.serve(setup, {"count": flops.count})
