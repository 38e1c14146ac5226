"""The claims about the state size d, each one object in the style of
`ablate.report.claims`, judged on a family's comparison across d
(`ablate.report.dims.Dims`) rather than on one group's tables:

- Vaswani et al. 2017, footnote 4: unscaled dot-product scores grow with d (as √d: a
  slope of ½ of log score std on log d);
- ibid., Eq. 1: scaling by √d keeps them flat;
- Britz et al. 2017, Table 6: additive and multiplicative attention are similar at small
  d, and additive is ahead at large d.

Each verdict says the effect with its 95% interval and the test, and `supported` or
`not supported` at the Holm-corrected level; a claim with two parts (or two variants)
that holds for one and not the other is mixed, naming both.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

from ablate.report.claims import Claim, Finding, Verdict, effect
from ablate.report.dims import FOOTNOTE_SLOPE, MIN_DIMS, Dims, DimSlope
from ablate.report.stats import format_p

# The variants whose score is an unscaled dot product of d components: sᵀh and sᵀWh.
UNSCALED = ("dot", "multiplicative")
SCALED = "scaled_dot"


class DimClaim(Claim):
    """A claim judged on one family's `Dims` (its `judge` takes that, not an `Evidence`)."""

    @abstractmethod
    def judge(self, evidence: Dims) -> Finding | None:
        """The finding in one family; None where the sweep does not bear on the claim."""


def slope_text(s: DimSlope) -> str:
    """`dot slope +0.62 [+0.55, +0.70] (excludes ½), p_Holm < 0.0001`."""
    t = s.test
    if t.diff is None:
        return f"{s.attention} slope –"
    half = "holds ½" if s.holds_footnote else "excludes ½"
    return (
        f"{s.attention} slope {t.diff:+.2f} [{t.ci_low:+.2f}, {t.ci_high:+.2f}] ({half}), "
        f"p_Holm {format_p(t.p_holm, t.p_at_floor)}"
    )


def _how(dims: Dims) -> str:
    sizes = ", ".join(str(d) for d in dims.dims)
    return (
        f"(least-squares slope of log score std on log d over d = {sizes}; two-level "
        "bootstrap, test sentences paired across d)"
    )


class UnscaledScoresGrowWithDim(DimClaim):
    """Each unscaled dot-product variant's log-log slope is significantly positive."""

    name = "dims_growth"
    sentence = "unscaled dot-product scores grow with d (Vaswani et al. 2017, fn. 4: as √d)"

    def judge(self, evidence: Dims) -> Finding | None:
        rows = [s for s in evidence.slopes if s.attention in UNSCALED]
        if not rows:
            return None
        text = "; ".join(slope_text(s) for s in rows) + f" {_how(evidence)}"
        return Finding.per_variant([(s.attention, s.test.positive) for s in rows], text)


class ScalingKeepsScoresFlat(DimClaim):
    """scaled_dot's slope is not significant and its interval lies below ½: no growth
    found, and none as large as the footnote's for unscaled scores."""

    name = "dims_scaled"
    sentence = "scaling by √d keeps the scores flat as d grows"

    def judge(self, evidence: Dims) -> Finding | None:
        s = evidence.slope(SCALED)
        if s is None or s.test.diff is None:
            return None
        flat = not s.test.significant and s.test.ci_high < FOOTNOTE_SLOPE
        text = (
            f"{slope_text(s)} {_how(evidence)}; flat means a slope not different from 0 "
            f"at the corrected level with its interval below {FOOTNOTE_SLOPE}"
        )
        return Finding(text, flat)


class AdditiveAheadAtLargeDim(DimClaim):
    """No additive − multiplicative BLEU difference at the smaller half of the sizes, and a
    significant gain of additive at the largest."""

    name = "dims_britz"
    sentence = (
        "additive and multiplicative are similar at small d, and additive is ahead at "
        "large d (Britz et al. 2017)"
    )

    def judge(self, evidence: Dims) -> Finding | None:
        rows = {p.dim: p.row for p in evidence.pairs if p.row.test.diff is not None}
        if len(rows) < MIN_DIMS:
            return None
        sizes = sorted(rows)
        small, large = sizes[: len(sizes) // 2], sizes[-1]
        similar = not any(rows[d].test.significant for d in small)
        ahead = rows[large].test.positive
        text = "; ".join(f"d = {d}: {effect(rows[d].test, ' BLEU')}" for d in sizes)
        text += (
            f" ({evidence.pairs[0].a} − {evidence.pairs[0].b}, overall test BLEU, two-level paired "
            "bootstrap, Holm over the BLEU table)"
        )
        where = [
            (f"the smaller sizes (similar at d ≤ {small[-1]})", similar),
            (f"the largest (additive ahead at d = {large})", ahead),
        ]
        return Finding.per_variant(where, text)


DIM_CLAIMS: list[DimClaim] = [
    UnscaledScoresGrowWithDim(),
    ScalingKeepsScoresFlat(),
    AdditiveAheadAtLargeDim(),
]


def dim_verdicts(
    families: Sequence[Dims], claims: Sequence[DimClaim] | None = None
) -> list[Verdict]:
    """One verdict per claim the sweep bears on, per family compared across d."""
    claims = DIM_CLAIMS if claims is None else claims
    many = len(families) > 1
    out = []
    for dims in families:
        if dims.problem:
            continue
        for claim in claims:
            finding = claim.judge(dims)
            if finding is not None:
                out.append(claim.verdict(dims.family, finding, many=many))
    return out
