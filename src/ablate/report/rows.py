"""The records a comparison hands the claims and the renderers: paired rows, trend rows,
alignment accuracy by jump, seed-level ASO, and the tables that hold them.

Every row is one paired test (`ablate.report.stats.PairedTest`), Holm-adjusted within its
table for display; a claim re-adjusts the rows it reads within its declared family
(`ablate.report.claims`). `to_json` gives `summary.json`'s layout.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from enum import Enum

from ablate.report.stats import Aso, PairedTest, holm_adjusted
from ablate.report.strata import Stratum


class Kind(Enum):
    """What a paired row compares."""

    VS_NONE = "vs none"  # an attention variant against the fixed context vector
    PAIR = "pair"  # two attention variants


@dataclass(frozen=True)
class Row:
    """`a − b` on one stratum of one group: `n` sentences (or words, for rare words),
    each variant's score (mean over seeds) and the paired test of the difference."""

    group: str
    a: str
    b: str
    kind: Kind
    stratum: Stratum
    n: int
    a_score: float
    b_score: float
    test: PairedTest

    def to_json(self) -> dict:
        return {
            "group": self.group,
            "a": self.a,
            "b": self.b,
            "kind": self.kind.value,
            "stratum": str(self.stratum),
            "n": self.n,
            "a_score": self.a_score,
            "b_score": self.b_score,
            **self.test.to_json(),
        }

    def with_test(self, test: PairedTest) -> Row:
        return replace(self, test=test)


@dataclass(frozen=True)
class TrendRow:
    """The least-squares slope of `variant`'s per-bucket gain over `baseline` against the
    buckets' mean source length `x` (the test: per 10 source words)."""

    group: str
    variant: str
    baseline: str
    buckets: tuple[Stratum, ...]
    x: tuple[float, ...]
    gain: tuple[float, ...]
    test: PairedTest
    unit: str = "BLEU per 10 source words"

    def to_json(self) -> dict:
        return {
            "group": self.group,
            "variant": self.variant,
            "baseline": self.baseline,
            "buckets": [b.label for b in self.buckets],
            "x": list(self.x),
            "gain": list(self.gain),
            "unit": self.unit,
            **self.test.to_json(),
        }

    def with_test(self, test: PairedTest) -> TrendRow:
        return replace(self, test=test)


@dataclass(frozen=True)
class JumpAccuracy:
    """Alignment accuracy of a variant on the `n` gold links of one jump band (percent,
    mean over seeds, 95% bootstrap interval)."""

    n: int
    accuracy: float
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class AsoPair:
    """Almost Stochastic Order of `a` over `b` on their seeds' test BLEU."""

    a: str
    b: str
    kind: Kind
    aso: Aso

    def to_json(self) -> dict:
        return {"a": self.a, "b": self.b, "kind": self.kind.value, **vars(self.aso)}


@dataclass(frozen=True)
class AsoGroup:
    """A group's ASO pairs, or the reason (too few seeds) they were not run."""

    reason: str | None
    pairs: tuple[AsoPair, ...] = ()


@dataclass(frozen=True)
class Tables:
    """The comparison tables of a report; each Holm-adjusted within itself for display.

    Args:
        bleu: BLEU by bucket and overall, each variant vs `none` and every other pair.
        trend: the slope of each variant's gain over `none` with source length.
        rare_words: rare-word accuracy vs `none` by training-frequency band.
        jumps: BLEU vs `none` by how far the sentence's gold links jump.
    """

    bleu: tuple[Row, ...] = ()
    trend: tuple[TrendRow, ...] = ()
    rare_words: tuple[Row, ...] = ()
    jumps: tuple[Row, ...] = ()

    def items(self) -> Iterator[tuple[str, tuple]]:
        """`(name, rows)` per table, in `summary.json`'s order."""
        for f in fields(self):
            yield f.name, getattr(self, f.name)

    def adjusted(self) -> Tables:
        """Every table Holm-adjusted as one family (named after the table)."""
        out = {}
        for name, rows in self.items():
            tests = holm_adjusted([r.test for r in rows], f"{name} table")
            out[name] = tuple(replace(r, test=t) for r, t in zip(rows, tests, strict=True))
        return Tables(**out)

    def of(self, group: str) -> Tables:
        """The rows of one group."""
        return Tables(
            **{name: tuple(r for r in rows if r.group == group) for name, rows in self.items()}
        )

    def to_json(self) -> dict:
        return {name: [r.to_json() for r in rows] for name, rows in self.items()}


@dataclass(frozen=True)
class Comparisons:
    """Everything the paired comparisons of a sweep found.

    Args:
        groups: every group, compared or not, in report order.
        tables: the Holm-adjusted tables.
        reference: group -> its variant best on validation BLEU.
        alignment_by_jump: variant -> jump band label -> its alignment accuracy.
        aso: group -> its seed-level ASO.
        problems: group -> why it was not compared.
        n_bootstrap: the replicates R every test used.
    """

    groups: tuple[str, ...]
    tables: Tables
    reference: Mapping[str, str]
    alignment_by_jump: Mapping[str, Mapping[str, JumpAccuracy]]
    aso: Mapping[str, AsoGroup]
    problems: Mapping[str, str]
    n_bootstrap: int
