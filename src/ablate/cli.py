"""The Hydra entry point behind `python -m ablate [overrides]`: one run, or a sweep with
`-m` / `+experiment=…`. It lives in an importable module (not `__main__`) so launchers
that pickle the task function (submitit, joblib) pickle a reference to it.

Hydra composes `conf/config.yaml`; `ablate.train.run` does the work. Bad input (a wrong
config value, a missing or malformed corpus) ends with one line naming the problem and
the fix and a non-zero exit code; `HYDRA_FULL_ERROR=1` shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import hydra
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict
from omegaconf.errors import OmegaConfBaseException
from pytorch_lightning.utilities.exceptions import MisconfigurationException

from ablate.callbacks import DivergedError
from ablate.console import console, fail
from ablate.options import CONF, config_dirs, group_options
from ablate.outputs import record_failure
from ablate.tracking import axis_tags, sweep_group
from ablate.train import RunInterrupted, run
from hydra_plugins.ablate_tuning import register as register_tuning_sweeper

# Errors that mean "the input is wrong", not "ablate is broken": no traceback for these.
USER_ERRORS = (
    ValueError,
    OSError,
    DivergedError,
    OmegaConfBaseException,
    MisconfigurationException,
)


def check_group_choices(argv: list[str]) -> str | None:
    """The one-line error for an unknown config-group option (`attention=cosine`), or None.

    Hydra reports these itself, but as a screen of search paths; a user needs the bad
    value and the valid ones: ablate's own and those in a `--config-dir` or
    `hydra.searchpath` folder. Sweep values (`attention=dot,cosine`) are checked too.
    """
    dirs = config_dirs(argv)
    for arg in argv:
        key, sep, value = arg.lstrip("+~").partition("=")
        if not sep or "." in key or key.startswith("-") or value.startswith(("[", "{", "$")):
            continue
        options = group_options(key, dirs)
        if not options:  # not a config group
            continue
        for choice in value.split(","):
            choice = choice.strip()
            if choice and choice != "null" and choice not in options:
                folders = ", ".join(dict.fromkeys(str(p.parent) for p in options.values()))
                return (
                    f"unknown {key} {choice!r}; choose one of {', '.join(options)} "
                    f"(files in {folders})"
                )
    return None


def check_model_settings(argv: list[str]) -> str | None:
    """The one-line error for a `model.KEY` that the chosen model has no setting for, or
    None: `model.hidden` with `model=transformer` (the RNN's state size; a Transformer's
    is `model.d_model`), whether on the command line or in an experiment's file.

    Hydra reports these as "Key 'hidden' is not in struct" on a screen of its own, once
    the sweep is under way; a user needs the model, its settings, and where the key came
    from. An experiment written for another family is named when there is one
    (`+experiment=dims_transformer` beside `dims`).
    """
    dirs = config_dirs(argv)
    models, experiments = group_options("model", dirs), group_options("experiment", dirs)
    from_experiment, from_argv = None, None
    wanted: list[tuple[str, str]] = []  # (model.KEY, where it came from)
    names: list[str] = []
    for arg in argv:
        key, sep, value = arg.lstrip("~").partition("=")
        if not sep:
            continue
        if key.lstrip("+") == "experiment":
            for name in (v.strip() for v in value.split(",")):
                if name in experiments:
                    names.append(name)
                    chosen, keys = _experiment_model(experiments[name])
                    from_experiment = chosen or from_experiment
                    wanted += [(k, f"+experiment={name}") for k in keys]
        elif key == "model":
            from_argv = value
        elif key.startswith("model.") and not arg.startswith("+"):
            wanted.append((key, "the command line"))
    chosen = from_argv or from_experiment or "default"
    for option in (c.strip() for c in chosen.split(",")):
        if option not in models:
            continue  # check_group_choices names an unknown option
        settings = _settings(models[option])
        for key, where in wanted:
            setting = key.split(".")[1]
            if setting in settings:
                continue
            other = next((f"{n}_{option}" for n in names if f"{n}_{option}" in experiments), None)
            hint = f"; +experiment={other} is that experiment for model={option}" if other else ""
            return (
                f"{key} (from {where}) is not a setting of model={option}; its settings are "
                f"{', '.join(sorted(settings))} ({models[option]}){hint}"
            )
    return None


def _experiment_model(path: Path) -> tuple[str | None, list[str]]:
    """An experiment file's `override /model` choice and the `model.KEY`s it sets or
    sweeps."""
    data = _mapping(path)
    chosen = None
    for entry in data.get("defaults") or []:
        if isinstance(entry, dict) and "override /model" in entry:
            chosen = str(entry["override /model"])
    params = ((data.get("hydra") or {}).get("sweeper") or {}).get("params") or {}
    keys = [k for k in params if str(k).startswith("model.")]
    keys += [f"model.{k}" for k in data.get("model") or {}]
    return chosen, keys


def _settings(path: Path) -> set[str]:
    """A model option's settings: its file's keys but `_target_` and `_partial_`."""
    return {k for k in _mapping(path) if not str(k).startswith("_")}


def _mapping(path: Path) -> dict:
    """A config file's top level; empty where it cannot be read (Hydra will say why)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def main(cfg: DictConfig) -> float | None:
    """Hydra's task function: one job. Undecorated and module-level, so launchers that
    pickle it (submitit) pickle a reference, not the function and its globals."""
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    choices = dict(hc.runtime.choices)
    in_sweep = hc.mode == RunMode.MULTIRUN
    configure_job(cfg, hc, choices, in_sweep)
    try:
        check_seed(cfg.seed)
        results = run(cfg, run_dir, choices=choices, in_sweep=in_sweep)
        return None if results.scores is None else results.scores.bleu
    except RunInterrupted as e:  # the whole command stops, sweep included
        console.print(f"[bold yellow]stopped:[/bold yellow] {e}", soft_wrap=True)
        sys.exit(1)
    except Exception as e:
        message = describe(e)
        if not in_sweep:
            if message is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            fail(message)
        # One failed job must not stop the sweep: record it where the report looks, and
        # let the others run; the sweep report names it and the sweep exits non-zero.
        if message is None:
            console.print_exception()
        console.print(
            f"[bold red]error[/bold red] in job {hc.job.num} ({run_dir}): {message or repr(e)}",
            soft_wrap=True,
        )
        record_failure(run_dir, message or repr(e), list(hc.overrides.task))
        return None


def configure_job(cfg: DictConfig, hc, choices: dict, in_sweep: bool) -> None:
    """Settings that depend on how the job was launched, not on the experiment."""
    with open_dict(cfg):
        launcher = str(hc.launcher.get("_target_", "")).lower()
        if cfg.threads is None and "joblib" in launcher:
            # Parallel jobs share the cores: n_jobs × threads must not oversubscribe them.
            cores = os.cpu_count() or 1
            n_jobs = hc.launcher.get("n_jobs") or 1
            cfg.threads = max(1, cores // (cores if n_jobs < 0 else n_jobs))
        if cfg.logger and str(cfg.logger.get("_target_", "")).endswith("wandb_logger"):
            cfg.logger.tags = list(cfg.logger.tags or []) + axis_tags(choices)
            if in_sweep and cfg.logger.group is None:
                cfg.logger.group = sweep_group(choices, hc.sweep.dir)


def check_seed(seed) -> None:
    """`seed=abc` reaches the config as a string; say so before `int()` fails without
    naming the key."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")


def describe(e: BaseException) -> str | None:
    """One line for an error in the user's input; None for a bug (show the traceback)."""
    # instantiate() wraps a leaf's own error (a missing corpus file, a bad size).
    cause = e.__cause__ if isinstance(e, InstantiationException) else e
    return one_line(cause) if isinstance(cause, USER_ERRORS) else None


def one_line(e: BaseException) -> str:
    if isinstance(e, OmegaConfBaseException):
        # OmegaConf appends full_key/object_type lines; the first line names the key.
        key = getattr(e, "full_key", None) or "KEY"
        return f"{str(e).splitlines()[0]}; give it on the command line, e.g. {key}=VALUE"
    if isinstance(e, MisconfigurationException):  # Lightning: the trainer settings don't fit
        return f"{e} (trainer settings; trainer=default picks CPU or GPU by itself)"
    return str(e)


def check_output_dir(argv: list[str]) -> str | None:
    """The one-line error for an output dir that cannot be created, or None.

    Hydra creates the run dir before the task starts, and fails with a traceback; this
    looks at `hydra.run.dir` / `hydra.sweep.dir` (default `outputs/` here) first.
    """
    dirs = [
        a.partition("=")[2]
        for a in argv
        if a.partition("=")[0] in ("hydra.run.dir", "hydra.sweep.dir")
    ]
    for d in [x for x in dirs if "$" not in x] or ["outputs"]:
        path = Path(d).expanduser().absolute()
        if problem := unwritable(path):
            key = next((a.partition("=")[0] for a in argv if a.endswith(f"={d}")), "hydra.run.dir")
            return (
                f"cannot write to the output dir {path}: {problem}; set {key} to a writable folder"
            )
    return None


def unwritable(path: Path) -> str | None:
    """Why no folder can be made and written at `path`, or None. Found out by making it
    and a file in it (`os.access` says yes to root where `mkdir` then fails, as in
    `/proc`), and removing what it made."""
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{parent} is not a folder"
    made = [p for p in (path, *path.parents) if not p.exists()]  # deepest first
    doing = f"cannot create a folder in {parent}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        doing = f"cannot write in {path}"
        tempfile.TemporaryFile(dir=path).close()
    except OSError as e:
        return f"{doing} ({e.strerror or e})"
    finally:
        for p in made:
            try:
                p.rmdir()
            except FileNotFoundError:  # not made: mkdir failed above it
                continue
            except OSError:  # something else put a file there meanwhile: leave it
                break
    return None


def entry() -> None:
    """`python -m ablate` and the `ablate` console script."""
    argv = sys.argv[1:]
    if problem := (
        check_group_choices(argv) or check_model_settings(argv) or check_output_dir(argv)
    ):
        fail(problem)
    register_tuning_sweeper()  # hydra/sweeper=tune under an editable install too
    hydra.main(version_base="1.3", config_path=str(CONF), config_name="config")(main)()
