"""Equal-budget tuning of every variant (`+experiment=tuned`), as Optuna studies and
records: the search space (`space`), the studies on disk (`journal`), the job settings a
study is stamped with (`budget`), Tang et al. 2020's expected best validation score
against the number of trials (`expected_max`), its figure (`curves`) and `tuning.json`
(`record`).

The Hydra sweeper that runs a tuning sweep is a plugin, `hydra_plugins.ablate_tuning`;
nothing here imports it, nor the command line (`ablate.cli`)."""


class TuningError(ValueError):
    """A tuning sweep's input is wrong (a bad search space, a journal that cannot be read
    or was tuned with other settings): its message is one line naming the problem and the
    fix, which the sweeper prints as the command's error."""
