"""`tuning.journal`: the tuning sweep's Optuna studies on disk, opened only when it can
be read, and the stamps a resumed sweep is checked against.

Optuna's JournalStorage (file backend) replays the journal's lines, each a JSON object
with an `op_code`; a file that is not one fails inside Optuna with whatever the bytes
trip (a `UnicodeDecodeError`, an `AssertionError`, a `KeyError`). `open_journal` checks
the lines first and names the file and the fix instead. Each study carries two stamps in
its user attrs, `made_with` (the sampler and search space) and `job` (the job settings'
hash and the settings, `ablate.tuning.budget`); `open_studies` refuses a re-run whose
stamps differ, so a resumed study never mixes trials of two budgets.
"""

from __future__ import annotations

import json
from pathlib import Path

from ablate.tuning import TuningError
from ablate.tuning.budget import differences, fingerprint

JOURNAL = "tuning.journal"


def unreadable(path: Path, why: str) -> TuningError:
    return TuningError(
        f"{path} cannot be read as a tuning journal ({why}); delete it to start the tuning "
        "over, or give another hydra.sweep.dir"
    )


def check_journal(path: Path) -> None:
    """Raise a one-line `TuningError` unless every line of `path` (if it exists) is a
    whole Optuna journal entry."""
    if not path.is_file():
        return
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            try:
                entry = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise unreadable(path, f"line {number} is not JSON") from None
            if not isinstance(entry, dict) or "op_code" not in entry:
                raise unreadable(path, f"line {number} is not an Optuna journal entry")
            if not line.endswith(b"\n"):  # Optuna would append the next entry to it
                raise unreadable(path, f"line {number} is cut short")


def open_journal(path: Path):
    """The `optuna.storages.JournalStorage` of `path` (created if missing).

    Raises:
        TuningError: one line naming the file and the fix, for a file that is not a journal.
    """
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    path = Path(path)
    check_journal(path)
    try:
        # An O_EXCL lock file: NFSv3+ safe for a cluster's shared disk; a lock left by a
        # killed sweep is taken over after its 30 s grace period.
        storage = JournalStorage(
            JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path)))
        )
        storage.get_all_studies()
    except (KeyError, TypeError, ValueError, AssertionError) as e:  # entries Optuna rejects
        raise unreadable(path, f"{type(e).__name__}: {e}") from None
    return storage


def stamp(study, key: str, now: dict) -> dict | None:
    """Stamp `study` (its user attr `key`) with `now` if it has no such stamp.

    Args:
        study: an `optuna.Study`.
        key: the user attr's name.
        now: this sweep's value (JSON values).

    Returns:
        The stamp it had where that differs from `now`, else None.
    """
    before = study.user_attrs.get(key)
    if before is None:
        study.set_user_attr(key, now)
    return None if before is None or before == now else before


def open_studies(storage, path: Path, variants, made_with: dict, jobs, trials: int) -> None:
    """Create each variant's study in `storage`, or check the one it has: its sampler and
    search space (`made_with`), its job settings (`jobs[name]`,
    `ablate.tuning.budget.job_settings`) and that it has no more than `trials` trials.

    Raises:
        TuningError: one line naming what differs and the fix.
    """
    import optuna

    for variant in variants:
        study = optuna.create_study(
            storage=storage, study_name=variant.name, direction="maximize", load_if_exists=True
        )
        before = stamp(study, "made_with", made_with)
        if before is not None:
            changed = sorted(k for k in made_with if before.get(k) != made_with[k])
            raise TuningError(
                f"{path} was tuned with other settings ({', '.join(changed)}: "
                f"{', '.join(str(before.get(k)) for k in changed)}); resume with the same "
                "ones, or give a new hydra.sweep.dir"
            )
        job = dict(jobs[variant.name])
        before = stamp(study, "job", {"hash": fingerprint(job), "settings": job})
        if before is not None:
            changed = differences(before.get("settings", {}), job)
            shown = "; ".join(changed[:4]) + ("; …" if len(changed) > 4 else "")
            raise TuningError(
                f"{path}: the trials of {variant.name} trained with other job settings "
                f"({shown or 'they differ'}); resume with the original settings, or give "
                "a new hydra.sweep.dir"
            )
        asked = len(study.get_trials(deepcopy=False))
        if asked > trials:
            raise TuningError(
                f"{path}: {variant.name} already has {asked} trials; give "
                f"tune.trials >= {asked}, or a new hydra.sweep.dir"
            )
