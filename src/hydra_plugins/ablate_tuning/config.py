"""The tuning sweeper's settings and their defaults, the one place they are written.

Stored in Hydra's ConfigStore as `hydra/sweeper/base_tune` (as hydra-optuna-sweeper
stores `hydra/sweeper/optuna`). `conf/hydra/sweeper/tune.yaml`, the option
`hydra/sweeper=tune`, extends it; `conf/experiment/tuned.yaml` selects it and puts the
same option at `tune` too, so that a command line says `tune.trials=20`, which
`hydra.sweeper.trials` reads. The option is named `tune`, not `optuna`, so that it never
shadows hydra-optuna-sweeper's.

The values are typed `Any` on purpose: the sweeper checks them when the sweep starts
(`_impl.check_settings`), so a bad one (`tune.trials=abc`) ends the command with one line
naming the key, where OmegaConf's own check would fail inside Hydra's instantiation.

Hydra imports this module when it scans `hydra_plugins` (an installed wheel); an editable
install hides the package from that scan, so `hydra_plugins.ablate_tuning.register`
imports it by hand before Hydra composes the config.

No `from __future__ import annotations` here: Hydra's scan executes this file without
putting it in `sys.modules`, and `dataclass` resolves string annotations through
`sys.modules[cls.__module__]`, so with them the scan (an installed wheel, or `src/` on
`PYTHONPATH`) fails with an AttributeError before any config is composed.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

NAME = "base_tune"


@dataclass
class TuningSweeperConf:
    _target_: str = "hydra_plugins.ablate_tuning.tuning_sweeper.TuningSweeper"
    # Trials per variant, the same for every variant.
    trials: Any = 8
    # Each variant's chosen setting trains with these; never the trials' `seed` (0), whose
    # final run would repeat the trial chosen on validation.
    seeds: Any = field(default_factory=lambda: [1, 2, 3])
    # Trials per variant launched together; None = the launcher's n_jobs (joblib), else 2.
    batch_size: Any = None
    # tpe | random (random search: exchangeable trials, as the expected-max curve assumes).
    sampler: Any = "tpe"
    # TPE's random trials before it models the history.
    startup_trials: Any = 4
    # The samplers' seed: trial k of every variant is asked with (seed, k).
    seed: Any = 0
    # A list (a,b) is the variants, one study each; interval(), tag(log, interval()) and
    # choice() are the search space every variant shares (`ablate.tuning.space`).
    params: Any = field(default_factory=dict)


ConfigStore.instance().store(
    group="hydra/sweeper",
    name=NAME,
    node=TuningSweeperConf,
    provider="ablate_tuning",
)
