"""`python -m ablate [overrides]`: one run, or a sweep with `-m` / `+experiment=…`.

Hydra composes `conf/config.yaml`; `ablate.train.run` does the work. Bad input (a wrong
config value, a missing or malformed corpus) ends with one line naming the problem and
the fix and a non-zero exit code; `HYDRA_FULL_ERROR=1` shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from ablate.console import console
from ablate.system import DivergedError
from ablate.train import run

# Errors that mean "the input is wrong", not "ablate is broken": no traceback for these.
USER_ERRORS = (ValueError, OSError, DivergedError, OmegaConfBaseException)
CONF = Path(__file__).resolve().parents[2] / "conf"


def check_group_choices(argv: list[str], conf: Path = CONF) -> str | None:
    """The one-line error for an unknown config-group option (`attention=cosine`), or None.

    Hydra reports these itself, but as a screen of search paths; a user needs the bad
    value and the valid ones. Sweep values (`attention=dot,cosine`) are checked too.
    """
    for arg in argv:
        key, sep, value = arg.lstrip("+~").partition("=")
        group = conf / key
        if not sep or "." in key or not group.is_dir() or value.startswith(("[", "{", "$")):
            continue
        options = sorted(p.stem for p in group.glob("*.yaml"))
        for choice in value.split(","):
            choice = choice.strip()
            if choice and choice != "null" and choice not in options:
                return (f"unknown {key} {choice!r}; choose one of {', '.join(options)} "
                        f"(files in {group})")
    return None


@hydra.main(version_base="1.3", config_path="../../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    hc = HydraConfig.get()
    try:
        results = run(cfg, Path(hc.runtime.output_dir), choices=dict(hc.runtime.choices))
    except (*USER_ERRORS, InstantiationException) as e:
        # instantiate() wraps a leaf's own error (a missing corpus file, a bad size).
        cause = e.__cause__ if isinstance(e, InstantiationException) else e
        if not isinstance(cause, USER_ERRORS) or os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        fail(one_line(cause))
    return results["bleu"]


def one_line(e: BaseException) -> str:
    if isinstance(e, OmegaConfBaseException):
        # OmegaConf appends full_key/object_type lines; the first line names the key.
        return f"{str(e).splitlines()[0]}; give it on the command line, e.g. KEY=VALUE"
    return str(e)


def fail(message: str) -> None:
    console.print(f"[bold red]error:[/bold red] {message}", soft_wrap=True)
    sys.exit(1)


if __name__ == "__main__":
    if problem := check_group_choices(sys.argv[1:]):
        fail(problem)
    main()
