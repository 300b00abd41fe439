"""Mixed precision is numerically safe: attention masks and normalises in fp32 whatever the input precision,
and a whole bf16-mixed run trains, validates and tests on the CPU."""

import pytest
import torch
from omegaconf import OmegaConf

import attention_nmt.tasks.train as training
from attention_nmt.evaluation.results import RunResults
from attention_nmt.model.arms.additive import AdditiveAttention
from attention_nmt.model.arms.multiplicative import MultiplicativeAttention, Score
from attention_nmt.model.encoder import EncoderOutput

ARMS = {
    "additive": lambda: AdditiveAttention(8, 8, 6),
    "general": lambda: MultiplicativeAttention(8, 8, Score.general),
    "dot": lambda: MultiplicativeAttention(8, 8, Score.dot),
    "scaled_dot": lambda: MultiplicativeAttention(8, 8, Score.scaled_dot),
}
MASK = torch.tensor([[True] * 6, [True, True, True, False, False, False], [True] + [False] * 5])


def _inputs(dtype: torch.dtype, scale: float = 1.0):
    gen = torch.Generator().manual_seed(0)
    states = torch.randn(3, 6, 8, generator=gen) * MASK[..., None]
    query = torch.randn(3, 2, 8, generator=gen) * scale
    return query.to(dtype), EncoderOutput(states.to(dtype), states[:, 0].to(dtype), MASK)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("arm", list(ARMS))
def test_attention_in_half_precision_masks_exactly_and_matches_fp32(arm, dtype):
    torch.manual_seed(0)
    reference = ARMS[arm]()
    half = ARMS[arm]().to(dtype)
    half.load_state_dict({k: v.to(dtype) for k, v in reference.state_dict().items()})
    query, encoded = _inputs(dtype, scale=8.0)  # large scores: a mask value outside fp16's range would overflow
    context, weights = half.attend(query, *half.memory(encoded))
    assert weights.dtype == dtype and context.dtype == dtype
    assert torch.isfinite(weights).all() and torch.isfinite(context).all()
    assert torch.all(weights[~MASK[:, None, :].expand_as(weights)] == 0.0)  # exactly zero on padding
    assert torch.all(weights[2, :, 0] == 1.0)  # a one-token sentence attends to its token only
    torch.testing.assert_close(weights.float().sum(-1), torch.ones(3, 2), atol=1e-2, rtol=0)
    ref_context, ref_weights = reference.attend(
        query.float(),
        *reference.memory(  # fp32 on the same rounded inputs
            EncoderOutput(encoded.states.float(), encoded.final.float(), MASK)
        ),
    )
    tolerance = 2e-2 if dtype is torch.float16 else 6e-2
    torch.testing.assert_close(weights.float(), ref_weights, atol=tolerance, rtol=0)
    torch.testing.assert_close(context.float(), ref_context, atol=tolerance, rtol=tolerance)


@pytest.mark.parametrize("arm", list(ARMS))
def test_attention_under_cpu_bf16_autocast_normalises_in_fp32(arm):
    torch.manual_seed(0)
    attention = ARMS[arm]()
    query, encoded = _inputs(torch.float32, scale=8.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        memory = attention.memory(encoded)
        scores = attention.score(query, memory.keys)
        context, weights = attention.attend(query, *memory)
    if arm in ("additive", "general"):
        assert scores.dtype == torch.bfloat16  # autocast really ran the projections in bf16
    assert weights.dtype == torch.float32  # softmax kept in fp32: values are fp32 here
    assert torch.all(weights[~MASK[:, None, :].expand_as(weights)] == 0.0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 2))
    assert torch.isfinite(context).all()


def test_bf16_mixed_run_trains_validates_and_tests_on_cpu(tiny_config, tmp_path):
    cfg = tiny_config("trainer.precision=bf16-mixed", "attention=multiplicative", "attention.score=general")
    seen = set()
    build = training.build_module

    def build_and_watch(cfg, datamodule):
        module = build(cfg, datamodule)
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.register_forward_hook(lambda mod, args, out: seen.add(out.dtype))
        return module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "build_module", build_and_watch)
        metrics = training.train(OmegaConf.to_object(cfg))
    assert torch.bfloat16 in seen  # the layers ran under bf16 autocast
    assert all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    results = RunResults.read(tmp_path / "run" / "results.json")
    assert results.config["trainer"]["precision"] == "bf16-mixed"
    assert results.test.n == 40 and results.test.bleu >= 0.0
