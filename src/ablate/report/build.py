"""`build_report(sweep_dir)`: read a sweep, summarise each variant, compare them, judge
the claims it declared; `write_report` puts `summary.json`, `summary.md` and the figures
beside it.
"""

from __future__ import annotations

from pathlib import Path

import sacrebleu

from ablate.atomic import atomic_write_text, write_json
from ablate.outputs import save_figure
from ablate.report import figures
from ablate.report.claims import declared_of, verdicts
from ablate.report.compare import compare
from ablate.report.dims import compare_dims
from ablate.report.groups import name_runs
from ablate.report.markdown import summary_markdown
from ablate.report.read import Run, Sentences, alignment_examples, attention_rank, collect
from ablate.report.record import METHOD, Report, Significance, natural
from ablate.report.stats import ALPHA
from ablate.report.tuning import report_tuning, tuning_record
from ablate.report.variants import summarise


def build_report(sweep_dir: Path, *, n_bootstrap: int | None = None, seed: int = 0) -> Report:
    """Compare the variants of a sweep.

    Complete runs are grouped into variants and groups (`ablate.report.groups`); the
    variants of a group are compared pairwise on their shared test sentences, and the
    claims the sweep declared (`report.claims`; the defaults where it declared none) are
    judged per group (`ablate.report.claims`).

    Args:
        sweep_dir: the multirun dir.
        n_bootstrap: replicates R; default: enough that `1 / (R + 1)` is below Holm's
            smallest threshold for the table's comparisons (at least 10,000).
        seed: seed of the resampling.

    Raises:
        FileNotFoundError: if `sweep_dir` is not a directory.
        ValueError: if `n_bootstrap < 1`, or the runs' `report.claims` is malformed.
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
    claims = declared_of(named, tuned=tuning is not None)

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
        verdicts=tuple(verdicts(comparisons, claims, dims, tuning)),
        claims=tuple(claims),
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
        the key size `bleu_by_dim_plot`, `score_std_by_dim_plot`.
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
