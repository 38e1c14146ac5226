"""`tuning_curves.png`: expected best validation BLEU against the number of trials, one line
per variant (Dodge et al. 2019 in shape; Tang et al. 2020's unbiased estimator).

Plotting is pure: the curves in, a `matplotlib.figure.Figure` out (built with `Figure()`,
never `pyplot`); `ablate.outputs.save_figure` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from ablate.tuning.expected_max import LEVEL, ExpectedMax

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def tuning_curves_figure(
    curves: Mapping[str, ExpectedMax],
    *,
    title: str = "Expected best validation BLEU after n trials",
    ylabel: str = "expected best validation BLEU",
) -> Figure:
    """One line per variant of the expected best score after `n = 1 … N` trials, with its
    bootstrap band over the trials (`ExpectedMax.low` … `high`).

    Args:
        curves: variant name -> its curve (`ablate.tuning.expected_max.expected_max`).
        title, ylabel: the axes title and y label.

    Returns:
        The figure, with one `Line2D` per variant on its single axes.
    """
    if not curves:
        raise ValueError("tuning_curves_figure needs at least one variant's curve")
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    most = 1
    for k, (name, curve) in enumerate(curves.items()):
        n = np.asarray(curve.n)  # (N,)
        (line,) = ax.plot(n, curve.mean, marker=_MARKERS[k % len(_MARKERS)], ms=4, label=name)
        ax.fill_between(n, curve.low, curve.high, color=line.get_color(), alpha=0.15, lw=0)
        most = max(most, int(n[-1]))
    ax.set_xlim(0.8, most + 0.2)
    ax.set_xticks(range(1, most + 1) if most <= 20 else np.linspace(1, most, 10).round())
    ax.set_xlabel("trials n")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(
        fontsize=8,
        loc="lower right",
        title=f"band: {LEVEL:.0%} bootstrap over trials",
        title_fontsize=7,
    )
    return fig
