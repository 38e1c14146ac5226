"""What a person sees in the terminal: the shared Rich console and the per-bucket table.

Progress during training is a Lightning callback (`ablate.callbacks`); this module has no
Lightning in it, so the data modules can print through it without importing Lightning.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from rich.console import Console
from rich.table import Table

from ablate.run_files import RunResults

# Piped output (CI logs, files) gets 160 columns instead of Rich's 80, so wide tables
# such as the sweep report are not cut to "…".
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _fmt(value, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


def buckets_table(results: RunResults) -> Table:
    """The per-bucket test scores of one complete run as a Rich table."""
    scores = results.scores
    table = Table(
        title=f"{results.dataset} · attention={results.attention} · "
        f"seed={results.seed} · test BLEU {_fmt(scores.bleu)}"
    )
    for col in ("bucket", "n", "BLEU", "95% CI", "chrF", "exact %"):
        table.add_column(col, justify="left" if col == "bucket" else "right")
    for b in scores.buckets:
        ci = f"{_fmt(b.bleu_ci_low)}–{_fmt(b.bleu_ci_high)}" if b.n else "–"
        table.add_row(b.label, str(b.n), _fmt(b.bleu), ci, _fmt(b.chrf), _fmt(b.exact_match))
    if scores.alignment is not None:
        a = scores.alignment
        table.caption = (
            f"alignment accuracy {a.accuracy:.3f} · AER {a.aer:.3f} · "
            f"attention entropy {a.entropy:.2f} nats"
        )
    return table


def fail(message: str) -> NoReturn:
    """End the command with one line naming the problem (`error: …`) and exit code 1: how
    the command line and the tuning sweeper report bad input."""
    console.print(f"[bold red]error:[/bold red] {message}", soft_wrap=True)
    sys.exit(1)
