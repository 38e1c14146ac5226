"""The formats of the files in a run dir, one writer and one reader each (stdlib only).

What a run leaves on disk (the contract of docs/design.md), in one place.

A run dir holds `results.json` (a `RunResults` record), `hypotheses.tsv` (one row per
test sentence), `sentence_stats.json` (per-sentence counts the sweep report resamples)
and `plots/alignment_examples.json` (the attention matrices of three fixed test
sentences, for the sweep's side-by-side grid). This module holds their formats, with one
writer and one reader for each; a run's outputs are written through `ablate.outputs`,
and everything that reads them (the sweep report, `resume`) reads through here:
`RunResults.from_json` is the only reader of `results.json`.

Every file is written atomically (`ablate.atomic`: a temporary file, then a rename), so
a killed run never leaves a half-written file for a report to misread. Standard library
only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ablate.atomic import atomic_write_text, read_json, write_json
from ablate.scores import Scores

RESULTS = "results.json"
HYPOTHESES = "hypotheses.tsv"
SENTENCE_STATS = "sentence_stats.json"
ALIGNMENT_EXAMPLES = Path("plots") / "alignment_examples.json"
HYPOTHESES_COLUMNS = ("source", "reference", "hypothesis", "bucket")
STATUSES = ("complete", "interrupted", "diverged", "failed")
_STOP_ONLY = ("error", "overrides", "last_checkpoint")  # said by runs that did not complete


# --------------------------------------------------------------------------- results.json


@dataclass
class RunResults:
    """`results.json`: what one run reports, whether it completed, stopped or failed.

    A complete run has its test `scores` (`ablate.scores.Scores`, whose keys sit at the
    top level of the file); a stopped run (`interrupted`, `diverged`) has `error` (what
    happened and how to continue), `train` (epochs, steps) and `last_checkpoint`; a
    failed sweep job keeps whatever it had written and adds `error` and `overrides`.
    A complete run writes every field (`null` where there is none, as `alignment` for
    `attention=none`); other records leave `None` fields out.
    """

    attention: str
    dataset: str
    seed: int | str
    status: str
    # The model: `{"family": "rnn" | "transformer", **settings}` (`ModelConfig.results`);
    # None in results written before it was recorded, and in a failed job's own record.
    model: dict | None = None
    error: str | None = None
    overrides: list[str] | None = None
    scores: Scores | None = None  # the test set's
    valid_bleu: float | None = None  # the best checkpoint's validation BLEU
    test_set: str | None = None  # fingerprint of the test sentences (`fingerprint`)
    train: dict | None = None  # epochs, steps, seconds, tokens/s, threads, peak RSS
    decode: dict | None = None
    data: dict | None = None
    best_checkpoint: str | None = None
    last_checkpoint: str | None = None
    extra: dict = field(default_factory=dict)  # keys this version does not know

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")

    def to_json(self) -> dict:
        """The file's content; its keys keep their first version's order."""
        complete = self.status == "complete"
        scores = Scores.to_json(self.scores) if self.scores is not None else {}
        if complete and not scores:
            scores = dict.fromkeys(Scores.JSON_KEYS)
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields.pop("scores")
        extra = fields.pop("extra")
        out = {}
        for key in _ORDER:
            if key in Scores.JSON_KEYS and key not in scores:
                continue
            value = scores[key] if key in Scores.JSON_KEYS else fields[key]
            if value is not None or (complete and key not in _STOP_ONLY):
                out[key] = value  # a complete run states `alignment: null` etc.
        out.update(extra)
        return out

    @classmethod
    def from_json(cls, data: Mapping, sentence_stats: Mapping | None = None) -> RunResults:
        """The record in a `results.json`'s content (the one reader of that file).

        Raises:
            ValueError: an unknown status.
            KeyError, TypeError: scores without their fields.
        """
        names = {f.name for f in dataclasses.fields(cls)} - {"extra", "scores"}
        known = {k: v for k, v in data.items() if k in names}
        for key in ("attention", "dataset", "seed", "status"):
            known.setdefault(key, None if key != "status" else "failed")
        if data.get("bleu") is not None:
            known["scores"] = Scores.from_json(data, sentence_stats)
        extra = {k: v for k, v in data.items() if k not in names and k not in Scores.JSON_KEYS}
        return cls(**known, extra=extra)

    def failed(self, error: str, overrides: Sequence[str]) -> RunResults:
        """This record marked failed (a `diverged` status stays), keeping what it had."""
        status = "diverged" if self.status == "diverged" else "failed"
        return dataclasses.replace(self, status=status, error=error, overrides=list(overrides))


# `results.json`'s keys in their order: the record's fields with the scores' in between.
_ORDER = (
    "attention",
    "dataset",
    "seed",
    "model",
    "status",
    "error",
    "overrides",
    "bleu",
    "chrf",
    "exact_match",
    "valid_bleu",
    "signature",
    "test_set",
    "buckets",
    "alignment",
    "alignment_by_jump",
    "rare_words",
    "attention_stats",
    "train",
    "decode",
    "data",
    "best_checkpoint",
    "last_checkpoint",
)


def write_results(run_dir: Path, results: RunResults) -> None:
    """`results.json`, and `sentence_stats.json` where the scores carry per-sentence
    counts."""
    if results.scores is not None and results.scores.sentence_stats:
        write_sentence_stats(run_dir, results.scores.sentence_stats)
    write_json(Path(run_dir) / RESULTS, results.to_json())


def read_results(run_dir: Path, sentences: bool = False) -> RunResults:
    """The run's `results.json`; with `sentences`, its scores carry the run's
    `sentence_stats.json` too (None where it has none).

    Raises:
        OSError: no readable file.
        ValueError: not a JSON object, or an unknown status.
        KeyError, TypeError: scores without their fields.
    """
    stats = read_sentence_stats(run_dir) if sentences else None
    return RunResults.from_json(read_json(Path(run_dir) / RESULTS), stats)


def complete_results(run_dir: Path) -> RunResults | None:
    """`results.json` of a run that finished in `run_dir`, else None."""
    try:
        results = read_results(run_dir)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return results if results.status == "complete" else None


def fingerprint(sources: Iterable[str], references: Iterable[str]) -> str:
    """A fingerprint of a test set: runs with equal ids scored the same sentences."""
    digest = hashlib.sha256()
    for s, r in zip(sources, references, strict=True):
        digest.update(f"{s}\t{r}\n".encode())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- hypotheses.tsv


def write_hypotheses(path: Path, rows: Iterable[Sequence[str]]) -> None:
    """`hypotheses.tsv`: a header, then `source, reference, hypothesis, bucket` per test
    sentence; tabs and newlines inside fields become spaces."""

    def clean(x) -> str:
        return str(x).replace("\t", " ").replace("\n", " ")

    lines = ["\t".join(HYPOTHESES_COLUMNS)]
    lines += ["\t".join(clean(x) for x in row) for row in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")


def read_hypotheses(path: Path) -> dict[str, list[str]]:
    """The columns of a `hypotheses.tsv`.

    Returns:
        `{"source", "reference", "hypothesis", "bucket"}`, one list entry per sentence.

    Raises:
        ValueError: if the header or a row does not have the four columns.
    """
    # split("\n"), not splitlines(): fields may hold \r or \x0b, only \n ends a row.
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header = "\t".join(HYPOTHESES_COLUMNS)
    if not lines or tuple(lines[0].split("\t")) != HYPOTHESES_COLUMNS:
        raise ValueError(f"{path} must start with the header {header!r}")
    table: dict[str, list[str]] = {c: [] for c in HYPOTHESES_COLUMNS}
    for i, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(HYPOTHESES_COLUMNS):
            raise ValueError(f"{path} line {i} has {len(fields)} fields, expected 4")
        for c, f in zip(HYPOTHESES_COLUMNS, fields, strict=True):
            table[c].append(f)
    return table


# --------------------------------------------------------------------------- side files


def write_sentence_stats(run_dir: Path, stats: Mapping) -> None:
    """`sentence_stats.json`: per test sentence, the counts behind the rare-word and
    alignment scores (`ablate.scoring.score`), in test-set order; compact JSON, as
    it holds a few numbers for every test sentence."""
    atomic_write_text(Path(run_dir) / SENTENCE_STATS, json.dumps(stats, separators=(",", ":")))


def read_sentence_stats(run_dir: Path) -> dict | None:
    """`sentence_stats.json`, or None when the run has none (older runs)."""
    path = Path(run_dir) / SENTENCE_STATS
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def write_alignment_examples(run_dir: Path, examples: Mapping) -> None:
    """The attention matrices of the fixed example sentences: `{tag: {"index", "source",
    "hypothesis", "weights"}}`, tags `short`, `median`, `long`."""
    write_json(Path(run_dir) / ALIGNMENT_EXAMPLES, examples)


def read_alignment_examples(run_dir: Path) -> dict:
    """`write_alignment_examples`' content; `{}` for a run without attention weights."""
    try:
        return read_json(Path(run_dir) / ALIGNMENT_EXAMPLES)
    except (OSError, ValueError):
        return {}
