"""Old paths keep working after the renames (issue 24 item 4): what old checkpoints,
old `_target_`s and old run dirs' `.hydra/` configs name imports, and is the same
object as its new name."""

import importlib

import pytest
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from ablate import checkpoints, translate
from ablate.sweep_report import SweepReport

from models import rnn_model

# old path -> new path, of every object an old config, checkpoint or run dir names
MOVED = {
    "ablate.models.seq2seq.Seq2Seq": "ablate.models.rnn.RNNEncoderDecoder",
    "ablate.sweep.SweepReport": "ablate.sweep_report.SweepReport",
    "ablate.sweep.sweep_values": "ablate.sweep_report.sweep_values",
}


def _object(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("old", MOVED)
def test_an_old_path_is_the_same_object_as_its_new_one(old):
    assert _object(old) is _object(MOVED[old])
    if isinstance(_object(old), type):
        assert get_class(old) is get_class(MOVED[old])  # as Hydra reads a `_target_`


def test_an_old_sweep_dirs_callback_builds_the_sweep_report():
    """An old sweep dir's `.hydra/hydra.yaml` registers the callback by its old path."""
    old = OmegaConf.create({"_target_": "ablate.sweep.SweepReport"})
    assert type(instantiate(old)) is SweepReport


def test_settings_naming_the_rnn_by_its_old_path_are_the_rnns():
    """A record that names the RNN's class by its old path upgrades to the RNN's form (no
    `_target_`), so it fits a run of today's RNN and builds the same class."""
    record = rnn_model("dot").config.record()
    old = {"_target_": checkpoints.RNN_BEFORE, **record}
    assert checkpoints.upgrade_model_settings(old) == checkpoints.upgrade_model_settings(record)
    assert type(translate.build_model(old)) is type(translate.build_model(record))
