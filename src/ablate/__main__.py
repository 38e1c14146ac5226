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
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from ablate.console import console
from ablate.system import DivergedError
from ablate.train import run

# Errors that mean "the input is wrong", not "ablate is broken": no traceback for these.
USER_ERRORS = (ValueError, OSError, DivergedError, OmegaConfBaseException)


@hydra.main(version_base="1.3", config_path="../../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    hc = HydraConfig.get()
    try:
        results = run(cfg, Path(hc.runtime.output_dir), choices=dict(hc.runtime.choices))
    except USER_ERRORS as e:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        console.print(f"[bold red]error:[/bold red] {e}", soft_wrap=True)
        sys.exit(1)
    return results["bleu"]


if __name__ == "__main__":
    main()
