"""What a person sees in the terminal: progress, the per-bucket table, one-line errors.

A Rich progress bar when stdout is a terminal; one plain line per epoch when it is piped
(CI logs, `nohup`), so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping

import pytorch_lightning as pl
from pytorch_lightning.callbacks import RichProgressBar
from rich.console import Console
from rich.table import Table

# Piped output (CI logs, files) gets 160 columns instead of Rich's 80, so wide tables
# such as the sweep report are not cut to "…".
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


class EpochLine(pl.Callback):
    """Prints `epoch 3/10  train/loss 0.412  val/loss 0.388  val/bleu 91.2  (12.1 s)`."""

    def __init__(self):
        self._start = time.perf_counter()

    def on_train_epoch_start(self, trainer, pl_module):
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, pl_module):
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


def _fmt(value, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


def buckets_table(results: Mapping) -> Table:
    """The per-bucket results of one run as a Rich table."""
    table = Table(
        title=f"{results['dataset']} · attention={results['attention']} · "
        f"seed={results['seed']} · test BLEU {_fmt(results['bleu'])}"
    )
    for col in ("bucket", "n", "BLEU", "95% CI", "chrF", "exact %"):
        table.add_column(col, justify="left" if col == "bucket" else "right")
    for b in results["buckets"]:
        ci = f"{_fmt(b['bleu_ci_low'])}–{_fmt(b['bleu_ci_high'])}" if b["n"] else "–"
        table.add_row(
            b["label"],
            str(b["n"]),
            _fmt(b["bleu"]),
            ci,
            _fmt(b.get("chrf")),
            _fmt(b.get("exact_match")),
        )
    align = results.get("alignment")
    if align:
        table.caption = (
            f"alignment accuracy {align['accuracy']:.3f} · AER {align['aer']:.3f} · "
            f"attention entropy {align['entropy']:.2f} nats"
        )
    return table
