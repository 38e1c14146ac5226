"""The key-size comparison (`ablate.report.dims`) and its claims (`dims_growth`,
`dims_scaled`, `dims_britz` in `ablate.report.claims`, scope `dims`): each supported, not
supported and inconclusive on constructed comparisons, judged in their declared
families; the slope of log score std on log d paired across d; a sweep written by hand
(through the run's own writers) reported end to end, with and without declared claims."""

import math
import random
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
import yaml
from test_claims import assert_line, holm_tested, untestable
from test_report import SIGNATURE, WORDS  # the same fake sacrebleu signature and vocabulary

from ablate.report import build_report, write_report
from ablate.report.claims import (
    CLAIMS,
    AdditiveAheadAtLargeDim,
    Declared,
    Holds,
    ScalingKeepsScoresFlat,
    UnscaledScoresGrowWithDim,
    judge,
    verdicts,
)
from ablate.report.dims import DimPair, Dims, DimSlope, flipped
from ablate.report.markdown import summary_markdown
from ablate.report.rows import Comparisons, Kind, Row, Tables
from ablate.report.stats import PairedTest
from ablate.report.strata import ALL
from ablate.run_files import HYPOTHESES, RunResults, write_hypotheses, write_results
from ablate.scores import ATTENTION_SUMS, AttentionStats, BucketScore, Scores

from conftest import unrendered

DIMS = (32, 64, 128, 256)
D_MODEL = 256  # a Transformer's, split into 8, 4, 2 or 1 heads of DIMS
S, NS, I = Holds.SUPPORTED, Holds.NOT_SUPPORTED, Holds.INCONCLUSIVE
DIM_CLAIMS = ("dims_growth", "dims_scaled", "dims_britz")
# conf/experiment/dims.yaml's declaration.
DECLARED = {
    "dims_growth": {"family": "dims"},
    "dims_scaled": {"family": "dims", "margin": 0.25},
    "dims_britz": {"family": "britz", "margin": 2.0},
}


def paired(diff: float, significant: bool, half: float = 0.1) -> PairedTest:
    """An adjusted test of `diff`: 95% interval `diff ± half`, 90% `diff ± 0.8 half`."""
    return holm_tested(diff, significant, half)


def dim_slope(attention: str, value: float, significant: bool, half: float = 0.1,
              test=None) -> DimSlope:  # fmt: skip
    stds = tuple(math.exp(value * math.log(d)) for d in DIMS)
    return DimSlope(attention, DIMS, stds, test or paired(value, significant, half))


def dim_pair(d: int, diff: float, significant: bool, score: float = 50.0) -> DimPair:
    test = paired(diff, significant, 1.0)
    a, b = f"additive model.hidden={d}", f"multiplicative model.hidden={d}"
    row = Row(f"toy_fr model.hidden={d}", a, b, Kind.PAIR, ALL, 500, score + diff, score, test)
    return DimPair(d, "additive", "multiplicative", row)


def family(slopes=(), pairs=()) -> Dims:
    return Dims("toy_fr", DIMS, slopes=tuple(slopes), pairs=tuple(pairs))


def decide(claim, dims: Dims, margin=None):
    """The claim's finding on the records it reads (already adjusted, as `judge` gives)."""
    declared = Declared(claim.name, claim.family, margin or claim.margin)
    return claim.decide(list(claim.tests(dims)), dims, declared)


def judged(dims: Dims, declared=None) -> dict:
    """Each dims claim's verdict through `judge` (scope `dims`), declared as in
    conf/experiment/dims.yaml unless `declared` says otherwise."""
    declared = declared or [
        Declared(n, spec["family"], spec.get("margin")) for n, spec in DECLARED.items()
    ]
    found = judge(declared, {"dims": [("toy_fr", dims)]})
    for v in found:
        assert_line(v)
        assert v.group == "toy_fr"
    return {v.claim: v for v in found}


# --------------------------------------------------------------------------- the claims


@pytest.mark.parametrize(
    ("slopes", "holds"),
    [
        ({"dot": (0.55, True), "multiplicative": (0.4, True)}, S),
        ({"dot": (0.02, False), "multiplicative": (-0.3, True)}, NS),
        ({"dot": (0.55, True), "multiplicative": (0.02, False)}, I),
    ],
)
def test_unscaled_scores_grow_with_d(slopes, holds):
    rows = [dim_slope(a, v, s) for a, (v, s) in slopes.items()]
    rows.append(dim_slope("additive", -0.5, True))  # not a dot product: not read
    finding = decide(UnscaledScoresGrowWithDim(), family(rows))
    assert finding.holds is holds
    assert "additive" not in finding.text and "over d = 32, 64, 128, 256" in finding.text
    assert ("dot slope +0.55 [+0.45, +0.65] (holds ½)" in finding.text) is (
        slopes["dot"][0] == 0.55
    )
    v = judged(family(rows))["dims_growth"]
    assert v.verdict is holds and v.family == "dims" and v.family_size == 2
    assert ("(supported for dot; inconclusive for multiplicative)" in v.line) is (holds is I)


@pytest.mark.parametrize(
    ("value", "significant", "half", "holds"),
    [
        (0.05, False, 0.15, S),  # 90% interval [-0.07, +0.17]: inside ±0.25
        (0.05, True, 0.15, S),  # significant yet inside: equivalent all the same
        (0.5, True, 0.1, NS),  # grows as unscaled scores would
        (-0.4, True, 0.1, NS),  # shrinks: not flat either
        (0.1, False, 0.6, I),  # no slope shown, but the interval reaches ½ too
    ],
)
def test_scaling_by_root_d_keeps_the_scores_flat(value, significant, half, holds):
    dims = family([dim_slope("scaled_dot", value, significant, half)])
    finding = decide(ScalingKeepsScoresFlat(), dims)
    assert finding.holds is holds and not finding.mixed
    assert finding.text.startswith(f"scaled_dot slope {value:+.2f}")
    assert "flat means the 90% interval inside ±0.25" in finding.text
    assert (finding.decide is None) is (holds is not I)
    assert judged(dims)["dims_scaled"].verdict is holds


def test_flat_reads_the_declared_margin_and_needs_a_test():
    dims = family([dim_slope("scaled_dot", 0.05, False, 0.15)])  # 90% [-0.07, +0.17]
    assert decide(ScalingKeepsScoresFlat(), dims, margin=0.25).holds is S
    assert decide(ScalingKeepsScoresFlat(), dims, margin=0.1).holds is I
    one_seed = family([dim_slope("scaled_dot", 0.0, False, test=untestable(0.0))])
    finding = decide(ScalingKeepsScoresFlat(), one_seed)
    assert finding.holds is I and finding.decide.startswith("more seeds")


@pytest.mark.parametrize(
    ("diffs", "holds", "where"),
    [
        ({32: (0.2, False), 64: (-0.3, False), 128: (1.0, False), 256: (4.0, True)}, S, (S, S)),
        ({32: (0.2, False), 64: (-0.3, False), 128: (0.1, False), 256: (0.5, False)}, I, (S, I)),
        ({32: (3.0, True), 64: (-0.3, False), 128: (1.0, False), 256: (4.0, True)}, NS, (NS, S)),
        ({32: (3.0, True), 64: (2.0, True), 128: (0.1, False), 256: (-4.0, True)}, NS, (NS, NS)),
        ({32: (1.0, False), 64: (2.5, False), 128: (0.1, False), 256: (4.0, True)}, I, (I, S)),
    ],
)
def test_additive_is_ahead_of_multiplicative_only_at_large_d(diffs, holds, where):
    pairs = [dim_pair(d, v, s) for d, (v, s) in diffs.items()]
    finding = decide(AdditiveAheadAtLargeDim(), family(pairs=pairs))
    assert finding.holds is holds
    assert finding.where == (
        ("the smaller sizes (similar at d ≤ 64)", where[0]),
        ("the largest (additive ahead at d = 256)", where[1]),
    )
    assert "d = 256: " in finding.text and "(additive − multiplicative" in finding.text
    v = judged(family(pairs=pairs))["dims_britz"]
    assert v.verdict is holds and v.family == "britz" and v.family_size == 4


def test_britz_below_the_floor_gives_no_verdict():
    pairs = [dim_pair(d, 4.0, True, score=0.5) for d in DIMS]  # 4.5 vs 0.5 at every d
    finding = decide(AdditiveAheadAtLargeDim(), family(pairs=pairs))
    assert finding.holds is I and finding.where == (
        ("the smaller sizes (similar at d ≤ 64)", I),
        ("the largest (additive ahead at d = 256)", I),
    )
    assert finding.decide == "a budget at which the variants score above 5"


def test_a_declared_family_corrects_the_dims_claims_together():
    # dims_growth's slope at raw p = 0.03: alone it passes; with scaled_dot's slope and
    # the four britz pairs declared in its family, 0.03 · 6 does not.
    raw = PairedTest(0.5, 0.3, 0.7, 0.03, 1e-4, 10_000, 0.35, 0.65, seeds=3)
    growth = [dim_slope("dot", 0.5, False, test=raw)]
    flat = [dim_slope("scaled_dot", 0.0, False, 0.1)]
    pairs = [dim_pair(d, 0.1, False) for d in DIMS]
    dims = family(growth + flat, pairs)
    alone = judged(dims, [Declared("dims_growth", "dims")])["dims_growth"]
    assert alone.verdict is S and alone.family_size == 1
    together = judged(
        dims,
        [
            Declared("dims_growth", "all"),
            Declared("dims_scaled", "all", 0.25),
            Declared("dims_britz", "all", 2.0),
        ],
    )
    assert {v.family_size for v in together.values()} == {6}
    assert together["dims_growth"].verdict is I


def test_claims_without_their_rows_say_nothing():
    for name in DIM_CLAIMS:
        assert decide(CLAIMS[name], family()) is None, name
    few = family(pairs=[dim_pair(32, 0.0, False), dim_pair(256, 5.0, True)])
    assert decide(AdditiveAheadAtLargeDim(), few) is None  # a small/large split needs 3 sizes
    assert judged(family()) == {}
    problem = Dims("toy_fr", DIMS, problem="other sentences")
    none = Comparisons((), Tables(), {}, {}, {}, {}, 10)
    declared = [Declared(n, CLAIMS[n].family, CLAIMS[n].margin) for n in DIM_CLAIMS]
    assert verdicts(none, declared, [problem]) == []


def test_a_flipped_row_is_the_same_test_with_its_sign_turned():
    row = dim_pair(64, 2.0, True).row
    back = flipped(row)
    assert (back.a, back.b, back.test.diff) == (row.b, row.a, -2.0)
    assert (back.test.ci_low, back.test.ci_high) == (-3.0, -1.0)
    assert (back.test.eq_low, back.test.eq_high) == pytest.approx((-2.8, -1.2))
    assert back.test.p_holm == row.test.p_holm and flipped(back) == row


# --------------------------------------------------------------------------- a sweep

# How each attention's score std grows with d: d ** exponent (none has no scores).
EXPONENT = {"dot": 0.5, "scaled_dot": 0.0, "additive": 0.1, "multiplicative": 0.5}
N = 40


def references() -> list[str]:
    rng = random.Random(0)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 20))) for _ in range(N)]


def noisy(refs: list[str], seed: int) -> list[str]:
    rng = random.Random(1000 + seed)
    return [" ".join(w if rng.random() > 0.4 else "xx" for w in r.split()) for r in refs]


def std_sums(attention: str, d: int, seed: int) -> list[list[float]]:
    """Per sentence `ATTENTION_SUMS`: its queries and a score std of `c · d^e · (1 + u_i)`,
    `u_i` a per-sentence pattern shared by every d (the same test sentences)."""
    c = 1.0 + 0.1 * seed
    rows = []
    for i in range(N):
        queries = 1 + i % 3
        std = c * d ** EXPONENT[attention] * (1 + 0.5 * math.sin(i))
        rows.append([queries, queries * std, queries * 1.0, queries * 0.5, 0.0])
    return rows


def write_job(sweep: Path, k: int, attention: str, d: int, seed: int, heads=False,
              claims=None) -> None:  # fmt: skip
    """One job dir; `claims`: the `report.claims` of its composed config (None: the
    config declares none, as an ad-hoc sweep's)."""
    refs = references()
    hyps = noisy(refs, seed) if attention == "none" else list(refs)
    if attention == "multiplicative" and d == DIMS[-1]:  # behind additive at the largest d
        hyps = noisy(refs, 7)
    job = sweep / f"{k}-d{d}-{attention}-s{seed}"
    (job / ".hydra").mkdir(parents=True)
    size = f"model.hidden={d}"
    config = {"model": {"hidden": d}, "report": {"claims": claims}}
    if heads:  # a Transformer's: d = d_model / heads, d_model in the composed config
        size = f"model.heads={D_MODEL // d}"
        config["model"] = {"d_model": D_MODEL, "heads": D_MODEL // d, "layers": 2}
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    overrides = [size, f"attention={attention}", f"seed={seed}", "+experiment=dims"]
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    bleu = sacrebleu.corpus_bleu(hyps, [refs], tokenize="none").score
    sums = None if attention == "none" else std_sums(attention, d, seed)
    stats = None
    if sums is not None:
        total = np.sum(sums, axis=0)
        stats = AttentionStats(int(total[0]), *(float(x / total[0]) for x in total[1:]))
    scores = Scores(
        bleu=bleu,
        chrf=bleu,
        exact_match=0.0,
        signature=SIGNATURE,
        buckets=(BucketScore("01+", 1, None, N, bleu),),
        attention_stats=stats,
        sentence_stats=None
        if sums is None
        else {"attention_stats": {"columns": list(ATTENTION_SUMS), "sums": sums}},
    )
    write_results(
        job, RunResults(attention, "toy_fr", seed, "complete", scores=scores, valid_bleu=bleu)
    )
    write_hypotheses(
        job / HYPOTHESES, [(f"src {r}", r, h, "01+") for r, h in zip(refs, hyps, strict=True)]
    )


def make_sweep(root: Path, seeds=(0, 1), dims=DIMS, none=False, heads=False,
               claims=None) -> Path:  # fmt: skip
    k = 0
    for d in dims:
        for attention in ("none",) * none + ("dot", "scaled_dot", "additive", "multiplicative"):
            for seed in seeds:
                write_job(root, k, attention, d, seed, heads, claims)
                k += 1
    return root


def test_the_slope_is_paired_across_d(tmp_path):
    """One seed, a per-sentence pattern shared by every d: every replicate's slope is
    the observed one (drawn sentences are the same at every d), so its interval is a
    point; resampling sentences independently per d would spread it."""
    report = build_report(make_sweep(tmp_path, seeds=(0,), none=True), n_bootstrap=300)
    (dims,) = report.dims
    assert dims.cell("none", 32).score_std is None and dims.slope("none") is None
    dot = dims.slope("dot").test
    assert dot.diff == pytest.approx(0.5) and dot.ci_high - dot.ci_low < 1e-9
    assert dims.slope("scaled_dot").test.diff == pytest.approx(0.0, abs=1e-9)


def test_a_transformers_d_is_its_head_size(tmp_path):
    """`model.heads` at a fixed d_model: d = d_k = d_model / heads, from the job's config."""
    report = build_report(make_sweep(tmp_path, seeds=(0,), heads=True), n_bootstrap=300)
    (dims,) = report.dims
    assert dims.dims == DIMS and dims.axis == "d_k = d_model / model.heads"
    assert dims.slope("dot").test.diff == pytest.approx(0.5)
    assert "Test BLEU by d (`d_k = d_model / model.heads`)" in summary_markdown(report)


def test_a_dims_sweep_is_reported_across_d(tmp_path, monkeypatch):
    monkeypatch.setattr("ablate.report.build.save_figure", unrendered)  # built, not drawn
    sweep = make_sweep(tmp_path, claims=DECLARED)
    report = build_report(sweep, n_bootstrap=2000)  # Holm over the 48 rows of its BLEU table
    (dims,) = report.dims
    assert (dims.family, dims.dims) == ("toy_fr", DIMS)
    assert dims.attentions == ("dot", "scaled_dot", "additive", "multiplicative")
    dot = dims.cell("dot", 256)
    assert dot.n_seeds == 2 and dot.bleu == pytest.approx(100.0)
    assert dot.score_std == pytest.approx(
        1.05 * 16 * (1 + 0.5 * np.mean(np.sin(np.arange(N)))), rel=0.05
    )
    assert dot.score_std_ci_low <= dot.score_std <= dot.score_std_ci_high
    slopes = {s.attention: s for s in dims.slopes}
    assert slopes["dot"].holds_footnote and slopes["dot"].test.positive
    assert slopes["dot"].test.seeds == 2 and slopes["dot"].test.p_seeds is not None
    assert not slopes["scaled_dot"].holds_footnote and not slopes["scaled_dot"].test.significant
    assert [p.dim for p in dims.pairs] == list(DIMS)
    assert dims.pairs[-1].row.test.positive and not dims.pairs[0].row.test.significant
    # Exactly the declared claims, in their declared families.
    assert [d.name for d in report.claims] == list(DECLARED)
    assert all(d.declared for d in report.claims)
    found = {v.claim: v for v in report.verdicts}
    assert set(found) == set(DECLARED)  # no group claim was declared: none judged
    assert {c: v.verdict for c, v in found.items()} == dict.fromkeys(DECLARED, S)
    assert (found["dims_growth"].family, found["dims_growth"].family_size) == ("dims", 3)
    assert (found["dims_scaled"].family, found["dims_scaled"].family_size) == ("dims", 3)
    assert (found["dims_britz"].family, found["dims_britz"].family_size) == ("britz", 4)
    for v in report.verdicts:
        assert_line(v)

    paths = write_report(sweep, report)
    assert paths["bleu_by_dim_plot"].name == "bleu_by_dim.png"
    assert paths["score_std_by_dim_plot"].name == "score_std_by_dim.png"
    md = paths["summary_md"].read_text()
    assert "## Key size d (toy_fr)" in md and "## Attention statistics" in md
    assert "Claims declared before the run (`report.claims`): `dims_growth` (family `dims`)" in md
    assert "`dims_scaled` (family `dims`, margin ±0.25)" in md
    for v in report.verdicts:
        assert f"- {v.line}" in md
    assert "| dot | 100.0 [100.0, 100.0]" in md
    summary = report.to_json()
    assert summary["claims_declared"] is True
    assert [c["name"] for c in summary["claims"]] == list(DECLARED)
    assert summary["dims"][0]["slopes"][0]["attention"] == "dot"
    assert summary["dims"][0]["slopes"][0]["holds_footnote"] is True


def test_an_undeclared_dims_sweep_judges_the_defaults(tmp_path):
    """No `report.claims`: the default claims, said to be defaults; with one seed a
    paired BLEU difference cannot be tested, so britz's is inconclusive, and asks for
    seeds, while the slopes are tested over the runs at the four sizes."""
    report = build_report(make_sweep(tmp_path, seeds=(0,)), n_bootstrap=300)
    assert not any(d.declared for d in report.claims)
    found = {(v.claim, v.group): v for v in report.verdicts}
    groups = [f"toy_fr model.hidden={d}" for d in DIMS]
    assert set(found) == {("scores", g) for g in groups} | {
        (c, "toy_fr") for c in DIM_CLAIMS
    }  # no none: the gains over it are not judged
    assert not any(v.declared for v in report.verdicts)
    assert found["dims_growth", "toy_fr"].verdict is S
    britz = found["dims_britz", "toy_fr"]
    assert britz.verdict is I and "to decide: more seeds: 1 per variant" in britz.line
    assert all(found["scores", g].verdict is I for g in groups)
    md = summary_markdown(report)
    assert "No claims were declared before the run" in md and "the defaults were judged" in md
    assert report.to_json()["claims_declared"] is False


def test_the_dims_section_describes_the_bootstrap_it_ran(tmp_path):
    report = build_report(make_sweep(tmp_path, seeds=(0,), dims=DIMS[:3]), n_bootstrap=50)
    assert "seeds resampled" not in summary_markdown(report)


def test_sweeps_without_sizes_have_no_dims(tmp_path):
    two = make_sweep(tmp_path / "two", seeds=(0,), dims=(32, 64))  # a slope needs 3 sizes
    assert build_report(two, n_bootstrap=50).dims == ()
    assert not any(v.claim.startswith("dims") for v in build_report(two, n_bootstrap=50).verdicts)
