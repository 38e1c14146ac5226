"""A built report as a person reads it: `summary.md`, the terminal table, the figures.

Pure: a report dict in, text, a Rich `Table` or a matplotlib `Figure` out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from rich import box
from rich.markup import escape
from rich.table import Table

from ablate.plots import alignment_grid_figure, bleu_by_length_figure
from ablate.report.compare import ALL
from ablate.report.stats import format_p
from ablate.results import read_alignment_examples


def _f(value, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


def _interval(mean, low, high, *, terminal: bool = False) -> str:
    if mean is None:
        return "–"
    if low is None or high is None:
        return _f(mean)
    if terminal:  # two short lines keep a column narrow
        return f"{_f(mean)}\n[dim]{_f(low)}–{_f(high)}[/dim]"
    return f"{_f(mean)} [{_f(low)}, {_f(high)}]"


def _seeds(v: Mapping) -> str:
    return ",".join(str(s) for s in v["seeds"])


def _main_rows(report: Mapping, *, terminal: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the main table: full in summary.md, narrow in the terminal."""
    if terminal:
        header = ["variant", "BLEU", *report["buckets"], "acc", "AER", "H", "train s", "tok/s"]
    else:
        header = [
            "variant",
            "seeds",
            "BLEU [95% CI]",
            *report["buckets"],
            "valid BLEU",
            "align acc",
            "AER",
            "entropy",
            "train s",
            "tok/s",
        ]
    refs = set(report.get("reference", {}).values())
    rows = []
    for name, v in report["variants"].items():
        by_label = {b["label"]: b for b in v["buckets"]}
        label = name + (" (ref)" if name in refs else "")
        cells = (
            [f"{escape(label)}\n[dim]seeds {_seeds(v)}[/dim]"] if terminal else [label, _seeds(v)]
        )
        cells.append(_interval(v["bleu"], v["bleu_ci_low"], v["bleu_ci_high"], terminal=terminal))
        for bucket in report["buckets"]:
            b = by_label.get(bucket)
            cells.append(
                _interval(b["bleu"], b["bleu_ci_low"], b["bleu_ci_high"], terminal=terminal)
                if b
                else "–"
            )
        if not terminal:
            cells.append(_f(v.get("valid_bleu")))
        a = v["alignment"] or {}
        cells += [
            _f(a.get("accuracy"), ".3f"),
            _f(a.get("aer"), ".3f"),
            _f(a.get("entropy"), ".2f"),
            _f(v["train"].get("seconds"), ".0f"),
            _f(v["train"].get("tokens_per_second"), ".0f"),
        ]
        rows.append(cells)
    return header, rows


def _cell(r: Mapping, *, terminal: bool = False) -> str:
    if r["diff"] is None:
        return "–"
    mark = "*" if r["significant"] else ""
    p = format_p(r["p_holm"], r["p_at_floor"])
    if terminal:
        style = "bold" if r["significant"] else "dim"
        return (
            f"[{style}]{r['diff']:+.1f}{mark}[/{style}]\n"
            f"[dim]{r['ci_low']:+.1f}…{r['ci_high']:+.1f}[/dim]"
        )
    p = p if p.startswith("<") else f"= {p}"
    return f"{r['diff']:+.1f}{mark} [{r['ci_low']:+.1f}, {r['ci_high']:+.1f}] p {p}"


def comparison_rows(
    rows: Sequence[Mapping], *, terminal: bool = False
) -> tuple[list[str], list[list[str]]]:
    """One line per pair, one column per stratum (`all` first)."""
    strata = list(dict.fromkeys(r["stratum"] for r in rows))
    strata.sort(key=lambda s: s != ALL)
    pairs: dict[tuple, dict] = {}
    for r in rows:
        pairs.setdefault((r["group"], r["a"], r["b"]), {})[r["stratum"]] = r
    header = ["A − B", *strata]
    out = []
    for (_, a, b), cells in pairs.items():
        out.append(
            [f"{a} − {b}"]
            + [_cell(cells[s], terminal=terminal) if s in cells else "–" for s in strata]
        )
    return header, out


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(_md_cell(h) for h in header) + " |",
        "|" + "|".join(" --- " if i < 1 else " ---: " for i in range(len(header))) + "|",
    ]
    return lines + ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]


def _significance_text(report: Mapping) -> str:
    sig = report["significance"]
    r = sig["n_bootstrap"]
    return (
        f"Δ = A − B, mean over seeds; [95% interval]; p two-sided, Holm-adjusted within "
        f"the table (`< x`: the raw p hit the bootstrap's floor, so the adjusted p is below x); "
        f"`*` significant at α = {sig['alpha']}. {sig['method']}; R = {r:,} "
        f"replicates (p cannot go below 1/(R+1) = {1 / (r + 1):.1g}), seed {sig['seed']}."
    )


def summary_markdown(report: Mapping) -> str:
    """`summary.md`: verdicts, the main table, the paired comparisons, failed jobs."""
    lines = [f"# Sweep report: {report['sweep_dir']}", ""]
    lines += ["## Verdicts", ""]
    lines += [f"- {v['line']}" for v in report["verdicts"]] or [
        "No claim could be tested (fewer than two variants)."
    ]
    for group, why in report["problems"].items():
        lines.append(f"- {group}: not compared — {why}")
    lines += ["", "## BLEU by source length", ""]
    if report["variants"]:
        lines += [
            "Test BLEU, mean over seeds with a 95% interval (Student t over seeds; with "
            "one seed, that run's bootstrap interval). Bucket columns: source length in "
            "words (Bahdanau et al. 2015, Fig. 2). (ref) = best on validation BLEU.",
            "",
        ]
        lines += _md_table(*_main_rows(report))
    else:
        lines.append("No complete run.")
    rare = {name: v["rare_words"] for name, v in report["variants"].items() if v["rare_words"]}
    if rare:
        labels = list(dict.fromkeys(b["label"] for bands in rare.values() for b in bands))
        lines += [
            "",
            "## Rare words",
            "",
            "Share of reference words the hypotheses produce "
            "(clipped), by the word's frequency in the training targets (words after the "
            "BLEU tokenizer, case-folded, no punctuation); mean over seeds, percent.",
            "",
        ]
        body = [
            [name]
            + [
                _f(
                    next(
                        (
                            100 * b["accuracy"]
                            for b in bands
                            if b["label"] == lab and b["accuracy"] is not None
                        ),
                        None,
                    )
                )
                for lab in labels
            ]
            for name, bands in rare.items()
        ]
        ns = {
            lab: next((b["n"] for bands in rare.values() for b in bands if b["label"] == lab), None)
            for lab in labels
        }
        lines += _md_table(["variant", *(f"freq {lab} (n={ns[lab]})" for lab in labels)], body)
    tables = (
        ("bleu", "Paired BLEU differences by bucket"),
        ("rare_words", "Rare-word accuracy vs none (points, by training frequency)"),
        ("jumps", "BLEU vs none by how far the gold links jump (farthest link)"),
    )
    for key, title in tables:
        rows = report["comparisons"][key]
        if rows:
            lines += ["", f"## {title}", "", _significance_text(report), ""]
            lines += _md_table(*comparison_rows(rows))
    trend = report["comparisons"]["trend"]
    if trend:
        lines += [
            "",
            "## Length trend",
            "",
            "Slope of the per-bucket BLEU gain over none "
            "against the bucket's mean source length (BLEU per 10 words).",
            "",
        ]
        lines += _md_table(
            ["variant", "slope [95% CI]", "p (Holm)", "gain per bucket"],
            [
                [
                    t["variant"],
                    f"{t['diff']:+.2f} [{t['ci_low']:+.2f}, {t['ci_high']:+.2f}]",
                    format_p(t["p_holm"], t["p_at_floor"]),
                    ", ".join(
                        f"{b}: {g:+.1f}" for b, g in zip(t["buckets"], t["gain"], strict=True)
                    ),
                ]
                for t in trend
            ],
        )
    if report["alignment_by_jump"]:
        lines += [
            "",
            "## Alignment accuracy by jump distance",
            "",
            "Share of target words whose attention argmax is a gold source, by how far "
            "their gold link jumps from the diagonal (percent, 95% interval).",
            "",
        ]
        labels = list(dict.fromkeys(k for v in report["alignment_by_jump"].values() for k in v))
        lines += _md_table(
            ["variant", *labels],
            [
                [name]
                + [
                    f"{a['accuracy']:.1f} [{_f(a['ci_low'])}, {_f(a['ci_high'])}] (n={a['n']})"
                    if (a := bands.get(lab))
                    else "–"
                    for lab in labels
                ]
                for name, bands in report["alignment_by_jump"].items()
            ],
        )
    aso = report["aso"]
    if aso:
        lines += ["", "## Almost Stochastic Order (seed level)", ""]
        for group, a in aso.items():
            if a["reason"]:
                lines.append(f"- {group}: not run — {a['reason']}")
            for p in a["pairs"]:
                lines.append(
                    f"- {p['a']} over {p['b']}: ε_min = {_f(p['eps_min'], '.3f')} "
                    "(< 0.5: A almost stochastically dominates)"
                )
    lines += ["", "## Failed jobs", ""]
    for f in report["failed"]:
        overrides = " ".join(f["overrides"]) or "no overrides recorded"
        lines.append(f"- `{Path(f['dir']).name}`: {f['reason']} ({overrides})")
    if not report["failed"]:
        lines.append("none")
    return "\n".join(lines) + "\n"


def report_table(report: Mapping) -> Table:
    """The main table for the terminal, verdicts in the caption, failed jobs in red."""
    n_runs = sum(v["n_runs"] for v in report["variants"].values())
    table = _table(
        f"{escape(report['sweep_dir'])} · {n_runs} complete run(s)\n"
        "test BLEU by source length: mean over seeds, 95% CI below · acc, AER: "
        "attention vs gold alignment · H: attention entropy (nats)",
        *_main_rows(report, terminal=True),
    )
    caption = [escape(v["line"].replace("**", "")) for v in report["verdicts"]]
    if report["failed"]:
        names = ", ".join(f"{Path(f['dir']).name} ({f['reason']})" for f in report["failed"])
        caption.append(f"[red]failed: {escape(names)}[/red]")
    table.caption = "\n".join(caption) or None
    table.caption_justify = "left"
    return table


def comparison_table(report: Mapping) -> Table | None:
    """The paired BLEU table for the terminal; None when nothing was compared."""
    rows = report["comparisons"]["bleu"]
    if not rows:
        return None
    return _table(
        "paired ΔBLEU (A − B) by bucket, 95% CI below, * Holm p < "
        f"{report['significance']['alpha']}",
        *comparison_rows(rows, terminal=True),
    )


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1))
    for i, col in enumerate(header):
        # The first column names the row: never wrapped, it is what a reader scans for.
        table.add_column(col, justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def report_figure(report: Mapping) -> Figure:
    """BLEU by source length, one line per variant: mean over seeds with its 95% band."""
    series = {name: v["buckets"] for name, v in report["variants"].items() if v["buckets"]}
    if not series:
        raise ValueError("no variant with buckets to draw")
    datasets = sorted({str(v["dataset"]) for v in report["variants"].values()})
    return bleu_by_length_figure(
        series, title=f"{', '.join(datasets)}: BLEU by source length (mean over seeds, 95% CI)"
    )


def _difference_series(rows: Sequence[Mapping], rename=lambda s: s) -> dict[str, list[dict]]:
    series: dict[str, list[dict]] = {}
    for r in rows:
        if r["stratum"] == ALL or r["diff"] is None:
            continue
        series.setdefault(r["a"], []).append(
            {
                "label": rename(r["stratum"]),
                "bleu": r["diff"],
                "bleu_ci_low": r["ci_low"],
                "bleu_ci_high": r["ci_high"],
                "n": r["n"],
            }
        )
    return series


def gain_figure(report: Mapping) -> Figure | None:
    """Paired BLEU gain over `none` by source length, 95% band (the length claim)."""
    rows = [r for r in report["comparisons"]["bleu"] if r["kind"] == "vs none"]
    series = _difference_series(rows)
    if not series:
        return None
    return bleu_by_length_figure(
        series,
        title="gain over no attention by source length (paired, 95% CI)",
        ylabel="ΔBLEU vs none",
        difference=True,
    )


def jump_figure(report: Mapping) -> Figure | None:
    """Paired BLEU gain over `none` by the sentence's farthest gold link (reordering)."""

    def rename(s: str) -> str:  # zero-padded, so the x axis sorts by distance
        lo, _, hi = s.removeprefix("jump ").partition("-")
        return f"{int(lo.rstrip('+')):02d}" + (f"-{int(hi):02d}" if hi else "+")

    series = _difference_series(report["comparisons"]["jumps"], rename)
    if not series:
        return None
    return bleu_by_length_figure(
        series,
        title="gain over no attention by reordering distance (paired, 95% CI)",
        ylabel="ΔBLEU vs none",
        xlabel="farthest gold link jump (words)",
        difference=True,
    )


def rare_words_figure(report: Mapping) -> Figure | None:
    """Rare-word accuracy by training-frequency band, one line per variant (mean over
    seeds; the paired tests are in summary.md)."""
    series, order = {}, []
    for name, v in report["variants"].items():
        bands = [b for b in v["rare_words"] or [] if b["accuracy"] is not None]
        if bands:
            series[name] = [
                {"label": b["label"], "bleu": 100 * b["accuracy"], "n": b["n"]} for b in bands
            ]
            order += [b["label"] for b in bands if b["label"] not in order]
    if not series:
        return None
    return bleu_by_length_figure(
        series,
        title="rare words: accuracy by training frequency",
        ylabel="reference words produced (%)",
        order=order,
        xlabel="the word's frequency in the training targets",
    )


def alignment_grid(report: Mapping, tag: str = "median") -> Figure | None:
    """One heatmap per variant (its first seed) of the same test sentence."""
    panels = []
    for name, v in report["variants"].items():
        example = read_alignment_examples(v["dirs"][0]).get(tag)
        if example:
            panels.append(
                (
                    f"{name} (seed {v['seeds'][0]})",
                    np.array(example["weights"]),
                    example["source"],
                    example["hypothesis"],
                )
            )
    if not panels:
        return None
    return alignment_grid_figure(panels, title=f"attention on the {tag} test sentence")
