"""What a trial's validation BLEU depends on besides its tuned parameters.

Dodge et al. 2019 (§3) tie a tuning result to its budget: trials that trained for 1 epoch
and trials that trained for 7 are not one study. A tuning sweep stamps each study with
its job settings, the composed job config of its trials less what may differ between
trials or runs of one sweep (the tuned keys, Hydra's own settings, where the job logs and
what the report tests); a resumed sweep whose settings differ from the stamp is refused
(`ablate.tuning.journal.check_stamp`). The training budget the verdict holds at, the
training pairs and the epochs, is read from the same settings for `tuning.json`.

Plain Python values in and out (the entry point turns the config into a dict).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

from ablate.tuning.record import TrainingBudget

# Not job settings: Hydra's (output dirs, the job's overrides), resume (a resumed sweep
# sets it), the sweeper's own (`tune.*`, with the final runs' seeds: the study's
# `made_with` checks the sampler's), and what neither trains nor validates: the tracker,
# the report's claims, torch's CPU threads. `seed` stays: in a trial's config it is the
# trials' seed, and a study of trials at two seeds would not be one study.
NOT_SETTINGS = ("hydra", "resume", "tune", "report", "logger", "threads")
TRAIN_SIZE, MAX_EPOCHS = "dataset.train_size", "trainer.max_epochs"


def flatten(config: Mapping, prefix: str = "") -> dict[str, object]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}`; lists stay values."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def job_settings(config: Mapping, tuned: Iterable[str]) -> dict[str, object]:
    """The settings of a job's config that its trials must share on resume.

    Args:
        config: the composed job config as plain values (unresolved interpolations are
            kept as their text, so one that reads a tuned key is the same for every trial).
        tuned: the search space's keys (`optim.lr`), dropped with everything under them.

    Returns:
        Dotted key -> value, e.g. `{"trainer.max_epochs": 4, ...}`.
    """
    drop = (*NOT_SETTINGS, *tuned)
    return {
        k: v
        for k, v in flatten(config).items()
        if not any(k == d or k.startswith(f"{d}.") for d in drop)
    }


def fingerprint(settings: Mapping[str, object]) -> str:
    """A short hash of `job_settings`: equal settings, equal hashes."""
    text = json.dumps(dict(settings), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def differences(before: Mapping[str, object], now: Mapping[str, object]) -> list[str]:
    """`key: old → new` for every key whose value differs (`–`: not set)."""
    keys = sorted(k for k in before.keys() | now.keys() if before.get(k, "–") != now.get(k, "–"))
    return [f"{k}: {before.get(k, '–')} → {now.get(k, '–')}" for k in keys]


def training_budget(variants: Iterable[Mapping[str, object]]) -> TrainingBudget:
    """The training pairs and epochs of the variants' job settings (None where they
    differ between variants, are tuned, or are not set)."""
    variants = list(variants)

    def common(key: str) -> int | None:
        values = {v.get(key) for v in variants}
        value = values.pop() if len(values) == 1 else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return TrainingBudget(train_size=common(TRAIN_SIZE), max_epochs=common(MAX_EPOCHS))
