"""`TuningSweeper`: the Hydra sweeper behind `+experiment=tuned` (`hydra/sweeper=tune`).

Hydra imports every module of `hydra_plugins` whose name does not start with `_` when it
scans for plugins, so this one imports only Hydra; `_impl`, which does the work, is
imported when the sweeper is built. The settings and their defaults are `config.py`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class TuningSweeper(Sweeper):
    """Tune every variant with the same budget, then train each one's choice with seeds.

    Args (`config.TuningSweeperConf`, which has the defaults):
        trials: trials per variant (`tune.trials`).
        seeds: the final runs' seeds (`tune.seeds`); none may be the trials' `seed`.
        batch_size: trials per variant launched together; None = the launcher's `n_jobs`.
        sampler: `tpe` or `random`.
        startup_trials: TPE's random trials before it models the history.
        seed: the samplers' seed.
        params: the search space and the variants, in Hydra's sweep syntax
            (`ablate.tuning.space`).

    The settings are checked when the sweep starts, so a bad one ends the command with
    one line instead of Hydra's instantiation error.
    """

    def __init__(
        self,
        trials: int,
        seeds: Sequence[int],
        batch_size: int | None,
        sampler: str,
        startup_trials: int,
        seed: int,
        params: Mapping[str, str] | None,
    ) -> None:
        from hydra_plugins.ablate_tuning._impl import TuningSweeperImpl

        self.sweeper = TuningSweeperImpl(
            trials, seeds, batch_size, sampler, startup_trials, seed, params
        )

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.sweeper.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        return self.sweeper.sweep(arguments)
