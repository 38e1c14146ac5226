"""Source-length buckets for BLEU-by-length curves (Bahdanau et al. 2015, Fig. 2).

A bucket is a closed range of source lengths in words; the last bucket of a list is
open-ended. Labels are zero-padded (`"01-10"`, `"61+"`) so that sorting them as strings
sorts them by length, which keeps `test/bleu_len/<label>` metric names in order.
"""

from __future__ import annotations

import bisect
import itertools
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

KINDS = ("edges", "quantile")


@dataclass(frozen=True)
class Bucket:
    """A range of source lengths.

    Args:
        label: zero-padded label, e.g. `"01-10"` or `"61+"`.
        lo: smallest length in the bucket (inclusive), in words.
        hi: largest length in the bucket (inclusive), or `None` for an open-ended bucket.
    """

    label: str
    lo: int
    hi: int | None

    def contains(self, length: int) -> bool:
        """Whether `length` lies in `[lo, hi]` (or `[lo, ∞)` when `hi` is `None`)."""
        return self.lo <= length and (self.hi is None or length <= self.hi)


def _check_edges(edges: Sequence[int]) -> list[int]:
    values = list(edges)
    ok = (
        len(values) > 0
        and all(isinstance(e, numbers.Integral) and not isinstance(e, bool) for e in values)
        and all(e >= 1 for e in values)
        and all(a < b for a, b in itertools.pairwise(values))
    )
    if not ok:
        raise ValueError(
            f"bucket edges must be strictly increasing integers >= 1, got {values!r}; "
            "give the lower bound of each bucket, e.g. [1, 11, 21, 31, 41, 51, 61]"
        )
    return [int(e) for e in values]


def _from_edges(edges: list[int]) -> list[Bucket]:
    # The widest finite bound is the last edge (the open bucket's lower bound).
    width = max(2, len(str(edges[-1])))
    buckets = []
    for lo, nxt in itertools.pairwise(edges):
        hi = nxt - 1
        buckets.append(Bucket(label=f"{lo:0{width}d}-{hi:0{width}d}", lo=lo, hi=hi))
    buckets.append(Bucket(label=f"{edges[-1]:0{width}d}+", lo=edges[-1], hi=None))
    return buckets


def _quantile_edges(lengths: Sequence[int], n: int) -> list[int]:
    ordered = sorted(int(x) for x in lengths)
    # Bucket i starts at the length of the sentence at rank i*N/n; ties collapse edges,
    # so heavily tied data gives fewer than n buckets rather than empty ones.
    starts = [ordered[(i * len(ordered)) // n] for i in range(n)]
    return sorted({max(1, s) for s in starts})


def make_buckets(
    kind: str,
    *,
    edges: Sequence[int] | None = None,
    lengths: Sequence[int] | None = None,
    n: int | None = None,
) -> list[Bucket]:
    """Build the list of source-length buckets.

    Args:
        kind: `"edges"` (fixed lower bounds) or `"quantile"` (equal-count buckets).
        edges: for `"edges"`: strictly increasing lower bounds >= 1; bucket `i` is
            `[edges[i], edges[i+1] - 1]` and the last bucket is open-ended.
        lengths: for `"quantile"`: the source lengths (in words) of the test set.
        n: for `"quantile"`: how many buckets to aim for (ties in `lengths` may merge some).

    Returns:
        The buckets in increasing length order; they tile `[edges[0], ∞)` without gaps.

    Raises:
        ValueError: on an unknown kind, bad edges, or a quantile request without
            lengths or with `n < 1`.
    """
    if kind == "edges":
        if edges is None:
            raise ValueError("bucket kind 'edges' needs edges=[...], e.g. [1, 11, 21, 31]")
        return _from_edges(_check_edges(edges))
    if kind == "quantile":
        if lengths is None or len(lengths) == 0:
            raise ValueError("bucket kind 'quantile' needs lengths=[...] (the source lengths)")
        if n is None or isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"bucket kind 'quantile' needs an integer n >= 1, got n={n!r}")
        return _from_edges(_check_edges(_quantile_edges(lengths, int(n))))
    raise ValueError(f"unknown bucket kind {kind!r}; valid kinds: {', '.join(KINDS)}")


def assign(buckets: Sequence[Bucket], length: int) -> int:
    """Index of the bucket that contains `length`.

    Args:
        buckets: contiguous buckets in increasing order, as from `make_buckets`.
        length: a source length in words.

    Returns:
        The index into `buckets`; lengths below the first bucket's `lo` go to bucket 0.
    """
    if not buckets:
        raise ValueError("assign needs at least one bucket")
    los = [b.lo for b in buckets]
    return max(0, bisect.bisect_right(los, length) - 1)
