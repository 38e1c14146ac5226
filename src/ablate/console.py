"""What a person sees in the terminal: the shared Rich console and the per-bucket table.

Progress during training is a Lightning callback (`ablate.callbacks`); this module has no
Lightning in it, so the data modules can print through it without importing Lightning.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from rich.console import Console
from rich.table import Table

# Piped output (CI logs, files) gets 160 columns instead of Rich's 80, so wide tables
# such as the sweep report are not cut to "…".
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


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
