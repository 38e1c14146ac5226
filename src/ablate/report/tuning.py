"""An equal-tuning sweep in the report (`+experiment=tuned`): what each variant's study
found.

A tuning sweep leaves `tuning.json` (`ablate.tuning.record`) beside its final runs: every
variant's trials, the setting chosen on validation BLEU and the expected best validation
BLEU after n trials (Tang et al. 2020). The final runs are ordinary job dirs, compared
by the report as any sweep's; this module ties each report variant to its study (the
study's axes, e.g. `attention=dot`, are among the run's overrides). The claim judged on
them, similar performance after equal tuning, is `ablate.report.claims`'
`scores_tuned`: inconclusive where budgets differ (Dodge et al. 2019: a comparison is
only as fair as its budgets are equal).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ablate.report.read import Run
from ablate.tuning.expected_max import ExpectedMax
from ablate.tuning.record import TUNING, TUNING_CURVES, TrialRecord, TuningRecord, read_tuning


@dataclass(frozen=True)
class Study:
    """One variant's study: the trials it finished and the setting chosen from them.

    Args:
        study: the study's name in `tuning.json` (`dot`).
        variants: the report variants whose runs are its final runs.
        trials: the finished trials (complete or failed), of the budget `budget`.
        chosen: the trial chosen on validation BLEU; None if none completed.
        curve: the expected best validation BLEU after n = 1 … trials.
    """

    study: str
    variants: tuple[str, ...]
    trials: int
    chosen: TrialRecord | None
    curve: ExpectedMax | None

    def to_json(self) -> dict:
        return {
            "study": self.study,
            "variants": list(self.variants),
            "trials": self.trials,
            "chosen": None if self.chosen is None else self.chosen.to_json(),
            "expected_max": None if self.curve is None else self.curve.to_json(),
        }


@dataclass(frozen=True)
class TuningSummary:
    """The sweep's tuning as the report shows it (`summary.json`'s `tuning`): the budget
    per variant, the search space, the sampler, each variant's study, and the curves'
    figure if the sweep drew it."""

    budget: int
    space: Mapping[str, str]
    sampler: Mapping
    seeds: tuple[int, ...]
    studies: tuple[Study, ...]
    curves_png: str | None = None
    training: str | None = None  # the budget every trial and final run trained at, in words

    def study_of(self, variant: str) -> Study | None:
        return next((s for s in self.studies if variant in s.variants), None)

    def to_json(self) -> dict:
        return {
            "budget": self.budget,
            "space": dict(self.space),
            "sampler": dict(self.sampler),
            "seeds": list(self.seeds),
            "studies": [s.to_json() for s in self.studies],
            "curves_png": self.curves_png,
            "training": self.training,
        }


def tuning_record(sweep_dir: Path) -> TuningRecord | None:
    """The sweep's `tuning.json`; None for a sweep that did not tune.

    Raises:
        ValueError: a `tuning.json` that cannot be read, naming the file.
    """
    try:
        return read_tuning(sweep_dir)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(
            f"{Path(sweep_dir) / TUNING} is not a tuning record ({e!r}); rerun the tuning "
            "sweep with resume=true to write it again"
        ) from e


def report_tuning(sweep_dir: Path, record: TuningRecord, runs: Sequence[Run]) -> TuningSummary:
    """The sweep's tuning `record`, its studies tied to the report's variants (`runs`
    named with the record's search-space keys, `ablate.report.groups.name_runs`)."""
    studies = []
    for v in record.variants:
        wanted = {f"{k}={val}" for k, val in v.axes.items()}
        names = tuple(dict.fromkeys(r.variant for r in runs if wanted <= set(r.overrides)))
        studies.append(Study(v.variant, names, len(v.finished), v.chosen, v.curve()))
    curves = Path(sweep_dir) / TUNING_CURVES
    return TuningSummary(
        budget=record.trials,
        space=record.space,
        sampler=record.sampler,
        seeds=tuple(record.seeds),
        studies=tuple(studies),
        curves_png=TUNING_CURVES if curves.is_file() else None,
        training=record.training.describe() if record.training else None,
    )
