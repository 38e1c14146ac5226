"""The lecture's claims, each one object, and how a report judges the ones a sweep declared.

A sweep declares before it runs which claims it tests (`report.claims` in its experiment
file: each claim's Holm *family* and, for a claim of similarity, its equivalence
*margin*); the report tests exactly those (`declared`). Every verdict is one of three:

- **supported**: the test that fits the claim passes at α = 0.05 after Holm over the
  claim's declared family (a gain: significantly above 0; similarity: every pair's 90%
  interval inside ±margin, two one-sided tests, which need no correction);
- **not supported**: the data say otherwise (significantly the other way; for similarity,
  some pair differs significantly);
- **inconclusive**: neither, and the line says what would decide it (more seeds, a larger
  test set, the margin) — "no difference found" is not "similar".

The floor rule: a stratum on which every compared variant scores below `FLOOR` (BLEU or
accuracy points) gives no verdict — at 0-5 BLEU there is nothing to compare.

A claim is generic over its evidence: one group's tables (`Evidence`, most claims) or a
family's comparison across the key size d (`ablate.report.dims.Dims`). Every claim is
in one registry, `CLAIMS`; a new claim is a subclass and one `register(MyClaim())`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, ClassVar, Generic, Protocol, TypeVar

from ablate.report.dims import FOOTNOTE_SLOPE, MIN_DIMS, Dims, DimSlope
from ablate.report.rows import Comparisons, JumpAccuracy, Kind, Row, Tables
from ablate.report.stats import PairedTest, format_p, holm_adjusted
from ablate.report.strata import ALL, FAR

if TYPE_CHECKING:
    from ablate.report.tuning import TuningSummary

FLOOR = 5.0  # BLEU or accuracy points: below it on every compared variant, no verdict
# The variants whose score is an unscaled dot product of d components: sᵀh and sᵀWh.
UNSCALED = ("dot", "multiplicative")
SCALED = "scaled_dot"


class Holds(Enum):
    """A claim's verdict in one group."""

    SUPPORTED = "supported"
    NOT_SUPPORTED = "not supported"
    INCONCLUSIVE = "inconclusive"


class Tested(Protocol):
    """A record that carries one test (a row of a table, a slope, a pair across d)."""

    test: PairedTest

    def with_test(self, test: PairedTest): ...


@dataclass(frozen=True)
class Declared:
    """A claim as the sweep declared it.

    Args:
        name: the claim's registered name.
        family: the tests Holm-corrected together (every test of every claim naming it,
            in each compared group; a family holds group claims or dims claims, not both).
        margin: the equivalence margin of a claim of similarity, else None.
        declared: False where the sweep declared no claims and this is the default.
    """

    name: str
    family: str
    margin: float | None = None
    declared: bool = True

    def to_json(self) -> dict:
        return {"name": self.name, "family": self.family, "margin": self.margin}


@dataclass(frozen=True)
class Evidence:
    """What a group's claims read: its tables, its variants' alignment by jump and, in an
    equal-tuning sweep, the tuning."""

    group: str
    tables: Tables
    alignment_by_jump: Mapping[str, Mapping[str, JumpAccuracy]]
    tuning: TuningSummary | None = None


@dataclass(frozen=True)
class Finding:
    """What a claim found in one group.

    Args:
        text: the effects, their intervals and the test, in words.
        holds: the verdict.
        decide: for an inconclusive verdict, what would decide it.
        where: for a claim tested row by row, `(who, verdict)` of each row.
    """

    text: str
    holds: Holds
    decide: str | None = None
    where: tuple[tuple[str, Holds], ...] = ()

    @classmethod
    def per_row(cls, where: Sequence[tuple[str, Holds]], text: str, decide: str) -> Finding:
        """Supported where every row is; not supported where some row is not; else
        inconclusive."""
        seen = {h for _, h in where}
        if Holds.NOT_SUPPORTED in seen:
            holds = Holds.NOT_SUPPORTED
        elif seen == {Holds.SUPPORTED}:
            holds = Holds.SUPPORTED
        else:
            holds = Holds.INCONCLUSIVE
        return cls(text, holds, decide if holds is Holds.INCONCLUSIVE else None, tuple(where))

    @property
    def mixed(self) -> bool:
        return len({h for _, h in self.where}) > 1


@dataclass(frozen=True)
class Verdict:
    """One claim judged in one group (or family across d), and its line in the report."""

    claim: str
    group: str
    verdict: Holds
    line: str
    family: str
    family_size: int
    declared: bool = True

    def to_json(self) -> dict:
        return {
            "claim": self.claim,
            "group": self.group,
            "verdict": self.verdict.value,
            "family": self.family,
            "family_size": self.family_size,
            "declared": self.declared,
            "line": self.line,
        }


E = TypeVar("E")


class Claim(ABC, Generic[E]):
    """A claim of the lecture, tested by the comparison that fits it.

    Subclasses set `name` (its key in `report.claims` and `summary.json`), `sentence` (the
    claim in the lecture's words), `scope` (`group`: judged per group on an `Evidence`;
    `dims`: per family across d on a `Dims`), `family` and `margin` (their defaults where
    a sweep declared none) and define `tests` and `decide`.
    """

    name: ClassVar[str]
    sentence: ClassVar[str]
    scope: ClassVar[str] = "group"
    family: ClassVar[str]
    margin: ClassVar[float | None] = None  # a claim with a default margin needs one

    def sentence_of(self, evidence: E) -> str:
        return self.sentence

    @abstractmethod
    def tests(self, evidence: E) -> Sequence[Tested]:
        """The records whose tests the claim reads: Holm-corrected in its family."""

    @abstractmethod
    def decide(self, rows: Sequence[Tested], evidence: E, declared: Declared) -> Finding | None:
        """The finding from `rows` (as `tests` gave them, their tests adjusted in the
        declared family); None where the sweep does not bear on the claim."""


# --------------------------------------------------------------------------- shared rules


def effect(test: PairedTest, unit: str = "") -> str:
    """`+1.6 BLEU [+1.4, +1.8], p_Holm < 0.0008` (95% interval)."""
    if test.p is None:
        return f"{test.diff:+.1f}{unit} (not testable: {test.untestable})"
    return (
        f"{test.diff:+.1f}{unit} [{test.ci_low:+.1f}, {test.ci_high:+.1f}], "
        f"p_Holm {format_p(test.p_holm, test.p_at_floor)}"
    )


def below_floor(row: Row) -> bool:
    """Every variant of the row scores below `FLOOR` on its stratum."""
    return max(row.a_score, row.b_score) < FLOOR


def gain(test: PairedTest, floor: bool = False) -> Holds:
    """A claimed gain on one test: supported where significantly above 0, not supported
    where significantly below, else (or below the floor, or not testable) inconclusive."""
    if floor or test.p is None or not test.significant:
        return Holds.INCONCLUSIVE
    return Holds.SUPPORTED if test.diff > 0 else Holds.NOT_SUPPORTED


def similar(test: PairedTest, margin: float, floor: bool = False) -> Holds:
    """A claimed similarity on one test: supported where its 90% interval is inside
    ±margin, not supported where it differs significantly, else inconclusive."""
    if floor or test.p is None:
        return Holds.INCONCLUSIVE
    if test.within(margin):
        return Holds.SUPPORTED
    return Holds.NOT_SUPPORTED if test.significant else Holds.INCONCLUSIVE


def to_decide(rows: Sequence[Tested], floors: Sequence[bool] = ()) -> str:
    """What would decide the undecided rows: seeds where some cannot be tested, the
    floor, else more seeds or a larger test set."""
    seeds = min((r.test.seeds or 0 for r in rows), default=0)
    if any(r.test.p is None for r in rows):
        return f"more seeds: {seeds} per variant cannot be tested, run >= 3 (seed=0,1,2)"
    if floors and all(floors):
        return f"a budget at which the variants score above {FLOOR:g}"
    return (
        f"more seeds (this sweep has {seeds} per variant) or a larger test set, to narrow "
        "the intervals"
    )


class GainClaim(Claim[Evidence]):
    """A gain tested row by row: supported where every row's gain is significant."""

    unit: ClassVar[str] = " BLEU"
    floor: ClassVar[bool] = True  # rows below FLOOR give no verdict

    def label(self, row) -> str:
        return row.a

    @abstractmethod
    def describe(self, rows, evidence: Evidence) -> str:
        """The effects and the test, in words."""

    def decide(self, rows, evidence: Evidence, declared: Declared) -> Finding | None:
        if not rows:
            return None
        floors = [self.floor and below_floor(r) for r in rows]
        where = [(self.label(r), gain(r.test, f)) for r, f in zip(rows, floors, strict=True)]
        text = self.describe(rows, evidence)
        if any(floors):
            low = [self.label(r) for r, f in zip(rows, floors, strict=True) if f]
            text += f"; below the {FLOOR:g}-point floor, no verdict: {', '.join(low)}"
        return Finding.per_row(where, text, to_decide(rows, floors))


def vs_none(tables: Tables, stratum=ALL) -> list[Row]:
    """The BLEU rows of each variant against `none` on one stratum."""
    return [r for r in tables.bleu if r.kind is Kind.VS_NONE and r.stratum == stratum]


def pair_rows(tables: Tables) -> list[Row]:
    """Every pair of attention variants, overall test BLEU."""
    return [r for r in tables.bleu if r.kind is Kind.PAIR and r.stratum == ALL]


# --------------------------------------------------------------------------- group claims


class AttentionBeatsFixedContext(GainClaim):
    """Each variant's overall test BLEU is significantly above `none`'s."""

    name = "attention"
    sentence = "attention beats the fixed context vector"
    family = "overall"

    def tests(self, evidence: Evidence) -> list[Row]:
        return vs_none(evidence.tables)

    def describe(self, rows: Sequence[Row], evidence: Evidence) -> str:
        text = "; ".join(f"{r.a} {effect(r.test, ' BLEU')}" for r in rows)
        return f"{text} (overall test BLEU vs none)"


class GainGrowsWithLength(GainClaim):
    """The slope of each variant's per-bucket gain over `none` with source length is
    significantly positive (Bahdanau et al. 2015, Fig. 2)."""

    name = "length"
    sentence = "attention helps most on long sentences (gain grows with source length)"
    family = "trend"
    floor = False

    def tests(self, evidence: Evidence):
        return evidence.tables.trend

    def label(self, row) -> str:
        return row.variant

    def decide(self, rows, evidence: Evidence, declared: Declared) -> Finding | None:
        if not rows and vs_none(evidence.tables):
            return Finding(
                "fewer than 3 populated buckets",
                Holds.INCONCLUSIVE,
                "a test set with sentences in 3 or more length buckets",
            )
        return super().decide(rows, evidence, declared)

    def describe(self, rows, evidence: Evidence) -> str:
        def beats(variant: str) -> int:  # buckets where the variant beats none
            return sum(
                r.test.positive
                for r in evidence.tables.bleu
                if r.a == variant and r.kind is Kind.VS_NONE and r.stratum != ALL
            )

        text = "; ".join(
            f"{r.variant} slope {effect(r.test, ' BLEU/10 words')}, beats none in "
            f"{beats(r.variant)} of {len(rows[0].buckets)} buckets (p_Holm in the bucket table)"
            for r in rows
        )
        return (
            f"{text} (least-squares slope of the per-bucket gain over none against mean "
            "source length)"
        )


class ScoresPerformSimilarly(Claim[Evidence]):
    """Every pair of attention variants is equivalent within the declared margin on
    overall test BLEU (TOST)."""

    name = "scores"
    sentence = 'the score functions give "similar performance"'
    family = "overall"
    margin = 2.0

    def tests(self, evidence: Evidence) -> list[Row]:
        return pair_rows(evidence.tables)

    def decide(self, rows, evidence: Evidence, declared: Declared) -> Finding | None:
        if not rows:
            return None
        m = declared.margin
        floors = [below_floor(r) for r in rows]
        where = [
            (f"{r.a} − {r.b}", similar(r.test, m, f)) for r, f in zip(rows, floors, strict=True)
        ]
        finding = Finding.per_row(where, "", to_decide(rows, floors))

        def eq(r: Row) -> str:
            if r.test.p is None:
                return f"{r.a} − {r.b} {effect(r.test, ' BLEU')}"
            return (
                f"{r.a} − {r.b} {r.test.diff:+.1f} BLEU, 90% [{r.test.eq_low:+.1f}, "
                f"{r.test.eq_high:+.1f}], p_Holm {format_p(r.test.p_holm, r.test.p_at_floor)}"
            )

        by = {h: [r for r, (_, o) in zip(rows, where, strict=True) if o is h] for h in Holds}
        if all(floors):
            scores = {n: s for r in rows for n, s in ((r.a, r.a_score), (r.b, r.b_score))}
            text = (
                f"every variant below the {FLOOR:g}-BLEU floor ("
                + ", ".join(f"{n} {s:.1f}" for n, s in scores.items())
                + "): no verdict"
            )
        elif finding.holds is Holds.SUPPORTED:
            top = max(rows, key=lambda r: abs(r.test.diff))
            text = f"every pair's 90% interval inside ±{m:g} BLEU ({len(rows)} pairs)"
            text += f"; widest: {eq(top)}"
        elif finding.holds is Holds.NOT_SUPPORTED:
            text = "; ".join(eq(r) for r in by[Holds.NOT_SUPPORTED][:4])
            text += f" ({len(by[Holds.NOT_SUPPORTED])} of {len(rows)} pairs differ)"
        else:
            undecided = by[Holds.INCONCLUSIVE]
            text = "; ".join(eq(r) for r in undecided[:4])
            text += (
                f" ({len(undecided)} of {len(rows)} pairs neither inside ±{m:g} BLEU nor "
                "significantly different)"
            )
        text += " (overall test BLEU, two one-sided tests against the declared margin)"
        return Finding(text, finding.holds, finding.decide, finding.where)


class AttentionHelpsRareWords(GainClaim):
    """Each variant's rare-word accuracy is significantly above `none`'s in each rare
    frequency band."""

    name = "rare_words"
    sentence = "attention helps rare words"
    family = "rare_words"
    unit = " points"

    def tests(self, evidence: Evidence) -> Sequence[Row]:
        return evidence.tables.rare_words

    def label(self, row: Row) -> str:
        return f"{row.a} {row.stratum}"

    def describe(self, rows: Sequence[Row], evidence: Evidence) -> str:
        text = "; ".join(
            f"{r.a} {r.stratum} ({r.n} tokens) {effect(r.test, ' points')}" for r in rows
        )
        return f"{text} (rare-word accuracy vs none, by training frequency)"


class AttentionHandlesLongReordering(GainClaim):
    """Each variant's BLEU is significantly above `none`'s on the sentences whose gold
    links jump far (`FAR`); its alignment accuracy on those links is reported."""

    name = "reordering"
    sentence = "attention handles long reordering"
    family = "jumps"

    def tests(self, evidence: Evidence) -> list[Row]:
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


class ScoresSimilarAfterEqualTuning(ScoresPerformSimilarly):
    """`ScoresPerformSimilarly` on the final runs of equal studies: every compared
    attention variant chosen from the same number of finished trials."""

    name = "scores_tuned"

    def sentence_of(self, evidence: Evidence) -> str:
        budget = evidence.tuning.budget if evidence.tuning else "N"
        return (
            f'the score functions give "similar performance" after equal tuning '
            f"({budget} trials each)"
        )

    def decide(self, rows, evidence: Evidence, declared: Declared) -> Finding | None:
        finding = super().decide(rows, evidence, declared)
        tuning = evidence.tuning
        if finding is None:
            return None
        if tuning is None:
            return Finding("the sweep has no tuning record", Holds.INCONCLUSIVE, "a tuning sweep")
        names = sorted({n for r in rows for n in (r.a, r.b)})
        studies = {n: tuning.study_of(n) for n in names}
        untuned = [n for n, s in studies.items() if s is None]
        if untuned:
            return Finding(
                f"{', '.join(untuned)} had no tuning study",
                Holds.INCONCLUSIVE,
                "a study for every compared variant",
            )
        counts = {n: s.trials for n, s in studies.items()}
        if set(counts.values()) != {tuning.budget}:
            budgets = ", ".join(f"{n} {c}" for n, c in counts.items())
            return Finding(
                f"budgets differ ({budgets} finished trials of {tuning.budget})",
                Holds.INCONCLUSIVE,
                "finishing the tuning sweep (resume=true) before comparing",
            )
        text = (
            f"{finding.text}; every variant's setting chosen on validation BLEU from "
            f"{tuning.budget} trials over one search space, then trained with seeds "
            f"{', '.join(map(str, tuning.seeds))}"
        )
        if tuning.training:
            text += f" at {tuning.training}"
        return Finding(text, finding.holds, finding.decide, finding.where)


# --------------------------------------------------------------------------- claims across d


def slope_text(s: DimSlope) -> str:
    """`dot slope +0.62 [+0.55, +0.70] (excludes ½), p_Holm < 0.0001`."""
    t = s.test
    if t.diff is None:
        return f"{s.attention} slope –"
    if t.p is None:
        return f"{s.attention} slope {t.diff:+.2f} (not testable: {t.untestable})"
    half = "holds ½" if s.holds_footnote else "excludes ½"
    return (
        f"{s.attention} slope {t.diff:+.2f} [{t.ci_low:+.2f}, {t.ci_high:+.2f}] ({half}), "
        f"p_Holm {format_p(t.p_holm, t.p_at_floor)}"
    )


def _how(dims: Dims) -> str:
    sizes = ", ".join(str(d) for d in dims.dims)
    return (
        f"(least-squares slope of log score std on log d over d = {sizes}; test sentences "
        "paired across d, and the regression over runs)"
    )


class UnscaledScoresGrowWithDim(Claim[Dims]):
    """Each unscaled dot-product variant's log-log slope is significantly positive."""

    name = "dims_growth"
    sentence = "unscaled dot-product scores grow with d (Vaswani et al. 2017, fn. 4: as √d)"
    scope = "dims"
    family = "dims"

    def tests(self, evidence: Dims) -> list[DimSlope]:
        return [s for s in evidence.slopes if s.attention in UNSCALED]

    def decide(self, rows, evidence: Dims, declared: Declared) -> Finding | None:
        if not rows:
            return None
        text = "; ".join(slope_text(s) for s in rows) + f" {_how(evidence)}"
        return Finding.per_row([(s.attention, gain(s.test)) for s in rows], text, to_decide(rows))


class ScalingKeepsScoresFlat(Claim[Dims]):
    """scaled_dot's slope is equivalent to 0 within the declared slope margin."""

    name = "dims_scaled"
    sentence = "scaling by √d keeps the scores flat as d grows"
    scope = "dims"
    family = "dims"
    margin = 0.25

    def tests(self, evidence: Dims) -> list[DimSlope]:
        s = evidence.slope(SCALED)
        return [] if s is None or s.test.diff is None else [s]

    def decide(self, rows, evidence: Dims, declared: Declared) -> Finding | None:
        if not rows:
            return None
        (s,) = rows
        holds = similar(s.test, declared.margin)
        interval = (
            "" if s.test.p is None else f", 90% [{s.test.eq_low:+.2f}, {s.test.eq_high:+.2f}]"
        )
        text = (
            f"{slope_text(s)}{interval} {_how(evidence)}; flat means the 90% interval inside "
            f"±{declared.margin:g} (two one-sided tests; the footnote's unscaled slope is "
            f"{FOOTNOTE_SLOPE})"
        )
        return Finding(text, holds, to_decide(rows) if holds is Holds.INCONCLUSIVE else None)


class AdditiveAheadAtLargeDim(Claim[Dims]):
    """additive − multiplicative overall BLEU: equivalent within the margin at the smaller
    half of the sizes, and significantly positive at the largest."""

    name = "dims_britz"
    sentence = (
        "additive and multiplicative are similar at small d, and additive is ahead at "
        "large d (Britz et al. 2017)"
    )
    scope = "dims"
    family = "britz"
    margin = 2.0

    def tests(self, evidence: Dims):
        return [p for p in evidence.pairs if p.test.diff is not None]

    def decide(self, rows, evidence: Dims, declared: Declared) -> Finding | None:
        at = {p.dim: p for p in rows}
        if len(at) < MIN_DIMS:
            return None
        sizes = sorted(at)
        small, large = sizes[: len(sizes) // 2], sizes[-1]
        parts = [similar(at[d].test, declared.margin, below_floor(at[d].row)) for d in small]
        if Holds.NOT_SUPPORTED in parts:
            alike = Holds.NOT_SUPPORTED
        else:
            alike = Holds.SUPPORTED if set(parts) == {Holds.SUPPORTED} else Holds.INCONCLUSIVE
        ahead = gain(at[large].test, below_floor(at[large].row))
        text = "; ".join(f"d = {d}: {effect(at[d].test, ' BLEU')}" for d in sizes)
        text += (
            f" ({rows[0].a} − {rows[0].b}, overall test BLEU; similar: 90% interval inside "
            f"±{declared.margin:g}; a d where both score below {FLOOR:g} BLEU gives none)"
        )
        where = [
            (f"the smaller sizes (similar at d ≤ {small[-1]})", alike),
            (f"the largest (additive ahead at d = {large})", ahead),
        ]
        floors = [below_floor(at[d].row) for d in sizes]
        return Finding.per_row(where, text, to_decide(rows, floors))


# --------------------------------------------------------------------------- registry

CLAIMS: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    """Add a claim to those a sweep can declare.

    Raises:
        ValueError: a claim of that name is registered already.
    """
    if claim.name in CLAIMS:
        raise ValueError(f"a claim named {claim.name!r} is registered already")
    CLAIMS[claim.name] = claim
    return claim


for _claim in (
    AttentionBeatsFixedContext(),
    GainGrowsWithLength(),
    ScoresPerformSimilarly(),
    AttentionHelpsRareWords(),
    AttentionHandlesLongReordering(),
    ScoresSimilarAfterEqualTuning(),
    UnscaledScoresGrowWithDim(),
    ScalingKeepsScoresFlat(),
    AdditiveAheadAtLargeDim(),
):
    register(_claim)

# Judged where a sweep declared nothing (an ad-hoc -m sweep); scores_tuned stands in for
# scores in a tuning sweep.
DEFAULT_CLAIMS = (
    "attention",
    "length",
    "scores",
    "rare_words",
    "reordering",
    "dims_growth",
    "dims_scaled",
    "dims_britz",
)


def default_claims(tuned: bool = False) -> list[Declared]:
    names = [("scores_tuned" if n == "scores" and tuned else n) for n in DEFAULT_CLAIMS]
    return [Declared(n, CLAIMS[n].family, CLAIMS[n].margin, declared=False) for n in names]


def parse_claims(claims: Mapping | None, source: str = "report.claims") -> list[Declared]:
    """The claims of a `report.claims` mapping (`name: {family: F, margin: M}`).

    Raises:
        ValueError: an unknown claim, a spec that is not a mapping, a family that is not
            a word or that holds group and dims claims, or a claim of similarity without a
            positive finite margin; naming the fix.
    """
    out = []
    for name, spec in (claims or {}).items():
        if name not in CLAIMS:
            raise ValueError(
                f"{source}: no claim named {name!r}; the claims are {', '.join(CLAIMS)}"
            )
        claim = CLAIMS[name]
        if spec is not None and not isinstance(spec, Mapping):
            raise ValueError(
                f"{source}.{name} must be a mapping like {{family: {claim.family}"
                + (f", margin: {claim.margin:g}}}" if claim.margin is not None else "}")
                + f", got {spec!r}"
            )
        spec = dict(spec or {})
        unknown = set(spec) - {"family", "margin"}
        if unknown:
            raise ValueError(
                f"{source}.{name}: unknown key(s) {', '.join(sorted(unknown))}; a claim takes "
                "family and margin"
            )
        family = spec.get("family", claim.family)
        if not isinstance(family, str) or not family:
            raise ValueError(f"{source}.{name}.family must be a name, got {family!r}")
        margin = spec.get("margin", claim.margin)
        if claim.margin is not None:
            number = isinstance(margin, (int, float)) and not isinstance(margin, bool)
            if not number or not math.isfinite(margin) or margin <= 0:
                raise ValueError(
                    f"{source}.{name}.margin must be a positive number (the equivalence "
                    f"margin, declared before the run), got {margin!r}"
                )
            margin = float(margin)
        elif margin is not None:
            raise ValueError(f"{source}.{name} takes no margin (it is not a claim of similarity)")
        out.append(Declared(name, family, margin))
    scopes: dict[str, dict[str, list[str]]] = {}
    for d in out:
        scopes.setdefault(d.family, {}).setdefault(CLAIMS[d.name].scope, []).append(d.name)
    for family, by in scopes.items():
        if len(by) > 1:
            names = "; ".join(f"{scope}: {', '.join(n)}" for scope, n in by.items())
            raise ValueError(
                f"{source}: family {family!r} holds claims judged on different evidence "
                f"({names}); Holm corrects a family over one kind of evidence, so give "
                "the dims claims a family of their own"
            )
    return out


# --------------------------------------------------------------------------- judging


def _line(claim: Claim, evidence, label: str, finding: Finding, family: str, size: int) -> str:
    where = f" ({label})" if label else ""
    detail = ""
    if finding.mixed:
        parts = [
            f"{h.value} for {', '.join(w for w, o in finding.where if o is h)}"
            for h in Holds
            if any(o is h for _, o in finding.where)
        ]
        detail = f" ({'; '.join(parts)})"
    decide = f"; to decide: {finding.decide}" if finding.decide else ""
    return (
        f"{claim.sentence_of(evidence)}{where}{detail} — {finding.text}{decide} "
        f"[family {family}: {size} test{'s' if size != 1 else ''}, Holm] → "
        f"**{finding.holds.value}**"
    )


def judge(
    declared: Sequence[Declared],
    scopes: Mapping[str, Sequence[tuple[str, object]]],
) -> list[Verdict]:
    """One verdict per declared claim the sweep bears on, per group (or family across d).

    Args:
        declared: the claims, their families and margins.
        scopes: `scope -> [(label, evidence)]`: `group` → each compared group's
            `Evidence`, `dims` → each family's `Dims`.
    """
    out = []
    for scope, items in scopes.items():
        mine = [(CLAIMS[d.name], d) for d in declared if CLAIMS[d.name].scope == scope]
        many = len(items) > 1
        for label, evidence in items:
            raw = {d.name: list(c.tests(evidence)) for c, d in mine}
            families: dict[str, list] = {}
            for _, d in mine:
                members = families.setdefault(d.family, [])
                members += [r for r in raw[d.name] if r not in members]
            adjusted: dict[str, list] = {}
            for family, members in families.items():
                tests = holm_adjusted([r.test for r in members], family)
                adjusted[family] = [r.with_test(t) for r, t in zip(members, tests, strict=True)]
            for claim, d in mine:
                fam = families[d.family]
                rows = [adjusted[d.family][fam.index(r)] for r in raw[d.name]]
                finding = claim.decide(rows, evidence, d)
                if finding is None:
                    continue
                size = sum(r.test.p is not None for r in fam)
                line = _line(claim, evidence, label if many else "", finding, d.family, size)
                out.append(
                    Verdict(claim.name, label, finding.holds, line, d.family, size, d.declared)
                )
    return out


def verdicts(
    comparisons: Comparisons,
    declared: Sequence[Declared],
    dims: Sequence[Dims] = (),
    tuning: TuningSummary | None = None,
) -> list[Verdict]:
    """The verdicts of a sweep: its groups' claims, then its families' across d."""
    groups = [
        (g, Evidence(g, comparisons.tables.of(g), comparisons.alignment_by_jump, tuning))
        for g in comparisons.groups
        if g not in comparisons.problems
    ]
    return judge(
        declared, {"group": groups, "dims": [(d.family, d) for d in dims if not d.problem]}
    )


def declared_of(runs: Sequence, tuned: bool = False) -> list[Declared]:
    """The claims a sweep's runs declared (`report.claims` of their composed configs);
    the defaults where none did.

    Raises:
        ValueError: a malformed declaration, or runs of one sweep that declare different
            claims (two experiments written into one sweep dir).
    """
    found = []
    for run in runs:
        claims = (run.config.get("report") or {}).get("claims")
        if claims is not None and claims not in found:
            found.append(claims)
    if not found:
        return default_claims(tuned)
    if len(found) > 1:
        raise ValueError(
            "the runs of this sweep declare different report.claims (two experiments in one "
            "sweep dir?); report each experiment's runs from a sweep dir of their own"
        )
    return parse_claims(found[0], "report.claims")
