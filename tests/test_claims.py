"""The lecture's claims, each judged on small comparison tables built by hand: supported,
not supported, and mixed (holds for some variants), from the rows it reads only."""

import pytest

from ablate.report.claims import (
    CLAIMS,
    AttentionBeatsFixedContext,
    AttentionHandlesLongReordering,
    AttentionHelpsRareWords,
    Claim,
    Evidence,
    Finding,
    GainGrowsWithLength,
    Holds,
    PerVariantClaim,
    ScoresPerformSimilarly,
    register,
    verdicts,
)
from ablate.report.rows import Comparisons, JumpAccuracy, Kind, Row, Tables, TrendRow
from ablate.report.stats import PairedTest
from ablate.report.strata import ALL, FAR, JUMP_BANDS, RARE_BANDS, Stratum, StratumKind

BUCKETS = tuple(Stratum(StratumKind.LENGTH, lab) for lab in ("01-10", "11-20", "21+"))


def holm_tested(diff: float, significant: bool, half: float = 1.0) -> PairedTest:
    """A Holm-adjusted test of `diff` (interval `diff ± half`), significant or not."""
    return PairedTest(
        diff=diff,
        ci_low=diff - half,
        ci_high=diff + half,
        p=0.0001 if significant else 0.4,
        p_floor=0.0001,
        n_replicates=10_000,
        p_holm=0.001 if significant else 0.8,
        p_at_floor=significant,
        significant=significant,
    )


def row(a, diff, significant, *, b="none", stratum=ALL, n=100, group="g") -> Row:
    kind = Kind.VS_NONE if b == "none" else Kind.PAIR
    return Row(group, a, b, kind, stratum, n, 50.0 + diff, 50.0, holm_tested(diff, significant))


def trend(variant, slope, significant, group="g") -> TrendRow:
    x, gain = (5.0, 15.0, 25.0), (1.0, 1.0 + slope, 1.0 + 2 * slope)
    return TrendRow(group, variant, "none", BUCKETS, x, gain, holm_tested(slope, significant))


def judge(claim: Claim, **tables) -> Finding | None:
    by_jump = tables.pop("alignment_by_jump", {})
    return claim.judge(Evidence("g", Tables(**tables), by_jump))


def line(claim: Claim, finding: Finding) -> str:
    return claim.verdict("g", finding, many=False).line


# --------------------------------------------------------------------------- attention


@pytest.mark.parametrize(
    ("gains", "holds", "mixed"),
    [
        ({"dot": (+40.0, True), "additive": (+35.0, True)}, True, False),
        ({"dot": (+0.5, False), "additive": (-3.0, True)}, False, False),
        ({"dot": (+40.0, True), "additive": (+0.5, False)}, False, True),
    ],
)
def test_attention_beats_the_fixed_context(gains, holds, mixed):
    rows = tuple(row(a, d, s) for a, (d, s) in gains.items())
    # A significant loss in one bucket is not the overall claim's business.
    rows += (row("dot", -5.0, True, stratum=BUCKETS[0]),)
    finding = judge(AttentionBeatsFixedContext(), bleu=rows)
    assert finding.holds is holds and finding.mixed is mixed
    assert finding.where == tuple((a, d > 0 and s) for a, (d, s) in gains.items())
    text = line(AttentionBeatsFixedContext(), finding)
    assert text.startswith("attention beats the fixed context vector: **")
    assert ("(holds for dot; not for additive)" in text) is mixed
    assert "-5.0" not in text  # the bucket row was not read


def test_a_significant_loss_is_not_a_gain():
    finding = judge(AttentionBeatsFixedContext(), bleu=(row("dot", -10.0, True),))
    assert finding.holds is False


def test_claims_without_their_rows_say_nothing():
    for claim in CLAIMS:
        assert judge(claim) is None, claim.name


# --------------------------------------------------------------------------- length


@pytest.mark.parametrize(
    ("slopes", "holds", "mixed"),
    [
        ({"dot": (4.0, True), "additive": (4.5, True)}, True, False),
        ({"dot": (0.1, False), "additive": (-1.0, False)}, False, False),
        ({"dot": (4.0, True), "additive": (1.1, False)}, False, True),
    ],
)
def test_the_gain_grows_with_length(slopes, holds, mixed):
    rows = tuple(trend(v, s, sig) for v, (s, sig) in slopes.items())
    # dot beats none in two of the three buckets.
    bleu = tuple(row("dot", 30.0, k > 0, stratum=b) for k, b in enumerate(BUCKETS))
    finding = judge(GainGrowsWithLength(), trend=rows, bleu=bleu)
    assert finding.holds is holds and finding.mixed is mixed
    assert "dot slope" in finding.text and "beats none in 2 of 3 buckets" in finding.text
    assert "additive slope" in finding.text and "beats none in 0 of 3 buckets" in finding.text


def test_the_length_trend_needs_three_buckets():
    finding = judge(GainGrowsWithLength(), bleu=(row("dot", 40.0, True),))
    assert finding.holds is None and "fewer than 3 populated buckets" in finding.text
    verdict = GainGrowsWithLength().verdict("g", finding, many=False)
    assert verdict.verdict is Holds.NOT_TESTED and "**not tested**" in verdict.line


# --------------------------------------------------------------------------- scores


def pair_rows(differ: set[tuple[str, str]]) -> tuple[Row, ...]:
    names = ("dot", "scaled_dot", "additive")
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for stratum in (ALL, *BUCKETS):
                big = (a, b) in differ
                out.append(row(a, 12.0 if big else 0.3, big, b=b, stratum=stratum))
    return tuple(out)


def test_the_score_functions_perform_similarly():
    finding = judge(ScoresPerformSimilarly(), bleu=pair_rows(set()))
    assert finding.holds is True and not finding.mixed
    assert finding.text.startswith("no pair differs in any bucket (12 tests)")


def test_one_score_function_apart_is_not_similar():
    # Mixed: dot and additive agree, scaled_dot differs from both.
    differ = {("dot", "scaled_dot"), ("scaled_dot", "additive")}
    finding = judge(ScoresPerformSimilarly(), bleu=pair_rows(differ))
    assert finding.holds is False
    assert "dot − scaled_dot on all" in finding.text
    assert "scaled_dot − additive on all" in finding.text
    assert "; dot − additive" not in finding.text and not finding.text.startswith("dot − additive")
    assert finding.text.endswith("(8 of 12 tests differ)")


def test_no_score_function_alike_is_not_similar():
    differ = {("dot", "scaled_dot"), ("scaled_dot", "additive"), ("dot", "additive")}
    finding = judge(ScoresPerformSimilarly(), bleu=pair_rows(differ))
    assert finding.holds is False and finding.text.endswith("(12 of 12 tests differ)")


def test_pairs_are_not_read_as_gains_over_none():
    # Only pairs: the attention claim has nothing to judge.
    assert judge(AttentionBeatsFixedContext(), bleu=pair_rows(set())) is None


# --------------------------------------------------------------------------- rare words


@pytest.mark.parametrize(
    ("found", "holds", "mixed"),
    [
        ({"1-5": (20.0, True), "6-20": (10.0, True)}, True, False),
        ({"1-5": (0.5, False), "6-20": (0.0, False)}, False, False),
        ({"1-5": (20.0, True), "6-20": (0.2, False)}, False, True),
    ],
)
def test_attention_helps_rare_words(found, holds, mixed):
    bands = {b.label: b for b in RARE_BANDS}
    rows = tuple(row("dot", d, s, stratum=bands[lab], n=400) for lab, (d, s) in found.items())
    finding = judge(AttentionHelpsRareWords(), rare_words=rows)
    assert finding.holds is holds and finding.mixed is mixed
    assert "dot freq 1-5 (400 tokens)" in finding.text and " points [" in finding.text
    if mixed:
        assert "(holds for dot freq 1-5; not for dot freq 6-20)" in line(
            AttentionHelpsRareWords(), finding
        )


# --------------------------------------------------------------------------- reordering


@pytest.mark.parametrize(
    ("gains", "holds", "mixed"),
    [
        ({"dot": (70.0, True), "additive": (60.0, True)}, True, False),
        ({"dot": (1.0, False), "additive": (2.0, False)}, False, False),
        ({"dot": (70.0, True), "additive": (2.0, False)}, False, True),
    ],
)
def test_attention_handles_long_reordering(gains, holds, mixed):
    rows = tuple(row(a, d, s, stratum=FAR, n=285) for a, (d, s) in gains.items())
    # Near the diagonal, anything may happen: the claim reads the far band only.
    rows += tuple(row(a, -9.0, True, stratum=JUMP_BANDS[0]) for a in gains)
    by_jump = {"dot": {FAR.label: JumpAccuracy(n=900, accuracy=94.1, ci_low=93.6, ci_high=94.7)}}
    finding = judge(AttentionHandlesLongReordering(), jumps=rows, alignment_by_jump=by_jump)
    assert finding.holds is holds and finding.mixed is mixed
    assert "on the 285 sentences whose gold links jump >= 10 words" in finding.text
    assert finding.text.endswith("; dot aligns 94.1% of them")
    assert "-9.0" not in finding.text


# --------------------------------------------------------------------------- registry


def comparisons(groups, problems=None, **tables) -> Comparisons:
    return Comparisons(
        groups=tuple(groups),
        tables=Tables(**tables),
        reference={},
        alignment_by_jump={},
        aso={},
        problems=problems or {},
        n_bootstrap=10_000,
    )


def test_verdicts_per_group_in_registration_order():
    bleu = (row("dot", 40.0, True, group="rnn"), row("dot", 0.1, False, group="transformer"))
    found = verdicts(comparisons(["rnn", "transformer"], bleu=bleu))
    assert [(v.group, v.claim, v.verdict) for v in found] == [
        ("rnn", "attention", Holds.SUPPORTED),
        ("rnn", "length", Holds.NOT_TESTED),
        ("transformer", "attention", Holds.NOT_SUPPORTED),
        ("transformer", "length", Holds.NOT_TESTED),
    ]
    # Several groups: each line names its own.
    assert found[0].line.startswith("attention beats the fixed context vector (rnn): ")
    # A group that could not be compared has no verdict.
    skipped = verdicts(comparisons(["rnn", "transformer"], {"rnn": "other sentences"}, bleu=bleu))
    assert {v.group for v in skipped} == {"transformer"}


def test_a_new_claim_is_one_object_and_its_registration():
    class BeatsNoneEverywhere(PerVariantClaim):
        name = "everywhere"
        sentence = "attention beats none in every bucket"

        def rows(self, evidence):
            return [r for r in evidence.tables.bleu if r.kind is Kind.VS_NONE]

        def label(self, row):
            return f"{row.a} on {row.stratum}"

        def describe(self, rows, evidence):
            return f"{len(rows)} strata"

    claim = BeatsNoneEverywhere()
    bleu = (row("dot", 40.0, True), row("dot", 0.1, False, stratum=BUCKETS[0]))
    found = verdicts(comparisons(["g"], bleu=bleu), [*CLAIMS, claim])
    assert found[-1].claim == "everywhere" and found[-1].verdict is Holds.NOT_SUPPORTED
    assert found[-1].line == (
        "attention beats none in every bucket: **not supported** "
        "(holds for dot on all; not for dot on 01-10) — 2 strata"
    )
    with pytest.raises(ValueError, match="attention"):
        register(AttentionBeatsFixedContext())
    assert [c.name for c in CLAIMS] == ["attention", "length", "scores", "rare_words", "reordering"]
