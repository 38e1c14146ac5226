"""The throughput benchmark measures the product: a variant it builds
(`benchmarks/variant.py`) is the model `train.run` builds for the same config — the same
parameter shapes, the same initial weights — and the benchmark's training step is the
step Lightning takes in that run: the same loss on the same batch, the same weights
after it. The run's side is recorded by a callback declared in config, as a user's
would be. No timings here."""

import sys
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from ablate.train import run

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from variant import (  # noqa: E402
    BENCH_CONF,
    FAMILIES,
    QUICK_TEST_EVERY,
    WORKLOADS,
    TrainingStep,
    build,
    compose_variant,
    diagnostics_every,
)

# The benchmark's model and batch size at a fraction of its data, so a run takes seconds.
# A clipping threshold that the first step's gradient norm exceeds, so that the step is
# seen to take the trainer's value.
SMALL = [
    "dataset.train_size=160",
    "dataset.valid_size=8",
    "dataset.test_size=8",
    "trainer.gradient_clip_val=0.05",
]
ONE_STEP = ["trainer.max_epochs=1", "+trainer.limit_train_batches=1", "logger=none"]
FAST = {("rnn", "additive"), ("transformer", "scaled_dot")}  # the rest: the slow tier
VARIANTS = [(f, v) for f, family in FAMILIES.items() for v in family.variants]


class FirstStep(pl.Callback):
    """Records the run's first training step in `FirstStep.seen`: the weights before it,
    the RNG state and batch it ran on, its loss and the weights after it."""

    seen: dict = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == 0:
            FirstStep.seen.update(
                before=_weights(pl_module.model),
                rng=torch.get_rng_state(),
                batch={k: v.clone() for k, v in batch.items()},
                training=pl_module.model.training,
            )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if batch_idx == 0:
            FirstStep.seen.update(loss=outputs["loss"].detach(), after=_weights(pl_module.model))


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same(ours: dict, theirs: dict):
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}
    for name, value in theirs.items():
        torch.testing.assert_close(ours[name], value, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize(
    ("family", "variant"),
    [v if v in FAST else pytest.param(*v, marks=pytest.mark.slow) for v in VARIANTS],
)
def test_variant_is_the_run_model_and_its_step_is_the_run_step(family, variant, tmp_path, no_png):
    callback = [f"+callbacks.first_step._target_={__name__}.FirstStep"]
    overrides = [*SMALL, *ONE_STEP, *callback]
    cfg, choices = compose_variant("reverse", family, variant, 1, overrides)
    FirstStep.seen.clear()
    run(cfg, tmp_path / "run", choices)
    seen = FirstStep.seen

    cfg, choices = compose_variant("reverse", family, variant, 1, SMALL)
    built = build(cfg, choices, QUICK_TEST_EVERY)  # as a --quick worker builds it
    _assert_same(_weights(built.model), seen["before"])
    built.model.train(seen["training"])
    step = TrainingStep(built.system, cfg.trainer, 1, diagnostics_every(cfg))  # as the run
    torch.set_rng_state(seen["rng"])  # the run's dropout masks
    loss = step(seen["batch"])
    torch.testing.assert_close(loss, seen["loss"], rtol=0, atol=0)
    _assert_same(_weights(built.model), seen["after"])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("workload", WORKLOADS)
def test_workloads_keep_the_product_config_but_their_own(workload, family):
    """A workload and a family set the data, the model's sizes, the batch size and the
    CPU, and nothing else: the optimiser, clipping and decoding are the product's."""
    from conftest import compose

    sizes = OmegaConf.load(BENCH_CONF / "family" / f"{family}.yaml").model
    model = "transformer" if family == "transformer" else "default"
    cfg, choices = compose_variant(workload, family, "additive", 2)
    product = compose(
        ["attention=additive", "trainer=cpu", "threads=2", f"dataset={workload}", f"model={model}"]
    )
    assert choices["dataset"] == workload and choices["trainer"] == "cpu"
    assert choices["model"] == model
    for key in ("optim", "decode", "trainer", "attention", "callbacks", "buckets", "seed"):
        assert cfg[key] == product[key], key
    assert cfg.model == OmegaConf.merge(product.model, sizes)
    assert {k for k in cfg.data if cfg.data[k] != product.data[k]} == {"batch_size"}


def test_attention_dim_reaches_additive_and_no_other():
    cfg, _ = compose_variant("reverse", "rnn", "additive+bahdanau", 1, attention_dim=256)
    assert cfg.attention.dim == 256 and cfg.model.decoder == "bahdanau"
    cfg, _ = compose_variant("reverse", "rnn", "dot", 1, attention_dim=256)
    assert "dim" not in cfg.attention


def test_unknown_names_are_one_line_errors():
    with pytest.raises(ValueError, match="unknown workload 'copy'"):
        compose_variant("copy", "rnn", "additive", 1)
    with pytest.raises(ValueError, match="unknown family 'cnn'.*transformer"):
        compose_variant("reverse", "cnn", "additive", 1)
    with pytest.raises(ValueError, match="unknown variant 'tanh'.*additive"):
        compose_variant("reverse", "rnn", "tanh", 1)
