"""The statistics behind a sweep report: intervals over seeds, the calibrated paired
test, equivalence (TOST), Holm's correction, a trend test and Almost Stochastic Order.

A difference between two variants has two sources of noise: which test sentences were
drawn (the test set is a sample), and which training seeds were drawn (a variant is a
distribution over trained models). One test cannot see both with 2-5 seeds: resampling
seeds with replacement shrinks their variance by (n - 1)/n and, with n = 2, lets a
variant's mean take only three values (an A/A simulation rejected 24-33% of the time at
nominal 5%). So each difference gets three tests, and the largest p counts:

- **sentence level**: the paired bootstrap over test sentences (Koehn 2004), drawn once
  per replicate and shared by every variant (paired), of the difference between the
  variants' seed-pooled scores (mean over seeds of the metric on the drawn sentences).
  Metrics are ratios of sums of per-sentence counts (BLEU's n-gram statistics, rare-word
  hits/totals), so a replicate is one weighted sum per run, never a re-scoring of text.
  `p = (1 + #{|d* - d| >= |d|}) / (R + 1)`, at least `1 / (R + 1)`.
- **seed level**: Welch's t-test on the per-seed scores (each run's metric on the whole
  stratum; a slope: each run's slope). It needs >= 2 seeds per variant; with 1 the
  difference is *not testable* and says so.

- **both levels at once**: a t-test whose variance is the bootstrap's plus Welch's, less
  the part both count (each run's own sentence noise, estimated from each seed's
  replicates: `overlap`). Where a variant has its own advantage on some sentences *and*
  its seeds scatter, each level alone misses the other's share, and the larger of their
  p rejected up to 9% of A/A designs at 5-10 seeds; this test sees both.

The reported interval is the union of the three tests' intervals, so it is as wide as the
widest says; `p` is the largest p (an intersection-union test: it rejects only where all
do, and is calibrated wherever any is). `benchmarks/calibration.py` measures the
false-positive rate of every rule built on this by A/A simulation (docs/statistics.md).

- **Equivalence** (two one-sided tests, Schuirmann 1987; Lakens 2017): `A - B` lies
  within a margin `±δ` declared before the run when the `(1 - 2α)` interval lies inside it.
- **Holm (1979)** step-down adjustment over a declared family of tests.
- **Trend**: the least-squares slope of a per-bucket difference against the buckets' mean
  source length.
- **Almost Stochastic Order** (Dror et al. 2019; del Barrio et al. 2018), the `deepsig`
  package, on seed-level scores where each variant has >= 5 seeds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from ablate.metrics import percentile_interval

ALPHA = 0.05
MIN_SEEDS = 2  # Welch's test needs a variance on each side
ASO_MIN_SEEDS = 5
MAX_DF = 1e6  # a t with this many degrees of freedom is the normal


# --------------------------------------------------------------------------- over seeds


def t_quantile_975(df: float) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom."""
    if df < 1:
        raise ValueError(f"a t quantile needs df >= 1, got df={df}")
    return float(student_t.ppf(0.975, df))


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


@dataclass(frozen=True)
class Score:
    """A variant's score on one stratum, as the paired test needs it.

    Args:
        observed: the mean over its seeds of the metric on all the stratum's sentences.
        replicates: `(R,)` the mean over its seeds of the metric on each replicate's
            drawn sentences (the sentence-level bootstrap).
        per_seed: `(seeds,)` each seed's metric on all the stratum's sentences.
        seed_replicates: `(R, seeds)` each seed's metric on each replicate's sentences
            (what `overlap` reads); None where unknown.
    """

    observed: float
    replicates: np.ndarray
    per_seed: np.ndarray
    seed_replicates: np.ndarray | None = None

    def map(self, fn: Callable[[np.ndarray], np.ndarray]) -> Score:
        """The score of a function of this one (e.g. its log)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return Score(
                float(fn(np.float64(self.observed))),
                fn(self.replicates),
                fn(self.per_seed),
                None if self.seed_replicates is None else fn(self.seed_replicates),
            )


def overlap(seed_replicates: np.ndarray | None) -> float:
    """The variance that both levels see in a seed-pooled score: each run's own sentence
    noise, `E / k`.

    Over the sentence draws, seed `s`'s replicate is `shared + e_s` (the sentences'
    effect on every seed, plus its own noise), so a seed's variance is `S + E` and the
    pooled mean's `S + E / k`: `E / k = (mean_s var_s - var_pooled) / (k - 1)`. Welch's
    variance over seeds holds `E` too (a seed's score on the fixed test set carries its
    own sentence noise), so the sum of the two levels' variances counts it twice.
    """
    if seed_replicates is None or seed_replicates.ndim != 2 or seed_replicates.shape[1] < 2:
        return 0.0
    reps = seed_replicates[np.isfinite(seed_replicates).all(axis=1)]
    if reps.shape[0] < 2:
        return 0.0
    k = reps.shape[1]
    own = float(reps.var(axis=0, ddof=1).mean() - reps.mean(axis=1).var(ddof=1))
    return max(0.0, own / (k - 1))


@dataclass
class Bootstrap:
    """The sentence draws every comparison in a report shares.

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

    def sentences(self, stratum: str, n: int) -> np.ndarray:
        """`(R, n)` sentence counts of one stratum (a bucket, or `all`), drawn once."""
        if stratum not in self._sentences or self._sentences[stratum].shape[1] != n:
            self._sentences[stratum] = resample_counts(n, self.n_replicates, self._rng)
        return self._sentences[stratum]

    def variant(
        self,
        stratum: str,
        runs: Sequence[np.ndarray],
        metric: Callable[[np.ndarray], np.ndarray],
    ) -> Score:
        """A variant's score on one stratum.

        Args:
            stratum: which sentences (keys the sentence draws).
            runs: one `(n, K)` per-sentence statistics array per seed, the same `n`
                sentences in the same order for every run.
            metric: summed `(…, K)` statistics → score.
        """
        counts = self.sentences(stratum, runs[0].shape[0])
        per_seed_reps = np.stack([metric(counts @ r) for r in runs], axis=1)  # (R, seeds)
        per_seed = np.array([float(metric(r.sum(0))) for r in runs])
        return Score(float(np.mean(per_seed)), per_seed_reps.mean(1), per_seed, per_seed_reps)


@dataclass(frozen=True)
class SeedTest:
    """Welch's t-test of a difference of means over seeds: the standard error and the
    Welch-Satterthwaite degrees of freedom (`se = 0`: every seed scored the same)."""

    diff: float
    se: float
    df: float

    @classmethod
    def welch(cls, a: Sequence[float], b: Sequence[float]) -> SeedTest | None:
        """The test of `mean(a) - mean(b)`; None with fewer than 2 finite values a side."""
        a, b = np.asarray(finite(a)), np.asarray(finite(b))
        if min(a.size, b.size) < MIN_SEEDS:
            return None
        va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
        se = math.sqrt(va + vb)
        denom = va**2 / (a.size - 1) + vb**2 / (b.size - 1)
        df = (va + vb) ** 2 / denom if denom > 0 else float(a.size + b.size - 2)
        return cls(float(a.mean() - b.mean()), se, df)

    @classmethod
    def regression(cls, x: Sequence[float], y: Sequence[float]) -> SeedTest | None:
        """The least-squares slope of `y` on `x` over runs (one point per run), its
        standard error and `n - 2` degrees of freedom; None with fewer than 3 points or
        one x."""
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        xc = x - x.mean()
        if x.size < 3 or not (xc @ xc) > 0:
            return None
        b = float((y - y.mean()) @ xc / (xc @ xc))
        resid = y - y.mean() - b * xc
        se = math.sqrt(float(resid @ resid) / (x.size - 2) / float(xc @ xc))
        return cls(b, se, float(x.size - 2))

    def combined(self, observed: float, sentence_var: float, overlap: float) -> SeedTest:
        """Both levels in one test of `observed`: the sentence draws' variance plus this
        test's, less the part both hold (`overlap`), and never below either; the degrees of
        freedom Satterthwaite's, with the sentence level's variance taken as known (R is
        large).

        Each level alone misses the other's noise: the bootstrap holds the seeds fixed (a
        variant's few seeds may all sit high by chance), Welch holds the test sentences
        fixed (a variant's own advantage on some of them looks like a true effect). Where both
        are present (docs/statistics.md, the `mixed` regime), each rejected up to 9% of A/A
        designs at 5-10 seeds, and so did the larger of their p."""
        var = max(sentence_var + self.se**2 - overlap, sentence_var, self.se**2)
        df = self.df * (var / self.se**2) ** 2 if self.se > 0 else MAX_DF
        return SeedTest(observed, math.sqrt(var), min(df, MAX_DF))

    def p(self) -> float:
        """Two-sided p against 0."""
        if self.se == 0:
            return 1.0 if self.diff == 0 else 0.0
        return float(2 * student_t.sf(abs(self.diff) / self.se, self.df))

    def interval(self, level: float) -> tuple[float, float]:
        half = float(student_t.ppf(0.5 + level / 2, self.df)) * self.se if self.se else 0.0
        return self.diff - half, self.diff + half


@dataclass(frozen=True)
class PairedTest:
    """A difference tested at the sentence and the seed level, and (once its family is
    known) Holm-adjusted.

    Args:
        diff: the observed difference `d` (None where it cannot be had).
        ci_low, ci_high: its 95% interval: the union of the bootstrap's percentile
            interval and the t intervals of the seed level and of both levels.
        eq_low, eq_high: the same at `1 - 2α` (90%), for equivalence (TOST).
        p: two-sided p, the largest of `p_sentences`, `p_seeds` and `p_both`; None where
            not testable.
        p_sentences: the sentence-level bootstrap's p; `p_floor = 1 / (R + 1)`, its least.
        p_seeds: Welch's p over seeds (or the regression's, for a slope over runs).
        p_both: the p of both levels' noise at once (`SeedTest.combined`).
        seeds: the fewest seeds of the two sides.
        untestable: why there is no p (`1 seed per variant`), else None.
        n_replicates: the finite bootstrap replicates behind it.
        p_holm: Holm-adjusted over the `family_size` tests of its family `family`.
        p_at_floor: `p` is the bootstrap's floor, so the true p is smaller than shown.
        significant: `p_holm < ALPHA`.
    """

    diff: float | None
    ci_low: float | None
    ci_high: float | None
    p: float | None
    p_floor: float | None
    n_replicates: int
    eq_low: float | None = None
    eq_high: float | None = None
    p_sentences: float | None = None
    p_seeds: float | None = None
    p_both: float | None = None
    seeds: int | None = None
    untestable: str | None = None
    p_holm: float | None = None
    family: str | None = None
    family_size: int | None = None
    p_at_floor: bool = False
    significant: bool = False

    @property
    def positive(self) -> bool:
        """Significantly above zero after the correction."""
        return self.significant and self.diff > 0

    def within(self, margin: float) -> bool:
        """Equivalent within `±margin` (TOST at α): the `1 - 2α` interval inside it."""
        return (
            self.p is not None
            and self.eq_low is not None
            and -margin < self.eq_low
            and self.eq_high < margin
        )

    def adjusted(self, p_holm: float | None, family: str | None = None, size: int | None = None):
        """This test with its Holm-adjusted p over `family` (`size` tests)."""
        return dataclasses.replace(
            self,
            p_holm=p_holm,
            family=family,
            family_size=size,
            p_at_floor=self.p is not None and self.p <= self.p_floor * (1 + 1e-9),
            significant=p_holm is not None and p_holm < ALPHA,
        )

    def scaled(self, factor: float) -> PairedTest:
        """The difference and its intervals in other units (the p does not change)."""
        if self.diff is None:
            return self
        scale = {
            k: (None if getattr(self, k) is None else getattr(self, k) * factor)
            for k in ("diff", "ci_low", "ci_high", "eq_low", "eq_high")
        }
        return dataclasses.replace(self, **scale)

    def flipped(self) -> PairedTest:
        """The test of `b − a`: the same p, its sign and intervals turned."""
        if self.diff is None:
            return self
        return dataclasses.replace(
            self,
            diff=-self.diff,
            ci_low=-self.ci_high,
            ci_high=-self.ci_low,
            eq_low=None if self.eq_high is None else -self.eq_high,
            eq_high=None if self.eq_low is None else -self.eq_low,
        )

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _union(a: tuple, b: tuple | None) -> tuple[float | None, float | None]:
    if b is None or a[0] is None:
        return a
    return min(a[0], b[0]), max(a[1], b[1])


def difference(
    observed: float,
    replicates: np.ndarray,
    seeds: SeedTest | None = None,
    n_seeds: int = 0,
    overlap: float = 0.0,
) -> PairedTest:
    """The calibrated test of a difference.

    Args:
        observed: the difference on the data, `d`.
        replicates: `(R,)` the difference in each sentence-level replicate, `d*` (NaN
            replicates, e.g. a band with no word drawn, are left out).
        seeds: the seed-level test of the same difference; None where there is none.
        n_seeds: the fewest seeds of the two sides (for the reason it is not testable).
        overlap: the variance both levels count (`overlap` of each side's seed
            replicates, summed), for the test of both levels at once.

    Returns:
        The test, not yet Holm-adjusted: its p the largest of the bootstrap's two-sided
        `(1 + #{|d* - d| >= |d|}) / (R + 1)`, the seed level's and both levels' at once
        (`SeedTest.combined`); its intervals the union of theirs. Without a seed-level
        test: no p, and `untestable` says why.
    """
    d = replicates[np.isfinite(replicates)]
    if not math.isfinite(observed) or d.size == 0:
        return PairedTest(None, None, None, None, None, int(d.size), seeds=n_seeds or None)
    beyond = int(np.sum(np.abs(d - observed) >= abs(observed) - 1e-9))
    p_sentences = (1 + beyond) / (d.size + 1)
    ci = percentile_interval(d, 1 - ALPHA)
    eq = percentile_interval(d, 1 - 2 * ALPHA)
    p_seeds = p_both = untestable = None
    if seeds is None:
        untestable = (
            f"{n_seeds} seed{'s' if n_seeds != 1 else ''} per variant: the seed-level test "
            f"needs >= {MIN_SEEDS}"
        )
    else:
        both = seeds.combined(observed, float(d.var(ddof=1)) if d.size > 1 else 0.0, overlap)
        ci = _union(_union(ci, seeds.interval(1 - ALPHA)), both.interval(1 - ALPHA))
        eq = _union(_union(eq, seeds.interval(1 - 2 * ALPHA)), both.interval(1 - 2 * ALPHA))
        p_seeds, p_both = seeds.p(), both.p()
    return PairedTest(
        diff=observed,
        ci_low=ci[0],
        ci_high=ci[1],
        eq_low=eq[0],
        eq_high=eq[1],
        p=None if seeds is None else max(p_sentences, p_seeds, p_both),
        p_floor=1 / (d.size + 1),
        p_sentences=p_sentences,
        p_seeds=p_seeds,
        p_both=p_both,
        seeds=n_seeds or None,
        untestable=untestable,
        n_replicates=int(d.size),
    )


def paired(a: Score, b: Score) -> PairedTest:
    """The test of `a − b`: the sentence bootstrap paired on shared draws, Welch over the
    two variants' seeds."""
    return difference(
        a.observed - b.observed,
        a.replicates - b.replicates,
        SeedTest.welch(a.per_seed, b.per_seed),
        min(a.per_seed.size, b.per_seed.size),
        overlap(a.seed_replicates) + overlap(b.seed_replicates),
    )


def trend(a: Sequence[Score], b: Sequence[Score], x: Sequence[float]) -> PairedTest:
    """The least-squares slope of the per-bucket difference `a − b` against `x` (the
    buckets' mean source length), per unit of `x`: bootstrapped with the shared sentence
    draws, and at the seed level Welch's test on each seed's own slope."""
    gain = np.array([sa.observed - sb.observed for sa, sb in zip(a, b, strict=True)])
    reps = np.stack([sa.replicates - sb.replicates for sa, sb in zip(a, b, strict=True)], 1)
    per_a = slope(x, np.stack([s.per_seed for s in a], axis=1))  # (seeds,)
    per_b = slope(x, np.stack([s.per_seed for s in b], axis=1))
    return difference(
        float(slope(x, gain)),
        slope(x, reps),
        SeedTest.welch(per_a, per_b),
        min(per_a.size, per_b.size),
        overlap(seed_slopes(a, x)) + overlap(seed_slopes(b, x)),
    )


def seed_slopes(cells: Sequence[Score], x: Sequence[float]) -> np.ndarray | None:
    """`(R, seeds)` each seed's slope over the cells in each replicate; None where a
    cell has no seed replicates."""
    if any(c.seed_replicates is None for c in cells):
        return None
    return slope(x, np.stack([c.seed_replicates for c in cells], axis=-1))


def log_slope(cells: Sequence[tuple[float, Score]]) -> PairedTest:
    """The least-squares slope of log score on log x over cells `(x, score)` (one per x,
    e.g. the score std at each d): bootstrapped with the shared sentence draws, and at the
    seed level the regression over every run's point (its seeds need not pair across x).
    The slope is `Σ w_x · log score_x`, so the variance both levels count is
    `Σ w_x² · overlap_x`."""
    x = np.log([c[0] for c in cells])
    logs = [s.map(np.log) for _, s in cells]
    observed = float(slope(x, np.array([s.observed for s in logs])))
    reps = slope(x, np.stack([s.replicates for s in logs], axis=1))
    xs = np.concatenate([np.full(s.per_seed.size, xi) for xi, s in zip(x, logs, strict=True)])
    ys = np.concatenate([s.per_seed for s in logs])
    weights = (x - x.mean()) / float((x - x.mean()) @ (x - x.mean()))
    shared = sum(w**2 * overlap(s.seed_replicates) for w, s in zip(weights, logs, strict=True))
    return difference(
        observed,
        reps,
        SeedTest.regression(xs, ys),
        min(s.per_seed.size for s in logs),
        float(shared),
    )


def holm_adjusted(tests: Sequence[PairedTest], family: str | None = None) -> list[PairedTest]:
    """`tests` Holm-adjusted as one family (`holm`), in the input order."""
    m = sum(t.p is not None for t in tests)
    return [
        t.adjusted(p, family, m) for t, p in zip(tests, holm([t.p for t in tests]), strict=True)
    ]


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
