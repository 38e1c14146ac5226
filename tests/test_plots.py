"""Figures are pure: a Figure out, right number of artists, PNG-able, no pyplot."""

import io
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from matplotlib.figure import Figure

from ablate.plots import alignment_figure, alignment_grid_figure, bleu_by_length_figure

LABELS = ["01-10", "11-20", "21-30", "31-40", "41-50", "51-60", "61+"]


def bucket_rows(base: float, empty: tuple[str, ...] = ()) -> list[dict]:
    rows = []
    for i, label in enumerate(LABELS):
        if label in empty:
            rows.append(dict(label=label, n=0, bleu=None, bleu_ci_low=None, bleu_ci_high=None))
        else:
            b = base - 2 * i
            rows.append(dict(label=label, n=10, bleu=b, bleu_ci_low=b - 3, bleu_ci_high=b + 3))
    return rows


def attention(T: int, S: int, seed: int = 0) -> np.ndarray:
    w = np.random.default_rng(seed).random((T, S))
    return w / w.sum(1, keepdims=True)


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def test_bleu_by_length_has_one_line_per_variant():
    series = {"none": bucket_rows(30), "dot": bucket_rows(35), "additive": bucket_rows(38)}
    fig = bleu_by_length_figure(series)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(series)
    assert len(ax.get_xticks()) == len(LABELS)
    assert png_bytes(fig).startswith(b"\x89PNG")


def test_empty_buckets_leave_gaps():
    fig = bleu_by_length_figure({"dot": bucket_rows(35, empty=("31-40", "61+"))})
    y = fig.axes[0].get_lines()[0].get_ydata()
    assert np.isnan(y[[3, 6]]).all() and np.isfinite(np.delete(y, [3, 6])).all()
    png_bytes(fig)


def test_bleu_by_length_needs_a_variant():
    with pytest.raises(ValueError, match="variant"):
        bleu_by_length_figure({})


@pytest.mark.parametrize("T,S", [(1, 1), (10, 8), (64, 60)])
def test_alignment_figure_is_one_heatmap_and_a_colorbar(T, S):
    src = [f"s{i}" for i in range(S)]
    tgt = [f"t{i}" for i in range(T - 1)] + ["<eos>"]
    fig = alignment_figure(attention(T, S), src, tgt, title="additive")
    assert isinstance(fig, Figure)
    heat, colorbar = fig.axes
    assert len(heat.get_images()) == 1
    assert [t.get_text() for t in heat.get_xticklabels()] == src
    assert [t.get_text() for t in heat.get_yticklabels()] == tgt
    width, height = fig.get_size_inches()
    assert width <= 20 and height <= 20
    assert png_bytes(fig).startswith(b"\x89PNG")


def test_tokens_with_dollar_signs_are_drawn_as_text():
    """Mathtext would draw `$x$` as an italic x, narrower than the three characters, and
    fail on an unmatched `$`: every label is the token, parsed as plain text."""
    src, tgt = ["$5", "$x$"], ["5", "$"]
    fig = alignment_figure(attention(2, 2), src, tgt)
    assert png_bytes(fig).startswith(b"\x89PNG")  # drawn, the lone "$" included
    heat = fig.axes[0]
    xs, ys = heat.get_xticklabels(), heat.get_yticklabels()
    assert [t.get_text() for t in xs] == src and [t.get_text() for t in ys] == tgt
    assert not any(t.get_parse_math() for t in xs + ys)
    # As text, "$x$" is wider than "$5" (three characters against two).
    assert xs[1].get_window_extent().width > xs[0].get_window_extent().width


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (12,), (3, 4, 1)])
def test_alignment_shape_mismatch_raises(shape):
    src, tgt = ["a", "b", "c", "d"], ["x", "y", "z"]  # weights must be (3, 4)
    with pytest.raises(ValueError, match=r"\(T, S\)"):
        alignment_figure(np.ones(shape), src, tgt)


@pytest.mark.parametrize("n_panels", [1, 2, 4, 5])
def test_alignment_grid_has_one_heatmap_per_panel(n_panels):
    src, tgt = ["the", "black", "cat"], ["le", "chat", "noir", "<eos>"]
    panels = [(f"score{k}", attention(4, 3, seed=k), src, tgt) for k in range(n_panels)]
    fig = alignment_grid_figure(panels, title="same sentence")
    heatmaps = [ax for ax in fig.axes if ax.get_images()]
    assert len(heatmaps) == n_panels
    assert len(fig.axes) == n_panels + 1  # one shared colorbar
    assert [ax.get_title() for ax in heatmaps] == [p[0] for p in panels]
    png_bytes(fig)


def test_alignment_grid_rejects_a_bad_panel():
    good = ("dot", attention(2, 2), ["a", "b"], ["x", "y"])
    bad = ("additive", attention(2, 3), ["a", "b"], ["x", "y"])
    with pytest.raises(ValueError, match=r"\(T, S\)"):
        alignment_grid_figure([good, bad])
    with pytest.raises(ValueError, match="panel"):
        alignment_grid_figure([])


def test_plots_do_not_import_pyplot():
    code = textwrap.dedent(
        """
        import io, sys
        import numpy as np
        from ablate.plots import alignment_figure, alignment_grid_figure, bleu_by_length_figure
        rows = [dict(label="01-10", n=1, bleu=1.0, bleu_ci_low=0.5, bleu_ci_high=2.0)]
        w = np.full((2, 2), 0.5)
        figs = [
            bleu_by_length_figure({"dot": rows}),
            alignment_figure(w, ["a", "b"], ["x", "y"]),
            alignment_grid_figure([("dot", w, ["a", "b"], ["x", "y"])]),
        ]
        for fig in figs:
            fig.savefig(io.BytesIO(), format="png")
        assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
