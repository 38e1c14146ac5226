"""Sweeps as a user runs them: every experiment file as a fast smoke sweep, a sweep with a
failing job, the submitit path on this machine, and the W&B runs a sweep leaves."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from conftest import ROOT, TINY, ablate_in_process, compose, tiny, write_multi30k
from wandb_files import records

EXPERIMENTS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))


def sweep(*args, sweep_dir, timeout=600, tiny=TINY):
    env = {**os.environ, "WANDB_MODE": "offline"}
    env.pop("WANDB_API_KEY", None)
    flags = [a for a in args if a.startswith("-")]  # Hydra wants -m before the overrides
    overrides = [a for a in args if not a.startswith("-")]
    return subprocess.run(
        [sys.executable, "-m", "ablate", *flags, *tiny, *overrides, f"hydra.sweep.dir={sweep_dir}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def job_results(sweep_dir: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sweep_dir.glob("*/results.json")}


def test_experiment_files_start_with_their_command():
    for name in EXPERIMENTS:
        lines = (ROOT / "conf" / "experiment" / f"{name}.yaml").read_text().splitlines()
        assert lines[0] == "# @package _global_"
        command = f"# python -m ablate +experiment={name}"  # then any overrides it needs
        assert lines[1] == command or lines[1].startswith(command + " "), lines[1]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_declares_its_claims(name):
    """Claims are declared before the run: every experiment file names the claims it tests,
    each with a family (and a margin for a claim of similarity), and they parse."""
    from ablate.report.claims import CLAIMS, parse_claims

    cfg = compose([f"+experiment={name}"])
    claims = OmegaConf.to_container(cfg.report.claims)
    assert claims, f"{name}.yaml declares no report.claims"
    for d in parse_claims(claims):
        assert "family" in claims[d.name]
        assert (d.margin is None) == (CLAIMS[d.name].margin is None)


def assert_verdicts_declared(md: str, summary: dict) -> None:
    """Every verdict line ends in one of the three verdicts and names its family."""
    lines = [
        ln for ln in md.split("## Verdicts")[1].split("\n## ")[0].splitlines() if ln[:2] == "- "
    ]
    verdicts = [ln for ln in lines if "→ **" in ln]
    assert len(verdicts) == len(summary["verdicts"])
    for ln in verdicts:
        assert ln.endswith(("**supported**", "**not supported**", "**inconclusive**")), ln
        assert "[family " in ln, ln
    assert summary["claims_declared"] is True


@pytest.mark.slow
@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_runs_as_a_smoke_sweep(tmp_path, tmp_path_factory, name):
    tiny, extra = TINY, []
    if name in ("multi30k", "families_multi30k"):  # sizes come from the files: a fake copy
        tiny = [o for o in TINY if not o.startswith("dataset.")]
        extra = [f"dataset.path={write_multi30k(tmp_path_factory.mktemp('multi30k'))}"]
    if name == "families_multi30k":  # both families at their recipes' sizes, one seed
        tiny = [o for o in tiny if not o.startswith(("model.embed=", "model.hidden="))]
        extra.append("seed=0")
    if name == "tuned":  # one trial per variant, one seed (tests/test_tuning.py: the rest)
        extra = ["tune.trials=1", "tune.seeds=[1]"]
    if name == "families":  # both families at their default sizes (keys differ), one seed
        tiny = [o for o in TINY if not o.startswith(("model.embed=", "model.hidden="))]
        extra = ["seed=0"]
    if name == "dims":  # TINY's model.hidden=8 would be one size: three tiny ones, one seed
        extra = ["model.hidden=8,12,16", "seed=0"]
    if name == "dims_transformer":  # d_k = 16 / heads: three tiny head sizes, one seed
        tiny = [o for o in TINY if not o.startswith(("model.embed=", "model.hidden="))]
        extra = ["model.d_model=16", "model.ff=16", "model.layers=1", "model.heads=4,2,1", "seed=0"]
    out = sweep(f"+experiment={name}", "logger=none", *extra, sweep_dir=tmp_path, tiny=tiny)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    jobs = job_results(tmp_path)
    expected = {
        "scores": 5,
        "seeds": 15,
        "baseline": 6,
        "length": 5,
        "multi30k": 5,
        "reordering": 6,
        "rare_words": 3,
        "luong": 8,
        "tuned": 5,
        "families": 10,
        "families_multi30k": 10,
        "dims": 15,
        "dims_transformer": 15,
    }[name]
    assert len(jobs) == expected and all(r["status"] == "complete" for r in jobs.values())
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["failed"] == []
    assert (tmp_path / "summary.md").exists() and (tmp_path / "bleu_by_length.png").exists()
    # Every job tested on the same sentences, whatever its seed (reordering: up to one
    # set of references per dataset.reordering setting).
    test_sets = {r["test_set"] for r in jobs.values()}
    assert len(test_sets) == 1 or (name == "reordering" and len(test_sets) == 2)
    md = (tmp_path / "summary.md").read_text()
    assert "## Verdicts" in md and "## Paired BLEU differences by bucket" in md
    assert "design check:" in out.stdout  # printed when the sweep starts
    assert_verdicts_declared(md, summary)
    # Judged where declared (luong's sweep has no baseline; the dims sweeps declare
    # only the dims claims)
    declared = {v["claim"] for v in summary["verdicts"]}
    assert ("attention beats the fixed context vector" in md) == ("attention" in declared)
    plot = {"length": "gain_by_length.png", "rare_words": "rare_words.png"}.get(name)
    assert plot is None or (tmp_path / plot).is_file()
    if name.startswith("dims"):  # compared across the sizes, and judged
        assert (tmp_path / "bleu_by_dim.png").is_file() and "## Key size d" in md
        assert {v["claim"] for v in summary["verdicts"]} >= {"dims_growth", "dims_scaled"}
        assert summary["dims"][0]["dims"] == ([8, 12, 16] if name == "dims" else [4, 8, 16])
    if name == "length":  # trained on <= 20 words (TINY caps at 12), tested up to 60
        assert max(b["hi"] or 99 for r in jobs.values() for b in r["buckets"] if b["n"]) > 20
    if name.startswith("families"):  # one group, and one set of verdicts, per family
        data = "multi30k" if name == "families_multi30k" else "toy_fr"
        assert f"{data} model=default" in md and f"{data} model=transformer" in md


@pytest.mark.slow
def test_the_aa_sweep_never_says_the_twins_differ(tmp_path):
    """benchmarks/conf/experiment/aa.yaml: one score function under two names, its two
    commands into one sweep dir; the report must not say "not supported"."""
    conf = [f"--config-dir={ROOT / 'benchmarks' / 'conf'}"]
    for extra in ([], ["attention=twin", "seed=3,4,5"]):
        out = sweep(*conf, "+experiment=aa", "logger=none", *extra, sweep_dir=tmp_path)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    (verdict,) = [v for v in summary["verdicts"] if v["claim"] == "scores"]
    assert verdict["verdict"] in ("supported", "inconclusive")
    assert len(job_results(tmp_path)) == 6


def test_a_malformed_claim_stops_the_sweep_before_training(tmp_path, capsys):
    """In this process (the command's own path; `slow` tests run real sweeps)."""
    args = ["-m", *TINY, "attention=none,dot", "report.claims={scores: {margin: -1}}"]
    code = ablate_in_process([*args, f"hydra.sweep.dir={tmp_path}"])
    out = capsys.readouterr()
    assert code != 0
    assert "report.claims.scores.margin must be a positive number" in out.out + out.err
    assert not list(tmp_path.glob("*/results.json"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["scores", "length"])
def test_an_experiment_runs_in_a_transformer(tmp_path, name):
    """`+experiment=NAME model=transformer`: every experiment composes with either family."""
    out = sweep(
        f"+experiment={name}",
        "model=transformer",
        "logger=none",
        sweep_dir=tmp_path,
        tiny=tiny("transformer"),
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    jobs = job_results(tmp_path)
    assert len(jobs) == 5 and all(r["status"] == "complete" for r in jobs.values())
    assert "## Verdicts" in (tmp_path / "summary.md").read_text()


@pytest.mark.slow
def test_extra_overrides_compose_with_an_experiment(tmp_path):
    out = sweep(
        "+experiment=scores",
        "attention=none,dot",
        "seed=0,1",
        "dataset=reverse",
        "logger=none",
        sweep_dir=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = job_results(tmp_path)
    assert sorted((r["attention"], r["seed"], r["dataset"]) for r in jobs.values()) == [
        ("dot", 0, "reverse"),
        ("dot", 1, "reverse"),
        ("none", 0, "reverse"),
        ("none", 1, "reverse"),
    ]


@pytest.mark.slow
def test_a_failing_job_is_named_and_the_rest_still_report(tmp_path):
    # model.hidden must be even: the hidden=7 jobs fail, the hidden=8 jobs must not care.
    out = sweep("-m", "attention=none,dot", "model.hidden=8,7", "logger=none", sweep_dir=tmp_path)
    assert out.returncode != 0
    jobs = job_results(tmp_path)
    assert sum(r["status"] == "complete" for r in jobs.values()) == 2
    failed = {k for k, r in jobs.items() if r["status"] == "failed"}
    assert len(failed) == 2
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {Path(f["dir"]).name for f in summary["failed"]} == failed
    md = (tmp_path / "summary.md").read_text()
    assert all(name in md for name in failed)
    assert "model.hidden must be even" in out.stdout + out.stderr


@pytest.mark.slow
def test_submitit_local_launcher_runs_a_two_job_sweep(tmp_path):
    out = sweep(
        "-m", "attention=none,additive", "hydra/launcher=local", "logger=none", sweep_dir=tmp_path
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    jobs = job_results(tmp_path)
    assert sorted(r["attention"] for r in jobs.values()) == ["additive", "none"]
    assert list(tmp_path.glob(".submitit/*/*_result.pkl"))  # really went through submitit


@pytest.mark.slow
def test_joblib_launcher_runs_jobs_side_by_side_with_shared_cores(tmp_path):
    out = sweep(
        "-m",
        "attention=none,dot",
        "hydra/launcher=parallel",
        "threads=null",
        "logger=none",
        sweep_dir=tmp_path,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in out.stdout + out.stderr
    jobs = job_results(tmp_path)
    assert sorted(r["attention"] for r in jobs.values()) == ["dot", "none"]
    # two jobs on the machine's cores: each gets half, never more threads than cores
    assert {r["train"]["threads"] for r in jobs.values()} == {max(1, os.cpu_count() // 2)}


@pytest.mark.slow
def test_scores_sweep_leaves_six_wandb_runs_in_one_group(tmp_path):
    out = sweep("+experiment=scores", "logger=wandb", sweep_dir=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    runs = {}
    for f in tmp_path.glob("**/wandb/offline-run-*/run-*.wandb"):
        run = next(r.run for r in records(f) if r.WhichOneof("record_type") == "run")
        runs[run.display_name] = (run.run_group, list(run.tags))
    groups = {g for g, _ in runs.values()}
    assert len(runs) == 6 and len(groups) == 1
    group = groups.pop()
    assert group.startswith("scores-")
    assert f"{group}-comparison" in runs
    for attention in ("none", "dot", "scaled_dot", "additive", "multiplicative"):
        assert f"attention={attention}" in runs[f"toy_fr-{attention}-s0"][1]


def write_long_parallel(root: Path, sizes=(300, 40, 120)) -> Path:
    """A generated corpus written as `dataset=parallel` files, with long sentences: train
    sources of 1–30 words, valid 1–20, test 1–60 (lengths spread evenly), targets the
    sources upper-cased; twelve words, so a tiny model's vocabulary stays small."""
    words = ["the", "a", "cat", "dog", "sat", "on", "mat", "black", "small", "ran", "and", "saw"]
    longest = dict(zip(("train", "valid", "test"), (30, 20, 60), strict=True))
    root.mkdir(parents=True, exist_ok=True)
    for split, size in zip(("train", "valid", "test"), sizes, strict=True):
        src = [
            " ".join(words[(i * 7 + k * 3) % len(words)] for k in range(1 + i % longest[split]))
            for i in range(size)
        ]
        (root / f"{split}.src").write_text("\n".join(src) + "\n", encoding="utf-8")
        (root / f"{split}.tgt").write_text("\n".join(s.upper() for s in src) + "\n")
    return root


@pytest.mark.slow
def test_the_length_experiment_on_your_own_corpus_buckets_it_by_its_quantiles(tmp_path):
    """`+experiment=length` on a user's files (`dataset=parallel`): trained on sources of
    at most 20 words, tested on up to 60, the report's buckets are the test set's length
    sextiles (`buckets=quantile buckets.n=6`), about 20 of the 120 sentences each."""
    corpus = write_long_parallel(tmp_path / "corpus")
    tiny = [o for o in TINY if not o.startswith("dataset.")]
    sweep_dir = tmp_path / "sweep"
    out = sweep(
        "+experiment=length",
        "dataset=parallel",
        f"dataset.path={corpus}",
        "buckets=quantile",
        "buckets.n=6",
        "attention=none,additive",
        "logger=none",
        sweep_dir=sweep_dir,
        tiny=tiny,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    jobs = job_results(sweep_dir)
    assert len(jobs) == 2 and all(r["status"] == "complete" for r in jobs.values())
    for r in jobs.values():
        # Train and valid keep sources of at most 20 words; test keeps all 120, to 60.
        assert r["data"]["dropped"] == {"train": 100, "valid": 0, "test": 0}, r["data"]
        counts = [b["n"] for b in r["buckets"]]
        assert len(counts) == 6 and sum(counts) == 120, counts
        assert max(counts) - min(counts) <= 2, counts  # equal-count, up to ties
        assert r["buckets"][-1]["label"].startswith("5")  # the last sixth: 51 words and up
    summary = json.loads((sweep_dir / "summary.json").read_text())
    md = (sweep_dir / "summary.md").read_text()
    labels = [b["label"] for b in next(iter(jobs.values()))["buckets"]]
    assert all(f"| {label} " in md or f" {label} |" in md for label in labels), labels
    assert summary["failed"] == []


@pytest.mark.slow  # a real `python -m ablate` process at the recipe's full model size
def test_the_multi30k_experiment_trains_a_transformer_with_its_recipe(tmp_path):
    """The must-show command, shortened: one epoch of two batches on a fake Multi30k in
    the release's layout, at the recipe's sizes (d_model 256, 3 + 3 layers, ff 1024),
    warm-up schedule, tied embeddings and token batches."""
    data = write_multi30k(tmp_path / "multi30k", n=(800, 20, 30))  # > 2 batches of 2048
    sweep_dir = tmp_path / "sweep"
    out = sweep(
        "+experiment=multi30k",
        "model=transformer",
        f"dataset.path={data}",
        "attention=scaled_dot",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=2",
        "logger=none",
        sweep_dir=sweep_dir,
        tiny=[],
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    ((name, results),) = job_results(sweep_dir).items()
    assert results["status"] == "complete" and results["train"]["steps"] == 2
    model = results["model"]
    assert model["family"] == "transformer" and model["d_model"] == 256
    assert model["layers"] == 3 and model["ff"] == 1024 and model["tie_embeddings"] is True
    job = OmegaConf.load(sweep_dir / name / ".hydra" / "config.yaml")
    assert job.optim.schedule == "inverse_sqrt" and job.optim.warmup == 1000
    assert job.data.batch_tokens == 2048
