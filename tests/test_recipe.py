"""The real-data training recipe (issue 25): the `inverse_sqrt` schedule with its
`optim.warmup`, token-budget batches (`data.batch_tokens`) and gradient accumulation
(`trainer.accumulate_grad_batches`): their values against their definitions, their
refusals, and a fast run of each through `train.run`."""

import math

import pytest
import torch

from ablate import optim


def rates(scheduler_fn, steps: int, lr: float = 2.0) -> list[float]:
    """The rate of each of the first `steps` optimiser steps under `scheduler_fn`."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = scheduler_fn(opt, lambda: steps)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return out


@pytest.mark.parametrize("warmup", [1, 4, 10])
def test_inverse_sqrt_warms_up_linearly_then_decays_as_one_over_root_step(warmup):
    lr, steps = 2.0, 4 * warmup + 5
    got = rates(optim.schedule("inverse_sqrt", warmup), steps, lr)
    for n, rate in enumerate(got, start=1):  # optimiser step n, counted from 1
        assert rate == pytest.approx(lr * min(n / warmup, math.sqrt(warmup / n)))
    assert got[0] == pytest.approx(lr / warmup)  # from ~0, but no step at a zero rate
    assert max(got) == pytest.approx(lr) and got.index(max(got)) == warmup - 1
    assert got[4 * warmup - 1] == pytest.approx(lr / 2)  # 1/√step: 4× the steps, half the rate


def test_the_inverse_sqrt_step_count_survives_a_checkpoint():
    schedule = optim.schedule("inverse_sqrt", 4)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = schedule(opt, lambda: 0)
    for _ in range(6):
        opt.step()
        scheduler.step()
    saved = scheduler.state_dict(), opt.state_dict()  # what Lightning's checkpoint holds
    opt2 = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    resumed = schedule(opt2, lambda: 0)
    resumed.load_state_dict(saved[0])
    opt2.load_state_dict(saved[1])
    for _ in range(3):
        assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
        for o, s in ((opt, scheduler), (opt2, resumed)):
            o.step()
            s.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(math.sqrt(4 / 10))  # step 10


@pytest.mark.parametrize(
    ("name", "warmup", "message"),
    [
        ("inverse_sqrt", -1, r"optim\.warmup must be a non-negative integer .*got -1"),
        ("inverse_sqrt", 1.5, r"optim\.warmup must be a non-negative integer .*got 1\.5"),
        ("inverse_sqrt", "abc", r"optim\.warmup must be a non-negative integer .*got 'abc'"),
        ("inverse_sqrt", True, r"optim\.warmup must be a non-negative integer .*got True"),
        ("inverse_sqrt", 0, r"optim\.schedule=inverse_sqrt needs optim\.warmup > 0 .*got 0"),
        ("cosine", 100, r"optim\.warmup=100 has no effect with optim\.schedule=cosine"),
        ("constant", 100, r"optim\.warmup=100 has no effect with optim\.schedule=constant"),
    ],
)
def test_a_warmup_the_schedule_cannot_use_is_refused_naming_the_key(name, warmup, message):
    with pytest.raises(ValueError, match=message):
        optim.schedule(name, warmup)


def test_the_schedules_without_a_warmup_are_unchanged_by_the_key():
    assert optim.schedule("constant", 0) is None
    assert optim.schedule("cosine", 0) is optim.cosine
