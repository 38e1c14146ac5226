"""Figures: BLEU by source length (Bahdanau et al. 2015, Fig. 2) and attention heatmaps
(Bahdanau et al. 2015, Fig. 3).

Plotting is pure: arrays and labels in, a `matplotlib.figure.Figure` out. Figures are
built with `Figure()` directly, never through `pyplot`, so nothing touches global state,
no GUI backend is needed, and the caller decides where a figure goes
(`fig.savefig(path)`, a W&B image, a notebook cell).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage

# Matplotlib's default colour cycle plus distinct markers, so lines stay apart in
# greyscale print as well.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
# Inches per token of a heatmap cell and the size cap that keeps 60-token pairs on a page.
_CELL_IN = 0.26
_MAX_IN = 16.0


def _none_to_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def bleu_by_length_figure(
    series: Mapping[str, Sequence[Mapping]],
    *,
    title: str = "BLEU by source length",
    ylabel: str = "BLEU",
    xlabel: str = "source length (words)",
    difference: bool = False,
    order: Sequence[str] | None = None,
) -> Figure:
    """One line per variant of BLEU against source-length bucket, with a 95% CI band.

    Args:
        series: variant name -> bucket dicts in bucket order, each with `label`, `bleu`,
            `bleu_ci_low` and `bleu_ci_high` (as from `ablate.metrics.bucket_scores`);
            `None` scores (empty buckets) leave a gap. An optional `n` that all variants
            agree on is shown under the bucket label.
        title: the axes title.
        ylabel, xlabel: the axis labels.
        difference: the values are differences (a gain over a baseline): the y axis
            fits the data, 0 marked, instead of BLEU's 0-100.
        order: the x labels in order; default sorted (zero-padded labels sort by length).

    Returns:
        The figure, with one `Line2D` per variant on its single axes.
    """
    if not series:
        raise ValueError("bleu_by_length_figure needs at least one variant in series")
    # Zero-padded labels sort by length, so the sorted union is the shared x axis.
    found = {row["label"] for rows in series.values() for row in rows}
    labels = [lab for lab in order if lab in found] if order is not None else sorted(found)
    pos = {label: i for i, label in enumerate(labels)}
    counts: dict[str, set] = {label: set() for label in labels}
    for rows in series.values():
        for row in rows:
            counts[row["label"]].add(row.get("n"))

    fig = Figure(figsize=(max(6.0, 0.9 * len(labels) + 2.5), 4.5), layout="constrained")
    ax = fig.add_subplot()
    top = 0.0
    for k, (name, rows) in enumerate(series.items()):
        x = np.full(len(labels), math.nan)
        y, low, high = x.copy(), x.copy(), x.copy()
        for row in rows:
            i = pos[row["label"]]
            x[i] = i
            y[i] = _none_to_nan(row.get("bleu"))
            low[i] = _none_to_nan(row.get("bleu_ci_low"))
            high[i] = _none_to_nan(row.get("bleu_ci_high"))
        xs = np.arange(len(labels))
        (line,) = ax.plot(xs, y, marker=_MARKERS[k % len(_MARKERS)], label=name, lw=1.8)
        ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.18, lw=0)
        finite = np.concatenate([y[~np.isnan(y)], high[~np.isnan(high)]])
        if finite.size:
            top = max(top, float(finite.max()))

    ticks = []
    for label in labels:
        ns = counts[label]
        only = next(iter(ns)) if len(ns) == 1 else None
        ticks.append(f"{label}\nn={only}" if only is not None else label)
    ax.set_xticks(np.arange(len(labels)), ticks, fontsize=8 if len(labels) > 10 else 9)
    ax.set_xlim(-0.5, len(labels) - 0.5)
    if difference:
        ax.axhline(0.0, color="black", lw=0.8)
    else:
        # BLEU lives on 0-100; round the top up so curves of weak models are not squashed.
        ax.set_ylim(0, min(100.0, 10.0 * math.ceil((top + 5.0) / 10.0)) if top > 0 else 100.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.35)
    ax.legend(loc="best", fontsize=9, frameon=True)
    return fig


def _check_panel(weights: np.ndarray, src_tokens: Sequence[str], tgt_tokens: Sequence[str]):
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape != (len(tgt_tokens), len(src_tokens)):
        raise ValueError(
            f"weights must be (T, S) = ({len(tgt_tokens)}, {len(src_tokens)}) to match "
            f"{len(tgt_tokens)} target and {len(src_tokens)} source tokens, got shape {w.shape}"
        )
    return w


def _fontsize(n_tokens: int) -> float:
    if n_tokens <= 25:
        return 9
    if n_tokens <= 45:
        return 7
    return 5.5


def _heatmap(
    ax: Axes, w: np.ndarray, src_tokens: Sequence[str], tgt_tokens: Sequence[str], title: str
) -> AxesImage:
    """Draw (T, S) weights with source tokens along the top and target tokens down the left."""
    size = _fontsize(max(w.shape))
    # Greyscale like Bahdanau Fig. 3, white = 0; fixed 0-1 range so panels compare.
    image = ax.imshow(w, cmap="Greys", vmin=0.0, vmax=1.0, aspect="equal", interpolation="none")
    # parse_math=False: tokens such as "$5" must be drawn as text, not as mathtext.
    ax.set_xticks(np.arange(w.shape[1]), [str(t) for t in src_tokens], parse_math=False)
    ax.set_yticks(np.arange(w.shape[0]), [str(t) for t in tgt_tokens], parse_math=False)
    ax.tick_params(axis="both", labelsize=size, length=0)
    ax.xaxis.tick_top()
    for label in ax.get_xticklabels():
        label.set_rotation(60 if max(w.shape) <= 25 else 90)
        label.set_horizontalalignment("left" if max(w.shape) <= 25 else "center")
        label.set_rotation_mode("anchor" if max(w.shape) <= 25 else "default")
    # Thin cell borders make single cells readable in long sentences: two line
    # collections, not a minor tick per border (a tick is a dozen artists to lay out).
    T, S = w.shape
    ax.vlines(np.arange(S + 1) - 0.5, -0.5, T - 0.5, color="0.85", lw=0.3)
    ax.hlines(np.arange(T + 1) - 0.5, -0.5, S - 0.5, color="0.85", lw=0.3)
    ax.set_xlabel("source", fontsize=9)
    ax.xaxis.set_label_position("top")
    ax.set_ylabel("target", fontsize=9)
    if title:
        ax.set_title(title, fontsize=10, pad=8)
    return image


def _panel_inches(T: int, S: int) -> tuple[float, float]:
    # Extra width for the target labels and colorbar, extra height for the rotated
    # source labels; cap so a 60x60 pair still fits a screen.
    width = min(_MAX_IN, _CELL_IN * S + 2.5)
    height = min(_MAX_IN, _CELL_IN * T + 2.0)
    return max(width, 4.0), max(height, 3.0)


def alignment_figure(
    weights: np.ndarray,
    src_tokens: Sequence[str],
    tgt_tokens: Sequence[str],
    *,
    title: str = "",
) -> Figure:
    """Attention heatmap of one sentence pair, like Bahdanau et al. 2015, Fig. 3.

    Args:
        weights: (T, S) attention weights; row `t` is target token `t`'s distribution
            over the source tokens.
        src_tokens: the S source tokens (x axis, on top).
        tgt_tokens: the T target tokens (y axis).
        title: the axes title.

    Returns:
        The figure: one heatmap axes and one colorbar axes.

    Raises:
        ValueError: if `weights` is not (len(tgt_tokens), len(src_tokens)).
    """
    w = _check_panel(weights, src_tokens, tgt_tokens)
    fig = Figure(figsize=_panel_inches(*w.shape), layout="constrained")
    ax = fig.add_subplot()
    image = _heatmap(ax, w, src_tokens, tgt_tokens, title)
    fig.colorbar(image, ax=ax, shrink=0.8, label="attention weight α")
    return fig


def alignment_grid_figure(
    panels: Sequence[tuple[str, np.ndarray, Sequence[str], Sequence[str]]],
    *,
    title: str = "",
) -> Figure:
    """Several attention heatmaps in a grid, e.g. each score function on the same sentence.

    Args:
        panels: `(name, weights, src_tokens, tgt_tokens)` per heatmap; `weights` is (T, S).
        title: the figure's super-title.

    Returns:
        The figure: one heatmap axes per panel and one shared colorbar axes (0-1).

    Raises:
        ValueError: if there are no panels or a panel's weights do not match its tokens.
    """
    if not panels:
        raise ValueError("alignment_grid_figure needs at least one panel")
    checked = [(name, _check_panel(w, src, tgt), src, tgt) for name, w, src, tgt in panels]
    ncols = math.ceil(math.sqrt(len(checked)))
    nrows = math.ceil(len(checked) / ncols)
    T = max(w.shape[0] for _, w, _, _ in checked)
    S = max(w.shape[1] for _, w, _, _ in checked)
    cell_w, cell_h = _panel_inches(T, S)
    # Cap the whole grid, not each panel, so four 60-token panels stay on one page.
    scale = min(1.0, 24.0 / (cell_w * ncols), 24.0 / (cell_h * nrows))
    fig = Figure(
        figsize=(cell_w * ncols * scale + 1.0, cell_h * nrows * scale), layout="constrained"
    )
    axes = []
    image = None
    for i, (name, w, src, tgt) in enumerate(checked):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        image = _heatmap(ax, w, src, tgt, name)
        axes.append(ax)
    fig.colorbar(image, ax=axes, shrink=0.6, label="attention weight α")
    if title:
        fig.suptitle(title)
    return fig
