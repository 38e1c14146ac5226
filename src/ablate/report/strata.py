"""Strata: the subsets of a test set a comparison is made on, as typed values.

A stratum is all sentences, a source-length bucket (Bahdanau et al. 2015, Fig. 2), a band
of sentences by how far their farthest gold link jumps from the diagonal, or a band of
target words by their training frequency. Its text (`str`) is what `summary.json` and
the tables show: `all`, `01-10`, `jump 10+`, `freq 6-20`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from ablate.alignment import JUMP_BANDS as _JUMP_RANGES
from ablate.scores import BucketScore


class StratumKind(Enum):
    """What a stratum selects."""

    ALL = "all"  # every test sentence
    LENGTH = "length"  # sentences of one source-length bucket
    JUMP = "jump"  # sentences by their farthest gold link's jump
    FREQUENCY = "frequency"  # target words by their training frequency


_PREFIX = {
    StratumKind.ALL: "",
    StratumKind.LENGTH: "",
    StratumKind.JUMP: "jump ",
    StratumKind.FREQUENCY: "freq ",
}


@dataclass(frozen=True)
class Stratum:
    """One subset of the test set.

    Args:
        kind: what it selects.
        label: its band or bucket label (`01-10`, `10+`, `6-20`; `all` for all sentences).
        lo, hi: the band's inclusive bounds (`hi` None: no upper end; both None for `all`).
            Strata are equal when their kind and label are: the label names the bounds.
    """

    kind: StratumKind
    label: str
    lo: int | None = field(default=None, compare=False)
    hi: int | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return self.label if self.kind is StratumKind.ALL else _PREFIX[self.kind] + self.label

    @classmethod
    def bucket(cls, bucket: BucketScore) -> Stratum:
        """The source-length bucket of a run's scores."""
        return cls(StratumKind.LENGTH, bucket.label, bucket.lo, bucket.hi)

    def select(self, values: np.ndarray) -> np.ndarray:
        """`(N,)` mask of the values inside `[lo, hi]` (e.g. each sentence's max jump)."""
        values = np.asarray(values)
        inside = values >= self.lo if self.lo is not None else np.ones(values.shape, bool)
        return inside & (values <= self.hi) if self.hi is not None else inside

    @property
    def axis_label(self) -> str:
        """The bounds zero-padded (`00-02`, `10+`), so a figure's x axis sorts by value."""
        if self.lo is None:
            return self.label
        return f"{self.lo:02d}" + (f"-{self.hi:02d}" if self.hi is not None else "+")


def _band(kind: StratumKind, lo: int, hi: int | None) -> Stratum:
    return Stratum(kind, f"{lo}-{hi}" if hi is not None else f"{lo}+", lo, hi)


ALL = Stratum(StratumKind.ALL, "all")
# Sentences by the farthest jump of their gold links (`ablate.alignment.JUMP_BANDS`).
JUMP_BANDS = tuple(_band(StratumKind.JUMP, lo, hi) for lo, hi in _JUMP_RANGES)
FAR = JUMP_BANDS[-1]  # the long reorderings: a gold link jumps >= 10 words
# The rare tail of the training-frequency bands (`ablate.metrics.FREQUENCY_BANDS`).
RARE_BANDS = (_band(StratumKind.FREQUENCY, 1, 5), _band(StratumKind.FREQUENCY, 6, 20))
