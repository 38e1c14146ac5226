"""`build_report(sweep_dir)`: read a sweep, summarise each variant, compare them, judge
the claims; `write_report` puts `summary.json`, `summary.md` and the figures beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import sacrebleu

from ablate.atomic import atomic_write_text, write_json
from ablate.outputs import save_figure
from ablate.report.compare import Comparison
from ablate.report.read import Sentences, attention_rank, collect, name_runs
from ablate.report.render import (
    alignment_grid,
    gain_figure,
    jump_figure,
    rare_words_figure,
    report_figure,
    summary_markdown,
)
from ablate.report.stats import ALPHA
from ablate.report.variants import summarise
from ablate.report.verdicts import verdicts

METHOD = (
    "two-level paired bootstrap: test sentences resampled once per replicate and shared "
    "by every variant (paired), each variant's training seeds resampled too; "
    "Holm-corrected within each table"
)


def _plain(value):
    """`value` with NaN/inf floats as `None` (JSON has no NaN), numpy scalars as Python."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def build_report(sweep_dir: Path, *, n_bootstrap: int | None = None, seed: int = 0) -> dict:
    """Compare the variants of a sweep.

    Complete runs are grouped into variants by `attention` (named `dataset/attention`
    when the sweep covers several datasets, with the other swept overrides appended when
    it varied more than attention and seed); variants of one dataset and setting form a
    group and are compared pairwise on their shared test sentences.

    Args:
        sweep_dir: the multirun dir.
        n_bootstrap: replicates R; default: enough that `1 / (R + 1)` is below Holm's
            smallest threshold for the table's comparisons (at least 10,000).
        seed: seed of the resampling.

    Returns:
        A JSON-serialisable dict: `sweep_dir`; `variants` (name -> seeds, means and
        intervals, `buckets`, alignment, rare words, speed); `buckets` (labels in length
        order); `runs`; `failed`; `reference` (group -> the variant best on validation
        BLEU); `comparisons` (`bleu`, `trend`, `rare_words`, `jumps`: rows with diff,
        ci_low, ci_high, p, p_holm, significant); `alignment_by_jump`; `aso`;
        `problems` (group -> why it was not compared); `verdicts`; `significance`
        (method, alpha, n_bootstrap, seed).

    Raises:
        FileNotFoundError: if `sweep_dir` is not a directory.
        ValueError: if `n_bootstrap < 1`.
    """
    if n_bootstrap is not None and n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    sweep_dir = Path(sweep_dir)
    runs, failed = collect(sweep_dir)
    name_runs(runs)
    members: dict[str, list[dict]] = {}
    for r in sorted(
        runs, key=lambda r: (r["group"], attention_rank(str(r["attention"])), r["variant"])
    ):
        members.setdefault(r["variant"], []).append(r)
    variants = {name: summarise(name, rs) for name, rs in members.items()}
    groups: dict[str, dict[str, list[dict]]] = {}
    for name, rs in members.items():
        groups.setdefault(variants[name]["group"], {})[name] = rs
    comparison = Comparison(groups, Sentences(), n_bootstrap=n_bootstrap, seed=seed).run()

    labels: list[str] = []
    lo: dict[str, int | None] = {}
    for v in variants.values():
        for b in v["buckets"]:
            if b["label"] not in labels:
                labels.append(b["label"])
                lo[b["label"]] = b["lo"]
    labels.sort(key=lambda lab: (lo[lab] is None, lo[lab] or 0, lab))
    return _plain(
        {
            "sweep_dir": str(sweep_dir),
            "variants": variants,
            "buckets": labels,
            "runs": [
                {k: r[k] for k in ("dir", "variant", "attention", "dataset", "seed", "bleu")}
                for rs in members.values()
                for r in rs
            ],
            "failed": failed,
            "reference": comparison.reference,
            "comparisons": comparison.rows,
            "alignment_by_jump": comparison.alignment_by_jump,
            "aso": comparison.aso,
            "problems": comparison.problems,
            "verdicts": verdicts(comparison),
            "significance": {
                "method": f"{METHOD} (sacrebleu {sacrebleu.__version__} statistics)",
                "alpha": ALPHA,
                "n_bootstrap": comparison.n_bootstrap,
                "seed": seed,
            },
        }
    )


def write_report(sweep_dir: Path, report: dict) -> dict[str, Path]:
    """Write `summary.json`, `summary.md` and (with a variant) the figures.

    Returns:
        The written paths: `summary_json`, `summary_md`, and where there is something to
        draw `bleu_by_length_plot`, `gain_by_length_plot`, `bleu_by_jump_plot`,
        `rare_words_plot`, `alignment_grid`.
    """
    sweep_dir = Path(sweep_dir)
    paths = {"summary_json": sweep_dir / "summary.json", "summary_md": sweep_dir / "summary.md"}
    write_json(paths["summary_json"], report)
    atomic_write_text(paths["summary_md"], summary_markdown(report))
    if not report["variants"]:
        return paths
    paths["bleu_by_length_plot"] = save_figure(
        report_figure(report), sweep_dir / "bleu_by_length.png"
    )
    figures = {
        "gain_by_length_plot": (gain_figure(report), "gain_by_length.png"),
        "bleu_by_jump_plot": (jump_figure(report), "bleu_by_jump.png"),
        "rare_words_plot": (rare_words_figure(report), "rare_words.png"),
        "alignment_grid": (alignment_grid(report), "alignment_grid.png"),
    }
    for key, (fig, name) in figures.items():
        if fig is not None:
            paths[key] = save_figure(fig, sweep_dir / name)
    return paths
