"""The two model families side by side: every attention option runs in a Transformer as in
the RNN, `model.self_attention` takes any option of the attention group by name (a
user's from `--config-dir` too), a checkpoint rebuilds its own family and resumes only at
its own size, and `+experiment=families` sweeps both families into separate groups."""

import json
import re

import pytest
from omegaconf import OmegaConf
from test_plugins import run_cli, write_plugin

from ablate.checkpoints import CheckpointError, check_fits, read
from ablate.models.config import RNNConfig
from ablate.models.rnn import RNNEncoderDecoder
from ablate.models.transformer import Transformer
from ablate.report.groups import name_runs
from ablate.report.read import Run
from ablate.run_files import read_results
from ablate.train import build_data, build_model, run
from ablate.translate import load, translate

from conftest import CONF, OLD_CHECKPOINT, compose, skip_figures, tiny

ATTENTION = sorted(p.stem for p in (CONF / "attention").glob("*.yaml"))
TRANSFORMER = [*tiny("transformer"), "model=transformer", "logger=none"]


@pytest.fixture(scope="module")
def transformer_ckpt(tmp_path_factory):
    """`last.ckpt` of a tiny Transformer run with additive cross-attention."""
    run_dir = tmp_path_factory.mktemp("transformer")
    with pytest.MonkeyPatch.context() as mp:
        skip_figures(mp)  # `no_png`, for a module
        run(compose([*TRANSFORMER, "attention=additive"]), run_dir)
    return run_dir / "checkpoints" / "last.ckpt"


# Each option's fast smoke run is the RNN's (test_run); here, in the Transformer, the fast
# tier runs the family's own score, the Bahdanau one and the fixed context, the rest `slow`.
FAST_IN_A_TRANSFORMER = ("scaled_dot", "additive", "none")


@pytest.mark.parametrize(
    "attention",
    [
        a if a in FAST_IN_A_TRANSFORMER else pytest.param(a, marks=pytest.mark.slow)
        for a in ATTENTION
    ],
)
def test_every_attention_option_runs_in_a_transformer(tmp_path, no_png, attention):
    results = run(compose([*TRANSFORMER, f"attention={attention}"]), tmp_path, choices={})
    assert results.status == "complete" and results.train["steps"] == 2
    assert results.attention == attention
    assert results.model["family"] == "transformer" and results.model["d_model"] == 8
    # The alignment comes from the cross-attention; the fixed context has none.
    assert (results.scores.alignment is None) == (attention == "none")
    assert read_results(tmp_path).scores.bleu == results.scores.bleu


@pytest.mark.parametrize("option", ATTENTION)
def test_self_attention_names_any_option_of_the_attention_group(option):
    cfg = compose([*TRANSFORMER, "attention=dot", f"model.self_attention={option}"])
    model = build_model(cfg, build_data(cfg, None), "dot")
    # The option's file, its parameters included, as `attention=<option>` builds it.
    file = OmegaConf.to_container(OmegaConf.load(CONF / "attention" / f"{option}.yaml"))
    file.pop("_partial_")
    assert model.config.record()["self_attention"] == file


def test_an_unknown_self_attention_is_one_line_naming_the_options():
    cfg = compose([*TRANSFORMER, "model.self_attention=cosine"])
    with pytest.raises(ValueError) as e:
        build_model(cfg, build_data(cfg, None), "additive")
    message = str(e.value)
    assert message.startswith("unknown model.self_attention 'cosine'; choose one of the ")
    assert "scaled_dot" in message and "location" in message and "\n" not in message


def test_the_readme_example_runs_unchanged_in_a_transformer(tmp_path, monkeypatch, capsys):
    """README "Your own ablation": the user's `tempdot` as the cross-attention of a
    Transformer, and by name as its self-attention, from the user's config dir."""
    write_plugin(tmp_path, {})
    args = ["--config-dir", "my_conf", "attention=tempdot", "model.self_attention=tempdot"]
    code, text = run_cli(
        [*args, *TRANSFORMER, "threads=1", "hydra.run.dir=out"], tmp_path, monkeypatch, capsys
    )
    assert code == 0, text[-3000:]
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["attention"] == "tempdot" and saved["status"] == "complete"
    ckpt = read(tmp_path / "out" / "checkpoints" / "last.ckpt")["ablate"]["model"]
    assert ckpt["attention"] == ckpt["self_attention"] == {"_target_": "my_pkg.TemperatureDot"}


def test_a_transformer_checkpoint_translates(transformer_ckpt):
    translator = load(transformer_ckpt)
    assert isinstance(translator.model, Transformer)
    src, out, weights = translate(translator, "the cat sat on the mat", beam_size=2)
    assert src == ["the", "cat", "sat", "on", "the", "mat"]
    assert weights is None or weights.shape == (len(out), len(src))
    # A checkpoint that names no class is the RNN's, the one family before the Transformer.
    assert "_target_" not in RNNConfig(src_vocab_size=20, tgt_vocab_size=20).record()
    assert isinstance(load(OLD_CHECKPOINT).model, RNNEncoderDecoder)


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.d_model=16", "model.d_model=8, this run has model.d_model=16"),
        ("model.heads=4", "model.heads=2, this run has model.heads=4"),
        ("model.ff=32", "model.ff=16, this run has model.ff=32"),
        ("model.norm=post", "model.norm=pre, this run has model.norm=post"),
        ("model.self_attention=dot", "model.self_attention="),
        ("model=default", "the model class=ablate.models.transformer.Transformer"),
    ],
)
def test_a_transformer_checkpoint_resumes_only_at_its_size(transformer_ckpt, override, message):
    if override == "model=default":  # the RNN, at its own tiny sizes
        cfg = compose([*tiny(), "logger=none", "attention=additive"])
    else:
        cfg = compose([*TRANSFORMER, "attention=additive", override])
    data = build_data(cfg, None)
    model = build_model(cfg, data, "additive")
    with pytest.raises(CheckpointError, match=re.escape(message)):
        check_fits(transformer_ckpt, model.config.record(), data.state_dict())
    same = compose([*TRANSFORMER, "attention=additive"])
    data = build_data(same, None)
    settings = build_model(same, data, "additive").config.record()
    check_fits(transformer_ckpt, settings, data.state_dict())


def test_the_families_experiment_sweeps_both_families_on_one_test_set():
    cfg = compose(["+experiment=families"])
    params = OmegaConf.load(CONF / "experiment" / "families.yaml").hydra.sweeper.params
    assert params.model.split(",") == ["default", "transformer"]
    assert params.attention.split(",") == [
        "none",
        "dot",
        "scaled_dot",
        "additive",
        "multiplicative",
    ]
    assert params.seed.split(",") == ["0", "1", "2"]
    assert cfg.dataset.test_size == compose([]).dataset.test_size  # the shared test set
    assert (
        "+experiment=families" in (CONF / "experiment" / "families.yaml").read_text().split("\n")[1]
    )


def test_the_families_report_compares_within_each_family_only(tmp_path):
    """The report's groups: one per family, each holding that family's five variants."""
    from ablate.run_files import RunResults

    runs = []
    for model in ("default", "transformer"):
        for attention in ("none", "dot", "scaled_dot", "additive", "multiplicative"):
            for seed in (0, 1, 2):
                overrides = (f"model={model}", f"attention={attention}", f"seed={seed}")
                results = RunResults(attention, "toy_fr", seed, "complete")
                runs.append(Run(tmp_path / "_".join(overrides), overrides, results))
    groups = {}
    for r in name_runs(runs):
        groups.setdefault(r.group, set()).add(r.variant)
    assert len(groups) == 2
    for variants in groups.values():
        assert len(variants) == 5
