"""Every option of every config group composes and runs one fast training step, and a
run leaves the files DESIGN.md promises."""

import json

import pytest

from ablate.train import run

from conftest import TINY, compose, write_parallel

GROUPS = {
    "attention": ["none", "dot", "scaled_dot", "additive", "multiplicative"],
    "dataset": ["toy_fr", "copy", "reverse", "sort", "parallel"],
    "buckets": ["default", "fine", "quantile"],
    "model": ["default", "big"],
    "trainer": ["default", "cpu"],
    "logger": ["wandb", "csv", "none"],
}
OPTIONS = [(g, o) for g, opts in GROUPS.items() for o in opts]


def _run(tmp_path, overrides):
    cfg = compose([*TINY, *overrides])
    return run(cfg, tmp_path / "run", choices={})


def _overrides(tmp_path, group, option):
    # The parallel reader takes its sizes from the files, so the tiny sizes don't apply.
    base = [o for o in TINY if not (option == "parallel" and o.startswith("dataset."))]
    extra = [f"{group}={option}"] + ([] if group == "logger" else ["logger=none"])
    if option == "parallel":
        extra.append(f"dataset.path={write_parallel(tmp_path / 'corpus')}")
    return base + extra


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_runs_one_fast_step(tmp_path, group, option):
    cfg = compose(_overrides(tmp_path, group, option))
    results = run(cfg, tmp_path / "run", choices={group: option})
    assert results["status"] == "complete"
    assert results["train"]["steps"] == 2
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["bleu"] == results["bleu"]


def test_run_dir_contract(tmp_path):
    results = _run(tmp_path, ["attention=additive", "logger=csv"])
    d = tmp_path / "run"
    saved = json.loads((d / "results.json").read_text())
    for key in ("attention", "dataset", "seed", "bleu", "chrf", "exact_match", "buckets",
                "alignment", "rare_words", "train", "status"):
        assert key in saved, key
    assert saved == json.loads(json.dumps(results))
    assert [b["label"] for b in saved["buckets"]] == ["01-10", "11-20", "21-30", "31-40",
                                                      "41-50", "51-60", "61+"]
    assert set(saved["alignment"]) == {"accuracy", "aer", "entropy"}
    assert [b["label"] for b in saved["rare_words"]][-4:] == ["1-5", "6-20", "21-100", ">100"]
    assert set(saved["train"]) == {"epochs", "steps", "seconds", "tokens_per_second",
                                   "threads"}
    lines = (d / "hypotheses.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["source", "reference", "hypothesis", "bucket"]
    assert len(lines) == 1 + 24
    assert (d / "plots" / "bleu_by_length.png").stat().st_size > 0
    assert sorted(p.name for p in (d / "plots").glob("alignment_*.png")) == [
        "alignment_long.png", "alignment_median.png", "alignment_short.png"]
    assert (d / "checkpoints" / "last.ckpt").exists()


def test_no_attention_has_no_alignment(tmp_path):
    results = _run(tmp_path, ["attention=none", "logger=none"])
    assert results["alignment"] is None
    assert not list((tmp_path / "run" / "plots").glob("alignment_*.png"))
