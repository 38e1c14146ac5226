"""The statistics behind a sweep report: intervals over seeds, a two-level paired
bootstrap, Holm's correction, a trend test and Almost Stochastic Order.

- **Two-level paired bootstrap** (Koehn 2004 for the sentence level; Efron & Tibshirani
  1993, §8 for resampling more than one source of variance). Every replicate draws the
  test sentences once — shared by every variant: paired — and, for each variant, its
  training seeds with replacement. A variant's replicate score is the mean over its drawn
  seeds of the metric on the drawn sentences, so one lucky seed cannot make a difference
  pass. Metrics are ratios of sums of per-sentence counts (BLEU's n-gram statistics,
  rare-word hits/totals, aligned/linked words), so a replicate is one weighted sum per run,
  never a re-scoring of text.
- **p-values** are two-sided, from the bootstrap distribution shifted to the null (the
  difference minus its observed value): `p = (1 + #{|d* - d| >= |d|}) / (R + 1)`, whose
  smallest value is `1 / (R + 1)`.
- **Holm (1979)** step-down adjustment over all comparisons of a table.
- **Trend**: the least-squares slope of a per-bucket difference against the buckets'
  mean source length, with the same replicates.
- **Almost Stochastic Order** (Dror et al. 2019; del Barrio et al. 2018), the `deepsig`
  package, on seed-level scores where each variant has >= 5 seeds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
ASO_MIN_SEEDS = 5
# Two-sided 95% Student-t quantiles t_{0.975, df} for df = 1..30.
# fmt: off
_T975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
         2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
         2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423)
# fmt: on


# --------------------------------------------------------------------------- over seeds


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom.

    A table for df <= 30; above, the Cornish-Fisher expansion around the normal quantile
    (Abramowitz & Stegun 26.7.5), accurate to 1e-6 there.
    """
    if df < 1:
        raise ValueError(f"a t quantile needs df >= 1, got df={df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959963984540054
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def finite(values: Sequence) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def mean(values: Sequence) -> float | None:
    """Mean of the finite values; `None` when there are none (JSON has no NaN)."""
    xs = finite(values)
    return sum(xs) / len(xs) if xs else None


def mean_ci(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    """Mean and two-sided 95% Student-t interval of the mean over seeds.

    Returns:
        `(mean, low, high)`; the bounds are `None` with fewer than two values, and all
        three are `None` with no value.
    """
    xs = finite(values)
    if not xs:
        return None, None, None
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, None, None
    half = t_quantile_975(len(xs) - 1) * float(np.std(xs, ddof=1)) / math.sqrt(len(xs))
    return m, m - half, m + half


def bleu_ci(values: Sequence) -> tuple[float | None, float | None, float | None]:
    """`mean_ci` with the bounds clipped to BLEU's range, 0-100."""
    m, low, high = mean_ci(values)
    if low is not None:
        low, high = max(0.0, low), min(100.0, high)
    return m, low, high


# --------------------------------------------------------------------------- metrics


def ratio_from_stats(stats: np.ndarray) -> np.ndarray:
    """`100 · hits / total` from summed `(..., 2)` counts; NaN where total is 0."""
    stats = np.asarray(stats, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(stats[..., 1] > 0, 100.0 * stats[..., 0] / stats[..., 1], np.nan)


# --------------------------------------------------------------------------- bootstrap


def resample_counts(n: int, n_replicates: int, rng: np.random.Generator) -> np.ndarray:
    """`(R, n)`: how often each of `n` sentences is drawn in each replicate (n draws
    with replacement), as floats so a replicate's sums are one BLAS product."""
    if n == 0:
        return np.zeros((n_replicates, 0))
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_replicates).astype(np.float64)


@dataclass
class Bootstrap:
    """The draws every comparison in a report shares.

    Args:
        n_replicates: R.
        seed: seed of all draws.
    """

    n_replicates: int
    seed: int = 0

    def __post_init__(self):
        if self.n_replicates < 1:
            raise ValueError(f"n_replicates must be >= 1, got {self.n_replicates}")
        self._rng = np.random.default_rng(self.seed)
        self._sentences: dict[str, np.ndarray] = {}
        self._seeds: dict[str, np.ndarray] = {}

    def sentences(self, stratum: str, n: int) -> np.ndarray:
        """`(R, n)` sentence counts of one stratum (a bucket, or `all`), drawn once."""
        if stratum not in self._sentences or self._sentences[stratum].shape[1] != n:
            self._sentences[stratum] = resample_counts(n, self.n_replicates, self._rng)
        return self._sentences[stratum]

    def seeds(self, variant: str, n_seeds: int) -> np.ndarray:
        """`(R, n_seeds)` indices of the seeds each replicate draws for `variant`."""
        if variant not in self._seeds or self._seeds[variant].shape[1] != n_seeds:
            draws = self._rng.integers(0, n_seeds, size=(self.n_replicates, n_seeds))
            self._seeds[variant] = draws
        return self._seeds[variant]

    def variant(
        self,
        variant: str,
        stratum: str,
        runs: Sequence[np.ndarray],
        metric: Callable[[np.ndarray], np.ndarray],
    ) -> tuple[float, np.ndarray]:
        """A variant's observed score and its `(R,)` replicate scores on one stratum.

        Args:
            variant: its name (keys the seed draws).
            stratum: which sentences (keys the sentence draws).
            runs: one `(n, K)` per-sentence statistics array per seed, the same `n`
                sentences in the same order for every run.
            metric: summed `(…, K)` statistics → score.

        Returns:
            `(observed, replicates)`: the mean over seeds of the metric on all sentences,
            and the mean over each replicate's drawn seeds on its drawn sentences.
        """
        n = runs[0].shape[0]
        counts = self.sentences(stratum, n)
        per_seed = np.stack([metric(counts @ r) for r in runs], axis=1)  # (R, seeds)
        observed = float(np.mean([metric(r.sum(0)) for r in runs]))
        draws = self.seeds(variant, len(runs))
        return observed, np.take_along_axis(per_seed, draws, axis=1).mean(1)


@dataclass(frozen=True)
class PairedTest:
    """A paired difference tested by the bootstrap, and (once its table is known) Holm.

    Args:
        diff: the observed difference `d` (None where it cannot be had).
        ci_low, ci_high: its 95% percentile interval.
        p: two-sided p; `p_floor = 1 / (R + 1)`, the smallest p possible.
        n_replicates: the finite replicates behind it.
        p_holm: Holm-adjusted over the comparisons of its table (`adjusted`).
        p_at_floor: the raw p is at the floor, so the true p is smaller than shown.
        significant: `p_holm < ALPHA`.
    """

    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    p_floor: float | None
    n_replicates: int
    p_holm: float | None = None
    p_at_floor: bool = False
    significant: bool = False

    @property
    def positive(self) -> bool:
        """Significantly above zero after the correction."""
        return self.significant and self.diff > 0

    def adjusted(self, p_holm: float | None) -> PairedTest:
        """This test with its Holm-adjusted p."""
        return dataclasses.replace(
            self,
            p_holm=p_holm,
            p_at_floor=self.p is not None and self.p <= self.p_floor * (1 + 1e-9),
            significant=p_holm is not None and p_holm < ALPHA,
        )

    def scaled(self, factor: float) -> PairedTest:
        """The difference and its interval in other units (the p does not change)."""
        if self.diff is None:
            return self
        return dataclasses.replace(
            self,
            diff=self.diff * factor,
            ci_low=self.ci_low * factor,
            ci_high=self.ci_high * factor,
        )

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def difference(observed: float, replicates: np.ndarray) -> PairedTest:
    """Interval and p-value of a difference from its bootstrap replicates.

    Args:
        observed: the difference on the data, `d`.
        replicates: `(R,)` the difference in each replicate, `d*` (NaN replicates, e.g.
            a band with no word drawn, are left out).

    Returns:
        The test, not yet Holm-adjusted: a 95% percentile interval, two-sided
        `p = (1 + #{|d* - d| >= |d|}) / (R + 1)`.
    """
    d = replicates[np.isfinite(replicates)]
    if not math.isfinite(observed) or d.size == 0:
        return PairedTest(None, None, None, None, None, int(d.size))
    low, high = np.percentile(d, [2.5, 97.5])
    beyond = int(np.sum(np.abs(d - observed) >= abs(observed) - 1e-9))
    return PairedTest(
        diff=observed,
        ci_low=float(low),
        ci_high=float(high),
        p=(1 + beyond) / (d.size + 1),
        p_floor=1 / (d.size + 1),
        n_replicates=int(d.size),
    )


def holm_adjusted(tests: Sequence[PairedTest]) -> list[PairedTest]:
    """`tests` Holm-adjusted as one family (`holm`), in the input order."""
    return [t.adjusted(p) for t, p in zip(tests, holm([t.p for t in tests]), strict=True)]


def slope(x: Sequence[float], y: np.ndarray) -> np.ndarray:
    """Least-squares slope of `y` against `x` along the last axis (`y`: `(…, len(x))`)."""
    x = np.asarray(x, dtype=np.float64)
    xc = x - x.mean()
    return (np.asarray(y) - np.asarray(y).mean(-1, keepdims=True)) @ xc / (xc @ xc)


def n_replicates_for(n_comparisons: int, alpha: float = ALPHA, minimum: int = 10_000) -> int:
    """R such that the p-value's resolution `1 / (R + 1)` is at most half of Holm's
    smallest threshold `alpha / n_comparisons`."""
    return max(minimum, math.ceil(2 * max(1, n_comparisons) / alpha))


# --------------------------------------------------------------------------- corrections


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (Holm 1979), in the input order.

    `adjusted_(i) = max_{j <= i} min(1, (m - j + 1) · p_(j))` over the m p-values sorted
    ascending; reject where the adjusted p < alpha. `None` entries (no test) are not
    counted in m and stay `None`.
    """
    tested = [(p, i) for i, p in enumerate(p_values) if p is not None]
    m = len(tested)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(tested)):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def format_p(p: float | None, at_floor: bool = False) -> str:
    """`p` for a table; `< p` where the raw p hit the bootstrap's floor `1/(R+1)`, so the
    true value (and its Holm adjustment) is smaller than shown."""
    if p is None:
        return "–"
    text = f"{p:.2g}" if p < 0.1 else f"{p:.2f}"  # two significant digits
    return f"< {text}" if at_floor else text


# --------------------------------------------------------------------------- ASO


@dataclass(frozen=True)
class Aso:
    """Almost Stochastic Order of A over B: `eps_min`, or None with the reason it was not
    run."""

    eps_min: float | None
    reason: str | None


def aso(
    scores_a: Sequence[float], scores_b: Sequence[float], *, n_comparisons: int = 1, seed: int = 0
) -> Aso:
    """Almost Stochastic Order of A over B on seed-level scores (Dror et al. 2019).

    `eps_min < 0.5` says A is almost stochastically larger than B; `eps_min = 0` is full
    stochastic dominance. Needs `ASO_MIN_SEEDS` scores per side.
    """
    if min(len(scores_a), len(scores_b)) < ASO_MIN_SEEDS:
        return Aso(
            eps_min=None,
            reason=f"ASO needs >= {ASO_MIN_SEEDS} seeds per variant "
            f"(this sweep has {min(len(scores_a), len(scores_b))})",
        )
    from deepsig import aso as deepsig_aso  # imported here: it loads pandas and scipy

    eps = deepsig_aso(
        np.asarray(scores_a, dtype=float),
        np.asarray(scores_b, dtype=float),
        confidence_level=1 - ALPHA,
        num_comparisons=n_comparisons,
        seed=seed,
        show_progress=False,
    )
    return Aso(eps_min=float(eps), reason=None)
