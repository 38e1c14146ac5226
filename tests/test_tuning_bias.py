"""Tuning without bias (`+experiment=tuned`, `ablate.tuning`): the final runs' seeds are
not the trials' seed, a resumed sweep trains at the budget its trials did, an unreadable
journal is one line, and the expected-max band is a bootstrap over the trials."""

import random
import re

import numpy as np
import pytest
from omegaconf import OmegaConf

from ablate.tuning.budget import job_settings, training_budget
from ablate.tuning.expected_max import expected_max, max_weights
from ablate.tuning.journal import JOURNAL
from ablate.tuning.record import TrainingBudget, TuningRecord
from hydra_plugins.ablate_tuning._impl import EqualBudgetTuner, check_settings

from conftest import ROOT, TINY, ablate_in_process

# ------------------------------------------------------------------ the final seeds


def test_a_final_seed_equal_to_the_trials_seed_is_refused():
    good = dict(trials=4, batch_size=None, sampler="tpe", startup_trials=2, seed=0, parallel=2)
    assert check_settings(seeds=[0, 1], trial_seed=5, **good).seeds == [0, 1]
    message = (
        "tune.seeds [2, 0] contains the trials' seed (seed=0): that final run would repeat "
        "the trial chosen on validation; give tune.seeds without it, e.g. tune.seeds=[1,2]"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        check_settings(seeds=[2, 0], trial_seed=0, **good)


SETTINGS = ("trials", "seeds", "batch_size", "sampler", "startup_trials", "seed")


def composed_tuned():
    """`+experiment=tuned` as Hydra composes it, with its `hydra` node."""
    from hydra import compose, initialize_config_dir

    from hydra_plugins.ablate_tuning import register

    register()  # the ConfigStore entry, which an editable install hides from Hydra's scan
    with initialize_config_dir(str(ROOT / "conf"), version_base="1.3"):
        return compose("config", overrides=["+experiment=tuned"], return_hydra_config=True)


def test_the_default_final_seeds_are_not_the_trials_seed():
    cfg = composed_tuned()
    seeds = OmegaConf.to_container(cfg.hydra.sweeper, resolve=True)["seeds"]
    assert seeds == list(cfg.tune.seeds) and cfg.seed not in seeds and len(seeds) == 3


def test_the_sweepers_defaults_are_written_once():
    """config.py's dataclass has them; the YAML files select it and only pass tune.* on."""
    from hydra_plugins.ablate_tuning.config import TuningSweeperConf

    defaults, cfg = TuningSweeperConf(), composed_tuned()
    sweeper = OmegaConf.to_container(cfg.hydra.sweeper, resolve=True)
    for key in SETTINGS:
        assert sweeper[key] == cfg.tune[key] == getattr(defaults, key), key
    assert set(OmegaConf.load(ROOT / "conf/hydra/sweeper/tune.yaml")) == {"defaults"}
    tuned = OmegaConf.load(ROOT / "conf/experiment/tuned.yaml")
    assert "tune" not in tuned
    passed = OmegaConf.to_container(tuned.hydra.sweeper, resolve=False)
    assert {k: passed[k] for k in SETTINGS} == {k: f"${{tune.{k}}}" for k in SETTINGS}


# ------------------------------------------------------------------ the command


def errors_of(capsys) -> tuple[list[str], str]:
    out = capsys.readouterr()
    text = out.out + out.err
    return [line for line in text.splitlines() if line.startswith("error:")], text


TUNED = ["+experiment=tuned", *TINY, "logger=none", "attention=dot,additive", "tune.trials=2"]


def test_a_tuning_command_with_the_trials_seed_among_the_final_seeds_is_one_line(tmp_path, capsys):
    code = ablate_in_process([*TUNED, f"hydra.sweep.dir={tmp_path}", "tune.seeds=[0,1]"])
    errors, text = errors_of(capsys)
    assert code == 1 and "Traceback" not in text, text[-2000:]
    assert len(errors) == 1 and "contains the trials' seed (seed=0)" in errors[0], text[-2000:]
    assert not (tmp_path / "trials").exists()


@pytest.mark.parametrize("content", [b"\x9f\x00garbage", b"\x9f\x00garbage\n", b'{"a": 1}\n'])
def test_an_unreadable_journal_is_one_line_naming_it_and_the_fix(tmp_path, capsys, content):
    (tmp_path / JOURNAL).write_bytes(content)
    code = ablate_in_process([*TUNED, f"hydra.sweep.dir={tmp_path}"])
    errors, text = errors_of(capsys)
    assert code == 1 and "Traceback" not in text, text[-2000:]
    assert len(errors) == 1, text[-2000:]
    assert f"{tmp_path / JOURNAL} cannot be read as a tuning journal" in errors[0]
    assert "delete it to start the tuning over, or give another hydra.sweep.dir" in errors[0]
    assert (tmp_path / JOURNAL).read_bytes() == content  # left as it was
    assert not (tmp_path / "trials").exists()


@pytest.mark.parametrize(
    "change, differs",
    [
        ("trainer.max_epochs=2", "trainer.max_epochs: 1 → 2"),
        pytest.param("seed=5", "seed: 0 → 5", marks=pytest.mark.slow),  # the same check
    ],
)
def test_a_resumed_sweep_at_another_budget_is_refused(
    tmp_path, capsys, monkeypatch, change, differs
):
    # The studies are stamped when the sweep opens them; no trial needs to run for that.
    monkeypatch.setattr(EqualBudgetTuner, "run", lambda self: [])
    assert ablate_in_process([*TUNED, f"hydra.sweep.dir={tmp_path}"]) == 0
    assert (tmp_path / JOURNAL).is_file()
    capsys.readouterr()
    # The same settings pass (resume=true and the seeds are not job settings) ...
    same = [*TUNED, f"hydra.sweep.dir={tmp_path}", "resume=true", "tune.seeds=[4]"]
    assert ablate_in_process(same) == 0 and not errors_of(capsys)[0]
    capsys.readouterr()
    # ... another budget (or trials' seed) does not.
    code = ablate_in_process([*same, change])
    errors, text = errors_of(capsys)
    assert code == 1 and "Traceback" not in text, text[-2000:]
    assert len(errors) == 1, text[-2000:]
    assert f"trials of dot trained with other job settings ({differs})" in errors[0]
    assert "resume with the original settings, or give a new hydra.sweep.dir" in errors[0]


def test_job_settings_leave_out_the_tuned_keys_and_hydra():
    config = {
        "seed": 0,
        "resume": True,
        "hydra": {"sweep": {"dir": "x"}},
        "optim": {"lr": 0.01, "betas": [0.9, 0.98]},
        "dataset": {"train_size": 3000},
        "trainer": {"max_epochs": 4},
    }
    settings = job_settings(config, ["optim.lr"])
    assert settings == {
        "seed": 0,  # the trials'
        "optim.betas": [0.9, 0.98],
        "dataset.train_size": 3000,
        "trainer.max_epochs": 4,
    }
    assert training_budget([settings, settings]) == TrainingBudget(3000, 4)
    other = {**settings, "trainer.max_epochs": 7}
    assert training_budget([settings, other]) == TrainingBudget(3000, None)  # varies


# ------------------------------------------------------------------ the band


def bootstrap_by_loop(scores, replicates, seed):
    """The percentile band by a plain loop: resample, recompute the curve, percentiles."""
    rng = np.random.default_rng(seed)
    total = len(scores)
    curves = []
    for _ in range(replicates):
        draw = sorted(np.asarray(sorted(scores))[rng.integers(0, total, size=total)])
        curves.append(
            [
                sum(w * v for w, v in zip(max_weights(total, n), draw, strict=True))
                for n in range(1, total + 1)
            ]
        )
    return np.percentile(np.array(curves), [2.5, 97.5], axis=0)


@pytest.mark.parametrize("total", [2, 3, 8, 20])
def test_the_band_is_a_bootstrap_over_trials_with_width_at_n_equals_n(total):
    rng = random.Random(total)
    scores = [rng.uniform(0, 40) for _ in range(total)]
    curve = expected_max(scores)
    assert curve.high[-1] - curve.low[-1] > 0  # the best of N is uncertain too
    for low, mean, high in zip(curve.low, curve.mean, curve.high, strict=True):
        assert low <= mean <= high
    low, high = bootstrap_by_loop(scores, 1000, 0)
    assert np.allclose(curve.low, np.minimum(low, curve.mean))
    assert np.allclose(curve.high, np.maximum(high, curve.mean))
    assert expected_max(scores) == curve  # a fixed seed: the same scores, the same band


def test_tied_trials_have_no_band():
    curve = expected_max([12.5] * 5)
    assert curve.low == curve.mean == curve.high == [12.5] * 5


def test_the_record_keeps_the_band_and_the_training_budget():
    data = {
        "trials": 2,
        "seeds": [1],
        "batch_size": 2,
        "sampler": {"name": "random", "seed": 0, "startup_trials": 0},
        "space": {"optim.lr": "interval(0.001, 0.01)"},
        "training": {"train_size": 3000, "max_epochs": 4},
        "variants": [
            {
                "variant": "dot",
                "axes": {"attention": "dot"},
                "trials": [
                    {
                        "number": k,
                        "params": {},
                        "valid_bleu": b,
                        "status": "complete",
                        "dir": f"trials/dot/{k}",
                    }
                    for k, b in enumerate([3.0, 9.0])
                ],
            }
        ],
    }
    record = TuningRecord.from_json(data)
    assert record.training == TrainingBudget(train_size=3000, max_epochs=4)
    assert record.training.describe() == "3,000 training pairs × 4 epochs"
    saved = record.to_json()
    assert saved["training"] == data["training"] and "bootstrap" in saved["band"]
    curve = saved["variants"][0]["expected_max"]
    assert set(curve) >= {"n", "mean", "std", "low", "high"}  # std: the report's old field
    assert curve["high"][-1] > curve["low"][-1]
    old = TuningRecord.from_json({k: v for k, v in data.items() if k != "training"})
    assert old.training is None  # a record written before the budget was kept
