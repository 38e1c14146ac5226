"""A real run with the W&B logger, offline: read what W&B wrote to disk. It is also the
smoke run of `logger=wandb` (tests/test_run.py runs every other option)."""

import json

import pytest

from ablate.train import run

from conftest import TINY, compose
from wandb_files import summary

KEY = "x" * 40  # as long as a real API key


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One offline W&B run, made with an API key in the environment."""
    run_dir = tmp_path_factory.mktemp("wandb") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WANDB_API_KEY", KEY)
        mp.setenv("WANDB_MODE", "offline")
        cfg = compose([*TINY, "logger=wandb", "attention=additive"])
        run(cfg, run_dir, choices={"attention": "additive", "dataset": "toy_fr"})
    return run_dir


def test_offline_wandb_run_holds_scalars_table_chart_and_images(run_dir):
    info = summary(run_dir)
    assert info["exit_code"] == 0
    assert info["name"] == "toy_fr-additive-s0"
    for key in ("val/loss", "val/bleu", "val/bleu_len/01-10", "test/bleu", "test/chrf"):
        assert key in info["history_keys"], key
    for key in ("val/attn/score_std", "val/attn/saturated", "test/attn/entropy"):
        assert key in info["history_keys"], key  # every option: tests/test_diagnostics.py
    assert "train/attn/score_grad_norm" in info["history_keys"]
    assert info["media"]["test/bleu_by_length"] == "table-file"
    assert info["media"]["test/bleu_by_length_chart_table"] == "table-file"
    assert "_wandb/visualize/test/bleu_by_length_chart" in info["config"]
    for tag in ("short", "median", "long"):
        assert info["media"][f"test/alignment/{tag}"] == "image-file"
    assert info["config"]["attention"] == "additive"
    assert info["config"]["choices"] == {"attention": "additive", "dataset": "toy_fr"}
    # The table W&B stored has one row per non-empty bucket, with the run's numbers.
    table_file = next(info["dir"].glob("files/media/table/test/bleu_by_length_*.table.json"))
    table = json.loads(table_file.read_text())
    results = json.loads((run_dir / "results.json").read_text())
    assert table["columns"][:5] == ["bucket", "lo", "hi", "n", "bleu"]
    assert [r[0] for r in table["data"]] == [b["label"] for b in results["buckets"] if b["n"]]
    assert [r[4] for r in table["data"]] == [b["bleu"] for b in results["buckets"] if b["n"]]
    pngs = list(info["dir"].glob("files/media/images/test/alignment/*.png"))
    assert len(pngs) == 3 and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)


def test_secrets_never_reach_the_config(run_dir):
    assert KEY not in json.dumps(summary(run_dir)["config"])
    for path in run_dir.rglob("*"):  # nor any file the run wrote
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
