"""A built report's figures: BLEU by source length (Bahdanau et al. 2015, Fig. 2), the
paired gain over `none` by length and by reordering distance, rare-word accuracy, and
the same test sentence's attention under every variant (Fig. 3).

Pure: an `ablate.report.Report` (and, for the grid, the attention examples the caller
read) in, a matplotlib `Figure` out, or None where there is nothing to draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ablate.plots import alignment_grid_figure, bleu_by_length_figure
from ablate.report.dims import FOOTNOTE_SLOPE, Dims
from ablate.report.read import attention_rank
from ablate.report.rows import Kind, Row
from ablate.report.strata import ALL

if TYPE_CHECKING:
    from ablate.report.build import Report


def report_figure(report: Report) -> Figure:
    """BLEU by source length, one line per variant: mean over seeds with its 95% band."""
    series = {
        name: [asdict(b) for b in v.buckets] for name, v in report.variants.items() if v.buckets
    }
    if not series:
        raise ValueError("no variant with buckets to draw")
    datasets = sorted({str(v.dataset) for v in report.variants.values()})
    return bleu_by_length_figure(
        series, title=f"{', '.join(datasets)}: BLEU by source length (mean over seeds, 95% CI)"
    )


def _difference_series(rows: Sequence[Row], *, padded: bool = False) -> dict[str, list[dict]]:
    """Each variant's paired differences by stratum (`all` left out); `padded`: x labels
    zero-padded, so the axis sorts by distance."""
    series: dict[str, list[dict]] = {}
    for r in rows:
        if r.stratum == ALL or r.test.diff is None:
            continue
        series.setdefault(r.a, []).append(
            {
                "label": r.stratum.axis_label if padded else str(r.stratum),
                "bleu": r.test.diff,
                "bleu_ci_low": r.test.ci_low,
                "bleu_ci_high": r.test.ci_high,
                "n": r.n,
            }
        )
    return series


def gain_figure(report: Report) -> Figure | None:
    """Paired BLEU gain over `none` by source length, 95% band (the length claim)."""
    rows = [r for r in report.comparisons.tables.bleu if r.kind is Kind.VS_NONE]
    series = _difference_series(rows)
    if not series:
        return None
    return bleu_by_length_figure(
        series,
        title="gain over no attention by source length (paired, 95% CI)",
        ylabel="ΔBLEU vs none",
        difference=True,
    )


def jump_figure(report: Report) -> Figure | None:
    """Paired BLEU gain over `none` by the sentence's farthest gold link (reordering)."""
    series = _difference_series(report.comparisons.tables.jumps, padded=True)
    if not series:
        return None
    return bleu_by_length_figure(
        series,
        title="gain over no attention by reordering distance (paired, 95% CI)",
        ylabel="ΔBLEU vs none",
        xlabel="farthest gold link jump (words)",
        difference=True,
    )


def rare_words_figure(report: Report) -> Figure | None:
    """Rare-word accuracy by training-frequency band, one line per variant (mean over
    seeds; the paired tests are in summary.md)."""
    series, order = {}, []
    for name, v in report.variants.items():
        bands = [b for b in v.rare_words or () if b.accuracy is not None]
        if bands:
            series[name] = [{"label": b.label, "bleu": 100 * b.accuracy, "n": b.n} for b in bands]
            order += [b.label for b in bands if b.label not in order]
    if not series:
        return None
    return bleu_by_length_figure(
        series,
        title="rare words: accuracy by training frequency",
        ylabel="reference words produced (%)",
        order=order,
        xlabel="the word's frequency in the training targets",
    )


def attention_color(attention: str) -> str:
    """One colour per attention, the same in every figure: the built-ins in the report's
    order, others after."""
    rank, _ = attention_rank(attention)
    return f"C{rank % 10}"


def attention_stats_figure(report: Report) -> Figure | None:
    """Validation score std and attention entropy by epoch, one line per variant (mean
    over seeds): a colour per attention, a line style per group; None without a variant
    that has a history."""
    series = {
        name: v
        for name, v in report.variants.items()
        if v.attention_stats is not None and v.attention_stats.history
    }
    if not series:
        return None
    groups = list(dict.fromkeys(v.group for v in series.values()))
    styles = ("-", "--", ":", "-.")
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    panels = fig.subplots(1, 2)
    for ax, key, label in zip(
        panels,
        ("score_std", "entropy"),
        ("score std over source positions", "attention entropy (nats)"),
        strict=True,
    ):
        for name, v in series.items():
            history = v.attention_stats.history
            x = [h.epoch for h in history]
            y = [np.nan if getattr(h, key) is None else getattr(h, key) for h in history]
            style = styles[groups.index(v.group) % len(styles)]
            color = attention_color(str(v.attention))
            ax.plot(x, y, marker="o", markersize=3, linestyle=style, color=color, label=name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    panels[0].set_yscale("log")
    fig.legend(
        *panels[0].get_legend_handles_labels(),
        loc="outside right center",
        fontsize="small",
        frameon=False,
    )
    fig.suptitle("attention on the validation set by epoch (mean over seeds)")
    return fig


def _by_dim(
    families: Sequence[Dims], key: str, ylabel: str, title: str, *, log: bool
) -> Figure | None:
    """One line per attention (and family) of a cell value by d, its 95% band."""
    lines = []
    for dims in families:
        for attention in dims.attentions:
            cells = [c for c in (dims.cell(attention, d) for d in dims.dims) if c is not None]
            cells = [c for c in cells if getattr(c, key) is not None]
            if cells:
                name = attention if len(families) == 1 else f"{attention} ({dims.family})"
                lines.append((name, cells))
    if not lines:
        return None
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.subplots()
    for name, cells in lines:
        x = [c.dim for c in cells]
        y = [getattr(c, key) for c in cells]
        low = [_nan(getattr(c, f"{key}_ci_low")) for c in cells]
        high = [_nan(getattr(c, f"{key}_ci_high")) for c in cells]
        color = attention_color(name.split(" (")[0])
        ax.plot(x, y, marker="o", label=name, color=color)
        ax.fill_between(x, low, high, color=color, alpha=0.15, linewidth=0)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({c.dim for _, cells in lines for c in cells}))
    ax.get_xaxis().set_major_formatter(lambda v, _: f"{v:g}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("key size d (" + ", ".join(sorted({d.axis for d in families})) + ")")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    return fig


def _nan(x: float | None) -> float:
    return np.nan if x is None else x


def bleu_by_dim_figure(families: Sequence[Dims]) -> Figure | None:
    """Test BLEU against the key size d, one line per attention, 95% band (Britz et
    al. 2017, Table 6 in shape); None without a comparison across d."""
    return _by_dim(
        families,
        "bleu",
        "test BLEU (mean over seeds)",
        "BLEU by key size d (95% sentence-bootstrap band)",
        log=False,
    )


def score_std_by_dim_figure(families: Sequence[Dims]) -> Figure | None:
    """The std of the pre-softmax scores against d on log-log axes, one line per
    attention, 95% band, and a dashed line of slope ½ (`√d`, Vaswani et al. 2017, fn. 4)
    through the first unscaled variant's smallest d; None without scores across d."""
    fig = _by_dim(
        families,
        "score_std",
        "score std over source positions (test, teacher forced)",
        "score scale by key size d (log-log, 95% band)",
        log=True,
    )
    if fig is None:
        return None
    ax = fig.axes[0]
    for dims in families:
        anchor = next(
            (
                dims.cell(a, dims.dims[0])
                for a in ("dot", "multiplicative")
                if dims.cell(a, dims.dims[0])
            ),
            None,
        )
        if anchor is not None and anchor.score_std:
            x = np.asarray(dims.dims, dtype=float)
            y = anchor.score_std * (x / x[0]) ** FOOTNOTE_SLOPE
            ax.plot(x, y, linestyle="--", color="grey", label=f"∝ √d (from {anchor.attention})")
            ax.legend(fontsize="small")
            break
    return fig


def alignment_grid(
    report: Report, examples: Mapping[str, Mapping | None], tag: str = "median"
) -> Figure | None:
    """One heatmap per variant of the same test sentence.

    Args:
        report: the report.
        examples: variant -> its first seed's `tag` example (`ablate.run_files`
            `alignment_examples.json` entry: source, hypothesis, weights), or None.
        tag: which example sentence, for the title.
    """
    panels = []
    for name, v in report.variants.items():
        if not (example := examples.get(name)):
            continue
        src, hyp = example["source"], example["hypothesis"]
        # An empty translation has no attention rows: a (0, S) panel, not a failed grid.
        weights = np.asarray(example["weights"], dtype=np.float64)  # (T, S)
        if weights.size == 0:
            weights = weights.reshape(len(hyp), len(src))
        empty = "" if hyp else ", empty output"
        panels.append((f"{name} (seed {v.seeds[0]}{empty})", weights, src, hyp))
    if not panels:
        return None
    return alignment_grid_figure(panels, title=f"attention on the {tag} test sentence")
