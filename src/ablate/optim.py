"""The optimiser's settings and learning-rate schedules of `conf/optim/`.

The optimiser itself is a torch one, built by Hydra as a partial (`conf/optim/adam.yaml`:
Adam, Kingma & Ba 2015) that the system gives the model's parameters. A schedule is a
function `(optimizer, total_steps) -> LRScheduler` stepped every training step, or None
for a constant rate; `schedule(name)` picks one by its `optim.schedule` name.
"""

from __future__ import annotations

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


SCHEDULES: dict[str, Callable | None] = {"constant": None, "cosine": cosine}


def schedule(name: str) -> Callable | None:
    """The schedule called `name` in `SCHEDULES` (None for `constant`).

    Raises:
        ValueError: an unknown name, naming the known ones.
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown optim.schedule {name!r}; choose one of {', '.join(SCHEDULES)}")
    return SCHEDULES[name]
