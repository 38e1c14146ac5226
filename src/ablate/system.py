"""The Lightning system: trains a `Seq2Seq` and scores it (BLEU each epoch, full test).

It receives the model and defines no layers (Lightning style guide). Validation decodes
greedily and logs `val/bleu` (the checkpoint monitor) and `val/bleu_len/<bucket>`; test
also records the teacher-forced attention for alignment metrics and keeps everything in
`self.test_outputs` for the entry point to write and log.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence

import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn
from torch import nn

from ablate.buckets import Bucket
from ablate.data.vocab import Vocab
from ablate.evaluate import evaluate
from ablate.models.seq2seq import Seq2Seq, check_decoding

MAX_LR = 1e36
SCHEDULES = ("constant", "cosine")


class DivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


def subword_state(corpus) -> dict:
    """The corpus's subword models, for `ablate.translate` to encode new input."""
    return {
        side: (sw.state_dict() if sw is not None else None)
        for side, sw in (("src", corpus.src_subword), ("tgt", corpus.tgt_subword))
    }


def rng_state() -> dict:
    """The random-number state training draws from (dropout, data-loader seeds)."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Seq2SeqSystem(pl.LightningModule):
    """Cross-entropy training with Adam; BLEU-based validation and test.

    Args:
        model: the encoder–decoder.
        tgt_vocab: to turn output ids into words.
        buckets: source-length buckets for per-bucket BLEU.
        tokenize: sacrebleu tokenizer for this data.
        detokenize: model tokens → text for BLEU (subword pieces are decoded); default
            joins with spaces.
        train_counts: training frequency of each target word, for rare-word accuracy;
            default the target vocabulary's counts (the same when tokens are words).
        beam_size: test-time beam (1 = greedy); validation always decodes greedily.
        length_penalty: beam scores are log-probabilities / length ** length_penalty.
        lr: Adam learning rate.
        schedule: `constant`, or `cosine` decay per step to 5% of `lr` at the last step
            (steadier final epochs, so the best checkpoint is less a matter of luck).
        label_smoothing: cross-entropy label smoothing.
        check_finite_every: steps between checks that the loss is finite (each check is
            one host–device sync; the first bad step is tracked on the device in between,
            and checked again before validation, so no checkpoint holds NaN weights).
    """

    def __init__(
        self,
        model: Seq2Seq,
        tgt_vocab: Vocab,
        buckets: Sequence[Bucket],
        tokenize: str = "none",
        detokenize: Callable[[Sequence[str]], str] | None = None,
        train_counts: Mapping[str, int] | None = None,
        beam_size: int = 1,
        length_penalty: float = 1.0,
        lr: float = 1e-3,
        schedule: str = "constant",
        label_smoothing: float = 0.0,
        check_finite_every: int = 20,
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
        self.model, self.tgt_vocab, self.buckets, self.tokenize = (
            model,
            tgt_vocab,
            list(buckets),
            tokenize,
        )
        self.detokenize = detokenize
        self.train_counts = tgt_vocab.counts if train_counts is None else dict(train_counts)
        self.beam_size, self.length_penalty = beam_size, length_penalty
        self.lr, self.schedule, self.check_finite_every = lr, schedule, check_finite_every
        self.loss_fn = nn.CrossEntropyLoss(
            ignore_index=Vocab.pad_id, label_smoothing=label_smoothing
        )
        self.train_tokens = 0
        self.train_seconds = 0.0  # of earlier sessions, when the run was resumed
        self._fit_start = time.perf_counter()
        self._first_bad_step = torch.tensor(-1)
        # Fault injection for the reliability tests: this step's loss becomes NaN.
        self._nan_step = int(os.environ.get("ABLATE_FAULT_NAN_STEP", -1))
        self._eval: dict[int, list] = {}
        self.test_outputs: dict | None = None

    def forward(self, src, src_len):
        return self.model.greedy(src, src_len)

    def _loss(self, batch):
        logits, weights = self.model(batch["src"], batch["src_len"], batch["tgt_in"])
        loss = self.loss_fn(logits.flatten(0, 1), batch["tgt_out"].flatten())  # (B·T, V)
        return loss, weights

    def training_step(self, batch, batch_idx):
        loss, _ = self._loss(batch)
        if self.global_step == self._nan_step:
            loss = loss * float("nan")
        # Remember the first non-finite step without a host-device sync; look at it now
        # and then (and before validation, which is when checkpoints are written).
        bad = ~torch.isfinite(loss.detach())
        first = self._first_bad_step.to(loss.device)
        self._first_bad_step = torch.where(bad & (first < 0), self.global_step, first)
        if batch_idx % self.check_finite_every == 0:
            self.check_finite()
        # A tensor sum, not int(): no host-device sync at every step.
        self.train_tokens = self.train_tokens + batch["tgt_out"].ne(Vocab.pad_id).sum()
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["src"].shape[0])
        return loss

    def check_finite(self) -> None:
        """Raise `DivergedError` if any training loss so far was NaN or infinite."""
        step = int(self._first_bad_step)
        if step >= 0:
            raise DivergedError(
                f"training loss became NaN/inf at step {step} (epoch {self.current_epoch}); "
                f"the learning rate is likely too high (optim.lr={self.lr:g}) or gradients "
                f"exploded (set trainer.gradient_clip_val, e.g. 1.0)"
            )

    def _decode(self, batch, keep_weights: bool, beam_size: int = 1):
        tokens, weights = self.model.decode(
            batch["src"], batch["src_len"], beam_size=beam_size, length_penalty=self.length_penalty
        )
        out = []
        for b, i in enumerate(batch["index"].tolist()):
            hyp = self.tgt_vocab.decode(tokens[b].tolist())
            w = None
            if keep_weights and weights is not None:
                w = weights[b, : len(hyp) + 1, : int(batch["src_len"][b])].float().cpu().numpy()
            out.append((i, hyp, w))
        return out

    def on_validation_epoch_start(self):
        if not self.trainer.sanity_checking:
            self.check_finite()  # before the checkpoint of this epoch is written
        self._eval = {}

    def validation_step(self, batch, batch_idx):
        loss, _ = self._loss(batch)
        self.log("val/loss", loss, prog_bar=True, batch_size=batch["src"].shape[0])
        for i, hyp, _ in self._decode(batch, keep_weights=False):
            self._eval[i] = [hyp]

    def on_validation_epoch_end(self):
        if self.trainer.sanity_checking:
            return
        # The sentences decoded: all of them, or the first batches with
        # `trainer.limit_val_batches`.
        pairs = self.trainer.datamodule.split("valid")
        decoded = sorted(self._eval)
        scores = evaluate(
            [pairs[i] for i in decoded],
            [self._eval[i][0] for i in decoded],
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
        for i, hyp, w in self._decode(batch, keep_weights=True, beam_size=self.beam_size):
            self._eval[i] = [hyp, w, None]
        if forced is not None:
            for b, i in enumerate(batch["index"].tolist()):
                T = int(batch["tgt_out"][b].ne(Vocab.pad_id).sum()) - 1  # without </s>
                S = int(batch["src_len"][b])
                self._eval[i][2] = forced[b, :T, :S].float().cpu().numpy()

    def on_test_epoch_end(self):
        pairs = self.trainer.datamodule.split("test")
        rows = [self._eval[i] for i in range(len(pairs))]
        hyps = [r[0] for r in rows]
        forced = [r[2] for r in rows] if rows and rows[0][2] is not None else None
        scores = evaluate(
            pairs,
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
        self.test_outputs = {"scores": scores, "hypotheses": hyps, "weights": [r[1] for r in rows]}

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
        # What `ablate.translate` needs to rebuild the model without the training data,
        # and what `resume` needs beyond Lightning's own state to continue exactly.
        checkpoint["ablate"] = {
            "src_vocab": self.trainer.datamodule.src_vocab.state_dict(),
            "tgt_vocab": self.tgt_vocab.state_dict(),
            "model": dict(self.model.config),
            "subword": subword_state(self.trainer.datamodule.corpus),
            "train_tokens": int(self.train_tokens),
            "train_seconds": self.elapsed(),
            "rng": rng_state(),
        }

    def on_load_checkpoint(self, checkpoint):
        if self.trainer.state.fn != TrainerFn.FITTING:
            return  # testing the best checkpoint must not rewind the training counters
        meta = checkpoint.get("ablate", {})
        self.train_tokens = meta.get("train_tokens", 0)
        self.train_seconds = meta.get("train_seconds", 0.0)
        if "rng" in meta:
            set_rng_state(meta["rng"])
