"""The sweep report's old module, kept because old sweep dirs name it: their
`.hydra/hydra.yaml` registers `ablate.sweep.SweepReport` as a callback, and a resumed
sweep or `python -m ablate.report` may read it again. The callback lives in
`ablate.sweep_report` (this name said "sweep", which is also the tuning sweeper's,
`hydra_plugins.ablate_tuning`); these are the same objects."""

from ablate.sweep_report import SweepReport, sweep_values

__all__ = ["SweepReport", "sweep_values"]
