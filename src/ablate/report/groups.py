"""Variants and groups: which runs are seeds of one configuration, and which variants are
compared with each other.

- A **variant** is one configuration and all its seeds: named by its attention
  (`dataset/attention` when the sweep covers several datasets), plus the other swept
  overrides where attention and seed alone would put two configurations under one name.
- A **group** is the variants compared with each other, pair by pair on their shared
  test sentences: one dataset and one model. Runs that differ in the `model` config (a
  family experiment's RNN and Transformer, `model=default,big`, `model.hidden=…`) fall
  in separate groups, never compared with each other; the report's claims are judged
  per group.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ablate.report.read import Run

# Keys whose variation across runs is already part of a variant's name, or is the
# replication axis itself.
_NAMED_KEYS = ("seed", "attention", "dataset")
# The config group whose variation makes another model: its runs form their own group.
MODEL_KEY = "model"


def override_items(overrides: Sequence[str]) -> dict[str, str]:
    """`key -> value` of a run's overrides, but for those a variant's name already says."""
    items = {}
    for o in overrides:
        key, sep, value = o.lstrip("+~").partition("=")
        if sep and key not in _NAMED_KEYS:
            items[key] = value
    return items


def is_model_key(key: str) -> bool:
    """`model=…`, `model.hidden=…` or `model/decoder=…`: an override that configures the
    model."""
    return key == MODEL_KEY or key.startswith((MODEL_KEY + ".", MODEL_KEY + "/"))


def name_runs(runs: Sequence[Run], tuned: Sequence[str] = ()) -> list[Run]:
    """The runs with their `variant` name and `group` set.

    The group is the dataset, plus the model overrides where they vary; the other swept
    overrides join the name (and the group) only where two configurations would
    otherwise share a name and seed.

    Args:
        runs: the complete runs.
        tuned: a tuning sweep's search-space keys (`optim.lr`, `model.dropout`): each
            variant's chosen values of them are its setting, not another configuration
            to tell apart, so they name no variant and split no group.
    """
    several = len({r.dataset for r in runs}) > 1
    names = [f"{r.dataset}/{r.attention}" if several else str(r.attention) for r in runs]
    groups = [str(r.dataset) for r in runs]
    items = [{k: v for k, v in override_items(r.overrides).items() if k not in tuned} for r in runs]
    keys = sorted({k for it in items for k in it})
    varying = [k for k in keys if len({it.get(k) for it in items}) > 1]

    def collides() -> bool:
        pairs = [(n, r.seed) for n, r in zip(names, runs, strict=True)]
        return len(set(pairs)) < len(pairs)

    # Another axis was swept too (model=default,big): name it, so that one variant holds
    # one configuration and its seeds, never two configurations mixed. Another model is
    # always its own group, even where names would not collide.
    named = varying if collides() else [k for k in varying if is_model_key(k)]
    for i, it in enumerate(items):
        extra = ",".join(f"{k}={it[k]}" for k in named if k in it)
        if extra:
            names[i] += f" {extra}"
            groups[i] += f" {extra}"
    if collides():
        # Same configuration and seed twice (a re-run): keep both, told apart by dir.
        names = [f"{n} [{r.dir.name}]" for n, r in zip(names, runs, strict=True)]
    return [
        dataclasses.replace(r, variant=n, group=g)
        for r, n, g in zip(runs, names, groups, strict=True)
    ]
