"""The lecture's claims, each one object: which rows it reads, what counts as holding,
and its sentence; `verdicts` judges every registered claim in every group.

A verdict says the claim, the effect with its 95% interval, the test, and `supported`
or `not supported` at the Holm-corrected level (alpha = 0.05). It never says more than
its test: "no pair differs" is what "similar performance" is taken to mean, and the
interval of the largest difference says how similar. A claim tested per variant is
supported only where it holds for every one; a mixed finding names both sides.

A new claim is a `Claim` (or `PerVariantClaim`) subclass and one `register(MyClaim())`;
it reads the tables of `ablate.report.rows` for one group (`Evidence`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

from ablate.report.rows import Comparisons, JumpAccuracy, Kind, Row, Tables, TrendRow
from ablate.report.stats import PairedTest, format_p
from ablate.report.strata import ALL, FAR


class Holds(Enum):
    """A claim's verdict in one group."""

    SUPPORTED = "supported"
    NOT_SUPPORTED = "not supported"
    NOT_TESTED = "not tested"


@dataclass(frozen=True)
class Evidence:
    """What a claim reads: one group's tables and its variants' alignment by jump."""

    group: str
    tables: Tables
    alignment_by_jump: Mapping[str, Mapping[str, JumpAccuracy]]


@dataclass(frozen=True)
class Finding:
    """What a claim found in one group.

    Args:
        text: the effect, its interval and the test, in words.
        holds: whether it holds (None: not tested).
        where: for a claim tested per variant, `(variant, holds)` for each.
    """

    text: str
    holds: bool | None
    where: tuple[tuple[str, bool], ...] = ()

    @classmethod
    def per_variant(cls, where: Sequence[tuple[str, bool]], text: str) -> Finding:
        """Holds where it holds for every variant."""
        return cls(text, all(ok for _, ok in where), tuple(where))

    @property
    def mixed(self) -> bool:
        """It holds for some variants and not for others."""
        return len({ok for _, ok in self.where}) > 1


@dataclass(frozen=True)
class Verdict:
    """One claim judged in one group, and its line in the report."""

    claim: str
    group: str
    verdict: Holds
    line: str

    def to_json(self) -> dict:
        return {
            "claim": self.claim,
            "group": self.group,
            "verdict": self.verdict.value,
            "line": self.line,
        }


class Claim(ABC):
    """A claim of the lecture, tested by the comparison that fits it.

    Subclasses set `name` (its key in `summary.json`) and `sentence` (the claim in the
    lecture's words) and define `judge`; a claim tested variant by variant subclasses
    `PerVariantClaim` instead.
    """

    name: ClassVar[str]
    sentence: ClassVar[str]

    @abstractmethod
    def judge(self, evidence: Evidence) -> Finding | None:
        """The finding in one group; None where the sweep does not bear on the claim."""

    def verdict(self, group: str, finding: Finding, *, many: bool) -> Verdict:
        """The verdict line; `many`: the sweep has several groups, so it names its own."""
        where = f" ({group})" if many else ""
        yes = [v for v, ok in finding.where if ok]
        no = [v for v, ok in finding.where if not ok]
        detail = f" (holds for {', '.join(yes)}; not for {', '.join(no)})" if finding.mixed else ""
        holds = {True: Holds.SUPPORTED, False: Holds.NOT_SUPPORTED, None: Holds.NOT_TESTED}
        verdict = holds[finding.holds]
        line = f"{self.sentence}{where}: **{verdict.value}**{detail} — {finding.text}"
        return Verdict(self.name, group, verdict, line)


class PerVariantClaim(Claim):
    """A claim tested row by row (a variant, or a variant's band): it reads `rows`, holds
    for a row where `holds` says so, and is supported where it holds for every row."""

    @abstractmethod
    def rows(self, evidence: Evidence) -> Sequence[Row | TrendRow]:
        """The rows the claim reads."""

    def holds(self, row: Row | TrendRow) -> bool:
        """Whether the claim holds on one row: by default, a significant gain."""
        return row.test.positive

    def label(self, row: Row | TrendRow) -> str:
        """Who the row speaks for, in a mixed verdict."""
        return row.a

    @abstractmethod
    def describe(self, rows: Sequence[Row | TrendRow], evidence: Evidence) -> str:
        """The effects and the test, in words."""

    def judge(self, evidence: Evidence) -> Finding | None:
        rows = self.rows(evidence)
        if not rows:
            return None
        where = [(self.label(r), self.holds(r)) for r in rows]
        return Finding.per_variant(where, self.describe(rows, evidence))


def effect(test: PairedTest, unit: str = "") -> str:
    """`+1.6 BLEU [+1.4, +1.8], p_Holm < 0.0008`."""
    return (
        f"{test.diff:+.1f}{unit} [{test.ci_low:+.1f}, {test.ci_high:+.1f}], "
        f"p_Holm {format_p(test.p_holm, test.p_at_floor)}"
    )


def vs_none(tables: Tables, stratum=ALL) -> list[Row]:
    """The BLEU rows of each variant against `none` on one stratum."""
    return [r for r in tables.bleu if r.kind is Kind.VS_NONE and r.stratum == stratum]


# --------------------------------------------------------------------------- the claims


class AttentionBeatsFixedContext(PerVariantClaim):
    """Each variant's overall test BLEU is significantly above `none`'s."""

    name = "attention"
    sentence = "attention beats the fixed context vector"

    def rows(self, evidence: Evidence) -> list[Row]:
        return vs_none(evidence.tables)

    def describe(self, rows: Sequence[Row], evidence: Evidence) -> str:
        text = "; ".join(f"{r.a} {effect(r.test, ' BLEU')}" for r in rows)
        return f"{text} (overall test BLEU vs none, two-level paired bootstrap)"


class GainGrowsWithLength(PerVariantClaim):
    """The slope of each variant's per-bucket gain over `none` with source length is
    significantly positive (Bahdanau et al. 2015, Fig. 2)."""

    name = "length"
    sentence = "attention helps most on long sentences (gain grows with source length)"

    def rows(self, evidence: Evidence) -> Sequence[TrendRow]:
        return evidence.tables.trend

    def label(self, row: TrendRow) -> str:
        return row.variant

    def judge(self, evidence: Evidence) -> Finding | None:
        if not self.rows(evidence) and vs_none(evidence.tables):
            return Finding("fewer than 3 populated buckets", None)
        return super().judge(evidence)

    def describe(self, rows: Sequence[TrendRow], evidence: Evidence) -> str:
        def beats(variant: str) -> int:  # buckets where the variant beats none
            return sum(
                r.test.positive
                for r in evidence.tables.bleu
                if r.a == variant and r.kind is Kind.VS_NONE and r.stratum != ALL
            )

        text = "; ".join(
            f"{r.variant} slope {effect(r.test, ' BLEU/10 words')}, beats none in "
            f"{beats(r.variant)} of {len(rows[0].buckets)} buckets"
            for r in rows
        )
        return (
            f"{text} (least-squares slope of the per-bucket gain over none against mean "
            "source length)"
        )


class ScoresPerformSimilarly(Claim):
    """No pair of attention variants differs in any bucket or overall."""

    name = "scores"
    sentence = 'the score functions give "similar performance"'

    def judge(self, evidence: Evidence) -> Finding | None:
        rows = [r for r in evidence.tables.bleu if r.kind is Kind.PAIR]
        if not rows:
            return None
        differ = [r for r in rows if r.test.significant]
        if not differ:
            top = max(rows, key=lambda r: abs(r.test.diff) if r.test.diff is not None else 0)
            text = (
                f"no pair differs in any bucket ({len(rows)} tests); the largest "
                f"difference is {top.a} − {top.b} on {top.stratum}: "
                f"{effect(top.test, ' BLEU')}"
            )
        else:
            overall = [r for r in differ if r.stratum == ALL] or differ
            text = "; ".join(
                f"{r.a} − {r.b} on {r.stratum}: {effect(r.test, ' BLEU')}" for r in overall[:4]
            )
            text += f" ({len(differ)} of {len(rows)} tests differ)"
        return Finding(text, not differ)


class AttentionHelpsRareWords(PerVariantClaim):
    """Each variant's rare-word accuracy is significantly above `none`'s in each rare
    frequency band."""

    name = "rare_words"
    sentence = "attention helps rare words"

    def rows(self, evidence: Evidence) -> Sequence[Row]:
        return evidence.tables.rare_words

    def label(self, row: Row) -> str:
        return f"{row.a} {row.stratum}"

    def describe(self, rows: Sequence[Row], evidence: Evidence) -> str:
        text = "; ".join(
            f"{r.a} {r.stratum} ({r.n} tokens) {effect(r.test, ' points')}" for r in rows
        )
        return f"{text} (rare-word accuracy vs none, by training frequency)"


class AttentionHandlesLongReordering(PerVariantClaim):
    """Each variant's BLEU is significantly above `none`'s on the sentences whose gold
    links jump far (`FAR`); its alignment accuracy on those links is reported."""

    name = "reordering"
    sentence = "attention handles long reordering"

    def rows(self, evidence: Evidence) -> list[Row]:
        return [r for r in evidence.tables.jumps if r.stratum == FAR]

    def describe(self, rows: Sequence[Row], evidence: Evidence) -> str:
        text = "; ".join(f"{r.a} {effect(r.test, ' BLEU')}" for r in rows)
        text += (
            f" on the {rows[0].n} sentences whose gold links jump >= {FAR.lo} words (BLEU vs none)"
        )
        aligned = [
            f"{r.a} aligns {a.accuracy:.1f}% of them"
            for r in rows
            if (a := evidence.alignment_by_jump.get(r.a, {}).get(FAR.label))
        ]
        return text + ("; " + ", ".join(aligned) if aligned else "")


# --------------------------------------------------------------------------- registry

CLAIMS: list[Claim] = []


def register(claim: Claim) -> Claim:
    """Add a claim to those every report judges (in registration order).

    Raises:
        ValueError: a claim of that name is registered already.
    """
    if any(c.name == claim.name for c in CLAIMS):
        raise ValueError(f"a claim named {claim.name!r} is registered already")
    CLAIMS.append(claim)
    return claim


for _claim in (
    AttentionBeatsFixedContext(),
    GainGrowsWithLength(),
    ScoresPerformSimilarly(),
    AttentionHelpsRareWords(),
    AttentionHandlesLongReordering(),
):
    register(_claim)


def verdicts(comparisons: Comparisons, claims: Sequence[Claim] | None = None) -> list[Verdict]:
    """One verdict per claim the sweep bears on, per compared group.

    Args:
        comparisons: the sweep's comparisons.
        claims: the claims to judge; default: every registered one.
    """
    claims = CLAIMS if claims is None else claims
    many = len(comparisons.groups) > 1
    out = []
    for group in comparisons.groups:
        if group in comparisons.problems:
            continue
        evidence = Evidence(group, comparisons.tables.of(group), comparisons.alignment_by_jump)
        for claim in claims:
            finding = claim.judge(evidence)
            if finding is not None:
                out.append(claim.verdict(group, finding, many=many))
    return out
