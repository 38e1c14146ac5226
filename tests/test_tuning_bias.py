"""Tuning without bias (`+experiment=tuned`, `ablate.tuning`): the final runs' seeds are
not the trials' seed, a resumed sweep trains at the budget its trials did, an unreadable
journal is one line, and the expected-max band is a bootstrap over the trials."""

import random

import numpy as np
import pytest

from ablate.tuning.expected_max import expected_max, max_weights
from ablate.tuning.record import TrainingBudget, TuningRecord

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
