"""The lecture's claims, each judged on small comparison tables built by hand: supported,
not supported and inconclusive, from the rows it reads only; the floor rule; Holm over
a declared family (`judge`); declaring claims (`parse_claims`, `declared_of`); and the
registry a user's claim joins."""

import re
from pathlib import Path

import pytest

from ablate.report.claims import (
    CLAIMS,
    DEFAULT_CLAIMS,
    FLOOR,
    AttentionBeatsFixedContext,
    AttentionHandlesLongReordering,
    AttentionHelpsRareWords,
    Declared,
    Evidence,
    GainClaim,
    GainGrowsWithLength,
    Holds,
    ScoresPerformSimilarly,
    declared_of,
    default_claims,
    judge,
    parse_claims,
    register,
    verdicts,
)
from ablate.report.dims import DimPair, Dims, DimSlope
from ablate.report.read import Run
from ablate.report.rows import Comparisons, JumpAccuracy, Kind, Row, Tables, TrendRow
from ablate.report.stats import PairedTest
from ablate.report.strata import ALL, FAR, JUMP_BANDS, RARE_BANDS, Stratum, StratumKind
from ablate.run_files import RunResults

BUCKETS = tuple(Stratum(StratumKind.LENGTH, lab) for lab in ("01-10", "11-20", "21+"))
S, N, I = Holds.SUPPORTED, Holds.NOT_SUPPORTED, Holds.INCONCLUSIVE
# The end of every verdict line: its family, its size, Holm, and one of three verdicts.
LINE_END = re.compile(
    r" \[family (?P<family>\S+): (?P<size>\d+) tests?, Holm\] → "
    r"\*\*(?P<verdict>supported|not supported|inconclusive)\*\*$"
)


def raw(diff: float, p: float | None, half: float = 1.0, eq: float | None = None,
           seeds: int = 3) -> PairedTest:  # fmt: skip
    """A test of `diff` as `compare` gives it (not yet family-adjusted): 95% interval
    `diff ± half`, 90% interval `diff ± eq` (default `0.8 · half`); `p=None`: not
    testable, as with one seed."""
    eq = 0.8 * half if eq is None else eq
    return PairedTest(
        diff=diff,
        ci_low=diff - half,
        ci_high=diff + half,
        p=p,
        p_floor=0.0001,
        n_replicates=10_000,
        eq_low=diff - eq,
        eq_high=diff + eq,
        p_sentences=p,
        p_seeds=p,
        seeds=seeds,
        untestable=None if p is not None else f"{seeds} seed per variant: needs >= 2",
    )


def holm_tested(diff: float, significant: bool, half: float = 1.0, eq=None) -> PairedTest:
    """A test of `diff` already Holm-adjusted (in a family of one): significant or not;
    it stays so in any family of fewer than 500 tests."""
    test = raw(diff, 0.0001 if significant else 0.4, half, eq)
    return test.adjusted(test.p, "f", 1)


def untestable(diff: float) -> PairedTest:
    return raw(diff, None, seeds=1).adjusted(None, "f", 0)


def row(a, diff, significant=False, *, test=None, b="none", stratum=ALL, n=100, group="g",
        score=50.0) -> Row:  # fmt: skip
    """`a − b` with `b` scoring `score` and `a` `score + diff`."""
    kind = Kind.VS_NONE if b == "none" else Kind.PAIR
    test = test if test is not None else holm_tested(diff, significant)
    return Row(group, a, b, kind, stratum, n, score + diff, score, test)


def trend(variant, slope, significant, group="g", test=None) -> TrendRow:
    x, gain = (5.0, 15.0, 25.0), (1.0, 1.0 + slope, 1.0 + 2 * slope)
    test = test if test is not None else holm_tested(slope, significant)
    return TrendRow(group, variant, "none", BUCKETS, x, gain, test)


def evidence(tuning=None, alignment_by_jump=None, **tables) -> Evidence:
    return Evidence("g", Tables(**tables), alignment_by_jump or {}, tuning)


def decide(claim, margin=None, **tables):
    """The claim's finding on the rows it reads, as `judge` hands them (already adjusted)."""
    ev = evidence(**tables)
    declared = Declared(claim.name, claim.family, margin if margin else claim.margin)
    return claim.decide(list(claim.tests(ev)), ev, declared)


def one_verdict(name: str, family=None, margin=None, **tables):
    """The one verdict of claim `name`, declared alone, through `judge`."""
    claim = CLAIMS[name]
    declared = Declared(name, family or claim.family, margin or claim.margin)
    (v,) = judge([declared], {"group": [("g", evidence(**tables))]})
    assert_line(v)
    return v


def assert_line(v) -> None:
    """Every verdict line ends with its family and size and one of the three verdicts;
    an inconclusive one says what would decide it."""
    end = LINE_END.search(v.line)
    assert end, v.line
    assert end["family"] == v.family and int(end["size"]) == v.family_size
    assert end["verdict"] == v.verdict.value
    assert ("; to decide: " in v.line) is (v.verdict is I)


# --------------------------------------------------------------------------- attention


@pytest.mark.parametrize(
    ("gains", "holds", "where"),
    [
        ({"dot": (+40.0, True), "additive": (+35.0, True)}, S, (S, S)),
        ({"dot": (+0.5, False), "additive": (-3.0, True)}, N, (I, N)),
        ({"dot": (+40.0, True), "additive": (+0.5, False)}, I, (S, I)),
    ],
)
def test_attention_beats_the_fixed_context(gains, holds, where):
    rows = tuple(row(a, d, s) for a, (d, s) in gains.items())
    # A significant loss in one bucket is not the overall claim's business.
    rows += (row("dot", -5.0, True, stratum=BUCKETS[0]),)
    finding = decide(AttentionBeatsFixedContext(), bleu=rows)
    assert finding.holds is holds and finding.where == tuple(zip(gains, where, strict=True))
    assert "-5.0" not in finding.text  # the bucket row was not read
    v = one_verdict("attention", bleu=rows)
    assert v.verdict is holds and v.family == "overall" and v.family_size == 2
    assert v.line.startswith("attention beats the fixed context vector")
    if holds is I:
        assert "(supported for dot; inconclusive for additive)" in v.line
        assert "to decide: more seeds (this sweep has 3 per variant)" in v.line


@pytest.mark.parametrize(
    ("score", "diff", "holds"),
    [
        (1.0, 2.0, I),  # 3.0 vs 1.0: both below the floor, significant or not
        (0.5, 4.4, I),  # 4.9 vs 0.5
        (3.0, 7.0, S),  # 10.0 vs 3.0: one variant above it, the test speaks
    ],
)
def test_the_floor_rule(score, diff, holds):
    rows = (row("dot", diff, True, score=score),)
    finding = decide(AttentionBeatsFixedContext(), bleu=rows)
    assert finding.holds is holds
    assert (f"below the {FLOOR:g}-point floor, no verdict: dot" in finding.text) is (holds is I)
    if holds is I:
        assert finding.decide == f"a budget at which the variants score above {FLOOR:g}"
        assert "floor" in one_verdict("attention", bleu=rows).line


def test_an_untestable_row_is_inconclusive_and_asks_for_seeds():
    rows = (row("dot", 40.0, test=untestable(40.0)), row("additive", 35.0, True))
    v = one_verdict("attention", bleu=rows)
    assert v.verdict is I and "not testable: 1 seed per variant" in v.line
    assert "to decide: more seeds: 1 per variant cannot be tested" in v.line
    assert v.family_size == 1  # the untestable row is not counted by Holm


def test_claims_without_their_rows_say_nothing():
    empty = evidence()
    dims = Dims("toy_fr", (32, 64, 128, 256))
    for claim in CLAIMS.values():
        ev = dims if claim.scope == "dims" else empty
        declared = Declared(claim.name, claim.family, claim.margin)
        assert claim.decide(list(claim.tests(ev)), ev, declared) is None, claim.name
    assert judge(default_claims(), {"group": [("g", empty)], "dims": [("toy_fr", dims)]}) == []


# --------------------------------------------------------------------------- length


@pytest.mark.parametrize(
    ("slopes", "holds"),
    [
        ({"dot": (4.0, True), "additive": (4.5, True)}, S),
        ({"dot": (0.1, False), "additive": (-1.0, True)}, N),
        ({"dot": (4.0, True), "additive": (1.1, False)}, I),
    ],
)
def test_the_gain_grows_with_length(slopes, holds):
    rows = tuple(trend(v, s, sig) for v, (s, sig) in slopes.items())
    # dot beats none in two of the three buckets (their display tests).
    bleu = tuple(row("dot", 30.0, k > 0, stratum=b) for k, b in enumerate(BUCKETS))
    finding = decide(GainGrowsWithLength(), trend=rows, bleu=bleu)
    assert finding.holds is holds
    assert "dot slope" in finding.text and "beats none in 2 of 3 buckets" in finding.text
    assert "additive slope" in finding.text and "beats none in 0 of 3 buckets" in finding.text
    assert one_verdict("length", trend=rows, bleu=bleu).verdict is holds


def test_the_length_trend_needs_three_buckets():
    finding = decide(GainGrowsWithLength(), bleu=(row("dot", 40.0, True),))
    assert finding.holds is I and "fewer than 3 populated buckets" in finding.text
    assert "3 or more length buckets" in finding.decide
    v = one_verdict("length", bleu=(row("dot", 40.0, True),))
    assert v.line.endswith("[family trend: 0 tests, Holm] → **inconclusive**")


# --------------------------------------------------------------------------- scores


def pairs(differ=(), diff=0.3, eq=0.5, significant=False, score=50.0) -> tuple[Row, ...]:
    """Every pair of three score functions, overall and per bucket; the pairs in `differ`
    9 BLEU apart and significant, the others `diff` apart with 90% interval ± `eq`."""
    names = ("dot", "scaled_dot", "additive")
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for stratum in (ALL, *BUCKETS):
                if (a, b) in differ:
                    test = holm_tested(9.0, True, eq=1.0)
                    out.append(row(a, 9.0, test=test, b=b, stratum=stratum, score=score))
                else:
                    test = holm_tested(diff, significant, eq=eq)
                    out.append(row(a, diff, test=test, b=b, stratum=stratum, score=score))
    return tuple(out)


def test_the_score_functions_perform_similarly():
    finding = decide(ScoresPerformSimilarly(), bleu=pairs())
    assert finding.holds is S
    assert finding.text.startswith("every pair's 90% interval inside ±2 BLEU (3 pairs)")
    v = one_verdict("scores", bleu=pairs())
    assert v.verdict is S and v.family_size == 3  # overall pairs only, not the buckets


def test_a_significant_pair_outside_the_margin_is_not_similar():
    finding = decide(ScoresPerformSimilarly(), bleu=pairs({("dot", "additive")}))
    assert finding.holds is N and finding.text.startswith("dot − additive +9.0 BLEU, 90% [")
    assert "(1 of 3 pairs differ)" in finding.text
    assert dict(finding.where)["dot − scaled_dot"] is S
    v = one_verdict("scores", bleu=pairs({("dot", "additive")}))
    assert "not supported for dot − additive" in v.line


def test_an_interval_past_the_margin_without_a_difference_is_inconclusive():
    # "No significant difference" is not "similar": the 90% interval reaches ±2.5.
    finding = decide(ScoresPerformSimilarly(), bleu=pairs(diff=1.0, eq=2.5))
    assert finding.holds is I
    assert "neither inside ±2 BLEU nor significantly different" in finding.text
    assert finding.decide.startswith("more seeds (this sweep has 3 per variant)")


def test_a_significant_difference_inside_the_margin_is_still_similar():
    # Equivalence and difference can both hold: 0.3 BLEU apart, surely, and surely < 2.
    finding = decide(ScoresPerformSimilarly(), bleu=pairs(diff=0.3, eq=0.1, significant=True))
    assert finding.holds is S


@pytest.mark.parametrize(("margin", "holds"), [(2.0, S), (1.0, I), (0.5, I)])
def test_similarity_reads_the_declared_margin(margin, holds):
    rows = pairs(diff=0.3, eq=0.9)  # 90% interval [-0.6, +1.2]
    v = one_verdict("scores", margin=margin, bleu=rows)
    assert v.verdict is holds and f"±{margin:g} BLEU" in v.line


def test_scores_below_the_floor_give_no_verdict():
    finding = decide(ScoresPerformSimilarly(), bleu=pairs(score=1.0))
    assert finding.holds is I and finding.text.startswith("every variant below the 5-BLEU floor")
    assert finding.decide == "a budget at which the variants score above 5"


def test_untestable_pairs_are_inconclusive():
    rows = tuple(
        row(a, 0.1, test=untestable(0.1), b=b)
        for a, b in (("dot", "scaled_dot"), ("dot", "additive"))
    )
    finding = decide(ScoresPerformSimilarly(), bleu=rows)
    assert finding.holds is I and finding.decide.startswith("more seeds: 1 per variant")
    assert "not testable" in finding.text


def test_pairs_are_not_read_as_gains_over_none():
    assert decide(AttentionBeatsFixedContext(), bleu=pairs()) is None
    assert (
        judge([Declared("attention", "overall")], {"group": [("g", evidence(bleu=pairs()))]}) == []
    )


# --------------------------------------------------------------------------- rare words


@pytest.mark.parametrize(
    ("found", "holds"),
    [
        ({"1-5": (20.0, True), "6-20": (10.0, True)}, S),
        ({"1-5": (0.5, False), "6-20": (-4.0, True)}, N),
        ({"1-5": (20.0, True), "6-20": (0.2, False)}, I),
    ],
)
def test_attention_helps_rare_words(found, holds):
    bands = {b.label: b for b in RARE_BANDS}
    rows = tuple(row("dot", d, s, stratum=bands[lab], n=400) for lab, (d, s) in found.items())
    finding = decide(AttentionHelpsRareWords(), rare_words=rows)
    assert finding.holds is holds
    assert "dot freq 1-5 (400 tokens)" in finding.text and " points [" in finding.text
    v = one_verdict("rare_words", rare_words=rows)
    assert v.family == "rare_words" and v.family_size == 2
    if holds is I:
        assert "(supported for dot freq 1-5; inconclusive for dot freq 6-20)" in v.line


# --------------------------------------------------------------------------- reordering


@pytest.mark.parametrize(
    ("gains", "holds"),
    [
        ({"dot": (70.0, True), "additive": (60.0, True)}, S),
        ({"dot": (-10.0, True), "additive": (2.0, False)}, N),
        ({"dot": (70.0, True), "additive": (2.0, False)}, I),
    ],
)
def test_attention_handles_long_reordering(gains, holds):
    rows = tuple(row(a, d, s, stratum=FAR, n=285) for a, (d, s) in gains.items())
    # Near the diagonal, anything may happen: the claim reads the far band only.
    rows += tuple(row(a, -9.7, True, stratum=JUMP_BANDS[0]) for a in gains)
    by_jump = {"dot": {FAR.label: JumpAccuracy(n=900, accuracy=94.1, ci_low=93.6, ci_high=94.7)}}
    finding = decide(AttentionHandlesLongReordering(), jumps=rows, alignment_by_jump=by_jump)
    assert finding.holds is holds
    assert "on the 285 sentences whose gold links jump >= 10 words" in finding.text
    assert finding.text.endswith("; dot aligns 94.1% of them")
    assert "-9.7" not in finding.text


# --------------------------------------------------------------------------- judge


def family_case():
    """One vs-none row at raw p = 0.02 and three pairs at p = 0.5 (inside ±2)."""
    vs_none = row("dot", 3.0, test=raw(3.0, 0.02))
    pair_rows = [
        row(a, 0.1, test=raw(0.1, 0.5, eq=0.5), b=b)
        for a, b in (("dot", "additive"), ("dot", "scaled_dot"), ("scaled_dot", "additive"))
    ]
    return evidence(bleu=(vs_none, *pair_rows))


def judged(*declared) -> dict:
    found = judge(list(declared), {"group": [("g", family_case())]})
    for v in found:
        assert_line(v)
    return {v.claim: v for v in found}


def test_a_family_is_corrected_together():
    # Alone, p = 0.02 passes Holm; in a family with the three pairs it is 4 · 0.02.
    alone = judged(Declared("attention", "overall"))["attention"]
    assert alone.verdict is S and alone.family_size == 1
    assert alone.line.endswith("[family overall: 1 test, Holm] → **supported**")
    together = judged(Declared("attention", "overall"), Declared("scores", "overall", 2.0))
    assert together["attention"].verdict is I and together["attention"].family_size == 4
    assert "p_Holm 0.08" in together["attention"].line
    assert together["scores"].family_size == 4
    # Declared in families of their own, each is corrected alone.
    apart = judged(Declared("attention", "overall"), Declared("scores", "sim", 2.0))
    assert apart["attention"].verdict is S and apart["attention"].family_size == 1
    assert apart["scores"].family == "sim" and apart["scores"].family_size == 3


def test_rows_read_by_two_claims_of_a_family_count_once():
    found = judged(Declared("scores", "overall", 2.0), Declared("scores_tuned", "overall", 2.0))
    assert found["scores"].family_size == found["scores_tuned"].family_size == 3
    assert found["scores"].verdict is S
    assert found["scores_tuned"].verdict is I  # no tuning record
    assert "the sweep has no tuning record" in found["scores_tuned"].line


def test_verdicts_per_group_skip_the_groups_not_compared():
    bleu = (row("dot", 40.0, True, group="rnn"), row("dot", -8.0, True, group="transformer"))

    def comparisons(problems=None) -> Comparisons:
        return Comparisons(("rnn", "transformer"), Tables(bleu=bleu), {}, {}, {},
                           problems or {}, 10_000)  # fmt: skip

    declared = [Declared("attention", "overall", declared=False)]
    found = verdicts(comparisons(), declared)
    assert [(v.group, v.claim, v.verdict) for v in found] == [
        ("rnn", "attention", S),
        ("transformer", "attention", N),
    ]
    assert found[0].line.startswith("attention beats the fixed context vector (rnn) — ")
    assert not found[0].declared and found[0].to_json()["declared"] is False
    skipped = verdicts(comparisons({"rnn": "other sentences"}), declared)
    assert [v.group for v in skipped] == ["transformer"]
    problem = Dims("toy_fr", (32, 64, 128), problem="other sentences")
    assert verdicts(comparisons(), [Declared("dims_growth", "dims")], [problem]) == []


def test_every_verdict_line_ends_in_one_of_three_and_names_its_family():
    bleu = (
        row("dot", 40.0, True),
        row("additive", 0.4, False),
        *pairs({("dot", "additive")}),
    )
    tables = {
        "bleu": bleu,
        "trend": (trend("dot", 4.0, True), trend("additive", -2.0, True)),
        "rare_words": (row("dot", 20.0, True, stratum=RARE_BANDS[0], score=1.0),),
        "jumps": (row("dot", 70.0, True, stratum=FAR),),
    }
    sizes = (32, 64, 128, 256)
    grow = (("dot", 0.5, True), ("multiplicative", 0.1, False), ("scaled_dot", 0.0, False))
    slopes = tuple(DimSlope(a, sizes, (1.0,) * 4, holm_tested(v, s, 0.1)) for a, v, s in grow)
    dim_pairs = tuple(
        DimPair(d, "additive", "multiplicative", row("additive", x, s, b="multiplicative"))
        for d, x, s in zip(sizes, (0.2, 0.1, 1.0, 4.0), (False, False, False, True), strict=True)
    )
    dims = Dims("toy_fr", sizes, slopes=slopes, pairs=dim_pairs)
    declared = [Declared(n, CLAIMS[n].family, CLAIMS[n].margin) for n in CLAIMS]
    found = judge(declared, {"group": [("g", evidence(**tables))], "dims": [("toy_fr", dims)]})
    assert {v.claim for v in found} == set(CLAIMS)
    assert {v.verdict for v in found} == {S, N, I}  # all three appear
    for v in found:
        assert_line(v)


# --------------------------------------------------------------------------- declaring


def test_parse_claims_fills_the_defaults():
    assert parse_claims(None) == [] and parse_claims({}) == []
    found = parse_claims({"attention": None, "scores": {"margin": 1}, "length": {"family": "x"}})
    assert found == [
        Declared("attention", "overall", None),
        Declared("scores", "overall", 1.0),
        Declared("length", "x", None),
    ]
    assert all(d.declared for d in found) and isinstance(found[1].margin, float)


@pytest.mark.parametrize(
    ("claims", "match"),
    [
        ({"bogus": None}, "no claim named 'bogus'; the claims are attention, length, scores"),
        ({"scores": {"margin": 0}}, r"scores\.margin must be a positive number"),
        ({"scores": {"margin": -1.5}}, r"scores\.margin must be a positive number"),
        ({"scores": {"margin": "2"}}, r"scores\.margin must be a positive number"),
        ({"scores": {"margin": True}}, r"scores\.margin must be a positive number"),
        ({"attention": {"margin": 1.0}}, "takes no margin"),
        ({"attention": {"famly": "x"}}, r"unknown key\(s\) famly; a claim takes family and"),
        ({"attention": {"family": ""}}, r"attention\.family must be a name"),
        ({"attention": {"family": 3}}, r"attention\.family must be a name"),
    ],
)
def test_parse_claims_rejects_a_malformed_declaration(claims, match):
    with pytest.raises(ValueError, match=match) as e:
        parse_claims(claims, "report.claims")
    assert str(e.value).startswith("report.claims")
    if "bogus" in claims:
        assert all(name in str(e.value) for name in CLAIMS)


@pytest.mark.parametrize("margin", [float("nan"), float("inf")])
def test_parse_claims_rejects_a_margin_that_is_not_finite(margin):
    with pytest.raises(ValueError, match="margin"):
        parse_claims({"scores": {"margin": margin}})


@pytest.mark.parametrize("spec", ["overall", 1, ["family", "overall"]])
def test_a_claim_whose_spec_is_not_a_mapping_is_one_clear_error(spec):
    with pytest.raises(ValueError, match=r"report\.claims\.attention"):
        parse_claims({"attention": spec}, "report.claims")


def run(config: dict, k: int = 0) -> Run:
    results = RunResults("dot", "toy_fr", k, "complete")
    return Run(Path(f"/sweep/{k}"), (), results, config=config)


def test_declared_of_reads_the_runs_composed_configs():
    declared = {"attention": {"family": "overall"}, "scores": {"margin": 1.5}}
    runs = [run({"report": {"claims": declared}}, k) for k in range(3)]
    assert declared_of(runs) == [
        Declared("attention", "overall"),
        Declared("scores", "overall", 1.5),
    ]
    # A run without a config (an older run dir) does not make the declaration disagree.
    assert declared_of([*runs, run({}, 9)]) == declared_of(runs)


@pytest.mark.parametrize("config", [{}, {"report": {"claims": None}}, {"report": None}])
def test_declared_of_defaults_where_nothing_was_declared(config):
    found = declared_of([run(config)])
    assert [d.name for d in found] == list(DEFAULT_CLAIMS)
    assert not any(d.declared for d in found)
    for d in found:
        assert (d.family, d.margin) == (CLAIMS[d.name].family, CLAIMS[d.name].margin)
    tuned = declared_of([run(config)], tuned=True)
    assert [d.name for d in tuned] == [
        "scores_tuned" if n == "scores" else n for n in DEFAULT_CLAIMS
    ]


def test_declared_of_refuses_two_declarations_in_one_sweep():
    runs = [run({"report": {"claims": {"attention": None}}}, 0)]
    runs.append(run({"report": {"claims": {"scores": None}}}, 1))
    with pytest.raises(ValueError, match="declare different report.claims"):
        declared_of(runs)
    with pytest.raises(ValueError, match="no claim named 'nope'"):
        declared_of([run({"report": {"claims": {"nope": None}}})])


# --------------------------------------------------------------------------- registry


class BeatsNoneEverywhere(GainClaim):
    """A user's claim: each variant beats none on every stratum of the BLEU table."""

    name = "everywhere"
    sentence = "attention beats none in every bucket"
    family = "buckets"

    def tests(self, evidence):
        return [r for r in evidence.tables.bleu if r.kind is Kind.VS_NONE]

    def label(self, row):
        return f"{row.a} on {row.stratum}"

    def describe(self, rows, evidence):
        return f"{len(rows)} strata"


@pytest.fixture
def everywhere():
    claim = register(BeatsNoneEverywhere())
    yield claim
    del CLAIMS[claim.name]


def test_the_registry_holds_every_built_in_claim():
    assert list(CLAIMS) == [
        "attention",
        "length",
        "scores",
        "rare_words",
        "reordering",
        "scores_tuned",
        "dims_growth",
        "dims_scaled",
        "dims_britz",
    ]
    assert {CLAIMS[n].scope for n in ("dims_growth", "dims_scaled", "dims_britz")} == {"dims"}
    assert all(c.name == n for n, c in CLAIMS.items())
    # A claim of similarity has a default margin; a gain has none.
    assert {n for n, c in CLAIMS.items() if c.margin} == {
        "scores",
        "scores_tuned",
        "dims_scaled",
        "dims_britz",
    }


def test_a_new_claim_is_one_object_and_its_registration(everywhere):
    assert CLAIMS["everywhere"] is everywhere
    (declared,) = parse_claims({"everywhere": None})
    assert declared == Declared("everywhere", "buckets")
    bleu = (row("dot", 40.0, True), row("dot", 0.1, False, stratum=BUCKETS[0]))
    (v,) = judge([declared], {"group": [("g", evidence(bleu=bleu))]})
    assert v.claim == "everywhere" and v.verdict is I
    assert v.line.startswith(
        "attention beats none in every bucket (supported for dot on all; inconclusive for "
        "dot on 01-10) — 2 strata; to decide: "
    )
    assert_line(v)
    with pytest.raises(ValueError, match="'everywhere' is registered already"):
        register(BeatsNoneEverywhere())


def test_a_built_in_name_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="'attention' is registered already"):
        register(AttentionBeatsFixedContext())
    assert isinstance(CLAIMS["attention"], AttentionBeatsFixedContext)
