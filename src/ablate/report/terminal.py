"""A built report in the terminal: the main table with the verdicts, the paired table.

Pure but for `show`: an `ablate.report.Report` in, a Rich `Table` out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich import box
from rich.markup import escape
from rich.table import Table

from ablate.console import console
from ablate.report.cells import attention_rows, comparison_rows, main_rows

if TYPE_CHECKING:
    from ablate.report.build import Report


def report_table(report: Report) -> Table:
    """The main table for the terminal, verdicts in the caption, failed jobs in red."""
    n_runs = sum(v.n_runs for v in report.variants.values())
    table = _table(
        f"{escape(str(report.sweep_dir))} · {n_runs} complete run(s)\n"
        "test BLEU by source length: mean over seeds, 95% CI below · acc, AER: "
        "attention vs gold alignment · H: attention entropy (nats)",
        *main_rows(report, terminal=True),
    )
    caption = [escape(v.line.replace("**", "")) for v in report.verdicts]
    if report.failed:
        names = ", ".join(f"{f.dir.name} ({f.reason})" for f in report.failed)
        caption.append(f"[red]failed: {escape(names)}[/red]")
    table.caption = "\n".join(caption) or None
    table.caption_justify = "left"
    return table


def comparison_table(report: Report) -> Table | None:
    """The paired BLEU table for the terminal; None when nothing was compared."""
    rows = report.comparisons.tables.bleu
    if not rows:
        return None
    return _table(
        f"paired ΔBLEU (A − B) by bucket, 95% CI below, * Holm p < {report.significance.alpha}",
        *comparison_rows(rows, terminal=True),
    )


def attention_table(report: Report) -> Table | None:
    """The attention statistics per variant; None when no variant has any."""
    header, rows = attention_rows(report, terminal=True)
    if not rows:
        return None
    return _table(
        "attention on the test set (teacher forced), mean over seeds: score std over "
        "sources · weight entropy (nats) · largest weight · share ≥ 0.99 · gradient at "
        "the scores",
        header,
        rows,
    )


def show(report: Report) -> None:
    """The report's tables in the terminal."""
    if report.variants:
        console.print(report_table(report))
    if (table := attention_table(report)) is not None:
        console.print(table)
    if (table := comparison_table(report)) is not None:
        console.print(table)


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1))
    for i, col in enumerate(header):
        # The first column names the row: never wrapped, it is what a reader scans for.
        table.add_column(col, justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table
