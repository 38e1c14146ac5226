"""ablate's tuning sweeper as a Hydra plugin (`hydra/sweeper=tune`, `+experiment=tuned`),
laid out as Hydra's own plugins are (hydra-optuna-sweeper): `tuning_sweeper.py`, the thin
`Sweeper` class Hydra instantiates; `_impl.py`, the sweep itself (Optuna studies through
the configured launcher, `ablate.tuning` for the space, the journal and the records);
`config.py`, the settings' defaults in Hydra's ConfigStore. Hydra 1.3 takes a sweeper only
from the `hydra_plugins` namespace package, so it lives here."""


def register() -> None:
    """Make `hydra/sweeper=tune` work however ablate is installed; call before Hydra
    composes the config (`ablate.cli.entry` does).

    Hydra 1.3 finds plugins and their ConfigStore entries by walking the `hydra_plugins`
    namespace package, which setuptools' default editable install (`pip install -e`,
    PEP 660) hides from that walk; this stores the config (`config.py`) and registers the
    class (Hydra's `Plugins.register`) by hand. Doing it twice does no harm.
    """
    from hydra.core.plugins import Plugins

    plugins = Plugins.instance()  # first: its scan may re-run the modules it finds

    import hydra_plugins.ablate_tuning.config  # noqa: F401  (stores hydra/sweeper/base_tune)
    from hydra_plugins.ablate_tuning.tuning_sweeper import TuningSweeper

    plugins.register(TuningSweeper)
