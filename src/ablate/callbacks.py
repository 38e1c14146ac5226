"""Lightning callbacks a run adds to its trainer: the finite-loss watch, the attention
diagnostics and the progress display, and the filter that keeps Lightning's start-up
chatter off the user's screen.

The system (`ablate.system`) only computes losses and scores; what watches the loop,
records the attention or writes to the terminal lives here, so `ablate.console`,
`ablate.data` and `ablate.diagnostics` stay free of Lightning.
"""

from __future__ import annotations

import logging
import os
import time
import warnings

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ProgressBar, RichProgressBar
from torch import nn
from torch.utils.hooks import RemovableHandle

from ablate.console import console
from ablate.data.vocab import Vocab
from ablate.diagnostics import Probes

# Fault injection for the reliability tests: the loss of this global step becomes NaN.
FAULT_NAN_STEP = "ABLATE_FAULT_NAN_STEP"


class DivergedError(RuntimeError):
    """The training loss became NaN or infinite."""


class FiniteLoss(pl.Callback):
    """Stop the run with `DivergedError` once a training loss is NaN or infinite.

    The first bad step is tracked on the device (no host–device sync per step) and looked
    at every `check_every` batches, at the end of each training epoch and before every
    validation, which is when checkpoints are written: no checkpoint holds NaN weights.

    Args:
        check_every: batches between checks (each one host–device sync).
    """

    def __init__(self, check_every: int = 20):
        self.check_every = check_every
        self.first_bad_step = torch.tensor(-1)
        self._step = 0
        self._nan_step = int(os.environ.get(FAULT_NAN_STEP, -1))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._step = trainer.global_step  # the step this batch makes (before it is counted)
        if self._step == self._nan_step:
            # NaN weights make this step's loss NaN, as a too-high learning rate would.
            with torch.no_grad():
                next(pl_module.parameters()).fill_(float("nan"))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        bad = ~torch.isfinite(loss.detach())
        first = self.first_bad_step.to(loss.device)
        self.first_bad_step = torch.where(bad & (first < 0), self._step, first)
        if batch_idx % self.check_every == 0:
            self.check(trainer)

    def on_train_epoch_end(self, trainer, pl_module):
        self.check(trainer)  # before a checkpoint of an epoch without validation

    def on_validation_epoch_start(self, trainer, pl_module):
        if not trainer.sanity_checking:
            self.check(trainer)  # before the checkpoint of this epoch is written

    def check(self, trainer: pl.Trainer) -> None:
        """Raise `DivergedError` if any training loss so far was NaN or infinite."""
        step = int(self.first_bad_step)
        if step >= 0:
            lr = trainer.optimizers[0].defaults["lr"]  # the configured rate, not the scheduled
            raise DivergedError(
                f"training loss became NaN/inf at step {step} (epoch {trainer.current_epoch}); "
                f"the learning rate is likely too high (optim.lr={lr:g}) or gradients "
                f"exploded (set trainer.gradient_clip_val, e.g. 1.0)"
            )


class AttentionDiagnostics(pl.Callback):
    """Records the attention diagnostics (`ablate.diagnostics`) of the system's model.

    A `Probes` of `pl_module.model` records the model's teacher-forced pass (its
    `forward`; decoding goes through the step protocol, unrecorded) of every validation
    and test batch and of every `every_n_train_batches`-th training batch of an epoch
    (the first, the (n+1)-th, …). Only while that pass runs are the probes' hooks on the
    attention modules: a batch it does not sample, and every decoding, runs with none,
    so a Transformer's `scaled_dot` cross-attention takes the fused kernel there
    (`ablate.models.attention.inspected`).

    What the system reads: `sentences`, the current validation or test split's
    per-sentence sums `{module: {index: ATTENTION_SUMS}}`, and `grad_norms()`, the mean
    gradient norm at the scores over the sampled training batches since it last asked.
    The running means are the callback's state in a checkpoint (`state_dict`); a
    checkpoint of the older layout kept them under `attention_stats.running`, which
    `on_load_checkpoint` reads.

    Args:
        every_n_train_batches: record the gradient norm at the scores on every n-th
            training batch of an epoch; 1 = all of them.
    """

    def __init__(self, every_n_train_batches: int = 1):
        if (
            isinstance(every_n_train_batches, bool)
            or not isinstance(every_n_train_batches, int)
            or every_n_train_batches < 1
        ):
            raise ValueError(
                "callbacks.diagnostics.every_n_train_batches must be a positive integer, got "
                f"{every_n_train_batches!r}"
            )
        self.every_n_train_batches = every_n_train_batches
        self.probes: Probes | None = None
        self.sentences: dict[str, dict[int, list[float]]] = {}
        self._model: nn.Module | None = None
        self._hooks: list[RemovableHandle] = []  # on the model, while a batch is sampled
        self._recorded = False  # whether the sampled batch's pass has run
        self._state: dict | None = None  # running means loaded before the probes exist

    def setup(self, trainer, pl_module, stage):
        if self._model is not pl_module.model:
            self._model, self.probes = pl_module.model, Probes(pl_module.model)
        if self._state is not None:
            self.probes.load_state_dict(self._state)
            self._state = None

    def _sample(self, batch, grad: bool) -> None:
        """Record the model's `forward` on `batch`: the probes hook on when it starts and
        off when it ends (even when it raises)."""
        mask = batch["tgt_out"].ne(Vocab.pad_id)  # (B, T): the real target positions

        def start(module, args):
            self.probes.start(mask, grad)
            self._recorded = True

        self._unhook()
        self._recorded = False
        self._hooks = [
            self._model.register_forward_pre_hook(start),
            self._model.register_forward_hook(lambda *_: self.probes.stop(), always_call=True),
        ]

    def _unhook(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks = []

    def _keep(self, batch) -> None:
        """The batch's pass's per-sentence sums, by split index."""
        if not self._recorded:
            return
        index = batch["index"].tolist()
        for name, sums in self.probes.sums().items():
            kept = self.sentences.setdefault(name, {})
            kept.update(zip(index, sums.cpu().tolist(), strict=True))

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx % self.every_n_train_batches == 0:
            self._sample(batch, grad=True)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._unhook()
        self.probes.end_batch()  # backward has run: the gradient norms at the scores

    def on_validation_epoch_start(self, trainer, pl_module):
        self.sentences = {}

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self._sample(batch, grad=False)

    def on_validation_batch_end(
        self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0
    ):
        self._unhook()
        self._keep(batch)

    def on_test_epoch_start(self, trainer, pl_module):
        self.sentences = {}

    def on_test_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self._sample(batch, grad=False)

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        self._unhook()
        self._keep(batch)

    def on_exception(self, trainer, pl_module, exception):
        self._unhook()
        if self.probes is not None:
            self.probes.stop()

    def grad_norms(self) -> tuple[float | None, dict[str, float | None]]:
        """`Probes.grad_norms`: the sampled training batches' mean gradient norm at the
        scores since the last call, pooled and per module; then start anew."""
        return self.probes.grad_norms()

    def state_dict(self) -> dict:
        return {} if self.probes is None else self.probes.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        if self.probes is None:
            self._state = state_dict
        else:
            self.probes.load_state_dict(state_dict)

    def on_load_checkpoint(self, trainer, pl_module, checkpoint):
        # The older layout: the running means beside the history, no callback state.
        if self.state_key not in checkpoint.get("callbacks", {}):
            running = (checkpoint.get(OLD_RUNNING_KEY) or {}).get("running")
            self.load_state_dict(running or {})


# Where a checkpoint of the older layout kept the running gradient norms (beside the
# attention history, `ablate.system.ATTENTION_KEY`).
OLD_RUNNING_KEY = "attention_stats"


class EpochLine(ProgressBar):
    """Prints `epoch 3/10  train/loss 0.412  val/loss 0.388  val/bleu 91.2  (12.1 s)`.

    A `ProgressBar`, so Lightning adds no bar of its own next to it.
    """

    def __init__(self):
        super().__init__()
        self._enabled = True
        self._start = time.perf_counter()

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_epoch_start(self, trainer, pl_module):
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
        if not self._enabled:
            return
        # Validation has run by now, so its metrics are this epoch's, not the last one's.
        metrics = trainer.callback_metrics
        parts = [f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"]
        for key in ("train/loss", "val/loss", "val/bleu"):
            if key in metrics:
                parts.append(f"{key} {float(metrics[key]):.3f}")
        parts.append(f"({time.perf_counter() - self._start:.1f} s)")
        console.print("  ".join(parts))


def progress_callback() -> pl.Callback:
    """Rich progress bar in a terminal, one line per epoch otherwise."""
    return RichProgressBar(leave=True) if console.is_terminal else EpochLine()


class LightningChatter(logging.Filter):
    """Drops Lightning's info lines that are not about the run, or say again what another
    line says: the accelerator inventory (`GPU available: False, used: False`, `TPU
    available: …`), its product tips (`💡 Tip: … litlogger …`), `Trainer.fit stopped:
    max_epochs=… reached` (the last epoch line says so) and the second line of a checkpoint
    load (`Loaded model weights …` after `Restoring states from the checkpoint path at …`,
    which stays). Warnings, and every other line, pass."""

    PREFIXES = (
        "GPU available:",
        "TPU available:",
        "💡 Tip:",
        "`Trainer.fit` stopped: `max_epochs=",
        "Loaded model weights from the checkpoint at",
        "Restored all states from the checkpoint at",
    )

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.PREFIXES)


_CHATTER = LightningChatter()
# Lightning logs `rank_zero_info` lines through these loggers (the second when only
# lightning_fabric set it up).
CHATTY_LOGGERS = ("pytorch_lightning.utilities.rank_zero", "lightning_fabric.utilities.rank_zero")


def quiet_lightning() -> None:
    """Install `LightningChatter` on Lightning's info loggers (once; calling again is a
    no-op), and drop the warning that a resumed checkpoint came from another dir, which
    the run says itself with what follows from it (`ablate.checkpoints.resuming`)."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).addFilter(_CHATTER)
    warnings.filterwarnings("ignore", message=r"The dirpath has changed from")
