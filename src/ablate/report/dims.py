"""The key-size comparison (`+experiment=dims`): how each attention's score scale and
BLEU change with the key size d, the size of the query and key vectors its scores compare
(Vaswani et al.'s `d_k`), across the groups that a sweep over it makes: `d = model.hidden`
in the RNN, the head size `d = d_k = d_model / model.heads` in a Transformer
(`+experiment=dims_transformer`).

Vaswani et al. 2017 (footnote 4): for components of variance 1, `q·k` has variance `d`,
so unscaled dot-product scores should spread as `√d` — a slope of ½ of log score std on
log d — and scores scaled by `1/√d` not at all. Britz et al. 2017 (Table 6) found
multiplicative (unscaled) attention as good as additive at small d and behind it at large
d. Runs that differ only in the override that sets d (same dataset, same other swept overrides)
form a *family*; each d is a group of the report (its variants compared as any group's
are), and this module compares across the groups of a family:

- `cells`: each attention's BLEU and score std at each d (mean over seeds), with 95%
  intervals from one sentence-level bootstrap per family: the test sentences drawn once
  per replicate and shared by every d and attention (the test set is one, checked);
- `slopes`: per attention with scores, the least-squares slope of log score std on
  log d (`ablate.report.stats.log_slope`): bootstrapped on the same draws, so the slope is
  paired across d, and tested over runs by the regression on every run's point;
- `pairs`: additive − multiplicative overall BLEU at each d — the rows of the report's
  BLEU table (`ablate.report.compare`).

Each claim on them corrects its own declared family (`ablate.report.claims`).

The score std of a cell is pooled over the test queries: the ratio of the per-sentence
sums in `sentence_stats.json` (`attention_stats`), so a replicate re-weights sentences.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ablate.metrics import bleu_from_stats
from ablate.report.compare import check_group
from ablate.report.groups import override_items
from ablate.report.read import Run, Sentences, attention_rank
from ablate.report.rows import Kind, Row
from ablate.report.stats import (
    Bootstrap,
    PairedTest,
    Score,
    holm_adjusted,
    log_slope,
    percentile_interval,
)
from ablate.report.strata import ALL
from ablate.scores import ATTENTION_SUMS

# The overrides that set d: the RNN's state size; a Transformer's head count (at its
# d_model, read from the job's composed config).
HIDDEN, HEADS = "model.hidden", "model.heads"
DIM_KEYS = (HIDDEN, HEADS)
MIN_DIMS = 3  # sizes a slope or a small/large split needs
FOOTNOTE_SLOPE = 0.5  # Vaswani et al.'s √d
_STD, _QUERIES = ATTENTION_SUMS.index("score_std"), ATTENTION_SUMS.index("queries")


@dataclass(frozen=True)
class DimCell:
    """One attention at one d: its variant, seeds, BLEU and score std (means over seeds)
    with 95% bootstrap intervals; score std None without attention statistics."""

    attention: str
    dim: int
    variant: str
    group: str
    n_seeds: int
    bleu: float
    bleu_ci_low: float
    bleu_ci_high: float
    score_std: float | None = None
    score_std_ci_low: float | None = None
    score_std_ci_high: float | None = None


@dataclass(frozen=True)
class DimSlope:
    """The slope of log score std on log d of one attention over `dims`, with its
    test against 0 (Holm-adjusted over the family's slopes)."""

    attention: str
    dims: tuple[int, ...]
    score_std: tuple[float, ...]
    test: PairedTest

    @property
    def holds_footnote(self) -> bool:
        """The 95% interval holds ½, the slope of `√d`."""
        t = self.test
        return t.ci_low is not None and t.ci_low <= FOOTNOTE_SLOPE <= t.ci_high

    def to_json(self) -> dict:
        return {
            "attention": self.attention,
            "dims": list(self.dims),
            "score_std": list(self.score_std),
            "holds_footnote": self.holds_footnote,
            **self.test.to_json(),
        }

    def with_test(self, test: PairedTest) -> DimSlope:
        return dataclasses.replace(self, test=test)


@dataclass(frozen=True)
class DimPair:
    """Attention `a` − attention `b`, overall BLEU at one d: the report's paired row (of
    their variants at that d)."""

    dim: int
    a: str
    b: str
    row: Row

    @property
    def test(self) -> PairedTest:
        return self.row.test

    def with_test(self, test: PairedTest) -> DimPair:
        return dataclasses.replace(self, row=dataclasses.replace(self.row, test=test))


@dataclass(frozen=True)
class Dims:
    """One family's comparison across d (see the module docstring).

    Args:
        family: the dataset and the other swept overrides it shares (e.g. `toy_fr`).
        dims: its sizes, ascending.
        axis: what d is, in words: `model.hidden`, or `d_k = d_model / model.heads`.
        cells, slopes, pairs: as the module docstring says.
        problem: why it was not compared (then the rest is empty), or None.
    """

    family: str
    dims: tuple[int, ...]
    axis: str = HIDDEN
    cells: tuple[DimCell, ...] = ()
    slopes: tuple[DimSlope, ...] = ()
    pairs: tuple[DimPair, ...] = ()
    problem: str | None = None

    @property
    def attentions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.attention for c in self.cells))

    def cell(self, attention: str, dim: int) -> DimCell | None:
        return next((c for c in self.cells if (c.attention, c.dim) == (attention, dim)), None)

    def slope(self, attention: str) -> DimSlope | None:
        return next((s for s in self.slopes if s.attention == attention), None)


def run_dim(run: Run) -> int | None:
    """The run's d where an override set it, else None: its `model.hidden`, or its head
    size `d_model / model.heads` (a head count that does not divide d_model: None)."""
    items = override_items(run.overrides)
    if HIDDEN in items:
        return _int(items[HIDDEN])
    heads = _int(items.get(HEADS))
    model = run.config.get("model")
    d_model = _int(model.get("d_model")) if isinstance(model, Mapping) else None
    if not heads or not d_model or d_model % heads:
        return None
    return d_model // heads


def _int(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def families(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """The runs with an overridden d, by family: dataset plus the other overrides that vary
    among them (d itself left out)."""
    sized = [r for r in runs if run_dim(r) is not None]
    items = [
        {k: v for k, v in override_items(r.overrides).items() if k not in DIM_KEYS} for r in sized
    ]
    keys = sorted({k for it in items for k in it})
    varying = [k for k in keys if len({it.get(k) for it in items}) > 1]
    out: dict[str, list[Run]] = {}
    for r, it in zip(sized, items, strict=True):
        extra = ",".join(f"{k}={it[k]}" for k in varying if k in it)
        out.setdefault(f"{r.dataset}" + (f" {extra}" if extra else ""), []).append(r)
    return out


def compare_dims(
    runs: Sequence[Run],
    bleu_rows: Sequence[Row],
    sentences: Sentences,
    *,
    n_bootstrap: int,
    seed: int = 0,
    a: str = "additive",
    b: str = "multiplicative",
) -> tuple[Dims, ...]:
    """Every family's comparison across d.

    Args:
        runs: the sweep's complete runs, named (`ablate.report.groups.name_runs`).
        bleu_rows: the report's Holm-adjusted BLEU table.
        sentences: the runs' per-sentence data.
        n_bootstrap: replicates R.
        seed: the resampling's seed.
        a, b: the attentions whose BLEU difference is reported at each d.
    """
    out = []
    for family, members in families(runs).items():
        dims = tuple(sorted({run_dim(r) for r in members}))
        if len(dims) < MIN_DIMS:
            continue
        heads = any(HEADS in override_items(r.overrides) for r in members)
        axis = f"d_k = d_model / {HEADS}" if heads else HIDDEN
        problem = check_group(members, sentences)
        if problem:
            out.append(Dims(family, dims, axis, problem=problem))
            continue
        cells = _cells(family, members, sentences, Bootstrap(n_bootstrap, seed))
        out.append(
            Dims(
                family,
                dims,
                axis,
                cells=tuple(c for c, _ in cells),
                slopes=_slopes(cells, dims),
                pairs=_pairs(cells, dims, bleu_rows, a, b),
            )
        )
    return tuple(out)


def score_std_stats(run: Run) -> np.ndarray | None:
    """`(N, 2)` per-sentence `(Σ score std, queries)` of the run, or None without them."""
    side = (run.scores.sentence_stats or {}).get("attention_stats")
    if not side:
        return None
    sums = np.asarray(side["sums"], dtype=np.float64)
    return sums[:, [_STD, _QUERIES]]


def _std_ratio(stats: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(stats[..., 1] > 0, stats[..., 0] / stats[..., 1], np.nan)


def _cells(family: str, runs: Sequence[Run], sentences: Sentences, boot: Bootstrap):
    """`(cell, its score std's Score or None)` per attention and d, attentions in the
    report's order."""
    by_cell: dict[tuple[str, int], list[Run]] = {}
    for r in sorted(runs, key=lambda r: (attention_rank(str(r.attention)), run_dim(r))):
        by_cell.setdefault((str(r.attention), run_dim(r)), []).append(r)
    stratum = f"dims|{family}"  # one key: every cell draws the same sentences
    out = []
    for (attention, dim), members in by_cell.items():
        bleu = boot.variant(stratum, [sentences.bleu_stats(r) for r in members], bleu_from_stats)
        cell = DimCell(
            attention, dim, members[0].variant, members[0].group, len(members), bleu.observed,
            *percentile_interval(bleu.replicates),
        )  # fmt: skip
        stds = [score_std_stats(r) for r in members]
        std = None
        if all(s is not None for s in stds):
            std = boot.variant(stratum, stds, _std_ratio)
            low, high = percentile_interval(std.replicates)
            cell = dataclasses.replace(
                cell, score_std=std.observed, score_std_ci_low=low, score_std_ci_high=high
            )
        out.append((cell, std))
    return out


def _slopes(cells, dims: Sequence[int]) -> tuple[DimSlope, ...]:
    """Per attention with a score std at every d: the log-log slope and its test."""
    found: dict[str, dict[int, Score]] = {}
    for cell, std in cells:
        if std is not None and std.observed > 0:
            found.setdefault(cell.attention, {})[cell.dim] = std
    slopes = []
    for attention, by_dim in found.items():
        if set(by_dim) != set(dims):
            continue
        test = log_slope([(d, by_dim[d]) for d in dims])
        observed = tuple(by_dim[d].observed for d in dims)
        slopes.append(DimSlope(attention, tuple(dims), observed, test))
    tests = holm_adjusted([s.test for s in slopes], "slopes")
    return tuple(s.with_test(t) for s, t in zip(slopes, tests, strict=True))


def _pairs(cells, dims, bleu_rows: Sequence[Row], a: str, b: str) -> tuple[DimPair, ...]:
    """`a − b` overall BLEU at each d where both ran: the report's own rows."""
    at: Mapping[tuple[str, int], object] = {(c.attention, c.dim): c for c, _ in cells}
    out = []
    for d in dims:
        ca, cb = at.get((a, d)), at.get((b, d))
        if ca is None or cb is None:
            continue
        for r in bleu_rows:
            if r.group != ca.group or r.stratum != ALL or r.kind is not Kind.PAIR:
                continue
            if (r.a, r.b) == (ca.variant, cb.variant):
                out.append(DimPair(d, a, b, r))
            elif (r.a, r.b) == (cb.variant, ca.variant):
                out.append(DimPair(d, a, b, flipped(r)))
    return tuple(out)


def flipped(row: Row) -> Row:
    """`b − a` from the row of `a − b`: the same test, its sign turned."""
    return dataclasses.replace(
        row, a=row.b, b=row.a, a_score=row.b_score, b_score=row.a_score, test=row.test.flipped()
    )
