"""`TuningSweeper`: the Hydra sweeper behind `+experiment=tuned` (`conf/hydra/sweeper/tune.yaml`).

Hydra imports every module of `hydra_plugins` at start-up, so this one imports only
Hydra; `ablate.tuning.sweeper`, which does the work, is imported when a sweep starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class TuningSweeper(Sweeper):
    """Tune every variant with the same budget, then train each one's choice with seeds.

    The settings are checked when the sweep starts (`ablate.tuning.sweeper.check_settings`),
    so a bad one ends the command with one line instead of Hydra's instantiation error.

    Args:
        trials: trials per variant (`tune.trials`).
        seeds: the final runs' seeds (`tune.seeds`); none may be the trials' `seed`.
        batch_size: trials per variant launched together; None = the launcher's `n_jobs`
            (joblib), else 2.
        sampler: `tpe` or `random`.
        startup_trials: TPE's random trials before it models the history.
        seed: the samplers' seed.
        params: the search space and the variants, in Hydra's sweep syntax
            (`ablate.tuning.space`).
    """

    def __init__(
        self,
        trials: int,
        seeds: Sequence[int],
        batch_size: int | None = None,
        sampler: str = "tpe",
        startup_trials: int = 4,
        seed: int = 0,
        params: Mapping[str, str] | None = None,
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

    def sweep(self, arguments: list[str]) -> Any:
        from ablate.tuning.sweeper import run_sweep

        return run_sweep(self, arguments)
