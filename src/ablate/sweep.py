"""Hydra's side of a sweep: W&B naming for its jobs and the report built when it ends.

`SweepReport` is a Hydra callback (registered in `conf/config.yaml`): when a multirun
ends it builds `summary.json`, `summary.md`, `bleu_by_length.png` and the alignment
grid in the sweep dir (`ablate.report`), logs the comparison to W&B as one more run in
the sweep's group, and exits non-zero if any job failed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ablate import tracking
from ablate.console import console
from ablate.outputs import save_figure
from ablate.plots import alignment_grid_figure

AXES = ("attention", "dataset", "buckets", "model", "experiment")


def axis_tags(choices: dict) -> list[str]:
    """W&B tags for the config-group choices that define an ablation cell."""
    return [f"{k}={choices[k]}" for k in AXES if choices.get(k)]


def sweep_group(choices: dict, sweep_dir: str | Path) -> str:
    """The W&B group of a sweep: the experiment's name and the sweep's date and time."""
    parts = Path(sweep_dir).parts[-2:]
    return f"{choices.get('experiment') or 'sweep'}-{'_'.join(parts)}"


def alignment_grid(runs: list[dict], tag: str = "median"):
    """One heatmap per variant of the same test sentence (the run dirs' examples file)."""
    panels = []
    for r in runs:
        path = Path(r["dir"]) / "plots" / "alignment_examples.json"
        if not path.exists():
            continue
        ex = json.loads(path.read_text()).get(tag)
        if ex:
            name = f"{r['attention']} (seed {r['seed']})"
            panels.append((name, np.array(ex["weights"]), ex["source"], ex["hypothesis"]))
    if not panels:
        return None
    return alignment_grid_figure(panels, title=f"attention on the {tag} test sentence")


class SweepReport(Callback):
    """Build and log the comparison when a multirun ends."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from ablate.report import build_report, report_table, write_report

        sweep_dir = Path(config.hydra.sweep.dir)
        report = build_report(sweep_dir)
        paths = write_report(sweep_dir, report)
        seen, firsts = set(), []
        for r in report.get("runs", []):
            if r["attention"] not in seen:  # one seed per variant keeps the grid legible
                seen.add(r["attention"])
                firsts.append(r)
        grid = alignment_grid(firsts)
        if grid is not None:
            paths["alignment_grid"] = save_figure(grid, sweep_dir / "alignment_grid.png")
        console.print(report_table(report))
        logger = config.get("logger")
        if logger and str(logger.get("_target_", "")).endswith("wandb_logger"):
            choices = dict(config.hydra.runtime.choices)
            tracking.log_comparison(
                report,
                paths,
                project=logger.project,
                entity=logger.entity,
                group=logger.group or sweep_group(choices, sweep_dir),
                save_dir=str(sweep_dir),
            )
        console.print(f"sweep report: {paths.get('summary_md', sweep_dir)}")
        if report["failed"]:
            names = ", ".join(Path(f["dir"]).name for f in report["failed"])
            console.print(
                f"[bold red]error:[/bold red] {len(report['failed'])} job(s) failed: {names}",
                soft_wrap=True,
            )
            sys.exit(1)
