"""The state-size comparison (`ablate.report.dims`) and its claims
(`ablate.report.dim_claims`): each claim supported, not supported and mixed on
constructed comparisons; the slope of log score std on log d paired across d; a sweep
written by hand (through the run's own writers) reported end to end."""

import math
import random
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
import yaml
from test_claims import holm_tested
from test_report import SIGNATURE, WORDS  # the same fake sacrebleu signature and vocabulary

from ablate.report import build_report, write_report
from ablate.report.claims import Holds
from ablate.report.dim_claims import (
    DIM_CLAIMS,
    AdditiveAheadAtLargeDim,
    ScalingKeepsScoresFlat,
    UnscaledScoresGrowWithDim,
    dim_verdicts,
)
from ablate.report.dims import DimPair, Dims, DimSlope, flipped
from ablate.report.markdown import summary_markdown
from ablate.report.rows import Kind, Row
from ablate.report.stats import PairedTest
from ablate.report.strata import ALL
from ablate.results import HYPOTHESES, RunResults, write_hypotheses, write_results
from ablate.scores import ATTENTION_SUMS, AttentionStats, BucketScore, Scores

from conftest import unrendered

DIMS = (32, 64, 128, 256)
D_MODEL = 256  # a Transformer's, split into 8, 4, 2 or 1 heads of DIMS


def paired(diff: float, significant: bool, half: float = 0.1) -> PairedTest:
    """A Holm-adjusted test of `diff` with the interval `diff ± half`."""
    return holm_tested(diff, significant, half)


def dim_slope(attention: str, value: float, significant: bool, half: float = 0.1) -> DimSlope:
    stds = tuple(math.exp(value * math.log(d)) for d in DIMS)
    return DimSlope(attention, DIMS, stds, paired(value, significant, half))


def dim_pair(d: int, diff: float, significant: bool) -> DimPair:
    test = paired(diff, significant, 1.0)
    a, b = f"additive model.hidden={d}", f"multiplicative model.hidden={d}"
    row = Row(f"toy_fr model.hidden={d}", a, b, Kind.PAIR, ALL, 500, 50 + diff, 50.0, test)
    return DimPair(d, "additive", "multiplicative", row)


def family(slopes=(), pairs=()) -> Dims:
    return Dims("toy_fr", DIMS, slopes=tuple(slopes), pairs=tuple(pairs))


# --------------------------------------------------------------------------- the claims


@pytest.mark.parametrize(
    ("slopes", "holds", "mixed"),
    [
        ({"dot": (0.55, True), "multiplicative": (0.4, True)}, True, False),
        ({"dot": (0.02, False), "multiplicative": (-0.3, True)}, False, False),
        ({"dot": (0.55, True), "multiplicative": (0.02, False)}, False, True),
    ],
)
def test_unscaled_scores_grow_with_d(slopes, holds, mixed):
    rows = [dim_slope(a, v, s) for a, (v, s) in slopes.items()]
    rows.append(dim_slope("additive", -0.5, True))  # not a dot product: not read
    finding = UnscaledScoresGrowWithDim().judge(family(rows))
    assert finding.holds is holds and finding.mixed is mixed
    assert "additive" not in finding.text and "over d = 32, 64, 128, 256" in finding.text
    assert ("dot slope +0.55 [+0.45, +0.65] (holds ½)" in finding.text) is (
        slopes["dot"][0] == 0.55
    )
    line = UnscaledScoresGrowWithDim().verdict("toy_fr", finding, many=False).line
    assert ("(holds for dot; not for multiplicative)" in line) is mixed


@pytest.mark.parametrize(
    ("value", "significant", "half", "holds"),
    [
        (0.05, False, 0.15, True),  # no growth found, and none as large as √d's
        (0.5, True, 0.1, False),  # grows as unscaled scores would
        (0.1, False, 0.6, False),  # no slope shown, but the interval holds ½ too
        (-0.4, True, 0.1, False),  # shrinks: not flat either
    ],
)
def test_scaling_by_root_d_keeps_the_scores_flat(value, significant, half, holds):
    finding = ScalingKeepsScoresFlat().judge(
        family([dim_slope("scaled_dot", value, significant, half)])
    )
    assert finding.holds is holds and not finding.mixed
    assert finding.text.startswith(f"scaled_dot slope {value:+.2f}")


@pytest.mark.parametrize(
    ("diffs", "holds", "mixed"),
    [
        ({32: (0.2, False), 64: (-0.3, False), 128: (1.0, False), 256: (4.0, True)}, True, False),
        ({32: (0.2, False), 64: (-0.3, False), 128: (0.1, False), 256: (0.5, False)}, False, True),
        ({32: (3.0, True), 64: (-0.3, False), 128: (1.0, False), 256: (4.0, True)}, False, True),
        ({32: (3.0, True), 64: (2.0, True), 128: (0.1, False), 256: (-4.0, True)}, False, False),
    ],
)
def test_additive_is_ahead_of_multiplicative_only_at_large_d(diffs, holds, mixed):
    pairs = [dim_pair(d, v, s) for d, (v, s) in diffs.items()]
    claim = AdditiveAheadAtLargeDim()
    finding = claim.judge(family(pairs=pairs))
    assert finding.holds is holds and finding.mixed is mixed
    assert [w for w, _ in finding.where] == [
        "the smaller sizes (similar at d ≤ 64)",
        "the largest (additive ahead at d = 256)",
    ]
    assert "d = 256: " in finding.text and "(additive − multiplicative" in finding.text
    verdict = claim.verdict("toy_fr", finding, many=False)
    assert verdict.verdict is (Holds.SUPPORTED if holds else Holds.NOT_SUPPORTED)


def test_claims_without_their_rows_say_nothing():
    for claim in DIM_CLAIMS:
        assert claim.judge(family()) is None, claim.name
    few = family(pairs=[dim_pair(32, 0.0, False), dim_pair(256, 5.0, True)])
    assert AdditiveAheadAtLargeDim().judge(few) is None  # a small/large split needs 3 sizes
    problem = Dims("toy_fr", DIMS, problem="other sentences")
    assert dim_verdicts([problem]) == []


def test_a_flipped_row_is_the_same_test_with_its_sign_turned():
    row = dim_pair(64, 2.0, True).row
    back = flipped(row)
    assert (back.a, back.b, back.test.diff) == (row.b, row.a, -2.0)
    assert (back.test.ci_low, back.test.ci_high) == (-3.0, -1.0)
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


def write_job(sweep: Path, k: int, attention: str, d: int, seed: int, heads=False) -> None:
    refs = references()
    hyps = noisy(refs, seed) if attention == "none" else list(refs)
    if attention == "multiplicative" and d == DIMS[-1]:  # behind additive at the largest d
        hyps = noisy(refs, 7)
    job = sweep / f"{k}-d{d}-{attention}-s{seed}"
    (job / ".hydra").mkdir(parents=True)
    size = f"model.hidden={d}"
    if heads:  # a Transformer's: d = d_model / heads, d_model in the composed config
        size = f"model.heads={D_MODEL // d}"
        model = {"d_model": D_MODEL, "heads": D_MODEL // d, "layers": 2}
        (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"model": model}))
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


def make_sweep(root: Path, seeds=(0, 1), dims=DIMS, none=False, heads=False) -> Path:
    k = 0
    for d in dims:
        for attention in ("none",) * none + ("dot", "scaled_dot", "additive", "multiplicative"):
            for seed in seeds:
                write_job(root, k, attention, d, seed, heads)
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
    sweep = make_sweep(tmp_path)
    report = build_report(sweep, n_bootstrap=2000)  # Holm over the 48 rows of its BLEU table
    (dims,) = report.dims
    assert (dims.family, dims.dims) == ("toy_fr", DIMS)
    assert dims.attentions == ("dot", "scaled_dot", "additive", "multiplicative")
    dot = dims.cell("dot", 256)
    assert dot.n_seeds == 2 and dot.bleu == pytest.approx(100.0)
    assert dot.score_std == pytest.approx(
        1.05 * 16 * (1 + 0.5 * np.mean(np.sin(np.arange(N)))), rel=0.05
    )
    assert dot.score_std_ci_low < dot.score_std < dot.score_std_ci_high  # seeds differ
    slopes = {s.attention: s for s in dims.slopes}
    assert slopes["dot"].holds_footnote and slopes["dot"].test.positive
    assert not slopes["scaled_dot"].holds_footnote and not slopes["scaled_dot"].test.significant
    assert [p.dim for p in dims.pairs] == list(DIMS)
    assert dims.pairs[-1].row.test.positive and not dims.pairs[0].row.test.significant
    found = {v.claim: v.verdict for v in report.verdicts}
    assert found["dims_growth"] is Holds.SUPPORTED
    assert found["dims_scaled"] is Holds.SUPPORTED
    assert found["dims_britz"] is Holds.SUPPORTED

    paths = write_report(sweep, report)
    assert paths["bleu_by_dim_plot"].name == "bleu_by_dim.png"
    assert paths["score_std_by_dim_plot"].name == "score_std_by_dim.png"
    md = paths["summary_md"].read_text()
    assert "## State size d (toy_fr)" in md and "## Attention statistics" in md
    assert "unscaled dot-product scores grow with d" in md
    assert "| dot | 100.0 [100.0, 100.0]" in md
    summary = report.to_json()
    assert summary["dims"][0]["slopes"][0]["attention"] == "dot"
    assert summary["dims"][0]["slopes"][0]["holds_footnote"] is True


def test_sweeps_without_sizes_have_no_dims(tmp_path):
    two = make_sweep(tmp_path / "two", seeds=(0,), dims=(32, 64))  # a slope needs 3 sizes
    assert build_report(two, n_bootstrap=50).dims == ()
    assert not any(v.claim.startswith("dims") for v in build_report(two, n_bootstrap=50).verdicts)
