"""Lightning callbacks a run adds to its trainer: the finite-loss watch and the progress
display, and the filter that keeps Lightning's start-up chatter off the user's screen.

The system (`ablate.system`) only computes losses and scores; what watches the loop or
writes to the terminal lives here, so `ablate.console` and `ablate.data` stay free of
Lightning.
"""

from __future__ import annotations

import logging
import os
import time
import warnings

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ProgressBar, RichProgressBar

from ablate.console import console

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
