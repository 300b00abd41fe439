"""The LightningModule: teacher-forced training, decoding for validation/test BLEU, and what is logged.

Logged keys: train/loss, train/lr, train/tokens_per_s, train/grad_norm (before clipping), val/loss,
val/bleu, the attention health of arms with weights (val/attn_entropy, val/attn_entropy_norm,
val/attn_max_weight, val/attn_score_mean_abs, val/attn_score_max_abs, val/attn_diagonal and, with gold
alignments, val/aer: `evaluation/attention_health.py`), test/bleu and test/bleu_len/<bucket> (non-empty
buckets); results.json also gets each bucket's chrF and length ratio from the test metric. BLEU is sacreBLEU
on detokenized text, accumulated in a `BucketedBLEU` metric so that DDP ranks sum exact n-gram statistics. The
checkpoint is self-contained: hyperparameters rebuild the network and the tokenizers travel inside it.
"""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch
from lightning.pytorch.plugins.precision import MixedPrecision
from lightning.pytorch.utilities import grad_norm
from tokenizers import Tokenizer

from attention_nmt.data.batching import Batch
from attention_nmt.data.config import DataConfig
from attention_nmt.data.tokenization import SPECIAL_IDS, decode
from attention_nmt.evaluation.aer import corpus_aer
from attention_nmt.evaluation.attention_health import AttentionHealth, recorded_scores
from attention_nmt.evaluation.attention_record import sentence_aer
from attention_nmt.evaluation.bleu import BucketedBLEU
from attention_nmt.model.arms import stored_arm
from attention_nmt.model.attention import AttentionConfig
from attention_nmt.model.config import DecodingConfig, EncoderConfig, ModelConfig
from attention_nmt.model.search import Hypothesis, search
from attention_nmt.model.seq2seq import build_model, count_parameters, token_loss
from attention_nmt.model.workspace import release_workspaces
from attention_nmt.stored_config import as_typed, stored
from attention_nmt.training.optim import OptimConfig


class TranslationModule(L.LightningModule):
    """Wraps a `Seq2Seq` for one arm; the checkpoint rebuilds it (hyperparameters, weights, tokenizers)."""

    def __init__(
        self,
        model: ModelConfig | dict,
        encoder: EncoderConfig | dict,
        attention: AttentionConfig | dict,
        optim: OptimConfig | dict,
        decoding: DecodingConfig | dict,
        bucket_edges: list[int],
        src_vocab_size: int,
        trg_vocab_size: int,
        data: DataConfig | dict | None = None,
    ) -> None:
        """The train task passes typed configs; loading a checkpoint passes back the plain dicts stored with it
        (`stored_config.to_plain`), which are rebuilt and validated here. `data` is stored only so evaluation
        can default to the same corpus."""
        super().__init__()
        self.save_hyperparameters(
            {
                "model": stored(model),
                "encoder": stored(encoder),
                "attention": stored(attention),
                "optim": stored(optim),
                "decoding": stored(decoding),
                "bucket_edges": list(bucket_edges),
                "src_vocab_size": src_vocab_size,
                "trg_vocab_size": trg_vocab_size,
                "data": None if data is None else stored(data),
            }
        )
        self.optim_cfg = as_typed(optim, OptimConfig)
        self.decoding = as_typed(decoding, DecodingConfig)
        self.model = build_model(
            as_typed(model, ModelConfig),
            as_typed(encoder, EncoderConfig),
            attention if isinstance(attention, AttentionConfig) else stored_arm(attention),
            src_vocab_size,
            trg_vocab_size,
            SPECIAL_IDS,
        )
        self.num_parameters = count_parameters(self.model)
        self.val_bleu = BucketedBLEU(bucket_edges)
        self.val_attention = AttentionHealth()
        self.test_bleu = BucketedBLEU(bucket_edges, chrf=True)  # + chrF and length ratio per bucket
        self.tokenizers: tuple[Tokenizer, Tokenizer] | None = None
        self.test_rows: list[tuple[int, str]] = []  # (index in the test split, hypothesis)
        self.test_result: dict[str, Any] | None = None  # the test metric's compute() of the last test pass
        self.train_tokens = 0
        self._last_time: float | None = None

    # ---- training ---------------------------------------------------------------------------------------
    def _loss(self, batch: Batch) -> tuple[torch.Tensor, int]:
        logits, _ = self.model(batch.src, batch.src_lengths, batch.trg_input)  # (B, T, V)
        return token_loss(logits, batch.trg_output, SPECIAL_IDS.pad, self.optim_cfg.label_smoothing)

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        loss, tokens = self._loss(batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss.item()} at global step {self.global_step}; "
                "lower optim.lr or check the data. The last good checkpoint is in the "
                "run's checkpoints/ folder (last.ckpt)."
            )
        self.train_tokens += tokens
        now = time.perf_counter()
        if self._last_time is not None:
            self.log("train/tokens_per_s", tokens / max(now - self._last_time, 1e-9), batch_size=batch.src.shape[0])
        self._last_time = now
        self.log("train/loss", loss, prog_bar=True, batch_size=batch.src.shape[0])
        self.log("train/lr", self.optimizers().param_groups[0]["lr"], batch_size=batch.src.shape[0])
        return loss

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        # Lightning calls this after backward and before it clips, so this is the raw gradient norm.
        if self.global_step % self.trainer.log_every_n_steps == 0:
            self.log("train/grad_norm", grad_norm(self.model, norm_type=2)["grad_2.0_norm_total"])

    def on_validation_start(self) -> None:
        release_workspaces()  # training's buffers are idle until training resumes; the search makes a one-step one

    def on_validation_end(self) -> None:
        release_workspaces()  # the search's one-step buffer: training grows its own

    def on_train_end(self) -> None:
        release_workspaces()  # not kept resident through testing

    def on_test_end(self) -> None:
        release_workspaces()  # nor after it

    def configure_optimizers(self) -> dict[str, Any]:
        # Lightning's mixed-precision plugin refuses to clip the gradients of a fused optimizer (it would unscale
        # them itself), and every recipe clips: under bf16-mixed / 16-mixed Adam runs as the per-tensor loop.
        mixed = isinstance(self.trainer.precision_plugin, MixedPrecision)
        return self.optim_cfg.build(self.model.parameters(), allow_fused=not mixed)

    # ---- decoding and evaluation ------------------------------------------------------------------------
    def translate(self, batch: Batch, beam_size: int) -> list[Hypothesis]:
        cfg = self.decoding
        return search(self.model, batch.src, batch.src_lengths, beam_size, cfg.max_len_ratio, cfg.length_penalty)

    def _score_batch(self, batch: Batch, split: str, metric: BucketedBLEU, beam_size: int) -> None:
        data = self.trainer.datamodule.splits[split]
        hyps = self.translate(batch, beam_size)
        texts = decode(self.tokenizers[1], [h.tokens for h in hyps])
        index = batch.index.tolist()
        metric.update(texts, [data.references[i] for i in index], [data.src_words[i] for i in index])
        if split == "test":
            self.test_rows.extend(zip(index, texts))

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        # The teacher-forced pass runs the reference step loop (the same math as training's fast paths), where
        # the arm's own `score` is called and its raw scores e_ij can be recorded for the attention health.
        with recorded_scores(self.model.decoder.attention) as scores:
            logits, weights = self.model(batch.src, batch.src_lengths, batch.trg_input, stepwise=True)
        loss, _ = token_loss(logits, batch.trg_output, SPECIAL_IDS.pad, self.optim_cfg.label_smoothing)
        self.log("val/loss", loss, prog_bar=False, batch_size=batch.src.shape[0], sync_dist=True)
        if weights is not None:
            self._update_attention_health(batch, weights, torch.cat(scores, dim=1) if scores else None)
        self._score_batch(batch, "validation", self.val_bleu, beam_size=1)

    def _update_attention_health(self, batch: Batch, weights: torch.Tensor, scores: torch.Tensor | None) -> None:
        data, aer = self.trainer.datamodule.splits["validation"], None
        if data.alignments is not None:  # synthetic tasks: AER of the argmax links against the gold ones
            alpha = weights.float().cpu().numpy()
            aer = corpus_aer(
                sentence_aer(alpha[row], data, i, self.tokenizers, "validation")
                for row, i in enumerate(batch.index.tolist())
            )
        src_mask, trg_mask = batch.src != SPECIAL_IDS.pad, batch.trg_output != SPECIAL_IDS.pad  # (B, S), (B, T)
        self.val_attention.update(weights, scores, src_mask, trg_mask, aer)

    def on_validation_epoch_end(self) -> None:
        self.log("val/bleu", self.val_bleu.compute()["bleu"], prog_bar=True, sync_dist=False)
        self.val_bleu.reset()
        health = self.val_attention.compute() if self.val_attention.update_count else None
        for key, value in (health or {}).items():  # attention=none has no weights: nothing is logged
            self.log("val/aer" if key == "aer" else f"val/attn_{key}", value, sync_dist=False)
        self.val_attention.reset()

    def on_test_epoch_start(self) -> None:
        self.test_rows, self.test_result = [], None

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._score_batch(batch, "test", self.test_bleu, beam_size=self.decoding.beam_size)

    def on_test_epoch_end(self) -> None:
        result = self.test_bleu.compute()
        self.test_result = result
        self.log("test/bleu", result["bleu"])
        for bucket in result["buckets"]:
            if bucket["n"]:  # an empty bucket has no BLEU, not a BLEU of 0
                self.log(f"test/bleu_len/{bucket['label']}", bucket["bleu"])
        self.test_bleu.reset()

    # ---- checkpoint -------------------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.tokenizers is not None:
            checkpoint["tokenizers"] = {"src": self.tokenizers[0].to_str(), "trg": self.tokenizers[1].to_str()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if "tokenizers" in checkpoint:
            self.tokenizers = (
                Tokenizer.from_str(checkpoint["tokenizers"]["src"]),
                Tokenizer.from_str(checkpoint["tokenizers"]["trg"]),
            )
