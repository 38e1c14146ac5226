"""Hydra's side of a sweep: the report built when it ends.

`SweepReport` is a Hydra callback (registered in `conf/config.yaml`): when a multirun
ends it builds `summary.json`, `summary.md` and the figures in the sweep dir
(`ablate.report`), prints its tables and verdicts, logs the comparison to W&B as one more run in
the sweep's group, and exits non-zero if any job failed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ablate import tracking
from ablate.console import console


class SweepReport(Callback):
    """Build and log the comparison when a multirun ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from ablate.report import build_report, write_report
        from ablate.report.__main__ import show

        sweep_dir = Path(config.hydra.sweep.dir)
        report = build_report(sweep_dir)
        paths = write_report(sweep_dir, report)
        show(report)
        logger = config.get("logger")
        if logger and str(logger.get("_target_", "")).endswith("wandb_logger"):
            choices = dict(config.hydra.runtime.choices)
            tracking.log_comparison(
                report.to_json(),
                paths,
                project=logger.project,
                entity=logger.entity,
                group=logger.group or tracking.sweep_group(choices, sweep_dir),
                save_dir=str(sweep_dir),
            )
        console.print(f"sweep report: {paths.get('summary_md', sweep_dir)}")
        if report.failed:
            names = ", ".join(f.dir.name for f in report.failed)
            console.print(
                f"[bold red]error:[/bold red] {len(report.failed)} job(s) failed: {names}",
                soft_wrap=True,
            )
            sys.exit(1)
