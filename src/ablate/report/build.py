"""`build_report(sweep_dir)`: read a sweep, summarise each variant, compare them, judge
the claims; `write_report` puts `summary.json`, `summary.md` and the figures beside it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import sacrebleu

from ablate.atomic import atomic_write_text, write_json
from ablate.outputs import save_figure
from ablate.report import figures
from ablate.report.claims import Verdict, verdicts
from ablate.report.compare import compare
from ablate.report.dim_claims import dim_verdicts
from ablate.report.dims import Dims, compare_dims
from ablate.report.groups import name_runs
from ablate.report.markdown import summary_markdown
from ablate.report.read import Failure, Run, Sentences, alignment_examples, attention_rank, collect
from ablate.report.rows import Comparisons
from ablate.report.stats import ALPHA
from ablate.report.tuning import Tuning, claims_for, report_tuning, tuning_record
from ablate.report.variants import Variant, summarise

METHOD = (
    "two-level paired bootstrap: test sentences resampled once per replicate and shared "
    "by every variant (paired), each variant's training seeds resampled too; "
    "Holm-corrected within each table"
)


@dataclass(frozen=True)
class Significance:
    """How the report tests: the method in words, alpha, replicates R, resampling seed."""

    method: str
    alpha: float
    n_bootstrap: int
    seed: int


@dataclass(frozen=True)
class Report:
    """A sweep's report: its variants, the comparisons between them, the verdicts.

    Args:
        sweep_dir: the multirun dir.
        variants: name -> its row (means and intervals over seeds), in report order.
        buckets: the bucket labels of every variant, in length order.
        runs: the complete runs, variant by variant.
        failed: the jobs that did not complete.
        comparisons: the paired tests, per group.
        verdicts: the claims judged, per group (and per family across d).
        significance: how the tests were made.
        dims: the comparisons across the score size d, per family of groups that differ
            in `model.hidden` (or a Transformer's `model.heads`) alone
            (`ablate.report.dims`); empty without such a sweep.
        tuning: an equal-tuning sweep's studies (`ablate.report.tuning`); None for a
            sweep that did not tune.
    """

    sweep_dir: Path
    variants: Mapping[str, Variant]
    buckets: tuple[str, ...]
    runs: tuple[Run, ...]
    failed: tuple[Failure, ...]
    comparisons: Comparisons
    verdicts: tuple[Verdict, ...]
    significance: Significance
    dims: tuple[Dims, ...] = ()
    tuning: Tuning | None = None

    def to_json(self) -> dict:
        """`summary.json`'s content: plain JSON (no NaN; strata and kinds as text)."""
        c = self.comparisons
        return plain(
            {
                "sweep_dir": self.sweep_dir,
                "variants": self.variants,
                "buckets": self.buckets,
                "runs": self.runs,
                "failed": self.failed,
                "reference": c.reference,
                "comparisons": c.tables,
                "alignment_by_jump": c.alignment_by_jump,
                "aso": c.aso,
                "problems": c.problems,
                "verdicts": self.verdicts,
                "significance": self.significance,
                "dims": self.dims,
                "tuning": self.tuning,
            }
        )


def plain(value):
    """`value` as JSON: records by their `to_json` or fields, enums by value, paths as
    text, NaN/inf floats as `None` (JSON has no NaN), numpy scalars as Python."""
    if hasattr(value, "to_json"):
        return plain(value.to_json())
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def natural(text: str) -> tuple:
    """A sort key that orders the numbers in `text` by value: `model.hidden=32` before
    `model.hidden=128`."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def build_report(sweep_dir: Path, *, n_bootstrap: int | None = None, seed: int = 0) -> Report:
    """Compare the variants of a sweep.

    Complete runs are grouped into variants and groups (`ablate.report.groups`); the
    variants of a group are compared pairwise on their shared test sentences, and every
    registered claim (`ablate.report.claims`) is judged per group.

    Args:
        sweep_dir: the multirun dir.
        n_bootstrap: replicates R; default: enough that `1 / (R + 1)` is below Holm's
            smallest threshold for the table's comparisons (at least 10,000).
        seed: seed of the resampling.

    Raises:
        FileNotFoundError: if `sweep_dir` is not a directory.
        ValueError: if `n_bootstrap < 1`.
    """
    if n_bootstrap is not None and n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    sweep_dir = Path(sweep_dir)
    runs, failed = collect(sweep_dir)
    members: dict[str, list[Run]] = {}
    record = tuning_record(sweep_dir)
    tuned = tuple(record.space) if record else ()  # chosen settings name no variant
    for r in sorted(
        name_runs(runs, tuned),
        key=lambda r: (natural(r.group), attention_rank(str(r.attention)), r.variant),
    ):
        members.setdefault(r.variant, []).append(r)
    variants = {name: summarise(name, rs) for name, rs in members.items()}
    groups: dict[str, dict[str, list[Run]]] = {}
    for name, rs in members.items():
        groups.setdefault(variants[name].group, {})[name] = rs
    sentences = Sentences()
    comparisons = compare(groups, sentences, n_bootstrap=n_bootstrap, seed=seed)
    named = [r for rs in members.values() for r in rs]
    dims = compare_dims(
        named, comparisons.tables.bleu, sentences, n_bootstrap=comparisons.n_bootstrap, seed=seed
    )
    tuning = report_tuning(sweep_dir, record, named) if record else None

    lo: dict[str, int | None] = {}
    for v in variants.values():
        for b in v.buckets:
            lo.setdefault(b.label, b.lo)
    labels = sorted(lo, key=lambda lab: (lo[lab] is None, lo[lab] or 0, lab))
    return Report(
        sweep_dir=sweep_dir,
        variants=variants,
        buckets=tuple(labels),
        runs=tuple(named),
        failed=tuple(failed),
        comparisons=comparisons,
        verdicts=tuple(verdicts(comparisons, claims_for(tuning)) + dim_verdicts(dims)),
        significance=Significance(
            method=f"{METHOD} (sacrebleu {sacrebleu.__version__} statistics)",
            alpha=ALPHA,
            n_bootstrap=comparisons.n_bootstrap,
            seed=seed,
        ),
        dims=dims,
        tuning=tuning,
    )


def write_report(sweep_dir: Path, report: Report) -> dict[str, Path]:
    """Write `summary.json`, `summary.md` and (with a variant) the figures.

    Returns:
        The written paths: `summary_json`, `summary_md`, and where there is something to
        draw `bleu_by_length_plot`, `gain_by_length_plot`, `bleu_by_jump_plot`,
        `rare_words_plot`, `attention_stats_plot`, `alignment_grid`, and for a sweep over
        the state size `bleu_by_dim_plot`, `score_std_by_dim_plot`.
    """
    sweep_dir = Path(sweep_dir)
    paths = {"summary_json": sweep_dir / "summary.json", "summary_md": sweep_dir / "summary.md"}
    write_json(paths["summary_json"], report.to_json())
    atomic_write_text(paths["summary_md"], summary_markdown(report))
    if not report.variants:
        return paths
    paths["bleu_by_length_plot"] = save_figure(
        figures.report_figure(report), sweep_dir / "bleu_by_length.png"
    )
    examples = {name: alignment_examples(v.dirs[:1])[0] for name, v in report.variants.items()}
    drawn = {
        "gain_by_length_plot": (figures.gain_figure(report), "gain_by_length.png"),
        "bleu_by_jump_plot": (figures.jump_figure(report), "bleu_by_jump.png"),
        "rare_words_plot": (figures.rare_words_figure(report), "rare_words.png"),
        "attention_stats_plot": (figures.attention_stats_figure(report), "attention_stats.png"),
        "alignment_grid": (figures.alignment_grid(report, examples), "alignment_grid.png"),
        "bleu_by_dim_plot": (figures.bleu_by_dim_figure(report.dims), "bleu_by_dim.png"),
        "score_std_by_dim_plot": (
            figures.score_std_by_dim_figure(report.dims),
            "score_std_by_dim.png",
        ),
    }
    for key, (fig, name) in drawn.items():
        if fig is not None:
            paths[key] = save_figure(fig, sweep_dir / name)
    return paths
