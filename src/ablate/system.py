"""The Lightning system: trains an encoder–decoder and scores it (BLEU each epoch, the
full analyses at test).

It receives the model, the scorer and the optimiser, defines no layers (Lightning style
guide) and takes the facts about the data from where they live: the vocabularies from the
trainer's datamodule (`Seq2SeqData`), the splits and buckets from the `Scorer`.
Validation decodes greedily and logs `val/bleu` (the checkpoint monitor) and
`val/bleu_len/<bucket>`; test also records the teacher-forced attention for the alignment
metrics and keeps the scores and decoded sentences in `self.test_outputs`
(`TestOutputs`) for the run's writer (`ablate.outputs`). The finite-loss watch is a
callback (`ablate.callbacks`); what a checkpoint carries beyond Lightning's state is
`ablate.checkpoints.extras` and the datamodule's state.

The attention's diagnostics (`ablate.diagnostics`) are recorded by the trainer's
`ablate.callbacks.AttentionDiagnostics`, the system reading what it recorded: the
validation's and the test's per-sentence statistics go to the scorer with the rest
(`val/attn/*`, `test/attn/*`), and the sampled training batches give the gradient norm at
the scores (`train/attn/score_grad_norm`, the mean over the epoch's sampled batches).
Each validation adds an epoch to `attention_history`, which checkpoints carry, and the
test's `attention_stats` holds that history and the gradient norm of the epoch whose
weights it tested. A trainer without that callback records no attention statistics.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn
from torch import nn

from ablate import checkpoints
from ablate.callbacks import AttentionDiagnostics
from ablate.data.vocab import Vocab
from ablate.models import search
from ablate.optim import check_lr
from ablate.scores import AttentionStats, Scores
from ablate.scoring import Scorer

# The statistics logged per epoch as `<stage>/attn/<name>` (and `…/<name>/<module>` for
# each module of a model with several).
LOGGED_STATS = ("score_std", "entropy", "max_weight", "saturated")


@dataclass(frozen=True)
class Decoding:
    """Test-time decoding (validation always decodes greedily), checked when made.

    Args:
        beam_size: 1 = greedy.
        length_penalty: beam scores are log-probabilities / length ** length_penalty.
    """

    beam_size: int = 1
    length_penalty: float = 1.0

    def __post_init__(self):
        search.check_decoding(self.beam_size, self.length_penalty)


@dataclass
class Decoded:
    """One decoded sentence of a split.

    Args:
        index: its position in the split.
        tokens: the output tokens, without `</s>`.
        weights: `(T, S)` attention while decoding, one row per output token, and one
            more for `</s>` only where that step has weights; None for `attention=none`
            or where not kept.
        forced: `(T, S)` teacher-forced attention on the reference (without `</s>`), for
            the alignment metrics; test only, None for `attention=none`.
    """

    index: int
    tokens: list[str]
    weights: np.ndarray | None = None
    forced: np.ndarray | None = None

    @classmethod
    def from_search(
        cls, index: int, tokens: list[str], weights: torch.Tensor | None, src_len: int
    ) -> Decoded:
        """A sentence from a search's output row: its tokens and its `(T_max, S_max)`
        weights (None: not kept), cut to its tokens, `</s>` and source length; the `</s>`
        row only where that step has weights, so no blank row is drawn."""
        w = None
        if weights is not None:
            w = weights[: len(tokens) + 1, :src_len].float().cpu().numpy()
            if len(w) > len(tokens) and not w[len(tokens)].any():
                w = w[: len(tokens)]
        return cls(index, tokens, w)


@dataclass
class TestOutputs:
    """What the test leaves for the run's writer: the scores and every test sentence
    decoded, in test-set order."""

    scores: Scores
    decoded: list[Decoded]


class Seq2SeqSystem(pl.LightningModule):
    """Cross-entropy training; BLEU-based validation and test.

    Args:
        model: the encoder–decoder (`model(src, src_len, tgt_in, need_weights) -> (logits,
            weights)`, weights None without `need_weights`;
            decoded with `ablate.models.search`).
        scorer: the valid and test pairs, buckets and tokenizer it scores against.
        optimizer: the optimiser without its parameters (`conf/optim/`: a partial of a
            torch optimiser); its `lr` is checked here.
        scheduler: `(optimizer, total_steps) -> LRScheduler`, stepped every optimiser step
            (`ablate.optim`); None for a constant rate.
        decode: test-time decoding.
        label_smoothing: cross-entropy label smoothing, in [0, 1).
    """

    def __init__(
        self,
        model: nn.Module,
        scorer: Scorer,
        optimizer: Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer],
        scheduler: Callable | None = None,
        decode: Decoding = Decoding(),
        label_smoothing: float = 0.0,
    ):
        super().__init__()
        check_lr(getattr(optimizer, "keywords", {}).get("lr"))  # a partial's configured rate
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"optim.label_smoothing must be in [0, 1), got {label_smoothing!r}")
        self.model, self.scorer = model, scorer
        self.optimizer, self.scheduler, self.decode = optimizer, scheduler, decode
        self.loss_fn = nn.CrossEntropyLoss(
            ignore_index=Vocab.pad_id, label_smoothing=label_smoothing
        )
        self.train_tokens = 0
        self.train_seconds = 0.0  # of earlier sessions, when the run was resumed
        self.fit_seconds = 0.0  # the whole training time, set when fit ends
        self._fit_start = time.perf_counter()
        self._eval: dict[int, Decoded] = {}  # split index → its decoded sentence
        self.test_outputs: TestOutputs | None = None
        # (epoch, its validation's attention statistics): what the test record's history holds.
        self.attention_history: list[tuple[int, AttentionStats]] = []
        self._tested_epoch: int | None = None  # the epoch of the checkpoint under test

    def forward(self, src, src_len):
        return search.decode(self.model, src, src_len)

    def _loss(self, batch, need_weights: bool = True):
        """The teacher-forced loss and weights (None without `need_weights`)."""
        logits, weights = self.model(
            batch["src"], batch["src_len"], batch["tgt_in"], need_weights=need_weights
        )
        loss = self.loss_fn(logits.flatten(0, 1), batch["tgt_out"].flatten())  # (B·T, V)
        return loss, weights

    def _diagnostics(self) -> AttentionDiagnostics | None:
        """The trainer's attention diagnostics, if it records them."""
        found = (c for c in self.trainer.callbacks if isinstance(c, AttentionDiagnostics))
        return next(found, None)

    def _sentence_attention(self) -> dict[str, dict[int, list[float]]]:
        """The split's per-sentence attention sums, by module and split index (none
        without the diagnostics)."""
        diagnostics = self._diagnostics()
        return {} if diagnostics is None else diagnostics.sentences

    def _log_attention(self, stage: str, stats: AttentionStats | None) -> None:
        if stats is None:
            return
        for key in LOGGED_STATS:
            for s in (stats, *stats.layers):
                value = getattr(s, key)
                if value is not None:
                    self.log(f"{stage}/attn/{key}" + (f"/{s.layer}" if s.layer else ""), value)

    def training_step(self, batch, batch_idx):
        loss, _ = self._loss(batch, need_weights=False)  # the fused kernel, where it can
        # A tensor sum, not int(): no host-device sync at every step.
        self.train_tokens = self.train_tokens + batch["tgt_out"].ne(Vocab.pad_id).sum()
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["src"].shape[0])
        return loss

    def _decode(self, batch, keep_weights: bool, beam_size: int = 1) -> list[Decoded]:
        tokens, weights = search.decode(
            self.model,
            batch["src"],
            batch["src_len"],
            beam_size=beam_size,
            length_penalty=self.decode.length_penalty,
        )  # (B, T), (B, T, S) or None
        vocab = self.trainer.datamodule.tgt_vocab
        kept = weights if keep_weights else None
        return [
            Decoded.from_search(
                i,
                vocab.decode(tokens[b].tolist()),
                None if kept is None else kept[b],
                int(batch["src_len"][b]),
            )
            for b, i in enumerate(batch["index"].tolist())
        ]

    def on_validation_epoch_start(self):
        self._eval = {}

    def validation_step(self, batch, batch_idx):
        loss, _ = self._loss(batch)
        self.log("val/loss", loss, prog_bar=True, batch_size=batch["src"].shape[0])
        for d in self._decode(batch, keep_weights=False):
            self._eval[d.index] = d

    def on_validation_epoch_end(self):
        if self.trainer.sanity_checking:
            return
        scores = self.scorer.score_valid(
            {i: d.tokens for i, d in self._eval.items()}, self._sentence_attention()
        )
        self.log("val/bleu", scores.bleu, prog_bar=True)
        for b in scores.buckets:
            if b.n:
                self.log(f"val/bleu_len/{b.label}", b.bleu)
        stats = scores.attention_stats
        diagnostics = self._diagnostics()
        if self.trainer.state.fn == TrainerFn.FITTING and diagnostics is not None:
            norm, layers = diagnostics.grad_norms()  # this epoch's sampled training batches
            for name, value in [(None, norm), *layers.items()]:
                if value is not None and (name is None or len(layers) > 1):
                    self.log("train/attn/score_grad_norm" + (f"/{name}" if name else ""), value)
            if stats is not None:
                stats = _bare(stats.with_grad(norm, layers))
                self.attention_history.append((self.current_epoch + 1, stats))
        self._log_attention("val", stats)

    def on_test_epoch_start(self):
        self._eval = {}

    def test_step(self, batch, batch_idx):
        _, forced = self._loss(batch)  # (B, T, S): attention on the reference translation
        for b, d in enumerate(
            self._decode(batch, keep_weights=True, beam_size=self.decode.beam_size)
        ):
            if forced is not None:
                T = int(batch["tgt_out"][b].ne(Vocab.pad_id).sum()) - 1  # without </s>
                S = int(batch["src_len"][b])
                d.forced = forced[b, :T, :S].float().cpu().numpy()
            self._eval[d.index] = d

    def on_test_epoch_end(self):
        decoded = [self._eval[i] for i in range(len(self.scorer.test))]
        forced = [d.forced for d in decoded] if decoded and decoded[0].forced is not None else None
        attention = self._sentence_attention()
        scores = self.scorer.score_test([d.tokens for d in decoded], forced, attention)
        if scores.attention_stats is not None:
            scores = dataclasses.replace(scores, attention_stats=self._trained(scores))
            self._log_attention("test", scores.attention_stats)
        self.log_dict(
            {
                "test/bleu": scores.bleu,
                "test/chrf": scores.chrf,
                "test/exact_match": scores.exact_match,
            }
        )
        for b in scores.buckets:
            if b.n:
                self.log(f"test/bleu_len/{b.label}", b.bleu)
        self.test_outputs = TestOutputs(scores, decoded)

    def _trained(self, scores: Scores) -> AttentionStats:
        """The test's attention statistics with the per-epoch history and the gradient
        norm of the tested checkpoint's epoch (the last validated one if unknown)."""
        stats = scores.attention_stats
        by_epoch = dict(self.attention_history)
        tested = by_epoch.get(self._tested_epoch) or (
            self.attention_history[-1][1] if self.attention_history else None
        )
        if tested is not None:
            layers = {x.layer: x.score_grad_norm for x in tested.layers}
            stats = stats.with_grad(tested.score_grad_norm, layers)
        return stats.with_history(self.attention_history)

    def configure_optimizers(self):
        optimizer = self.optimizer(self.model.parameters())
        if self.scheduler is None:
            return optimizer
        scheduler = self.scheduler(
            optimizer, total_steps=lambda: self.trainer.estimated_stepping_batches
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def on_fit_start(self):
        # Checked here, before any training: the test scores, buckets and hypotheses.tsv
        # are of the whole test set.
        if self.trainer.limit_test_batches != 1.0:
            raise ValueError(
                f"trainer.limit_test_batches={self.trainer.limit_test_batches} is not supported:"
                f" the test scores every test sentence; drop the override (generated datasets"
                f" take dataset.test_size)"
            )
        self._fit_start = time.perf_counter()

    def on_fit_end(self):
        self.fit_seconds = self.elapsed()

    def elapsed(self) -> float:
        """Training seconds so far, earlier sessions of a resumed run included."""
        return self.train_seconds + time.perf_counter() - self._fit_start

    def on_save_checkpoint(self, checkpoint):
        checkpoint["ablate"] = checkpoints.extras(
            self.model.config.record(),
            train_tokens=int(self.train_tokens),
            train_seconds=self.elapsed(),
        )
        # The running gradient norms of an epoch so far are the diagnostics callback's state.
        checkpoint[ATTENTION_KEY] = {
            "history": [{"epoch": e, **s.to_json()} for e, s in self.attention_history],
        }

    def on_load_checkpoint(self, checkpoint):
        if self.trainer.state.fn != TrainerFn.FITTING:
            # Testing the best checkpoint must not rewind the training counters; its epoch
            # (Lightning counts from 0) says which gradient norm the test reports.
            epoch = checkpoint.get("epoch")
            self._tested_epoch = None if epoch is None else int(epoch) + 1
            return
        self.train_tokens, self.train_seconds = checkpoints.restore(checkpoint)
        saved = checkpoint.get(ATTENTION_KEY) or {}
        self.attention_history = [
            (int(h["epoch"]), AttentionStats.from_json(h)) for h in saved.get("history", ())
        ]


# Where a checkpoint keeps the attention history (and, in the older layout, the running
# gradient norms: `ablate.callbacks.AttentionDiagnostics.on_load_checkpoint`).
ATTENTION_KEY = "attention_stats"


def _bare(stats: AttentionStats) -> AttentionStats:
    """`stats` without its buckets (a history entry keeps the five numbers)."""
    layers = tuple(dataclasses.replace(x, buckets=()) for x in stats.layers)
    return dataclasses.replace(stats, buckets=(), layers=layers)
