"""Reading a sweep dir: its job dirs, their results, and the variants they form.

A job dir is an immediate subdir of the sweep dir with a `.hydra/` folder or a
`results.json`. A job is complete when its `results.json` says `status: complete` and has
the keys a report needs; every other job is returned as failed with its reason, never
dropped. Complete runs are grouped into variants: one configuration, all its seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import yaml

from ablate.atomic import read_json
from ablate.metrics import sentence_bleu_stats
from ablate.results import HYPOTHESES, read_hypotheses, read_sentence_stats

BASELINE = "none"
# The no-attention baseline and the built-in variants, in DESIGN.md's order; other
# attention names follow, alphabetically.
ATTENTION_ORDER = ("none", "dot", "scaled_dot", "additive", "multiplicative")
# Keys whose variation across runs is already part of a variant's name, or is the
# replication axis itself.
_NAMED_KEYS = ("seed", "attention", "dataset")
_REQUIRED = ("attention", "dataset", "seed", "bleu", "buckets")


def _read_overrides(job: Path) -> list[str]:
    path = job / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    return [str(x) for x in data] if isinstance(data, list) else []


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in Path(sweep_dir).iterdir()
        if p.is_dir() and ((p / ".hydra").is_dir() or (p / "results.json").is_file())
    )


def _read_job(job: Path) -> tuple[dict | None, str | None, list[str]]:
    """`(results, None, overrides)` for a complete job, `(None, reason, overrides)` else."""
    overrides = _read_overrides(job)
    path = job / "results.json"
    if not path.is_file():
        return None, "no results.json", overrides
    try:
        results = read_json(path)
    except (OSError, ValueError) as e:
        return None, f"unreadable results.json ({e})", overrides
    # A job that failed inside ablate records its overrides in results.json.
    overrides = overrides or [str(o) for o in results.get("overrides") or []]
    status = results.get("status", "missing")
    if status != "complete":
        error = results.get("error")
        return None, f"status: {status}" + (f" ({error})" if error else ""), overrides
    missing = [k for k in _REQUIRED if k not in results]
    if missing:
        return None, f"results.json lacks {', '.join(missing)}", overrides
    return results, None, overrides


def collect(sweep_dir: Path) -> tuple[list[dict], list[dict]]:
    """Read every job dir of a sweep.

    Returns:
        `(runs, failed)`, both sorted by dir name: each run is its `results.json` plus
        `"dir"` (str) and `"overrides"` (Hydra's override strings); each failure is
        `{"dir", "reason", "overrides"}`.

    Raises:
        FileNotFoundError: if `sweep_dir` is not a directory.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"sweep dir {sweep_dir} does not exist or is not a directory")
    runs, failed = [], []
    for job in job_dirs(sweep_dir):
        results, reason, overrides = _read_job(job)
        if results is None:
            failed.append({"dir": str(job), "reason": reason, "overrides": overrides})
        else:
            runs.append({**results, "dir": str(job), "overrides": overrides})
    return runs, failed


def tokenizer(run: Mapping) -> str | None:
    """The sacrebleu tokenizer a run's BLEU used (`tok:` in its signature)."""
    signature = (run.get("signature") or {}).get("bleu") or ""
    for part in str(signature).split("|"):
        key, _, value = part.partition(":")
        if key == "tok" and value:
            return value
    return None


def attention_rank(name: str) -> tuple[int, str]:
    order = {a: i for i, a in enumerate(ATTENTION_ORDER)}
    return order.get(name, len(order)), name


def seed_key(seed) -> tuple:
    # Integer seeds in numeric order (2 before 10), anything else after, as text.
    return (0, seed, "") if isinstance(seed, int) else (1, 0, str(seed))


def _override_items(overrides: Sequence[str]) -> dict[str, str]:
    items = {}
    for o in overrides:
        key, sep, value = o.lstrip("+~").partition("=")
        if sep and key not in _NAMED_KEYS:
            items[key] = value
    return items


def name_runs(runs: list[dict]) -> None:
    """Set each run's `variant` name and `group` (the variants compared with each other:
    same dataset and same other swept settings, so the same test sentences)."""
    several = len({r["dataset"] for r in runs}) > 1
    for r in runs:
        r["variant"] = f"{r['dataset']}/{r['attention']}" if several else str(r["attention"])
        r["group"] = str(r["dataset"])

    def collides() -> bool:
        keys = [(r["variant"], r["seed"]) for r in runs]
        return len(set(keys)) < len(keys)

    if collides():
        # Another axis was swept too (model=default,big): name it, so that one variant
        # holds one configuration and its seeds, never two configurations mixed.
        items = [_override_items(r["overrides"]) for r in runs]
        keys = sorted({k for it in items for k in it})
        varying = [k for k in keys if len({it.get(k) for it in items}) > 1]
        for r, it in zip(runs, items, strict=True):
            extra = ",".join(f"{k}={it[k]}" for k in varying if k in it)
            if extra:
                r["variant"] += f" {extra}"
                r["group"] += f" {extra}"
    if collides():
        # Same configuration and seed twice (a re-run): keep both, told apart by dir.
        for r in runs:
            r["variant"] += f" [{Path(r['dir']).name}]"


class Sentences:
    """Each run's per-sentence data, read once: hypotheses.tsv, its BLEU statistics and
    `sentence_stats.json`."""

    def __init__(self):
        self._tables: dict[str, dict | str] = {}
        self._bleu: dict[str, np.ndarray] = {}
        self._sides: dict[str, dict | None] = {}

    def table(self, run: Mapping) -> dict | str:
        """The run's `hypotheses.tsv` columns, or the reason it cannot be had."""
        key = run["dir"]
        if key not in self._tables:
            path = Path(key) / HYPOTHESES
            if not path.is_file():
                self._tables[key] = f"no {HYPOTHESES} in {Path(key).name}"
            else:
                try:
                    table = read_hypotheses(path)
                    self._tables[key] = table if table["source"] else f"empty {HYPOTHESES}"
                except (OSError, ValueError) as e:
                    self._tables[key] = str(e)
        return self._tables[key]

    def bleu_stats(self, run: Mapping) -> np.ndarray:
        """`(N, 10)` per-sentence BLEU statistics of the run (its own tokenizer)."""
        key = run["dir"]
        if key not in self._bleu:
            table = self.table(run)
            self._bleu[key] = sentence_bleu_stats(
                table["hypothesis"], table["reference"], tokenize=tokenizer(run)
            )
        return self._bleu[key]

    def side_stats(self, run: Mapping) -> dict | None:
        """The run's `sentence_stats.json` (None for a run without one)."""
        key = run["dir"]
        if key not in self._sides:
            self._sides[key] = read_sentence_stats(key)
        return self._sides[key]

    def band_counts(self, run: Mapping, part: str, num: str, den: str, band: int) -> np.ndarray:
        """`(N, 2)` per-sentence `(num, den)` counts of one band of a `sentence_stats.json`
        part, e.g. `("rare_words", "hits", "totals", 1)`: what `ratio_from_stats` sums."""
        side = self.side_stats(run)[part]
        return np.stack([np.asarray(side[num])[:, band], np.asarray(side[den])[:, band]], axis=1)
