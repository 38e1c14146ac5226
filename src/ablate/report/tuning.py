"""An equal-tuning sweep in the report (`+experiment=tuned`): what each variant's study
found, and the claim that the score functions are similar *after* equal tuning.

A tuning sweep leaves `tuning.json` (`ablate.tuning.record`) beside its final runs: every
variant's trials, the setting chosen on validation BLEU and the expected best validation
BLEU after n trials (Tang et al. 2020). The final runs are ordinary job dirs, compared
by the report as any sweep's; this module ties each report variant to its study (the
study's axes, e.g. `attention=dot`, are among the run's overrides) and judges

    the score functions give "similar performance" after equal tuning (N trials each)

with the same test as the untuned claim (`ablate.report.claims.ScoresPerformSimilarly`:
no pair differs, paired bootstrap, Holm) on the final runs, where every compared variant
had a study of the same N finished trials; with unequal budgets, or a variant without a
study, the claim is *not tested* and says why (Dodge et al. 2019: a comparison is only
as fair as its budgets are equal).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ablate.report.claims import CLAIMS, Claim, Evidence, Finding, ScoresPerformSimilarly
from ablate.report.read import Run
from ablate.report.rows import Kind
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
class Tuning:
    """The sweep's tuning: the budget per variant, the search space, the sampler, each
    variant's study, and the curves' figure if the sweep drew it."""

    budget: int
    space: Mapping[str, str]
    sampler: Mapping
    seeds: tuple[int, ...]
    studies: tuple[Study, ...]
    curves_png: str | None = None

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


def report_tuning(sweep_dir: Path, record: TuningRecord, runs: Sequence[Run]) -> Tuning:
    """The sweep's tuning `record`, its studies tied to the report's variants (`runs`
    named with the record's search-space keys, `ablate.report.groups.name_runs`)."""
    studies = []
    for v in record.variants:
        wanted = {f"{k}={val}" for k, val in v.axes.items()}
        names = tuple(dict.fromkeys(r.variant for r in runs if wanted <= set(r.overrides)))
        studies.append(Study(v.variant, names, len(v.finished), v.chosen, v.curve()))
    curves = Path(sweep_dir) / TUNING_CURVES
    return Tuning(
        budget=record.trials,
        space=record.space,
        sampler=record.sampler,
        seeds=tuple(record.seeds),
        studies=tuple(studies),
        curves_png=TUNING_CURVES if curves.is_file() else None,
    )


class ScoresSimilarAfterEqualTuning(ScoresPerformSimilarly):
    """`ScoresPerformSimilarly` on the final runs of equal studies: every compared
    attention variant chosen from the same number of finished trials."""

    name = "scores_tuned"

    def __init__(self, tuning: Tuning):
        self.tuning = tuning
        self.sentence = (
            f'the score functions give "similar performance" after equal tuning '
            f"({tuning.budget} trials each)"
        )

    def judge(self, evidence: Evidence) -> Finding | None:
        finding = super().judge(evidence)
        if finding is None:
            return None
        names = sorted({n for r in evidence.tables.bleu if r.kind is Kind.PAIR for n in (r.a, r.b)})
        studies = {n: self.tuning.study_of(n) for n in names}
        untuned = [n for n, s in studies.items() if s is None]
        if untuned:
            return Finding(f"{', '.join(untuned)} had no tuning study in {TUNING}", None)
        counts = {n: s.trials for n, s in studies.items()}
        if set(counts.values()) != {self.tuning.budget}:
            budgets = ", ".join(f"{n} {c}" for n, c in counts.items())
            return Finding(
                f"budgets differ ({budgets} finished trials of {self.tuning.budget}): "
                "finish the tuning sweep (resume=true) before comparing",
                None,
            )
        return Finding(
            f"{finding.text}; every variant's setting chosen on validation BLEU from "
            f"{self.tuning.budget} trials over one search space, then trained with seeds "
            f"{', '.join(map(str, self.tuning.seeds))}",
            finding.holds,
        )


def claims_for(tuning: Tuning | None) -> list[Claim]:
    """The claims a report judges: the registered ones, with the untuned similarity
    claim replaced by its equal-tuning form in a tuning sweep."""
    if tuning is None:
        return list(CLAIMS)
    return [
        ScoresSimilarAfterEqualTuning(tuning) if c.name == ScoresPerformSimilarly.name else c
        for c in CLAIMS
    ]
