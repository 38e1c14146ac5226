"""Expected best validation score against the number of tuning trials.

Dodge et al. 2019 ("Show Your Work: Improved Reporting of Experimental Results", EMNLP,
§3) argue that a comparison of models depends on the tuning budget, and report the
expected best validation score among `n` hyperparameter trials for `n = 1 … N`. Tang et
al. 2020 ("Showing Your Work Doesn't Always Work", ACL) show that Dodge et al.'s
estimator (which draws the `n` trials with replacement) is biased and give the unbiased
one, the expectation of the maximum of `n` of the `N` observed scores drawn without
replacement. With the scores sorted ascending, `v_(1) ≤ … ≤ v_(N)`:

    E[max of n] = Σ_{i=n}^{N} v_(i) · C(i−1, n−1) / C(N, n)

since the largest of a uniformly random `n`-subset is the `i`-th smallest score with
probability `C(i−1, n−1) / C(N, n)` (the other `n − 1` come from the `i − 1` below it; tied
scores may be ordered either way, the value is the same). The same weights give the
second moment, hence the standard deviation of the best of `n` over those subsets: the
spread a person with `n` trials would see among these `N` (zero at `n = N`, so it says
nothing about how well `N` trials estimate the curve).

The band is that uncertainty: a percentile bootstrap over the trials (Efron & Tibshirani
1993, §13.3). The `N` trials are resampled with replacement `B` times (a fixed seed, so a
curve is a function of its scores), the curve is recomputed on each resample, and the band
at `n` is the 2.5 and 97.5 percentiles of those `B` curves at `n`. At `n = N` it spans the
best of a resample, which misses the best trial about a third of the time, so it has width
whenever the trials differ.

Both assume the trials are exchangeable draws, as random search gives; for an adaptive
sampler (TPE) the curve reads as "the best of `n` of these trials, picked at random".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# The bootstrap band's replicates, seed and coverage: fixed, so a curve depends on its
# scores alone and a resumed sweep redraws the same band.
REPLICATES = 1000
BOOTSTRAP_SEED = 0
LEVEL = 0.95


@dataclass(frozen=True)
class ExpectedMax:
    """The curve of one variant, for `n = 1 … N` trials.

    `mean` is the expected best score under drawing `n` of the `N` trials without
    replacement and `std` its standard deviation over those draws (zero at `n = N`);
    `low` … `high` is the band, the percentile bootstrap interval of `mean` over
    resamples of the trials (`LEVEL`, `REPLICATES`).
    """

    n: list[int]
    mean: list[float]
    std: list[float]
    low: list[float]
    high: list[float]

    def to_json(self) -> dict:
        return {"n": self.n, "mean": self.mean, "std": self.std, "low": self.low, "high": self.high}

    @classmethod
    def from_json(cls, data: dict) -> ExpectedMax:
        return cls(**{k: list(data[k]) for k in ("n", "mean", "std", "low", "high")})


def max_weights(total: int, n: int) -> list[float]:
    """`P(the best of a random n-subset of total ranked items is the i-th smallest)` for
    `i = 1 … total`: `C(i−1, n−1) / C(total, n)` (0 for `i < n`); they sum to 1."""
    if not 1 <= n <= total:
        raise ValueError(f"n must be in 1..{total}, got {n}")
    subsets = math.comb(total, n)
    # Exact integer ratios: C(N, n) overflows a float only for N in the thousands.
    return [math.comb(i - 1, n - 1) / subsets for i in range(1, total + 1)]


def expected_max(
    scores: Sequence[float],
    *,
    replicates: int = REPLICATES,
    seed: int = BOOTSTRAP_SEED,
    level: float = LEVEL,
) -> ExpectedMax:
    """Tang et al. 2020's unbiased expected maximum of `n` of `scores`, `n = 1 … N`, with
    a percentile bootstrap band over the scores.

    Args:
        scores: the `N ≥ 1` trials' validation scores, in any order (finite numbers).
        replicates: the bootstrap's resamples `B`.
        seed: the bootstrap's seed.
        level: the band's coverage, e.g. 0.95 for the 2.5 … 97.5 percentiles.

    Returns:
        The curve; `mean[0]` is the mean score, `mean[-1]` the best, `std[-1]` zero.

    Raises:
        ValueError: no scores, one that is not finite, or a bad `replicates` / `level`.
    """
    values = sorted(float(s) for s in scores)
    if not values:
        raise ValueError("expected_max needs at least one score")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"expected_max needs finite scores, got {values}")
    if replicates < 1 or not 0 < level < 1:
        raise ValueError(
            f"expected_max needs replicates >= 1 and 0 < level < 1, got {replicates}, {level}"
        )
    total = len(values)
    weights = np.array([max_weights(total, n) for n in range(1, total + 1)])  # (n, N)
    means, stds = [], []
    for n, row in enumerate(weights, start=1):
        first = float(row @ values)
        first = min(max(first, values[n - 1]), values[-1])  # where it is, up to rounding
        # Σ w (v − mean)², not Σ w v² − mean²: the difference cancels when the scores tie.
        stds.append(math.sqrt(sum(w * (v - first) ** 2 for w, v in zip(row, values, strict=True))))
        means.append(first)
    low, high = bootstrap_band(np.asarray(values), weights, replicates, seed, level)
    # The percentile interval of a biased statistic need not cover its estimate; a band
    # drawn around a curve must, so it is widened to it where it misses (rare in practice).
    return ExpectedMax(
        n=list(range(1, total + 1)),
        mean=means,
        std=stds,
        low=[min(float(a), m) for a, m in zip(low, means, strict=True)],
        high=[max(float(b), m) for b, m in zip(high, means, strict=True)],
    )


def bootstrap_band(
    values: np.ndarray, weights: np.ndarray, replicates: int, seed: int, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """The percentile bootstrap interval of the expected-max curve at every `n`.

    Args:
        values: the `N` scores, sorted ascending, `(N,)`.
        weights: `max_weights(N, n)` for `n = 1 … N`, `(N, N)` (row `n − 1`).
        replicates, seed, level: as `expected_max`'s.

    Returns:
        `low` and `high`, each `(N,)`.
    """
    total = len(values)
    rng = np.random.default_rng(seed)
    draws = np.sort(values[rng.integers(0, total, size=(replicates, total))], axis=1)  # (B, N)
    curves = draws @ weights.T  # (B, n): each resample's curve
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(curves, [tail, 100 - tail], axis=0)
    return low, high
