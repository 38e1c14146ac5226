"""The sweep report: means and intervals over seeds, the paired tests (against sacrebleu
and scipy on each run's output), the claims judged (declared or the defaults), failed
jobs.

Sweeps are written by hand (results.json, hypotheses.tsv, .hydra/overrides.yaml and, to
declare claims, .hydra/config.yaml), so no model is trained here.
"""

import json
import math
import random
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import sacrebleu
import yaml
from scipy import stats as scipy_stats
from test_claims import assert_line

from ablate.report import (
    build_report,
    collect,
    mean_ci,
    read_hypotheses,
    report_figure,
    summary_markdown,
    t_quantile_975,
    write_report,
)
from ablate.report.__main__ import main
from ablate.report.claims import DEFAULT_CLAIMS, Holds
from ablate.report.rows import Kind
from ablate.report.strata import ALL

N_BOOT = 200  # enough resamples for clear-cut tests, fast on 2 cores
SIGNATURE = {
    "bleu": "nrefs:1|case:mixed|eff:no|tok:none|smooth:exp|version:2.6.0",
    "chrf": "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0",
}
LABELS = [("01-10", 1, 10), ("11-20", 11, 20), ("21+", 21, None)]
# Bucket BLEU per variant and seed: the numbers the means are checked against.
BUCKET_BLEU = {
    "none": {0: [60.0, 40.0, 20.0], 1: [62.0, 38.0, 24.0], 2: [58.0, 42.0, 22.0]},
    "additive": {0: [99.0, 97.0, 95.0], 1: [98.0, 96.0, 90.0], 2: [97.0, 95.0, 93.0]},
    "multiplicative": {0: [97.0, 95.0, 93.0], 1: [96.0, 91.0, 92.0], 2: [95.0, 93.0, 91.0]},
}
WORDS = [
    "le",
    "la",
    "chat",
    "chien",
    "noir",
    "petit",
    "sur",
    "tapis",
    "était",
    "assis",
    "un",
    "une",
    "et",
    "qui",
    "mange",
]


def references(seed: int, n: int = 80) -> list[str]:
    # The test set comes from the data seed: every training seed shares references(0).
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 25))) for _ in range(n)]


def noisy(refs: list[str], seed: int, rate: float = 0.4) -> list[str]:
    rng = random.Random(1000 + seed)
    return [" ".join(w if rng.random() > rate else "xx" for w in r.split()) for r in refs]


def bucket_of(sentence: str) -> str:
    n = len(sentence.split())
    return next(lab for lab, lo, hi in LABELS if lo <= n and (hi is None or n <= hi))


def write_job(
    sweep: Path,
    name: str,
    attention: str,
    seed: int,
    bucket_bleu: list[float],
    hyps: list[str] | None,
    refs: list[str],
    *,
    dataset: str = "toy_fr",
    overrides: list[str] | None = None,
    **extra,
) -> Path:
    job = sweep / name
    (job / ".hydra").mkdir(parents=True)
    overrides = overrides if overrides is not None else [f"attention={attention}", f"seed={seed}"]
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    buckets = [
        {
            "label": lab,
            "lo": lo,
            "hi": hi,
            "n": 10 + i,
            "bleu": b,
            "bleu_ci_low": b - 3.0,
            "bleu_ci_high": min(100.0, b + 2.0),
            "chrf": b,
            "exact_match": b / 2,
        }
        for i, ((lab, lo, hi), b) in enumerate(zip(LABELS, bucket_bleu, strict=True))
    ]
    results = {
        "attention": attention,
        "dataset": dataset,
        "seed": seed,
        "bleu": float(np.mean(bucket_bleu)),
        "chrf": 80.0,
        "exact_match": 40.0,
        "signature": SIGNATURE,
        "buckets": buckets,
        "alignment": None
        if attention == "none"
        else {"accuracy": 0.9 + seed / 100, "aer": 0.1 - seed / 100, "entropy": 0.5},
        "train": {
            "epochs": 5,
            "steps": 100,
            "seconds": 100.0 + seed,
            "tokens_per_second": 1000.0 * (seed + 1),
            "peak_rss_mb": 600.0 + seed,
        },
        "valid_bleu": {"none": 50.0, "additive": 99.0}.get(attention, 98.0),
        "best_checkpoint": str(job / "checkpoints" / "best.ckpt"),
        "status": "complete",
        **extra,
    }
    (job / "results.json").write_text(json.dumps(results))
    if hyps is not None:
        lines = ["source\treference\thypothesis\tbucket"]
        lines += [f"src {r}\t{r}\t{h}\t{bucket_of(r)}" for r, h in zip(refs, hyps, strict=True)]
        (job / "hypotheses.tsv").write_text("\n".join(lines) + "\n")
    return job


def make_sweep(root: Path, seeds=(0, 1)) -> Path:
    """none (noisy), additive (= references) and multiplicative (= additive's output)."""
    sweep = root / "sweep"
    k = 0
    for attention in ("none", "additive", "multiplicative"):
        for seed in seeds:
            refs = references(0)
            hyps = noisy(refs, seed) if attention == "none" else list(refs)
            write_job(
                sweep,
                f"{k}-attention={attention},seed={seed}",
                attention,
                seed,
                BUCKET_BLEU[attention][seed],
                hyps,
                refs,
            )
            k += 1
    return sweep


def declare(sweep: Path, claims) -> Path:
    """Give every job of the sweep a composed config declaring `claims` (`report.claims`),
    as an experiment file's runs have."""
    for results in sweep.glob("*/results.json"):
        config = {"attention": "x", "report": {"claims": claims}}
        (results.parent / ".hydra" / "config.yaml").write_text(
            yaml.safe_dump(config, sort_keys=False)
        )
    return sweep


@pytest.fixture(scope="module")
def sweep_report(tmp_path_factory):
    sweep = make_sweep(tmp_path_factory.mktemp("two_seeds"))
    return sweep, build_report(sweep)  # R chosen for Holm over the table's 12 tests


# ---------------------------------------------------------------- statistics


def test_t_quantile_agrees_with_the_student_t_cdf():
    mpmath = pytest.importorskip("mpmath")
    for df in [*range(1, 41), 60, 100, 1000]:
        t = t_quantile_975(df)
        # P(T <= t) = 1 - I_{df/(df+t²)}(df/2, 1/2) / 2
        cdf = 1 - mpmath.betainc(df / 2, 0.5, 0, df / (df + t * t), regularized=True) / 2
        assert float(cdf) == pytest.approx(0.975, abs=2e-5), df


def test_mean_ci_is_the_t_interval():
    values = [90.0, 94.0, 95.0]
    mean, low, high = mean_ci(values)
    half = t_quantile_975(2) * np.std(values, ddof=1) / math.sqrt(3)
    assert mean == pytest.approx(np.mean(values))
    assert (low, high) == pytest.approx((mean - half, mean + half))
    assert mean_ci([5.0]) == (5.0, None, None)
    assert mean_ci([None, float("nan")]) == (None, None, None)


# ---------------------------------------------------------------- variants and buckets


def test_variants_are_the_attention_choices_in_design_order(sweep_report):
    _, report = sweep_report
    assert list(report.variants) == ["none", "additive", "multiplicative"]
    assert report.buckets == tuple(lab for lab, _, _ in LABELS)
    assert report.comparisons.reference == {"toy_fr": "additive"}  # best on validation BLEU
    for v in report.variants.values():
        assert v.seeds == (0, 1) and v.n_runs == 2
    assert report.failed == ()
    json.dumps(report.to_json(), allow_nan=False)  # plain JSON, no NaN


def test_bucket_mean_is_the_mean_over_seeds_and_ci_contains_it(sweep_report):
    _, report = sweep_report
    for name, per_seed in BUCKET_BLEU.items():
        v = report.variants[name]
        for i, b in enumerate(v.buckets):
            values = [per_seed[s][i] for s in (0, 1)]
            assert b.label == LABELS[i][0]
            assert b.n == 10 + i
            assert b.bleu == pytest.approx(np.mean(values))
            assert b.bleu_ci_low <= b.bleu <= b.bleu_ci_high
            # The t interval over seeds, clipped to BLEU's 0-100 range.
            half = t_quantile_975(1) * np.std(values, ddof=1) / math.sqrt(2)
            expected = (max(0.0, np.mean(values) - half), min(100.0, np.mean(values) + half))
            assert (b.bleu_ci_low, b.bleu_ci_high) == pytest.approx(expected)
            assert b.bleu_ci_low >= 0.0 and b.bleu_ci_high <= 100.0
        overall = [np.mean(per_seed[s]) for s in (0, 1)]
        assert v.bleu == pytest.approx(np.mean(overall))
        assert v.bleu_ci_low <= v.bleu <= v.bleu_ci_high


def test_alignment_and_speed_means(sweep_report):
    _, report = sweep_report
    assert report.variants["none"].alignment is None
    align = report.variants["additive"].alignment
    assert align.accuracy == pytest.approx(0.905) and align.aer == pytest.approx(0.095)
    train = report.variants["additive"].train
    assert train.seconds == pytest.approx(100.5)
    assert train.tokens_per_second == pytest.approx(1500.0)
    assert train.peak_rss_mb == 601.0  # max, not mean


def test_one_seed_uses_the_runs_bootstrap_interval(tmp_path):
    sweep = make_sweep(tmp_path, seeds=(0,))
    report = build_report(sweep, n_bootstrap=N_BOOT)
    for name, per_seed in BUCKET_BLEU.items():
        v = report.variants[name]
        run = json.loads(v.dirs[0].joinpath("results.json").read_text())
        for b, rb in zip(v.buckets, run["buckets"], strict=True):
            assert b.bleu == rb["bleu"]
            assert (b.bleu_ci_low, b.bleu_ci_high) == (rb["bleu_ci_low"], rb["bleu_ci_high"])
            assert b.ci == "bootstrap"
        # No overall bootstrap interval in results.json: none is invented.
        assert v.bleu == pytest.approx(np.mean(per_seed[0]))
        assert v.bleu_ci_low is None and v.bleu_ci_high is None


# ---------------------------------------------------------------- significance


def per_seed_bleu(report, variant: str, stratum) -> list[float]:
    """Each of the variant's runs' BLEU on the stratum's sentences, by sacrebleu."""
    out = []
    for job in report.variants[variant].dirs:
        table = read_hypotheses(job / "hypotheses.tsv")
        keep = [k for k, b in enumerate(table["bucket"]) if stratum == ALL or b == stratum.label]
        hyps = [table["hypothesis"][k] for k in keep]
        refs = [table["reference"][k] for k in keep]
        out.append(sacrebleu.corpus_bleu(hyps, [refs], tokenize="none").score)
    return out


# additive's seeds both score 100: scipy warns about their zero variance, and is exact.
@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
def test_paired_table_per_bucket_with_holm(sweep_report):
    _, report = sweep_report
    rows = report.comparisons.tables.bleu
    pairs = {(r.a, r.b) for r in rows}
    assert pairs == {
        ("additive", "none"),
        ("multiplicative", "none"),
        ("additive", "multiplicative"),
    }
    strata = {str(r.stratum) for r in rows}
    assert strata == {"all", *(lab for lab, _, _ in LABELS)}
    assert {r.kind for r in rows if r.b == "none"} == {Kind.VS_NONE}
    # R = 10,000: p's resolution 1/(R+1) is below Holm's smallest threshold 0.05/12.
    assert report.significance.n_bootstrap == 10_000
    assert {(r.test.family, r.test.family_size) for r in rows} == {("bleu table", 12)}
    for r in rows:
        t = r.test
        a, b = per_seed_bleu(report, r.a, r.stratum), per_seed_bleu(report, r.b, r.stratum)
        # The difference of the seeds' mean sacrebleu BLEU, and Welch's test of it.
        assert t.diff == pytest.approx(np.mean(a) - np.mean(b))
        assert t.seeds == 2 and t.p == max(t.p_sentences, t.p_seeds)
        assert t.p_holm >= t.p >= t.p_floor > 0
        assert t.ci_low <= t.eq_low <= t.diff <= t.eq_high <= t.ci_high
        if r.b == "none":  # perfect output vs noisy: better in every bucket, every seed
            assert t.diff > 0 and r.a_score == pytest.approx(100.0)
            assert t.p_sentences == pytest.approx(t.p_floor)  # every replicate agrees
            assert t.p_seeds == pytest.approx(scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
            # Two seeds: Welch has ~1 degree of freedom, and its p is the one that counts.
            assert t.p == t.p_seeds > t.p_sentences
        else:  # multiplicative's output is additive's: nothing to find
            assert r.kind is Kind.PAIR
            assert t.diff == 0.0 and t.p == 1.0 and not t.significant


def test_verdicts_state_the_claim_the_effect_and_the_test(sweep_report):
    _, report = sweep_report
    assert [d.name for d in report.claims] == list(DEFAULT_CLAIMS)  # nothing declared
    by_claim = {v.claim: v for v in report.verdicts}
    assert set(by_claim) == {"attention", "length", "scores"}  # no rare words, jumps or d
    for v in report.verdicts:
        assert_line(v)
        assert not v.declared
    # +70 BLEU, but two seeds a side: the seed level cannot rule out chance after Holm.
    attention = by_claim["attention"]
    assert attention.verdict is Holds.INCONCLUSIVE
    assert "additive +70.3 BLEU [" in attention.line and "p_Holm" in attention.line
    assert "to decide: more seeds (this sweep has 2 per variant)" in attention.line
    # Attention and similarity share the default family: 2 rows vs none and 1 pair.
    assert (attention.family, attention.family_size) == ("overall", 3)
    assert by_claim["scores"].verdict is Holds.SUPPORTED
    assert "every pair's 90% interval inside ±2 BLEU" in by_claim["scores"].line
    assert by_claim["length"].family == "trend"  # 3 buckets: a trend test
    md = summary_markdown(report)
    assert "## Verdicts" in md and "## Paired BLEU differences by bucket" in md
    verdicts = md.split("## Verdicts", 1)[1].split("\n## ", 1)[0]
    assert (
        "No claims were declared before the run (`report.claims` in the experiment file)"
        in verdicts
    )
    assert "`scores` (family `overall`, margin ±2)" in verdicts
    for v in report.verdicts:
        assert f"- {v.line}" in verdicts
    summary = report.to_json()
    assert summary["claims_declared"] is False
    assert [c["name"] for c in summary["claims"]] == list(DEFAULT_CLAIMS)
    assert {v["family"] for v in summary["verdicts"]} == {"overall", "trend"}


def test_declared_claims_are_the_ones_judged(tmp_path):
    # Three seeds: Welch has the degrees of freedom to see +70 BLEU after Holm.
    claims = {"attention": {"family": "overall"}, "scores": {"family": "sim", "margin": 1.0}}
    sweep = declare(make_sweep(tmp_path, seeds=(0, 1, 2)), claims)
    report = build_report(sweep, n_bootstrap=2000)
    assert [(d.name, d.family, d.margin, d.declared) for d in report.claims] == [
        ("attention", "overall", None, True),
        ("scores", "sim", 1.0, True),
    ]
    by_claim = {v.claim: v for v in report.verdicts}
    assert set(by_claim) == {"attention", "scores"}  # length was not declared
    assert by_claim["attention"].verdict is Holds.SUPPORTED
    assert (by_claim["attention"].family, by_claim["attention"].family_size) == ("overall", 2)
    assert (by_claim["scores"].family, by_claim["scores"].family_size) == ("sim", 1)
    assert "inside ±1 BLEU" in by_claim["scores"].line
    for v in report.verdicts:
        assert_line(v)
        assert v.declared
    md = summary_markdown(report)
    assert (
        "Claims declared before the run (`report.claims`): `attention` (family `overall`), "
        "`scores` (family `sim`, margin ±1)." in md
    )
    assert "No claims were declared" not in md
    assert report.to_json()["claims_declared"] is True


def test_a_malformed_declaration_stops_the_report(tmp_path):
    sweep = declare(make_sweep(tmp_path, seeds=(0,)), {"attentoin": {"family": "overall"}})
    with pytest.raises(ValueError, match="no claim named 'attentoin'"):
        build_report(sweep, n_bootstrap=N_BOOT)


def test_different_test_sets_are_not_compared_or_averaged(tmp_path):
    sweep = tmp_path / "sweep"
    refs, other = references(0), references(5)
    write_job(sweep, "0", "none", 0, BUCKET_BLEU["none"][0], noisy(refs, 0), refs)
    write_job(sweep, "1", "additive", 0, BUCKET_BLEU["additive"][0], other, other)
    report = build_report(sweep, n_bootstrap=N_BOOT)
    assert "tested on other sentences" in report.comparisons.problems["toy_fr"]
    assert report.comparisons.tables.bleu == () and report.verdicts == ()
    assert "not compared" in summary_markdown(report)
    # Missing hypotheses: said, not skipped silently.
    write_job(sweep, "2", "dot", 0, BUCKET_BLEU["none"][0], None, refs)
    problems = build_report(sweep, n_bootstrap=N_BOOT).comparisons.problems
    assert "no hypotheses.tsv" in problems["toy_fr"]


def test_seeds_of_one_variant_with_different_buckets_are_not_averaged(tmp_path):
    sweep = tmp_path / "sweep"
    refs = references(0)
    write_job(sweep, "0", "additive", 0, [90.0, 80.0, 70.0], refs, refs)
    job = write_job(sweep, "1", "additive", 1, [90.0, 80.0, 70.0], refs, refs)
    results = json.loads((job / "results.json").read_text())
    results["buckets"][1]["lo"] = 12  # quantile edges of another test set
    (job / "results.json").write_text(json.dumps(results))
    v = build_report(sweep, n_bootstrap=N_BOOT).variants["additive"]
    assert v.buckets == () and "different test sets" in v.buckets_withheld


# ---------------------------------------------------------------- failed jobs and outputs


def add_failures(sweep: Path) -> None:
    job = sweep / "9-attention=dot"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("- attention=dot\n")
    refs = references(0)
    write_job(
        sweep,
        "8-attention=scaled_dot",
        "scaled_dot",
        0,
        [1.0, 1.0, 1.0],
        refs,
        refs,
        status="diverged",
    )


def test_failed_jobs_are_listed_not_dropped(tmp_path):
    sweep = make_sweep(tmp_path)
    add_failures(sweep)
    (sweep / "wandb").mkdir()  # not a job dir
    runs, failed = collect(sweep)
    assert len(runs) == 6
    reasons = {f.dir.name: f for f in failed}
    assert reasons["9-attention=dot"].reason == "no results.json"
    assert reasons["9-attention=dot"].overrides == ("attention=dot",)
    assert reasons["8-attention=scaled_dot"].reason == "status: diverged"

    assert main([str(sweep), "--n-bootstrap", str(N_BOOT)]) == 1
    md = (sweep / "summary.md").read_text()
    failed_section = md.split("## Failed jobs", 1)[1]
    assert "9-attention=dot" in failed_section and "no results.json" in failed_section
    assert "8-attention=scaled_dot" in failed_section and "status: diverged" in failed_section
    assert len(json.loads((sweep / "summary.json").read_text())["failed"]) == 2


def test_clean_sweep_writes_the_report(tmp_path, capsys):
    sweep = make_sweep(tmp_path)
    assert main([str(sweep), "--n-bootstrap", str(N_BOOT)]) == 0
    for name in ("summary.json", "summary.md", "bleu_by_length.png"):
        assert (sweep / name).is_file(), name
    assert matplotlib.image.imread(sweep / "bleu_by_length.png").ndim == 3

    summary = json.loads((sweep / "summary.json").read_text())
    assert set(summary["variants"]) == set(BUCKET_BLEU)
    assert summary == build_report(sweep, n_bootstrap=N_BOOT).to_json()  # deterministic
    fig = report_figure(build_report(sweep, n_bootstrap=N_BOOT))
    lines = [ln for ln in fig.axes[0].get_lines() if not ln.get_label().startswith("_")]
    assert sorted(ln.get_label() for ln in lines) == sorted(BUCKET_BLEU)

    md = (sweep / "summary.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| variant | seeds"))
    for label, _, _ in LABELS:
        assert f" {label} " in header
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    for name in BUCKET_BLEU:
        assert any(
            row.startswith(f"| {name} |") or row.startswith(f"| {name} (ref) |") for row in rows
        ), name
    assert md.split("## Failed jobs", 1)[1].strip() == "none"
    out = capsys.readouterr().out
    assert "additive" in out and "error" not in out


def test_missing_or_empty_dir_is_one_line(tmp_path, capsys):
    assert main([str(tmp_path / "nonexistent")]) == 1
    out = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(out) == 1 and "nonexistent" in out[0] and "error" in out[0]
    assert main([str(tmp_path)]) == 1
    out = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(out) == 1 and str(tmp_path) in out[0]


def test_only_failed_jobs(tmp_path):
    sweep = tmp_path / "sweep"
    add_failures(sweep)
    assert main([str(sweep)]) == 1
    report = json.loads((sweep / "summary.json").read_text())
    assert report["variants"] == {} and report["reference"] == {} and len(report["failed"]) == 2
    assert not (sweep / "bleu_by_length.png").exists()


# ---------------------------------------------------------------- naming and reading


def test_several_datasets_and_axes_name_the_variants(tmp_path):
    sweep = tmp_path / "sweep"
    refs = references(0)
    for k, (dataset, model, attention) in enumerate(
        [
            ("toy_fr", "default", "none"),
            ("toy_fr", "default", "dot"),
            ("reverse", "default", "dot"),
            ("reverse", "big", "dot"),
        ]
    ):
        write_job(
            sweep,
            str(k),
            attention,
            0,
            [50.0, 50.0, 50.0],
            refs,
            refs,
            dataset=dataset,
            overrides=[f"attention={attention}", f"dataset={dataset}", f"model={model}"],
        )
    report = build_report(sweep, n_bootstrap=N_BOOT)
    assert set(report.variants) == {
        "toy_fr/none model=default",
        "toy_fr/dot model=default",
        "reverse/dot model=default",
        "reverse/dot model=big",
    }
    # Each dataset and setting is compared within itself: only toy_fr has a `none`.
    vs_none = {r.a for r in report.comparisons.tables.bleu if r.kind is Kind.VS_NONE}
    assert vs_none == {"toy_fr/dot model=default"}
    # Another model is another group: never compared with the default model's runs.
    assert report.variants["reverse/dot model=big"].group == "reverse model=big"


def test_read_hypotheses_keeps_empty_fields(tmp_path):
    path = tmp_path / "hypotheses.tsv"
    path.write_text("source\treference\thypothesis\tbucket\na b\tA B\t\t01-10\n")
    table = read_hypotheses(path)
    assert table["hypothesis"] == [""] and table["reference"] == ["A B"]
    path.write_text("source\treference\n")
    with pytest.raises(ValueError, match="header"):
        read_hypotheses(path)


def test_write_report_paths(sweep_report, tmp_path):
    _, report = sweep_report
    paths = write_report(tmp_path, report)
    assert set(paths) == {
        "summary_json",
        "summary_md",
        "bleu_by_length_plot",
        "gain_by_length_plot",
    }
    assert all(p.is_file() for p in paths.values())
    assert summary_markdown(report) == paths["summary_md"].read_text()


def test_rare_words_are_averaged_over_seeds_and_shown(tmp_path):
    import json as _json

    from ablate.report import build_report, summary_markdown

    for seed, acc in ((0, 0.5), (1, 0.7)):
        job = tmp_path / f"{seed}-additive-s{seed}"
        (job / ".hydra").mkdir(parents=True)
        results = {
            "attention": "additive",
            "dataset": "toy_fr",
            "seed": seed,
            "bleu": 50.0,
            "chrf": 60.0,
            "exact_match": 10.0,
            "status": "complete",
            "buckets": [
                {
                    "label": "01-10",
                    "lo": 1,
                    "hi": None,
                    "n": 3,
                    "bleu": 50.0,
                    "bleu_ci_low": 40.0,
                    "bleu_ci_high": 60.0,
                }
            ],
            "alignment": None,
            "train": {},
            "rare_words": [
                {"label": "1-5", "lo": 1, "hi": 5, "n": 4, "accuracy": acc},
                {"label": ">100", "lo": 101, "hi": None, "n": 9, "accuracy": 1.0},
            ],
        }
        (job / "results.json").write_text(_json.dumps(results))
    report = build_report(tmp_path, n_bootstrap=10)
    bands = {b.label: b for b in report.variants["additive"].rare_words}
    assert abs(bands["1-5"].accuracy - 0.6) < 1e-9 and bands["1-5"].n == 4
    md = summary_markdown(report)
    assert "## Rare words" in md and "freq 1-5" in md and "60.0" in md


def test_the_alignment_grid_shows_an_empty_translation(sweep_report, tmp_path):
    from ablate.report import figures

    _, report = sweep_report
    src = ["le", "chat", "noir"]
    examples = {
        "additive": {"source": src, "hypothesis": [], "weights": []},
        "multiplicative": {"source": src, "hypothesis": ["the", "cat"], "weights": [[1, 0, 0]] * 2},
    }
    fig = figures.alignment_grid(report, examples)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["additive (seed 0, empty output)", "multiplicative (seed 0)"]
    assert figures.alignment_grid(report, {}) is None


def test_the_jump_figure_orders_bands_by_distance():
    from ablate.report import Report, figures
    from ablate.report.record import Significance
    from ablate.report.rows import Comparisons, Row, Tables
    from ablate.report.stats import SeedTest, difference
    from ablate.report.strata import JUMP_BANDS

    test = difference(5.0, np.array([4.0, 6.0, 5.0]), SeedTest(5.0, 1.0, 4.0), 3)
    rows = tuple(
        Row("g", "dot", "none", Kind.VS_NONE, band, 10, 60.0, 55.0, test)
        for band in reversed(JUMP_BANDS)
    )
    comparisons = Comparisons(("g",), Tables(jumps=rows), {}, {}, {}, {}, 3)
    report = Report(
        Path("s"), {}, (), (), (), comparisons, verdicts=(), claims=(),
        significance=Significance("m", 0.05, 3, 0),
    )  # fmt: skip
    fig = figures.jump_figure(report)
    labels = [t.get_text().split("\n")[0] for t in fig.axes[0].get_xticklabels()]
    assert labels == ["00-02", "03-09", "10+"]
    assert figures.gain_figure(report) is None  # no BLEU rows: nothing to draw
