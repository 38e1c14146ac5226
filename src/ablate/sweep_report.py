"""The sweep's Hydra callback: the design check when it starts, the report when it ends
(the sweeper that tunes is another thing, `hydra_plugins.ablate_tuning`).

`SweepReport` is a Hydra callback (registered in `conf/config.yaml`). When a multirun
starts it checks the claims the sweep declared (`report.claims`; a malformed one stops
the sweep in one line before any training) and prints what the design can decide
(`ablate.report.design`). When it ends it builds `summary.json`, `summary.md` and the
figures in the sweep dir (`ablate.report`), prints its tables and verdicts, logs the
comparison to W&B as one more run in the sweep's group, and exits non-zero if any job
failed.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from ablate import tracking
from ablate.console import console


class SweepReport(Callback):
    """Check the design when a multirun starts; build and log the comparison when it ends."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from ablate.report.claims import default_claims, parse_claims
        from ablate.report.design import check, design_of

        claims = OmegaConf.select(config, "report.claims")
        tuned = OmegaConf.select(config, "tune.seeds") is not None
        try:
            declared = (
                parse_claims(OmegaConf.to_container(claims, resolve=True))
                if claims is not None
                else default_claims(tuned)
            )
        except ValueError as e:
            console.print(f"[bold red]error:[/bold red] {e}", soft_wrap=True)
            sys.exit(1)
        params = OmegaConf.to_container(config.hydra.sweeper.get("params") or {}, resolve=False)
        values = sweep_values({k: str(v) for k, v in params.items()}, config.hydra.overrides.task)
        seeds = OmegaConf.select(config, "tune.seeds")
        design = design_of(values, list(seeds) if seeds is not None else None)
        lines, warnings = check(declared, design)
        said = "declared" if claims is not None else "not declared (defaults)"
        console.print(
            f"design check: {len(design.attentions)} attention(s) × {design.seeds} seed(s); "
            f"claims {said}",
            soft_wrap=True,
        )
        for line in lines:
            console.print(f"  {line}", soft_wrap=True)
        for line in warnings:
            console.print(f"[bold yellow]warning:[/bold yellow] {line}", soft_wrap=True)

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


def sweep_values(params: Mapping[str, str], overrides: Sequence[str]) -> dict[str, list[str]]:
    """Each swept key's values: the sweeper's `params`, then the command line's sweep
    overrides (which win), parsed by Hydra's own override grammar. A key whose values
    are not a list (an interval to tune over) is left out."""
    parser = OverridesParser.create()
    texts = [f"{k}={v}" for k, v in params.items()] + list(overrides)
    out: dict[str, list[str]] = {}
    for text in texts:
        try:
            (o,) = parser.parse_overrides([text])
        except HydraException:  # not ours to reject: Hydra will say why
            continue
        key = o.key_or_group
        if o.is_sweep_override():
            try:
                out[key] = [str(v) for v in o.sweep_string_iterator()]
            except HydraException:  # an interval to tune over, not a list
                out.pop(key, None)
        elif key in out or key in ("seed", "attention"):
            out[key] = [str(o.value())]
    return out
