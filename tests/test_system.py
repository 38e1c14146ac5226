"""The thin system and what was moved out of it: decoding into `Decoded`, the optimiser
and schedule, the finite-loss callback, checkpoint extras, Lightning's start-up lines, W&B
naming."""

import functools
import inspect
import logging
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from ablate import callbacks, checkpoints, optim, tracking, train
from ablate.buckets import make_buckets
from ablate.callbacks import DivergedError, LightningChatter
from ablate.data.corpus import Pair
from ablate.data.vocab import Vocab
from ablate.scoring import Scorer
from ablate.system import Decoded, Decoding, Seq2SeqSystem
from ablate.train import run

from conftest import TINY, compose
from models import rnn_model

WORDS = ["a", "b", "c"]


def tiny_system(**settings) -> Seq2SeqSystem:
    vocab = Vocab.build([WORDS])
    pairs = [Pair(("a", "b"), ("b", "c"))]
    sizes = dict(src_vocab_size=len(vocab), tgt_vocab_size=len(vocab), embed=4, hidden=4)
    model = rnn_model("dot", **sizes, dropout=0.1, seed=None, eval=False)
    scorer = Scorer(pairs, pairs, make_buckets("edges", edges=[1]))
    optimizer = functools.partial(torch.optim.Adam, lr=settings.pop("lr", 1e-3))
    return Seq2SeqSystem(model, scorer, optimizer, **settings)


def test_the_system_takes_at_most_six_parameters_and_run_reads_in_sixty_lines():
    assert len(inspect.signature(Seq2SeqSystem.__init__).parameters) - 1 <= 6  # self
    lines, _ = inspect.getsourcelines(train.run)
    assert len(lines) <= 60, len(lines)


@pytest.mark.parametrize(
    ("eos_row", "rows"), [([0.0, 0.0], 2), ([0.5, 0.5], 3)], ids=["blank", "weighted"]
)
def test_decoded_weights_have_no_blank_eos_row(eos_row, rows):
    weights = torch.full((4, 3), 0.5)  # (T_max, S_max): tokens a b, then </s>, then padding
    weights[:, 2] = 0.0  # a padded source position
    weights[2, :2] = torch.tensor(eos_row)
    d = Decoded.from_search(0, ["a", "b"], weights, src_len=2)
    assert isinstance(d, Decoded) and d.index == 0 and d.tokens == ["a", "b"]
    assert d.weights.shape == (rows, 2)
    assert (d.weights.sum(1) > 0).all()  # every drawn row is a real one
    assert Decoded.from_search(1, ["a"], None, src_len=2).weights is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"lr": 0}, r"optim.lr must be > 0, got 0"),
        ({"lr": 1e38}, r"optim.lr must be at most 1e\+36"),
        ({"label_smoothing": 1.0}, r"optim.label_smoothing must be in \[0, 1\)"),
    ],
)
def test_bad_optimiser_settings_are_refused_when_the_system_is_made(settings, message):
    with pytest.raises(ValueError, match=message):
        tiny_system(**settings)


@pytest.mark.parametrize(("beam_size", "length_penalty"), [(0, 1.0), (2.5, 1.0), (1, -1.0)])
def test_decoding_settings_are_checked_when_made(beam_size, length_penalty):
    with pytest.raises(ValueError, match=r"decode\.(beam_size|length_penalty)"):
        Decoding(beam_size, length_penalty)


def test_the_schedules_are_named_and_cosine_decays_to_its_floor():
    assert optim.schedule("constant") is None
    with pytest.raises(ValueError, match="unknown optim.schedule 'linear'; choose one of "):
        optim.schedule("linear")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=2.0)
    asked = []
    scheduler = optim.schedule("cosine")(opt, lambda: asked.append(1) or 4)
    assert not asked  # the total is asked at the first step, not when built
    rates = []
    for _ in range(6):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    assert len(asked) == 1
    assert rates[0] == 2.0 and rates[2] == pytest.approx(2.0 * (0.05 + 0.95 * 0.5))
    assert rates[4] == rates[5] == pytest.approx(0.1)  # 5% of lr from the last step on
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))
    assert math.isclose(rates[1], 2.0 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi / 4))))


def test_the_system_takes_its_vocabulary_from_the_datamodule():
    source = inspect.getsource(Seq2SeqSystem)
    assert "trainer.datamodule.tgt_vocab" in source and "Vocab.build" not in source


def test_checkpoint_extras_round_trip_and_restore_the_rng():
    meta = checkpoints.extras({"hidden": 4}, 12, 3.5)
    assert meta["model"] == {"hidden": 4} and "src_vocab" not in meta  # the datamodule's
    expected = torch.rand(3)
    torch.set_rng_state(meta["rng"]["torch"])
    torch.rand(5)  # moves on
    assert checkpoints.restore({"ablate": meta}) == (12, 3.5)
    assert torch.equal(torch.rand(3), expected)
    assert checkpoints.restore({}) == (0, 0.0)


def test_a_nan_loss_raises_diverged_at_that_step(tmp_path, monkeypatch, one_thread):
    monkeypatch.setenv(callbacks.FAULT_NAN_STEP, "1")
    with pytest.raises(DivergedError, match=r"NaN/inf at step 1 \(epoch 0\).*optim\.lr="):
        run(compose([*TINY, "logger=none"]), tmp_path / "run")
    assert not list((tmp_path / "run" / "checkpoints").glob("*.ckpt"))


def test_finite_loss_checks_before_validation_not_during_sanity_checks():
    class Trainer:
        sanity_checking, current_epoch = False, 2
        optimizers = [torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=0.5)]

    watch = callbacks.FiniteLoss()
    watch.first_bad_step = torch.tensor(7)
    Trainer.sanity_checking = True
    watch.on_validation_epoch_start(Trainer(), None)
    Trainer.sanity_checking = False
    with pytest.raises(DivergedError, match=r"step 7 \(epoch 2\).*optim\.lr=0\.5"):
        watch.on_validation_epoch_start(Trainer(), None)


@pytest.mark.parametrize(
    "line", ["GPU available: False, used: False", "TPU available: False, using: 0 TPU cores"]
)
def test_lightning_chatter_is_dropped(line):
    record = logging.LogRecord("pytorch_lightning", logging.INFO, "", 0, line, None, None)
    assert not LightningChatter().filter(record)


def test_other_lightning_lines_pass():
    for line in ("Restoring states from the checkpoint path at x", "`Trainer.fit` stopped: x"):
        record = logging.LogRecord("pytorch_lightning", logging.INFO, "", 0, line, None, None)
        assert LightningChatter().filter(record)


def test_a_run_prints_no_lightning_chatter(tmp_path, capfd, one_thread, no_png):
    run(compose([*TINY, "logger=none"]), tmp_path / "run")
    out = "".join(capfd.readouterr())
    assert "bucket" in out  # the run's own table
    for chatter in ("GPU available", "TPU available", "Tip:", "litlogger"):
        assert chatter not in out, out[-2000:]


def test_the_wandb_logger_does_not_pass_anonymous(tmp_path):
    logger = tracking.wandb_logger(str(tmp_path), "x", {})
    assert "anonymous" not in getattr(logger, "_wandb_init", {})


def test_wandb_naming():
    choices = {"attention": "dot", "dataset": "copy", "experiment": None, "trainer": "cpu"}
    assert tracking.axis_tags(choices) == ["attention=dot", "dataset=copy"]
    assert tracking.sweep_group(choices, "outputs/multirun/2024-01-02/03-04-05") == (
        "sweep-2024-01-02_03-04-05"
    )


def test_data_and_console_do_not_import_lightning():
    code = (
        "import sys, ablate.console, ablate.data.datasets; "
        "print('pytorch_lightning' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_decoded_is_a_plain_record():
    d = Decoded(3, ["x"], np.ones((1, 2)))
    assert d.forced is None and d.weights.shape == (1, 2)
