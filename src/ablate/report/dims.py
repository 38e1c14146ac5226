"""The state-size comparison (`+experiment=dims`): how each attention's score scale and
BLEU change with the size d its scores work at, across the groups that a sweep over it
makes: `d = model.hidden` in the RNN, the head size `d = d_k = d_model / model.heads` in
a Transformer (`+experiment=dims_transformer`).

Vaswani et al. 2017 (footnote 4): for components of variance 1, `q·k` has variance `d`,
so unscaled dot-product scores should spread as `√d` — a slope of ½ of log score std on
log d — and scores scaled by `1/√d` not at all. Britz et al. 2017 (Table 6) found
multiplicative (unscaled) attention as good as additive at small d and behind it at large
d. Runs that differ only in the override that sets d (same dataset, same other swept overrides)
form a *family*; each d is a group of the report (its variants compared as any group's
are), and this module compares across the groups of a family:

- `cells`: each attention's BLEU and score std at each d (mean over seeds), with 95%
  intervals from one two-level bootstrap per family: the test sentences drawn once per
  replicate and shared by every d and attention (the test set is one, checked), each
  cell's seeds drawn with replacement;
- `slopes`: per attention with scores, the least-squares slope of log score std on
  log d, its interval and p (against 0) from the same replicates, so the slope is paired
  across d; Holm over the family's slopes;
- `pairs`: additive − multiplicative overall BLEU at each d — the rows of the report's
  BLEU table (`ablate.report.compare`: paired, Holm-corrected with that table).

The score std of a cell is pooled over the test queries: the ratio of the per-sentence
sums in `sentence_stats.json` (`attention_stats`), so a replicate re-weights sentences.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from ablate.metrics import bleu_from_stats
from ablate.report.compare import check_group
from ablate.report.groups import override_items
from ablate.report.read import Run, Sentences, attention_rank
from ablate.report.rows import Kind, Row
from ablate.report.stats import Bootstrap, PairedTest, difference, holm_adjusted, slope
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
    bootstrap test against 0 (Holm-adjusted over the family's slopes)."""

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


@dataclass(frozen=True)
class DimPair:
    """Attention `a` − attention `b`, overall BLEU at one d: the report's paired,
    Holm-corrected row (of their variants at that d)."""

    dim: int
    a: str
    b: str
    row: Row


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
    d_model = _int(composed_model(run.dir).get("d_model"))
    if not heads or not d_model or d_model % heads:
        return None
    return d_model // heads


def _int(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@functools.cache
def composed_model(job: Path) -> dict:
    """The `model` settings of a job's composed config (`.hydra/config.yaml`); empty
    where there is none to read."""
    try:
        config = yaml.safe_load((job / ".hydra" / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    model = config.get("model") if isinstance(config, dict) else None
    return model if isinstance(model, dict) else {}


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
                cells=tuple(c for c, _, _ in cells),
                slopes=_slopes(cells, dims),
                pairs=_pairs(cells, dims, bleu_rows, a, b),
            )
        )
    return tuple(out)


def _percentiles(reps: np.ndarray) -> tuple[float | None, float | None]:
    reps = reps[np.isfinite(reps)]
    if not reps.size:
        return None, None
    low, high = np.percentile(reps, [2.5, 97.5])
    return float(low), float(high)


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
    """`(cell, score std replicates or None, its observed value)` per attention and d,
    attentions in the report's order."""
    by_cell: dict[tuple[str, int], list[Run]] = {}
    for r in sorted(runs, key=lambda r: (attention_rank(str(r.attention)), run_dim(r))):
        by_cell.setdefault((str(r.attention), run_dim(r)), []).append(r)
    stratum = f"dims|{family}"  # one key: every cell draws the same sentences
    out = []
    for (attention, dim), members in by_cell.items():
        key = f"{family}/{attention}/d={dim}"
        bleu, reps = boot.variant(
            key, stratum, [sentences.bleu_stats(r) for r in members], bleu_from_stats
        )
        cell = DimCell(
            attention, dim, members[0].variant, members[0].group, len(members), bleu,
            *_percentiles(reps),
        )  # fmt: skip
        stds = [score_std_stats(r) for r in members]
        std_reps = None
        if all(s is not None for s in stds):
            std, std_reps = boot.variant(key, stratum, stds, _std_ratio)
            low, high = _percentiles(std_reps)
            cell = dataclasses.replace(
                cell, score_std=std, score_std_ci_low=low, score_std_ci_high=high
            )
        out.append((cell, std_reps, cell.score_std))
    return out


def _slopes(cells, dims: Sequence[int]) -> tuple[DimSlope, ...]:
    """Per attention with a score std at every d: the log-log slope and its test."""
    found: dict[str, dict[int, tuple[float, np.ndarray]]] = {}
    for cell, reps, std in cells:
        if reps is not None and std is not None and std > 0:
            found.setdefault(cell.attention, {})[cell.dim] = (std, reps)
    slopes = []
    x = np.log(np.asarray(dims, dtype=np.float64))
    for attention, by_dim in found.items():
        if set(by_dim) != set(dims):
            continue
        observed = np.log([by_dim[d][0] for d in dims])
        with np.errstate(divide="ignore", invalid="ignore"):
            reps = np.log(np.stack([by_dim[d][1] for d in dims], axis=1))  # (R, n_d)
        test = difference(float(slope(x, observed)), slope(x, reps))
        slopes.append(DimSlope(attention, tuple(dims), tuple(math.exp(v) for v in observed), test))
    tests = holm_adjusted([s.test for s in slopes])
    return tuple(dataclasses.replace(s, test=t) for s, t in zip(slopes, tests, strict=True))


def _pairs(cells, dims, bleu_rows: Sequence[Row], a: str, b: str) -> tuple[DimPair, ...]:
    """`a − b` overall BLEU at each d where both ran: the report's own rows."""
    at: Mapping[tuple[str, int], object] = {(c.attention, c.dim): c for c, _, _ in cells}
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
    t = row.test
    test = t if t.diff is None else dataclasses.replace(
        t, diff=-t.diff, ci_low=-t.ci_high, ci_high=-t.ci_low
    )  # fmt: skip
    return dataclasses.replace(
        row, a=row.b, b=row.a, a_score=row.b_score, b_score=row.a_score, test=test
    )
