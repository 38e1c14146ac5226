"""The optimiser's settings and learning-rate schedules of `conf/optim/`.

The optimiser itself is a torch one, built by Hydra as a partial (`conf/optim/adam.yaml`:
Adam, Kingma & Ba 2015) that the system gives the model's parameters. A schedule is a
function `(optimizer, total_steps) -> LRScheduler` stepped at every optimiser step (with
`trainer.accumulate_grad_batches=k`, every k batches), or None for a constant rate;
`schedule(name, warmup)` picks one by its `optim.schedule` name: `cosine` decay, or the
Transformer's `inverse_sqrt` warm-up and decay (Vaswani et al. 2017 §5.3).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

MAX_LR = 1e36


def check_lr(lr: float | None) -> None:
    """Raise ValueError for a learning rate Adam cannot step with (None: the optimiser's
    own default, nothing to check)."""
    if lr is None:
        return
    if not lr > 0:
        raise ValueError(f"optim.lr must be > 0, got {lr!r}")
    if not lr <= MAX_LR:  # Adam divides lr by 1 − 0.9^step (≥ 0.1) in float32
        raise ValueError(
            f"optim.lr must be at most {MAX_LR:g} (Adam's float32 step "
            f"overflows beyond that), got {lr!r}"
        )


def cosine(
    optimizer: torch.optim.Optimizer, total_steps: Callable[[], int], floor: float = 0.05
) -> torch.optim.lr_scheduler.LambdaLR:
    """Cosine decay per step from the configured rate to `floor` × it at the last step
    (Loshchilov & Hutter 2017, without restarts): steadier final epochs, so the best
    checkpoint is less a matter of luck.

    Args:
        optimizer: the optimiser whose rate it scales.
        total_steps: the run's number of steps, asked at the first step, not before:
            Lightning's estimate draws the first training batches, and asked when the
            optimiser is built it would do so before a resumed run's epoch is restored,
            giving that epoch the first epoch's batch order.
        floor: the last step's share of the rate.
    """
    total: list[int] = []

    def factor(step: int) -> float:
        if step == 0:  # needs no total
            return 1.0
        if not total:
            total.append(max(1, int(total_steps())))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step, total[0]) / total[0]))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def inverse_sqrt(
    optimizer: torch.optim.Optimizer, total_steps: Callable[[], int], warmup: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up to the configured rate over `warmup` steps, then decay ∝ 1/√step:
    optimiser step n (counted from 1) trains at lr · min(n / warmup, √(warmup / n)), the
    full rate at step `warmup` (Vaswani et al. 2017 §5.3 with lr = d_model^-0.5 ·
    warmup^-0.5 folded into `optim.lr`; fairseq's `inverse_sqrt` and JoeyNMT's
    `warmupinversesquareroot` in the same form). The first step trains at lr / warmup,
    not 0: no step is spent at a zero rate.

    Its only state is the step count, which Lightning keeps in every checkpoint with the
    scheduler's, so a resumed run goes on at the rate it stopped at.

    Args:
        optimizer: the optimiser whose rate it scales.
        total_steps: unused (the decay needs no end); there for the schedules' signature.
        warmup: the warm-up's optimiser steps, at least 1.
    """
    del total_steps

    def factor(step: int) -> float:  # `step` optimiser steps done: this is step + 1
        n = step + 1
        return min(n / warmup, math.sqrt(warmup / n))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


SCHEDULES: dict[str, Callable | None] = {
    "constant": None,
    "cosine": cosine,
    "inverse_sqrt": inverse_sqrt,
}
# The schedules that take `optim.warmup`: with another, a warm-up would silently not happen.
WARMED = ("inverse_sqrt",)


def check_warmup(name: str, warmup) -> None:
    """Raise ValueError for an `optim.warmup` that `optim.schedule=name` cannot use: not a
    non-negative integer, 0 for a schedule that warms up, or > 0 for one that does not."""
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise ValueError(
            f"optim.warmup must be a non-negative integer (optimiser steps), got {warmup!r}"
        )
    if name in WARMED and warmup == 0:
        raise ValueError(
            f"optim.schedule={name} needs optim.warmup > 0 (its warm-up steps, e.g. "
            f"optim.warmup=4000), got 0"
        )
    if name not in WARMED and warmup > 0:
        raise ValueError(
            f"optim.warmup={warmup} has no effect with optim.schedule={name}; set "
            f"optim.schedule={' or '.join(WARMED)}, or optim.warmup=0"
        )


def schedule(name: str, warmup: int = 0) -> Callable | None:
    """The schedule called `name` in `SCHEDULES` (None for `constant`), given `warmup`
    steps where it takes them (`WARMED`).

    Raises:
        ValueError: an unknown name, naming the known ones; a bad `warmup`
            (`check_warmup`).
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown optim.schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    check_warmup(name, warmup)
    if name in WARMED:
        return functools.partial(SCHEDULES[name], warmup=warmup)
    return SCHEDULES[name]
