"""The report's tables as text cells, shared by both media: `summary.md` writes them as
Markdown, the terminal as Rich tables (`terminal=True`: narrow, two-line cells, Rich
markup).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.markup import escape

from ablate.report.rows import Row
from ablate.report.stats import format_p
from ablate.report.strata import ALL
from ablate.report.variants import Variant

if TYPE_CHECKING:
    from ablate.report.build import Report


def number(value, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


def interval(mean, low, high, *, terminal: bool = False, spec: str = ".1f") -> str:
    if mean is None:
        return "–"
    if low is None or high is None:
        return number(mean, spec)
    if terminal:  # two short lines keep a column narrow
        return f"{number(mean, spec)}\n[dim]{number(low, spec)}–{number(high, spec)}[/dim]"
    return f"{number(mean, spec)} [{number(low, spec)}, {number(high, spec)}]"


def seeds(v: Variant) -> str:
    return ",".join(str(s) for s in v.seeds)


def main_rows(report: Report, *, terminal: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the main table: full in summary.md, narrow in the terminal."""
    if terminal:
        header = ["variant", "BLEU", *report.buckets, "acc", "AER", "H", "train s", "tok/s"]
    else:
        header = [
            "variant",
            "seeds",
            "BLEU [95% CI]",
            *report.buckets,
            "valid BLEU",
            "align acc",
            "AER",
            "entropy",
            "train s",
            "tok/s",
        ]
    refs = set(report.comparisons.reference.values())
    rows = []
    for name, v in report.variants.items():
        by_label = {b.label: b for b in v.buckets}
        label = name + (" (ref)" if name in refs else "")
        cells = [f"{escape(label)}\n[dim]seeds {seeds(v)}[/dim]"] if terminal else [label, seeds(v)]
        cells.append(interval(v.bleu, v.bleu_ci_low, v.bleu_ci_high, terminal=terminal))
        for bucket in report.buckets:
            b = by_label.get(bucket)
            cells.append(
                interval(b.bleu, b.bleu_ci_low, b.bleu_ci_high, terminal=terminal) if b else "–"
            )
        if not terminal:
            cells.append(number(v.valid_bleu))
        a = v.alignment
        cells += [
            number(a.accuracy if a else None, ".3f"),
            number(a.aer if a else None, ".3f"),
            number(a.entropy if a else None, ".2f"),
            number(v.train.seconds, ".0f"),
            number(v.train.tokens_per_second, ".0f"),
        ]
        rows.append(cells)
    return header, rows


def difference_cell(r: Row, *, terminal: bool = False) -> str:
    """A paired difference, `*` where significant, its interval and Holm p."""
    t = r.test
    if t.diff is None:
        return "–"
    mark = "*" if t.significant else ""
    p = format_p(t.p_holm, t.p_at_floor)
    if terminal:
        style = "bold" if t.significant else "dim"
        return (
            f"[{style}]{t.diff:+.1f}{mark}[/{style}]\n[dim]{t.ci_low:+.1f}…{t.ci_high:+.1f}[/dim]"
        )
    p = p if p.startswith("<") else f"= {p}"
    return f"{t.diff:+.1f}{mark} [{t.ci_low:+.1f}, {t.ci_high:+.1f}] p {p}"


def comparison_rows(
    rows: Sequence[Row], *, terminal: bool = False
) -> tuple[list[str], list[list[str]]]:
    """One line per pair, one column per stratum (`all` first)."""
    strata = list(dict.fromkeys(r.stratum for r in rows))
    strata.sort(key=lambda s: s != ALL)
    pairs: dict[tuple, dict] = {}
    for r in rows:
        pairs.setdefault((r.group, r.a, r.b), {})[r.stratum] = r
    header = ["A − B", *(str(s) for s in strata)]
    out = []
    for (_, a, b), cells in pairs.items():
        out.append(
            [f"{a} − {b}"]
            + [difference_cell(cells[s], terminal=terminal) if s in cells else "–" for s in strata]
        )
    return header, out


def attention_rows(report: Report, *, terminal: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the attention statistics: one row per variant with attention."""
    header = ["variant", "score std", "entropy", "max weight", "saturated %", "‖∂L/∂scores‖"]
    if not terminal:
        header.insert(1, "seeds")
    rows = []
    for name, v in report.variants.items():
        a = v.attention_stats
        if a is None:
            continue
        cells = [escape(name) if terminal else name] + ([] if terminal else [seeds(v)])
        cells += [
            number(a.score_std, ".3g"),
            number(a.entropy, ".2f"),
            number(a.max_weight, ".3f"),
            number(None if a.saturated is None else 100 * a.saturated, ".1f"),
            number(a.score_grad_norm, ".3g"),
        ]
        rows.append(cells)
    return header, rows
