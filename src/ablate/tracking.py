"""Experiment tracking: the one module that talks to W&B.

A run logs to W&B online when the user is logged in and offline otherwise (never a
login prompt, never a hang), through Lightning's `WandbLogger`. Logged in but the server
unreachable: one warning line, and the run logs offline (within `CONNECT_TIMEOUT` +
`INIT_TIMEOUT` seconds); the run dir, not W&B, is the record. At test time it adds the
BLEU-by-length table and line chart and the alignment heatmaps; `finish` always closes
the run with the run's exit code, so sweep jobs never merge and failed runs never look
finished. A sweep's jobs share a W&B group (`sweep_group`) and are
tagged with their config-group choices (`axis_tags`).
"""

from __future__ import annotations

import netrc
import os
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

from pytorch_lightning.loggers import CSVLogger, Logger, WandbLogger

from ablate.console import console
from ablate.scores import Scores

CONNECT_TIMEOUT = 5.0  # seconds to reach the W&B host at all
INIT_TIMEOUT = 20.0  # seconds for wandb.init once the host answers
# The config groups that define an ablation cell, tagged on every run.
AXES = ("attention", "dataset", "buckets", "model", "experiment")


def axis_tags(choices: Mapping) -> list[str]:
    """W&B tags for the config-group choices that define an ablation cell."""
    return [f"{k}={choices[k]}" for k in AXES if choices.get(k)]


def sweep_group(choices: Mapping, sweep_dir: str | Path) -> str:
    """The W&B group of a sweep: the experiment's name and the sweep's date and time."""
    parts = Path(sweep_dir).parts[-2:]
    return f"{choices.get('experiment') or 'sweep'}-{'_'.join(parts)}"


def wandb_logged_in() -> bool:
    """True when an API key is in the environment or in `~/.netrc` for the W&B host."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc().authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def wandb_unreachable(timeout: float = CONNECT_TIMEOUT) -> str | None:
    """Why the W&B server cannot be reached (a TCP connect to it), or None if it can."""
    url = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as e:
        return f"{url.hostname}:{port}: {e.strerror or e}"
    return None


def wandb_mode() -> str:
    """`$WANDB_MODE` when the user set it, else `online` if logged in, else `offline`."""
    mode = os.environ.get("WANDB_MODE")
    if mode:
        return mode
    return "online" if wandb_logged_in() else "offline"


def wandb_logger(
    save_dir: str,
    name: str,
    config: Mapping,
    project: str = "ablate",
    entity: str | None = None,
    group: str | None = None,
    tags: Sequence[str] = (),
) -> WandbLogger:
    """A `WandbLogger` in the right mode, with the run's resolved config.

    Args:
        save_dir: the run dir; W&B writes `save_dir/wandb/`.
        name: the run's display name (e.g. `toy_fr-additive-s0`).
        config: the resolved config plus the Hydra choices.
        project, entity, group, tags: as in `wandb.init`.
    """
    mode = wandb_mode()
    if mode == "online" and (reason := wandb_unreachable()):
        console.print(
            f"[yellow]warning:[/yellow] W&B server unreachable ({reason}); "
            f"logging offline, the run goes on"
        )
        mode = "offline"

    def make(mode: str) -> WandbLogger:
        logger = WandbLogger(
            name=name,
            save_dir=save_dir,
            project=project,
            entity=entity,
            group=group,
            tags=list(tags),
            config=dict(config),
            mode=mode,
            settings={"silent": True, "console": "off", "init_timeout": INIT_TIMEOUT},
        )
        # Lightning (2.6 here) always passes `anonymous=None` to `wandb.init`, and recent
        # wandb (0.31 here) prints "The anonymous setting has no effect" at every run for
        # any value given; not passing it means the same to both. `_wandb_init` is private,
        # so only if it is there: a Lightning without it costs the warning line, no more.
        init_args = getattr(logger, "_wandb_init", None)
        if isinstance(init_args, dict) and init_args.get("anonymous") is None:
            init_args.pop("anonymous", None)
        return logger

    logger = make(mode)
    if mode == "online":
        try:
            logger.experiment  # noqa: B018 - start the run now, to fall back if it fails
        except Exception as e:  # wandb raises its own errors and plain ones alike
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            console.print(
                f"[yellow]warning:[/yellow] W&B did not start ({first[:160]}); "
                f"logging offline, the run goes on"
            )
            logger = make(mode := "offline")
    if mode == "offline":
        console.print(
            f"W&B offline: sync later with "
            f"`wandb sync {Path(save_dir) / 'wandb' / 'offline-run-*'}`"
        )
    return logger


def csv_logger(save_dir: str, name: str, config: Mapping) -> CSVLogger:
    """Metrics as `save_dir/csv/metrics.csv`, for machines without W&B."""
    logger = CSVLogger(save_dir=save_dir, name="csv", version="")
    logger.log_hyperparams(dict(config))
    return logger


def log_test(logger: Logger | None, scores: Scores, images: Mapping[str, Path]) -> None:
    """Log the test BLEU-by-length table + line chart and the alignment heatmaps to W&B.

    Args:
        logger: the run's logger; anything but a `WandbLogger` is skipped (the CSV logger
            already has the scalars, and the plots are on disk).
        scores: the test scores; their non-empty buckets make the table.
        images: metric name → PNG path, e.g. `test/alignment/short` → `plots/….png`.
    """
    if not isinstance(logger, WandbLogger):
        return
    import wandb

    columns = ["bucket", "lo", "hi", "n", "bleu", "bleu_ci_low", "bleu_ci_high"]
    rows = [
        [b.label, b.lo, b.hi, b.n, b.bleu, b.bleu_ci_low, b.bleu_ci_high]
        for b in scores.buckets
        if b.n
    ]
    table = wandb.Table(columns=columns, data=rows)
    payload = {
        "test/bleu_by_length": table,
        "test/bleu_by_length_chart": wandb.plot.line(
            table, "bucket", "bleu", title="Test BLEU by source length"
        ),
    }
    payload.update({key: wandb.Image(str(path)) for key, path in images.items()})
    logger.experiment.log(payload)


def finish(logger: Logger | None, exit_code: int) -> None:
    """Close the tracker; a non-zero `exit_code` marks the W&B run failed."""
    if isinstance(logger, WandbLogger) and logger._experiment is not None:
        logger.experiment.finish(exit_code=exit_code)
    elif logger is not None:
        logger.finalize("success" if exit_code == 0 else "failed")


def log_comparison(
    report: Mapping,
    paths: Mapping[str, Path],
    *,
    project: str,
    entity: str | None,
    group: str,
    save_dir: str,
) -> None:
    """One more W&B run in the sweep's group holding the comparison of its variants.

    Args:
        report: `ablate.report.build_report`'s result.
        paths: the report's files (PNG values are logged as images).
        project, entity, group: where the sweep's jobs went.
        save_dir: the sweep dir; W&B writes `save_dir/wandb/`.
    """
    import wandb

    rows = []
    for name, v in report["variants"].items():
        for b in v["buckets"]:
            if b.get("bleu") is not None:
                rows.append(
                    [
                        name,
                        b["label"],
                        b["bleu"],
                        b.get("bleu_ci_low"),
                        b.get("bleu_ci_high"),
                        b.get("n"),
                    ]
                )
    table = wandb.Table(
        columns=["variant", "bucket", "bleu", "bleu_ci_low", "bleu_ci_high", "n"], data=rows
    )
    run = wandb.init(
        project=project,
        entity=entity,
        group=group,
        name=f"{group}-comparison",
        job_type="comparison",
        dir=save_dir,
        mode=wandb_mode(),
        config={
            "sweep_dir": str(report.get("sweep_dir", save_dir)),
            "variants": list(report["variants"]),
        },
        settings=wandb.Settings(silent=True, console="off"),
    )
    exit_code = 1
    try:
        payload = {
            "sweep/bleu_by_length": table,
            "sweep/bleu_by_length_chart": wandb.plot.line(
                table, "bucket", "bleu", stroke="variant", title="BLEU by source length"
            ),
        }
        verdicts = report.get("verdicts") or []
        if verdicts:
            payload["sweep/verdicts"] = wandb.Table(
                columns=["claim", "group", "verdict", "line"],
                data=[[v["claim"], v["group"], v["verdict"], v["line"]] for v in verdicts],
            )
        paired = (report.get("comparisons") or {}).get("bleu") or []
        if paired:
            keys = ["group", "a", "b", "stratum", "n", "diff", "ci_low", "ci_high", "p_holm"]
            payload["sweep/paired_bleu"] = wandb.Table(
                columns=[*keys, "significant"],
                data=[[r.get(k) for k in keys] + [bool(r.get("significant"))] for r in paired],
            )
        payload.update(
            {
                f"sweep/{key}": wandb.Image(str(p))
                for key, p in paths.items()
                if str(p).endswith(".png")
            }
        )
        run.log(payload)
        for v in verdicts:  # the verdicts, readable in the run's overview
            run.summary[f"verdict/{v['claim']}/{v['group']}"] = v["verdict"]
        exit_code = 0
    finally:
        run.finish(exit_code=exit_code)
