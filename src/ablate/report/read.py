"""Reading a sweep dir: its job dirs, their results, and the sentences they were tested on.

A job dir is an immediate subdir of the sweep dir with a `.hydra/` folder or a results
file. A job is complete when its results (`ablate.run_files.read_results`, the one reader
of that file) say `status: complete` and carry test scores; every other job is returned
as a `Failure` with its reason, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ablate.metrics import sentence_bleu_stats
from ablate.run_files import (
    HYPOTHESES,
    RESULTS,
    RunResults,
    read_alignment_examples,
    read_hypotheses,
    read_results,
)
from ablate.scores import Scores

BASELINE = "none"
# The no-attention baseline and the built-in variants, in the README's order; other
# attention names follow, alphabetically.
ATTENTION_ORDER = ("none", "dot", "scaled_dot", "additive", "multiplicative")


@dataclass(frozen=True)
class Run:
    """One complete job of a sweep.

    Args:
        dir: its job dir.
        overrides: Hydra's override strings (`attention=dot`, `seed=1`).
        results: its results record, scores with their per-sentence counts.
        variant: the variant it belongs to (one configuration, all its seeds).
        group: the variants compared with each other (same data and model, so the same
            test sentences); set by `ablate.report.groups.name_runs`.
        config: its composed config (`.hydra/config.yaml`) as plain data, read once;
            empty where there is none to read.
    """

    dir: Path
    overrides: tuple[str, ...]
    results: RunResults
    config: Mapping = field(default_factory=dict, compare=False, repr=False)
    variant: str = ""
    group: str = ""

    @property
    def scores(self) -> Scores:
        return self.results.scores

    @property
    def attention(self):
        return self.results.attention

    @property
    def dataset(self):
        return self.results.dataset

    @property
    def seed(self):
        return self.results.seed

    @property
    def tokenizer(self) -> str | None:
        """The sacrebleu tokenizer its BLEU used (`tok:` in the signature)."""
        for part in str(self.scores.signature.get("bleu") or "").split("|"):
            key, _, value = part.partition(":")
            if key == "tok" and value:
                return value
        return None

    def to_json(self) -> dict:
        return {
            "dir": str(self.dir),
            "variant": self.variant,
            "attention": self.attention,
            "dataset": self.dataset,
            "seed": self.seed,
            "bleu": self.scores.bleu,
        }


@dataclass(frozen=True)
class Failure:
    """A job that did not complete: its dir, why, and the overrides it ran with."""

    dir: Path
    reason: str
    overrides: tuple[str, ...]

    def to_json(self) -> dict:
        return {"dir": str(self.dir), "reason": self.reason, "overrides": list(self.overrides)}


def _read_overrides(job: Path) -> tuple[str, ...]:
    path = job / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return ()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return ()
    return tuple(str(x) for x in data) if isinstance(data, list) else ()


def _read_config(job: Path) -> dict:
    try:
        config = yaml.safe_load((job / ".hydra" / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return config if isinstance(config, dict) else {}


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in Path(sweep_dir).iterdir()
        if p.is_dir() and ((p / ".hydra").is_dir() or (p / RESULTS).is_file())
    )


def read_job(job: Path) -> Run | Failure:
    """A job dir as a complete `Run`, or a `Failure` saying why it is not one."""
    overrides = _read_overrides(job)
    if not (job / RESULTS).is_file():
        return Failure(job, f"no {RESULTS}", overrides)
    try:
        results = read_results(job, sentences=True)
    except KeyError as e:
        return Failure(job, f"{RESULTS} lacks {e.args[0]}", overrides)
    except (OSError, ValueError, TypeError) as e:
        return Failure(job, f"unreadable {RESULTS} ({e})", overrides)
    # A job that failed inside ablate records its overrides in its results.
    overrides = overrides or tuple(str(o) for o in results.overrides or ())
    if results.status != "complete":
        error = f" ({results.error})" if results.error else ""
        return Failure(job, f"status: {results.status}{error}", overrides)
    if results.scores is None:
        return Failure(job, f"{RESULTS} lacks bleu", overrides)
    return Run(job, overrides, results, config=_read_config(job))


def collect(sweep_dir: Path) -> tuple[list[Run], list[Failure]]:
    """Read every job dir of a sweep.

    Returns:
        `(runs, failed)`, both sorted by dir name (runs not yet named: `name_runs`).

    Raises:
        FileNotFoundError: if `sweep_dir` is not a directory.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"sweep dir {sweep_dir} does not exist or is not a directory")
    jobs = [read_job(job) for job in job_dirs(sweep_dir)]
    return [j for j in jobs if isinstance(j, Run)], [j for j in jobs if isinstance(j, Failure)]


def attention_rank(name: str) -> tuple[int, str]:
    order = {a: i for i, a in enumerate(ATTENTION_ORDER)}
    return order.get(name, len(order)), name


def seed_key(seed) -> tuple:
    # Integer seeds in numeric order (2 before 10), anything else after, as text.
    return (0, seed, "") if isinstance(seed, int) else (1, 0, str(seed))


def alignment_examples(dirs: Sequence[Path], tag: str = "median") -> list[dict | None]:
    """Each run dir's attention matrix of the `tag` example sentence (None without one)."""
    return [read_alignment_examples(d).get(tag) for d in dirs]


class Sentences:
    """Each run's per-sentence data, read once: hypotheses.tsv and its BLEU statistics
    (the counts of `sentence_stats.json` come with the run's scores)."""

    def __init__(self):
        self._tables: dict[Path, dict | str] = {}
        self._bleu: dict[Path, np.ndarray] = {}

    def table(self, run: Run) -> dict | str:
        """The run's `hypotheses.tsv` columns, or the reason it cannot be had."""
        key = run.dir
        if key not in self._tables:
            path = key / HYPOTHESES
            if not path.is_file():
                self._tables[key] = f"no {HYPOTHESES} in {key.name}"
            else:
                try:
                    table = read_hypotheses(path)
                    self._tables[key] = table if table["source"] else f"empty {HYPOTHESES}"
                except (OSError, ValueError) as e:
                    self._tables[key] = str(e)
        return self._tables[key]

    def bleu_stats(self, run: Run) -> np.ndarray:
        """`(N, 10)` per-sentence BLEU statistics of the run (its own tokenizer)."""
        if run.dir not in self._bleu:
            table = self.table(run)
            self._bleu[run.dir] = sentence_bleu_stats(
                table["hypothesis"], table["reference"], tokenize=run.tokenizer
            )
        return self._bleu[run.dir]

    @staticmethod
    def side_stats(run: Run) -> dict | None:
        """The run's `sentence_stats.json` (None for a run without one)."""
        return run.scores.sentence_stats

    def band_counts(self, run: Run, part: str, num: str, den: str, band: int) -> np.ndarray:
        """`(N, 2)` per-sentence `(num, den)` counts of one band of a `sentence_stats.json`
        part, e.g. `("rare_words", "hits", "totals", 1)`: what `ratio_from_stats` sums."""
        side = self.side_stats(run)[part]
        return np.stack([np.asarray(side[num])[:, band], np.asarray(side[den])[:, band]], axis=1)
