"""The thin system and what was moved out of it: decoding into `Decoded`, the finite-loss
callback, checkpoint extras, Lightning's start-up lines, W&B naming."""

import logging
import subprocess
import sys

import numpy as np
import pytest
import torch

from ablate import callbacks, checkpoints, tracking
from ablate.buckets import make_buckets
from ablate.callbacks import DivergedError, LightningChatter
from ablate.data.corpus import Pair
from ablate.data.vocab import Vocab
from ablate.models.seq2seq import Seq2Seq
from ablate.system import Decoded, Seq2SeqSystem
from ablate.train import run

from conftest import TINY, compose

WORDS = ["a", "b", "c"]


def tiny_system(model=None) -> Seq2SeqSystem:
    vocab = Vocab.build([WORDS])
    pairs = [Pair(("a", "b"), ("b", "c"))]
    model = model or Seq2Seq(len(vocab), len(vocab), embed=4, hidden=4, attention="dot")
    return Seq2SeqSystem(
        model, vocab, vocab, valid=pairs, test=pairs, buckets=make_buckets("edges", edges=[1])
    )


class FixedDecoder(torch.nn.Module):
    """Decodes every sentence to `a b` with weights rows `a`, `b` and a given `</s>` row."""

    def __init__(self, eos_row):
        super().__init__()
        self.eos_row = eos_row

    def decode(self, src, src_len, beam_size=1, length_penalty=1.0):
        vocab = Vocab.build([WORDS])
        B, S = src.shape
        tokens = torch.tensor([[vocab.stoi["a"], vocab.stoi["b"], Vocab.pad_id]] * B)
        weights = torch.full((B, 3, S), 1.0 / S)
        weights[:, 2] = torch.tensor(self.eos_row)
        return tokens, weights


@pytest.mark.parametrize(
    ("eos_row", "rows"), [([0.0, 0.0], 2), ([0.5, 0.5], 3)], ids=["blank", "weighted"]
)
def test_decoded_weights_have_no_blank_eos_row(eos_row, rows, monkeypatch):
    system = tiny_system()
    fixed = FixedDecoder(eos_row)  # what decoding returns, in place of the search
    monkeypatch.setattr("ablate.models.search.decode", lambda model, *a, **k: fixed.decode(*a, **k))
    batch = {"src": torch.ones(1, 2, dtype=torch.long), "src_len": torch.tensor([2])}
    batch["index"] = torch.tensor([0])
    (d,) = system._decode(batch, keep_weights=True)
    assert isinstance(d, Decoded) and d.index == 0 and d.tokens == ["a", "b"]
    assert d.weights.shape == (rows, 2)
    assert (d.weights.sum(1) > 0).all()  # every drawn row is a real one


def test_the_system_reads_nothing_from_a_datamodule():
    import inspect

    from ablate import system

    assert "trainer.datamodule" not in inspect.getsource(system)


def test_checkpoint_extras_round_trip_and_restore_the_rng():
    vocab = Vocab.build([WORDS])
    meta = checkpoints.extras({"hidden": 4}, vocab, vocab, None, 12, 3.5)
    assert meta["model"] == {"hidden": 4} and meta["subword"] == {"src": None, "tgt": None}
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


def test_a_run_prints_no_lightning_chatter(tmp_path, capfd, one_thread):
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
