"""Equal-budget tuning: every variant gets the same number of trials over the same search
space, then its chosen setting trains with seeds for the sweep report's paired test.

Melis, Dyer & Blunsom 2018 ("On the State of the Art of Evaluation in Neural Language
Models", ICLR) found that rankings of models trained with one setting do not survive
equal tuning; Dodge et al. 2019 ask for the expected best validation score against the
budget (`ablate.tuning.expected_max`). `+experiment=tuned` runs this:

1. One Optuna study per variant (`ablate.tuning.space`: a list like
   `attention=none,dot` is the variants), each of `tune.trials` trials. Trials are asked
   in batches of `tune.batch_size` per variant (Optuna's ask-and-tell interface), every
   variant's batch goes to the configured Hydra launcher as one launch (basic, joblib,
   submitit/SLURM), and each trial's objective is its validation BLEU, read from its
   `results.json` (`RunResults.valid_bleu`, the best checkpoint's); its test BLEU is
   never looked at. Trials live in `<sweep dir>/trials/<variant>/<number>/`, out of the
   sweep report's sight.
2. Each variant's best trial on validation (the earliest among ties) trains with every
   seed of `tune.seeds` as an ordinary job dir of the sweep; the report compares those on
   test when the sweep ends. The trials train with the config's `seed`, which `tune.seeds`
   must not contain: the final run with it would repeat the chosen trial, the one that
   won on validation, and carry its luck into the test.
3. `tuning.json` (`ablate.tuning.record`) and `tuning_curves.png` record the trials, the
   choices and the expected-maximum curves.

Resumable and deterministic: the studies live in `<sweep dir>/tuning.journal` (Optuna's
JournalStorage with a file backend: appends, each a whole line, so `kill -9` loses at
most the trials that had not been told). Trial `k` of every study is asked with a fresh
sampler seeded by `(tune.seed, k)` and batches are fixed ranges of trial numbers, so a
suggestion depends only on the seed and the history before its batch; a re-run with the
same `hydra.sweep.dir` asks nothing that was asked, re-launches the asked-but-unfinished
trials with their parameters (`train.run` skips a job dir whose `results.json` is
complete, and `resume=true` continues one that has a checkpoint) and ends with the same
choices. With the same seed, every variant's random start-up trials use the same
settings. Each study is stamped with its job settings (`ablate.tuning.budget`: its
trials' composed config less the tuned keys and Hydra's), so a re-run that would train
at another budget (say `trainer.max_epochs`) is refused rather than mixed in.

`TuningSweeperImpl` is the sweeper (`tuning_sweeper.TuningSweeper` hands it every call, as
hydra-optuna-sweeper's class does); `ablate.tuning` holds the Optuna and record parts, and
raises `TuningError` for bad input, which `sweep` prints as the command's one error line.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ablate.console import console, fail
from ablate.outputs import record_failure
from ablate.run_files import complete_results
from ablate.tuning import TuningError
from ablate.tuning.budget import job_settings, training_budget
from ablate.tuning.journal import JOURNAL, open_journal, open_studies
from ablate.tuning.record import (
    TUNING_CURVES,
    TrialRecord,
    TuningRecord,
    VariantRecord,
    write_tuning,
)

TRIALS = "trials"
SAMPLERS = ("tpe", "random")


@dataclass(frozen=True)
class Settings:
    """The budget and the sampler, checked: what `tune.*` says."""

    trials: int  # per variant
    seeds: list[int]  # of the final runs
    batch_size: int  # trials per variant asked and launched together
    sampler: str  # tpe | random
    startup_trials: int  # TPE's random trials before it models the history
    seed: int  # the samplers'


def check_settings(
    trials, seeds, batch_size, sampler, startup_trials, seed, *, parallel: int, trial_seed: int
) -> Settings:
    """`Settings` from the config's values, or a `TuningError` naming the bad one.

    Args:
        parallel: the launcher's jobs at once, the default `batch_size`.
        trial_seed: the seed the trials train with (the job config's `seed`), which no
            final run may repeat.
    """

    def integer(name: str, value, low: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise TuningError(f"tune.{name} must be an integer >= {low}, got {value!r}")
        return value

    seeds = list(seeds) if isinstance(seeds, Sequence) and not isinstance(seeds, str) else seeds
    if not isinstance(seeds, list) or not seeds:
        raise TuningError(f"tune.seeds must be a non-empty list of integers, got {seeds!r}")
    if sampler not in SAMPLERS:
        raise TuningError(f"tune.sampler must be one of {', '.join(SAMPLERS)}, got {sampler!r}")
    seeds = [integer("seeds", s, 0) for s in seeds]
    if trial_seed in seeds:
        others = [s for s in range(len(seeds) + 1) if s != trial_seed][: len(seeds)]
        raise TuningError(
            f"tune.seeds {seeds} contains the trials' seed (seed={trial_seed}): that final run "
            "would repeat the trial chosen on validation; give tune.seeds without it, e.g. "
            f"tune.seeds=[{','.join(map(str, others))}]"
        )
    return Settings(
        trials=integer("trials", trials, 1),
        seeds=seeds,
        batch_size=parallel if batch_size is None else integer("batch_size", batch_size, 1),
        sampler=sampler,
        startup_trials=integer("startup_trials", startup_trials, 0),
        seed=integer("seed", seed, 0),
    )


def launcher_parallelism(launcher: DictConfig) -> int:
    """How many jobs the configured launcher runs at once (joblib's `n_jobs`), else 2."""
    n_jobs = launcher.get("n_jobs") if launcher is not None else None
    if isinstance(n_jobs, int) and not isinstance(n_jobs, bool) and n_jobs != 0:
        return n_jobs if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return 2


def make_sampler(settings: Settings, number: int):
    """The sampler that asks trial `number`: seeded by `(tune.seed, number)` alone."""
    import optuna

    digest = hashlib.sha256(f"{settings.seed}:{number}".encode()).digest()
    seed = int.from_bytes(digest[:4], "big")
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # constant_liar: trials of a batch still running count as bad, so a batch spreads out.
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=settings.startup_trials, constant_liar=True
    )


class EqualBudgetTuner:
    """What the sweeper runs: every variant's study in one sweep dir, each with the same
    number of trials, then the chosen settings' final runs; `run` does it all (see the
    module docstring).

    Args:
        settings: the budget and sampler.
        space: the variants and the search space (`ablate.tuning.space.parse_space`).
        sweep_dir: the sweep's folder.
        launch: `launcher.launch(batch, initial_job_idx)` of the configured launcher.
        validate: composes each job's config first (`Sweeper.validate_batch_is_legal`).
        jobs: variant name -> its job settings (`ablate.tuning.budget.job_settings`), the
            stamp a resumed study must match.
    """

    def __init__(
        self,
        settings: Settings,
        space,
        sweep_dir: Path,
        launch,
        validate: Callable,
        jobs: Mapping[str, Mapping[str, object]],
    ):
        import optuna

        self.settings, self.space, self.sweep_dir = settings, space, Path(sweep_dir)
        self.launch, self.validate, self.jobs = launch, validate, jobs
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        path = self.sweep_dir / JOURNAL
        self.storage = open_journal(path)
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # ablate prints each trial
        made_with = {
            "space": space.text,
            **{k: v for k, v in asdict(settings).items() if k not in ("trials", "seeds")},
        }
        open_studies(self.storage, path, space.variants, made_with, jobs, settings.trials)

    # ------------------------------------------------------------------ studies

    def _study(self, variant, number: int = 0):
        import optuna

        return optuna.load_study(
            study_name=variant.name,
            storage=self.storage,
            sampler=make_sampler(self.settings, number),
        )

    def next_batch(self, variant) -> list[tuple[int, dict]]:
        """`(number, params)` of the variant's next batch: its asked-but-unfinished trials
        and new ones up to the batch's end (batch `b` is trials `b·k … (b+1)·k − 1`)."""
        from optuna.trial import TrialState

        trials = self._study(variant).get_trials(deepcopy=False)
        running = [t for t in trials if t.state == TrialState.RUNNING]
        first = min(t.number for t in running) if running else len(trials)
        if first >= self.settings.trials:
            return []
        k = self.settings.batch_size
        end = min((first // k + 1) * k, self.settings.trials)
        batch = [(t.number, dict(t.params)) for t in sorted(running, key=lambda t: t.number)]
        for number in range(len(trials), end):
            trial = self._study(variant, number).ask(self.space.dimensions)
            assert trial.number == number, (trial.number, number)  # one writer per study
            batch.append((number, dict(trial.params)))
        return batch

    def trial_dir(self, variant, number: int) -> Path:
        return self.sweep_dir / TRIALS / variant.name / str(number)

    def tell(self, variant, number: int) -> float | None:
        """Give the study trial `number`'s validation BLEU (None: it did not complete)."""
        from optuna.trial import TrialState

        done = complete_results(self.trial_dir(variant, number))
        score = None if done is None else done.valid_bleu
        study = self._study(variant, number)
        if score is None:
            study.tell(number, state=TrialState.FAIL)
        else:
            study.tell(number, float(score))
        return score

    def record(self) -> TuningRecord:
        from optuna.trial import TrialState

        status = {TrialState.COMPLETE: "complete", TrialState.RUNNING: "running"}
        variants = []
        for variant in self.space.variants:
            trials = sorted(self._study(variant).get_trials(deepcopy=False), key=lambda t: t.number)
            rows = [
                TrialRecord(
                    number=t.number,
                    params=dict(t.params),
                    valid_bleu=t.value if t.state == TrialState.COMPLETE else None,
                    status=status.get(t.state, "failed"),
                    dir=str(self.trial_dir(variant, t.number).relative_to(self.sweep_dir)),
                )
                for t in trials
            ]
            variants.append(VariantRecord(variant=variant.name, axes=variant.axes, trials=rows))
        return TuningRecord(
            trials=self.settings.trials,
            seeds=self.settings.seeds,
            batch_size=self.settings.batch_size,
            sampler={
                "name": self.settings.sampler,
                "seed": self.settings.seed,
                "startup_trials": self.settings.startup_trials,
            },
            space=self.space.text,
            variants=variants,
            training=training_budget(self.jobs.values()),
        )

    # ------------------------------------------------------------------ the sweep

    def run(self) -> list:
        """Tune every variant, write `tuning.json` and the curves, train the choices."""
        from ablate.tuning.space import format_value

        returns, job = [], 0
        while True:
            asked = [(v, n, p) for v in self.space.variants for n, p in self.next_batch(v)]
            if not asked:
                break
            batch = [
                [
                    *self.space.fixed,
                    *v.overrides,
                    *(f"{k}={format_value(x)}" for k, x in p.items()),
                    f"hydra.sweep.subdir={TRIALS}/{v.name}/{n}",
                ]
                for v, n, p in asked
            ]
            self.validate(batch)
            returns.append(self.launch(batch, initial_job_idx=job))
            job += len(batch)
            for v, n, p in asked:
                score = self.tell(v, n)
                shown = "failed" if score is None else f"{score:.1f}"
                params = " ".join(f"{k}={_short(x)}" for k, x in p.items())
                console.print(
                    f"tuning {v.name}: trial {n + 1}/{self.settings.trials} "
                    f"valid BLEU {shown} · {params}",
                    soft_wrap=True,
                )
            write_tuning(self.sweep_dir, self.record())

        record = self.record()
        self.write(record)
        finals, untuned = [], []
        for variant, row in zip(self.space.variants, record.variants, strict=True):
            chosen = row.chosen
            if chosen is None:
                untuned.append(variant)
                continue
            params = [f"{k}={format_value(x)}" for k, x in chosen.params.items()]
            for seed in self.settings.seeds:
                finals.append([*self.space.fixed, *variant.overrides, *params, f"seed={seed}"])
        for variant in untuned:  # the report lists it as failed and the sweep exits 1
            where = self.sweep_dir / f"{variant.name}-untuned"
            why = f"no trial of {variant.name} completed (see {TRIALS}/{variant.name}/)"
            console.print(f"[bold red]error:[/bold red] {why}", soft_wrap=True)
            record_failure(where, why, variant.overrides)
        if finals:
            self.validate(finals)
            returns.append(self.launch(finals, initial_job_idx=0))
        return returns

    def write(self, record: TuningRecord) -> None:
        """`tuning.json`, `tuning_curves.png`, and the choices on the terminal."""
        from ablate.outputs import save_figure
        from ablate.tuning.curves import tuning_curves_figure

        write_tuning(self.sweep_dir, record)
        curves = {v.variant: c for v in record.variants if (c := v.curve()) is not None}
        if curves:
            trials = record.trials
            save_figure(
                tuning_curves_figure(
                    curves, title=f"Expected best validation BLEU after n of {trials} trials"
                ),
                self.sweep_dir / TUNING_CURVES,
            )
        for v in record.variants:
            chosen = v.chosen
            text = (
                "no trial completed"
                if chosen is None
                else f"trial {chosen.number} valid BLEU {chosen.valid_bleu:.1f} · "
                + " ".join(f"{k}={_short(x)}" for k, x in chosen.params.items())
            )
            console.print(f"chosen for {v.variant} ({len(v.finished)} trials): {text}")


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


class TuningSweeperImpl(Sweeper):
    """The tuning sweeper (`tuning_sweeper.TuningSweeper`'s arguments, which
    `config.TuningSweeperConf` gives defaults): checks the settings and the space when the
    sweep starts, then runs `EqualBudgetTuner`."""

    def __init__(
        self,
        trials,
        seeds,
        batch_size,
        sampler,
        startup_trials,
        seed,
        params: Mapping[str, str] | None,
    ) -> None:
        self.options = {
            "trials": trials,
            "seeds": seeds,
            "batch_size": batch_size,
            "sampler": sampler,
            "startup_trials": startup_trials,
            "seed": seed,
        }
        self.params = dict(params or {})
        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> list:
        """Check the settings and the space, then tune (`arguments`: the command line's
        overrides). A bad setting ends the command with one line, before any job runs."""
        from ablate.tuning.space import parse_space

        config = self.config
        try:
            parallel = launcher_parallelism(config.hydra.launcher)
            lines = [f"{k}={v}" for k, v in self.params.items()]
            loader = self.hydra_context.config_loader
            space = parse_space([*lines, *arguments], OverridesParser.create(config_loader=loader))
            composed = {  # each variant's job config, as its trials get it less the parameters
                v.name: loader.load_sweep_config(config, [*space.fixed, *v.overrides])
                for v in space.variants
            }
            trial_seed = next(iter(composed.values())).get("seed")
            settings = check_settings(**self.options, parallel=parallel, trial_seed=trial_seed)
            jobs = {
                name: job_settings(OmegaConf.to_container(c, resolve=False), space.dimensions)
                for name, c in composed.items()
            }
            sweep_dir = Path(config.hydra.sweep.dir)
            sweep_dir.mkdir(parents=True, exist_ok=True)
            OmegaConf.save(config, sweep_dir / "multirun.yaml")  # as the basic sweeper does
            tuning = EqualBudgetTuner(
                settings, space, sweep_dir, self.launcher.launch, self._validate, jobs
            )
        except (TuningError, HydraException, OmegaConfBaseException) as e:
            fail(str(e).strip().splitlines()[0])
        return tuning.run()

    def _validate(self, batch) -> None:
        """Compose each job's config first (`Sweeper.validate_batch_is_legal`); a bad one
        is the command's one error line."""
        try:
            self.validate_batch_is_legal(batch)
        except (HydraException, OmegaConfBaseException) as e:
            fail(str(e).strip().splitlines()[0])
