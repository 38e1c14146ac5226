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
spread a person with `n` trials would see among these `N` (zero at `n = N`).

Both assume the trials are exchangeable draws, as random search gives; for an adaptive
sampler (TPE) the curve reads as "the best of `n` of these trials, picked at random".
Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ExpectedMax:
    """The curve of one variant: for `n = 1 … N` trials, the expected best score and its
    standard deviation under drawing `n` of the `N` trials without replacement; the band
    is `mean ± std` kept within what a best of `n` can be, `[v_(n), v_(N)]`."""

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


def expected_max(scores: Sequence[float]) -> ExpectedMax:
    """Tang et al. 2020's unbiased expected maximum of `n` of `scores`, `n = 1 … N`.

    Args:
        scores: the `N ≥ 1` trials' validation scores, in any order (finite numbers).

    Returns:
        The curve; `mean[0]` is the mean score, `mean[-1]` the best, `std[-1]` zero.

    Raises:
        ValueError: no scores, or one that is not finite.
    """
    values = sorted(float(s) for s in scores)
    if not values:
        raise ValueError("expected_max needs at least one score")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"expected_max needs finite scores, got {values}")
    total = len(values)
    means, stds, lows, highs = [], [], [], []
    for n in range(1, total + 1):
        weights = max_weights(total, n)
        first = sum(w * v for w, v in zip(weights, values, strict=True))
        first = min(max(first, values[n - 1]), values[-1])  # where it is, up to rounding
        # Σ w (v − mean)², not Σ w v² − mean²: the difference cancels when the scores tie.
        std = math.sqrt(sum(w * (v - first) ** 2 for w, v in zip(weights, values, strict=True)))
        means.append(first)
        stds.append(std)
        lows.append(max(first - std, values[n - 1]))  # the best of n is >= the n-th smallest
        highs.append(min(first + std, values[-1]))
    return ExpectedMax(n=list(range(1, total + 1)), mean=means, std=stds, low=lows, high=highs)
