"""What a tuning sweep leaves on disk besides its job dirs: `tuning.json`.

A tuning sweep (`+experiment=tuned`, `hydra_plugins.ablate_tuning`) gives every variant the
same number of trials; `tuning.json` records, per variant, each trial's parameters and
validation BLEU in the order they ran, the setting chosen (the best validation BLEU;
ties go to the earlier trial), and the expected best validation BLEU against the number
of trials (`ablate.tuning.expected_max`). The sweep report reads it to say whether the
variants are similar after equal tuning. This module is its one writer and reader
(the curves need numpy, through `expected_max`).

    {"objective": "valid_bleu", "trials": 8, "seeds": [1, 2, 3], "batch_size": 2,
     "sampler": {"name": "tpe", "seed": 0, "startup_trials": 4},
     "space": {"optim.lr": "tag(log, interval(0.0005, 0.02))", ...},
     "training": {"train_size": 3000, "max_epochs": 4},
     "failed_score": 0.0, "band": "...",
     "variants": [{"variant": "dot", "axes": {"attention": "dot"}, "trial_count": 8,
                   "trials": [{"number": 0, "params": {"optim.lr": 0.0031, ...},
                               "valid_bleu": 61.2, "status": "complete",
                               "dir": "trials/dot/0"}, ...],
                   "chosen": {"number": 5, "params": {...}, "valid_bleu": 70.4},
                   "expected_max": {"n": [1, ..., 8], "mean": [...], "std": [...],
                                    "low": [...], "high": [...]}},
                  ...]}

`dir` is relative to the sweep dir; `valid_bleu` is `null` for a trial that did not
complete (`status` says why), and `chosen` is `null` for a variant none of whose trials
completed. `training` is the budget every trial and final run trained at (a `null` size:
the dataset's whole training split, or a value that differs between variants); `std` is
the spread of the best of n over n-subsets, `low` … `high` the band (`BAND`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ablate.atomic import read_json, write_json
from ablate.tuning.expected_max import (
    BOOTSTRAP_SEED,
    LEVEL,
    REPLICATES,
    ExpectedMax,
    expected_max,
)

TUNING = "tuning.json"
TUNING_CURVES = "tuning_curves.png"
# A trial that did not complete (diverged, failed) spent its share of the budget and
# translated nothing: it enters the expected-maximum curve as BLEU 0.
FAILED_SCORE = 0.0
BAND = (
    f"{LEVEL:.0%} percentile bootstrap over the trials: the N trials resampled with "
    f"replacement {REPLICATES} times (seed {BOOTSTRAP_SEED}), the curve recomputed on each, "
    "low/high the percentiles at each n"
)


@dataclass(frozen=True)
class TrainingBudget:
    """What each trial and final run trained on: a verdict holds at this budget only."""

    train_size: int | None  # training pairs; None: the dataset's whole split, or it varies
    max_epochs: int | None  # None: it varies between variants

    def to_json(self) -> dict:
        return {"train_size": self.train_size, "max_epochs": self.max_epochs}

    @classmethod
    def from_json(cls, data: Mapping) -> TrainingBudget:
        return cls(train_size=data["train_size"], max_epochs=data["max_epochs"])

    def describe(self) -> str:
        """In words, for a report: `3,000 training pairs × 4 epochs`."""
        size = "all" if self.train_size is None else f"{self.train_size:,}"
        epochs = "?" if self.max_epochs is None else str(self.max_epochs)
        return f"{size} training pairs × {epochs} epochs"


@dataclass(frozen=True)
class TrialRecord:
    """One trial: its number in its study, its parameters, its validation BLEU."""

    number: int
    params: dict
    valid_bleu: float | None
    status: str  # complete | failed | running (asked, not finished)
    dir: str  # the trial's job dir, relative to the sweep dir

    def to_json(self) -> dict:
        return {
            "number": self.number,
            "params": self.params,
            "valid_bleu": self.valid_bleu,
            "status": self.status,
            "dir": self.dir,
        }


@dataclass(frozen=True)
class VariantRecord:
    """One variant's study: its trials in order and the setting chosen from them."""

    variant: str
    axes: dict  # the overrides that make the variant, e.g. {"attention": "dot"}
    trials: list[TrialRecord]

    @property
    def finished(self) -> list[TrialRecord]:
        return [t for t in self.trials if t.status != "running"]

    @property
    def chosen(self) -> TrialRecord | None:
        """The complete trial with the best validation BLEU (the earliest among ties)."""
        done = [t for t in self.trials if t.valid_bleu is not None]
        return max(done, key=lambda t: (t.valid_bleu, -t.number)) if done else None

    def curve(self) -> ExpectedMax | None:
        """The expected best validation BLEU after n of the finished trials."""
        scores = [FAILED_SCORE if t.valid_bleu is None else t.valid_bleu for t in self.finished]
        return expected_max(scores) if scores else None

    def to_json(self) -> dict:
        chosen, curve = self.chosen, self.curve()
        return {
            "variant": self.variant,
            "axes": self.axes,
            "trial_count": len(self.finished),
            "trials": [t.to_json() for t in self.trials],
            "chosen": None
            if chosen is None
            else {
                "number": chosen.number,
                "params": chosen.params,
                "valid_bleu": chosen.valid_bleu,
            },
            "expected_max": None if curve is None else curve.to_json(),
        }


@dataclass(frozen=True)
class TuningRecord:
    """`tuning.json`: the budget, the search space and every variant's study."""

    trials: int  # per variant
    seeds: list[int]  # the final runs' seeds
    batch_size: int  # trials per variant launched together
    sampler: dict  # {"name", "seed", "startup_trials"}
    space: dict[str, str]  # parameter -> its range, as written in the config
    variants: list[VariantRecord] = field(default_factory=list)
    training: TrainingBudget | None = None  # None: a record written before it was kept

    def to_json(self) -> dict:
        return {
            "objective": "valid_bleu",
            "trials": self.trials,
            "seeds": self.seeds,
            "batch_size": self.batch_size,
            "sampler": self.sampler,
            "space": self.space,
            "training": None if self.training is None else self.training.to_json(),
            "failed_score": FAILED_SCORE,
            "band": BAND,
            "variants": [v.to_json() for v in self.variants],
        }

    @classmethod
    def from_json(cls, data: Mapping) -> TuningRecord:
        """The record in a `tuning.json`'s content (curves and choices are recomputed from
        the trials, so they cannot disagree with them)."""
        variants = [
            VariantRecord(
                variant=v["variant"],
                axes=dict(v["axes"]),
                trials=[TrialRecord(**t) for t in v["trials"]],
            )
            for v in data["variants"]
        ]
        return cls(
            trials=data["trials"],
            seeds=list(data["seeds"]),
            batch_size=data["batch_size"],
            sampler=dict(data["sampler"]),
            space=dict(data["space"]),
            variants=variants,
            training=None
            if data.get("training") is None
            else TrainingBudget.from_json(data["training"]),
        )


def write_tuning(sweep_dir: Path, record: TuningRecord) -> Path:
    """Write `<sweep_dir>/tuning.json` (atomically) and return its path."""
    path = Path(sweep_dir) / TUNING
    write_json(path, record.to_json())
    return path


def read_tuning(sweep_dir: Path) -> TuningRecord | None:
    """The sweep's tuning record; None for a sweep that did not tune.

    Raises:
        ValueError, KeyError, TypeError: a `tuning.json` that is not one.
    """
    path = Path(sweep_dir) / TUNING
    if not path.is_file():
        return None
    return TuningRecord.from_json(read_json(path))
