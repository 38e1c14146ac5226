"""The Lightning system: trains a `Seq2Seq` and scores it (BLEU each epoch, full test).

It receives the model and everything it scores against — the vocabularies, the valid and
test pairs, the buckets — and defines no layers (Lightning style guide); it reads nothing
from the trainer's datamodule. Validation decodes greedily and logs `val/bleu` (the
checkpoint monitor) and `val/bleu_len/<bucket>`; test also records the teacher-forced
attention for alignment metrics and keeps everything in `self.test_outputs` for the
entry point to write and log. The finite-loss watch is a callback (`ablate.callbacks`);
what a checkpoint carries beyond Lightning's state is `ablate.checkpoints.extras`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn
from torch import nn

from ablate import checkpoints
from ablate.buckets import Bucket
from ablate.data.corpus import Pair
from ablate.data.vocab import Vocab
from ablate.evaluate import evaluate
from ablate.models import search
from ablate.models.search import check_decoding
from ablate.models.seq2seq import Seq2Seq

MAX_LR = 1e36
SCHEDULES = ("constant", "cosine")


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


class Seq2SeqSystem(pl.LightningModule):
    """Cross-entropy training with Adam; BLEU-based validation and test.

    Args:
        model: the encoder–decoder.
        src_vocab: the source vocabulary (saved in checkpoints, for `ablate.translate`).
        tgt_vocab: to turn output ids into words.
        valid: the validation pairs, in the order of the validation loader's `index`.
        test: the test pairs, likewise.
        buckets: source-length buckets for per-bucket BLEU.
        tokenize: sacrebleu tokenizer for this data.
        detokenize: model tokens → text for BLEU (subword pieces are decoded); default
            joins with spaces.
        train_counts: training frequency of each target word, for rare-word accuracy;
            default the target vocabulary's counts (the same when tokens are words).
        subword: `ablate.checkpoints.subword_state(corpus)`, saved in checkpoints; None
            for word tokens.
        beam_size: test-time beam (1 = greedy); validation always decodes greedily.
        length_penalty: beam scores are log-probabilities / length ** length_penalty.
        lr: Adam learning rate.
        schedule: `constant`, or `cosine` decay per step to 5% of `lr` at the last step
            (steadier final epochs, so the best checkpoint is less a matter of luck).
        label_smoothing: cross-entropy label smoothing.
    """

    def __init__(
        self,
        model: Seq2Seq,
        src_vocab: Vocab,
        tgt_vocab: Vocab,
        valid: Sequence[Pair],
        test: Sequence[Pair],
        buckets: Sequence[Bucket],
        tokenize: str = "none",
        detokenize: Callable[[Sequence[str]], str] | None = None,
        train_counts: Mapping[str, int] | None = None,
        subword: Mapping | None = None,
        beam_size: int = 1,
        length_penalty: float = 1.0,
        lr: float = 1e-3,
        schedule: str = "constant",
        label_smoothing: float = 0.0,
    ):
        super().__init__()
        if not lr > 0:
            raise ValueError(f"optim.lr must be > 0, got {lr!r}")
        if not lr <= MAX_LR:  # Adam divides lr by 1 − 0.9^step (≥ 0.1) in float32
            raise ValueError(
                f"optim.lr must be at most {MAX_LR:g} (Adam's float32 step "
                f"overflows beyond that), got {lr!r}"
            )
        if schedule not in SCHEDULES:
            raise ValueError(
                f"unknown optim.schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}"
            )
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"optim.label_smoothing must be in [0, 1), got {label_smoothing!r}")
        check_decoding(beam_size, length_penalty)  # at start-up, not at the first test batch
        self.model, self.src_vocab, self.tgt_vocab = model, src_vocab, tgt_vocab
        self.valid, self.test = list(valid), list(test)
        self.buckets, self.tokenize, self.detokenize = list(buckets), tokenize, detokenize
        self.train_counts = tgt_vocab.counts if train_counts is None else dict(train_counts)
        self.subword = subword
        self.beam_size, self.length_penalty = beam_size, length_penalty
        self.lr, self.schedule = lr, schedule
        self.loss_fn = nn.CrossEntropyLoss(
            ignore_index=Vocab.pad_id, label_smoothing=label_smoothing
        )
        self.train_tokens = 0
        self.train_seconds = 0.0  # of earlier sessions, when the run was resumed
        self._fit_start = time.perf_counter()
        self._eval: dict[int, Decoded] = {}  # split index → its decoded sentence
        self.test_outputs: dict | None = None

    def forward(self, src, src_len):
        return search.greedy(self.model, src, src_len)

    def _loss(self, batch):
        logits, weights = self.model(batch["src"], batch["src_len"], batch["tgt_in"])
        loss = self.loss_fn(logits.flatten(0, 1), batch["tgt_out"].flatten())  # (B·T, V)
        return loss, weights

    def training_step(self, batch, batch_idx):
        loss, _ = self._loss(batch)
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
            length_penalty=self.length_penalty,
        )
        out = []
        for b, i in enumerate(batch["index"].tolist()):
            hyp = self.tgt_vocab.decode(tokens[b].tolist())
            w = None
            if keep_weights and weights is not None:
                w = weights[b, : len(hyp) + 1, : int(batch["src_len"][b])].float().cpu().numpy()
                if len(w) > len(hyp) and not w[len(hyp)].any():
                    w = w[: len(hyp)]  # the </s> step without weights: no blank row
            out.append(Decoded(i, hyp, w))
        return out

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
        # The sentences decoded: all of them, or the first batches with
        # `trainer.limit_val_batches`.
        decoded = sorted(self._eval)
        scores = evaluate(
            [self.valid[i] for i in decoded],
            [self._eval[i].tokens for i in decoded],
            self.buckets,
            tokenize=self.tokenize,
            detokenize=self.detokenize,
            n_bootstrap=0,
        )
        self.log("val/bleu", scores["bleu"], prog_bar=True)
        for b in scores["buckets"]:
            if b["n"]:
                self.log(f"val/bleu_len/{b['label']}", b["bleu"])

    def on_test_epoch_start(self):
        self._eval = {}

    def test_step(self, batch, batch_idx):
        _, forced = self._loss(batch)  # (B, T, S): attention on the reference translation
        for b, d in enumerate(self._decode(batch, keep_weights=True, beam_size=self.beam_size)):
            if forced is not None:
                T = int(batch["tgt_out"][b].ne(Vocab.pad_id).sum()) - 1  # without </s>
                S = int(batch["src_len"][b])
                d.forced = forced[b, :T, :S].float().cpu().numpy()
            self._eval[d.index] = d

    def on_test_epoch_end(self):
        decoded = [self._eval[i] for i in range(len(self.test))]
        hyps = [d.tokens for d in decoded]
        forced = [d.forced for d in decoded] if decoded and decoded[0].forced is not None else None
        scores = evaluate(
            self.test,
            hyps,
            self.buckets,
            tokenize=self.tokenize,
            detokenize=self.detokenize,
            weights=forced,
            train_counts=self.train_counts,
        )
        for key in ("bleu", "chrf", "exact_match"):
            self.log(f"test/{key}", scores[key])
        for b in scores["buckets"]:
            if b["n"]:
                self.log(f"test/bleu_len/{b['label']}", b["bleu"])
        self.test_outputs = {
            "scores": scores,
            "hypotheses": hyps,
            "weights": [d.weights for d in decoded],
        }

    def configure_optimizers(self):
        optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        if self.schedule == "constant":
            return optimizer
        total = []  # the run's steps, looked up at the first step, not here (see below)

        def cosine(step):
            # Step 0 needs no total. Asking Lightning for it here, when the optimizer is
            # built, makes it draw the first training batches before a resumed run's
            # epoch is restored, which would give that epoch the first epoch's order.
            if step == 0:
                return 1.0
            if not total:
                total.append(max(1, int(self.trainer.estimated_stepping_batches)))
            return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(step, total[0]) / total[0]))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, cosine)
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

    def elapsed(self) -> float:
        """Training seconds so far, earlier sessions of a resumed run included."""
        return self.train_seconds + time.perf_counter() - self._fit_start

    def on_save_checkpoint(self, checkpoint):
        checkpoint["ablate"] = checkpoints.extras(
            self.model.config,
            self.src_vocab,
            self.tgt_vocab,
            self.subword,
            train_tokens=int(self.train_tokens),
            train_seconds=self.elapsed(),
        )

    def on_load_checkpoint(self, checkpoint):
        if self.trainer.state.fn != TrainerFn.FITTING:
            return  # testing the best checkpoint must not rewind the training counters
        self.train_tokens, self.train_seconds = checkpoints.restore(checkpoint)
