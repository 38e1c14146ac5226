"""`summary.md`: a built report as a person reads it, verdicts first, then the tables.

Pure: an `ablate.report.Report` in, text out. One function per section.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ablate.report.cells import (
    attention_rows,
    comparison_rows,
    difference_cell,
    interval,
    main_rows,
    number,
)
from ablate.report.claims import FLOOR
from ablate.report.stats import format_p

if TYPE_CHECKING:
    from ablate.report.build import Report

# The paired tables, in order: (table, section title).
PAIRED_TABLES = (
    ("bleu", "Paired BLEU differences by bucket"),
    ("rare_words", "Rare-word accuracy vs none (points, by training frequency)"),
    ("jumps", "BLEU vs none by how far the gold links jump (farthest link)"),
)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A Markdown table: the first column left-aligned, the others right."""
    lines = [
        "| " + " | ".join(_cell(h) for h in header) + " |",
        "|" + "|".join(" --- " if i < 1 else " ---: " for i in range(len(header))) + "|",
    ]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def _section(title: str, intro: str | None = None) -> list[str]:
    return ["", f"## {title}", ""] + ([intro, ""] if intro else [])


def significance_text(report: Report) -> str:
    sig = report.significance
    r = sig.n_bootstrap
    return (
        f"Δ = A − B, mean over seeds; [95% interval]; p two-sided, Holm-adjusted within "
        f"the table (`< x`: the raw p hit the bootstrap's floor, so the adjusted p is below x); "
        f"`*` significant at α = {sig.alpha}. {sig.method}; R = {r:,} "
        f"replicates (p cannot go below 1/(R+1) = {1 / (r + 1):.1g}), seed {sig.seed}."
    )


def claims_text(report: Report) -> str:
    """The claims judged, their families and margins, and whether they were declared."""
    parts = []
    for d in report.claims:
        margin = "" if d.margin is None else f", margin ±{d.margin:g}"
        parts.append(f"`{d.name}` (family `{d.family}`{margin})")
    judged = ", ".join(parts) or "none"
    if all(d.declared for d in report.claims):
        head = f"Claims declared before the run (`report.claims`): {judged}."
    else:
        head = (
            "No claims were declared before the run (`report.claims` in the experiment "
            f"file); the defaults were judged: {judged}."
        )
    return (
        f"{head} Each verdict is *supported*, *not supported* or *inconclusive*: Holm within "
        "the claim's family; similarity by two one-sided tests against its margin; a "
        f"stratum where every compared variant scores below {FLOOR:g} gives no verdict."
    )


def verdicts_section(report: Report) -> list[str]:
    lines = ["## Verdicts", "", claims_text(report), ""]
    lines += [f"- {v.line}" for v in report.verdicts] or [
        "No claim could be tested (fewer than two variants)."
    ]
    for group, why in report.comparisons.problems.items():
        lines.append(f"- {group}: not compared — {why}")
    return lines


def main_section(report: Report) -> list[str]:
    lines = _section("BLEU by source length")
    if not report.variants:
        return lines + ["No complete run."]
    lines += [
        "Test BLEU, mean over seeds with a 95% interval (Student t over seeds; with "
        "one seed, that run's bootstrap interval). Bucket columns: source length in "
        "words (Bahdanau et al. 2015, Fig. 2). (ref) = best on validation BLEU.",
        "",
    ]
    return lines + table(*main_rows(report))


def attention_section(report: Report) -> list[str]:
    header, rows = attention_rows(report)
    if not rows:
        return []
    lines = _section(
        "Attention statistics",
        "The test set under teacher forcing, mean over seeds: the std of a query's "
        "pre-softmax scores over its source positions, the entropy of its weights "
        "(nats), its largest weight, the share of queries whose largest weight is "
        "≥ 0.99, and the mean gradient norm at the scores over the training batches of "
        "the tested epoch (Vaswani et al. 2017, fn. 4). Per epoch: attention_stats.png.",
    )
    return lines + table(header, rows)


def rare_words_section(report: Report) -> list[str]:
    rare = {name: v.rare_words for name, v in report.variants.items() if v.rare_words}
    if not rare:
        return []
    labels = list(dict.fromkeys(b.label for bands in rare.values() for b in bands))
    n = {
        lab: next(b.n for bands in rare.values() for b in bands if b.label == lab) for lab in labels
    }

    def percent(bands, label: str) -> str:
        found = [b.accuracy for b in bands if b.label == label and b.accuracy is not None]
        return number(100 * found[0] if found else None)

    lines = _section(
        "Rare words",
        "Share of reference words the hypotheses produce "
        "(clipped), by the word's frequency in the training targets (words after the "
        "BLEU tokenizer, case-folded, no punctuation); mean over seeds, percent.",
    )
    body = [[name] + [percent(bands, lab) for lab in labels] for name, bands in rare.items()]
    return lines + table(["variant", *(f"freq {lab} (n={n[lab]})" for lab in labels)], body)


def paired_sections(report: Report) -> list[str]:
    lines = []
    tables = dict(report.comparisons.tables.items())
    for key, title in PAIRED_TABLES:
        if tables[key]:
            lines += _section(title, significance_text(report))
            lines += table(*comparison_rows(tables[key]))
    return lines


def trend_section(report: Report) -> list[str]:
    trend = report.comparisons.tables.trend
    if not trend:
        return []
    lines = _section(
        "Length trend",
        "Slope of the per-bucket BLEU gain over none "
        "against the bucket's mean source length (BLEU per 10 words).",
    )
    rows = [
        [
            t.variant,
            f"{t.test.diff:+.2f} [{t.test.ci_low:+.2f}, {t.test.ci_high:+.2f}]",
            format_p(t.test.p_holm, t.test.p_at_floor),
            ", ".join(f"{b.label}: {g:+.1f}" for b, g in zip(t.buckets, t.gain, strict=True)),
        ]
        for t in trend
    ]
    return lines + table(["variant", "slope [95% CI]", "p (Holm)", "gain per bucket"], rows)


def alignment_by_jump_section(report: Report) -> list[str]:
    by_jump = report.comparisons.alignment_by_jump
    if not by_jump:
        return []
    lines = _section(
        "Alignment accuracy by jump distance",
        "Share of target words whose attention argmax is a gold source, by how far "
        "their gold link jumps from the diagonal (percent, 95% interval).",
    )
    labels = list(dict.fromkeys(k for v in by_jump.values() for k in v))

    def cell(a) -> str:
        if a is None:
            return "–"
        return f"{a.accuracy:.1f} [{number(a.ci_low)}, {number(a.ci_high)}] (n={a.n})"

    rows = [[name] + [cell(bands.get(lab)) for lab in labels] for name, bands in by_jump.items()]
    return lines + table(["variant", *labels], rows)


def aso_section(report: Report) -> list[str]:
    if not report.comparisons.aso:
        return []
    lines = _section("Almost Stochastic Order (seed level)")
    for group, a in report.comparisons.aso.items():
        if a.reason:
            lines.append(f"- {group}: not run — {a.reason}")
        for p in a.pairs:
            lines.append(
                f"- {p.a} over {p.b}: ε_min = {number(p.aso.eps_min, '.3f')} "
                "(< 0.5: A almost stochastically dominates)"
            )
    return lines


def dims_section(report: Report) -> list[str]:
    """Per family compared across the key size d: BLEU × d, score std × d with the
    log-log slope, and the additive − multiplicative difference at each d."""
    lines = []
    for dims in report.dims:
        lines += _section(f"Key size d ({dims.family})")
        if dims.problem:
            lines.append(f"Not compared across d: {dims.problem}")
            continue
        heads = [f"d = {d}" for d in dims.dims]
        lines += [
            f"Test BLEU by d (`{dims.axis}`), mean over seeds [95% interval: a "
            "bootstrap over the test sentences, shared by every cell; the seeds' spread "
            "is in the paired rows' Welch test] "
            "(bleu_by_dim.png).",
            "",
        ]
        body = []
        for a in dims.attentions:
            cells = [dims.cell(a, d) for d in dims.dims]
            body.append(
                [a] + [interval(c.bleu, c.bleu_ci_low, c.bleu_ci_high) if c else "–" for c in cells]
            )
        lines += table(["attention", *heads], body)
        lines += [
            "",
            "Std of the pre-softmax scores over the source positions (test, teacher "
            "forced; mean over queries and seeds, 95% interval), and the least-squares "
            "slope of log score std on log d with its paired bootstrap interval and "
            "Holm-adjusted p against 0; ½ is Vaswani et al.'s √d (score_std_by_dim.png).",
            "",
        ]
        body = []
        for a in dims.attentions:
            cells = [dims.cell(a, d) for d in dims.dims]
            if not any(c and c.score_std is not None for c in cells):
                continue
            row = [a] + [
                interval(c.score_std, c.score_std_ci_low, c.score_std_ci_high, spec=".3g")
                if c and c.score_std is not None
                else "–"
                for c in cells
            ]
            s = dims.slope(a)
            t = s.test if s else None
            if t is None or t.diff is None:
                row += ["–", "–", "–"]
            else:
                row += [
                    f"{t.diff:+.2f} [{t.ci_low:+.2f}, {t.ci_high:+.2f}]",
                    format_p(t.p_holm, t.p_at_floor),
                    "yes" if s.holds_footnote else "no",
                ]
            body.append(row)
        lines += table(["attention", *heads, "slope [95% CI]", "p (Holm)", "½ in CI"], body)
        if dims.pairs:
            first = dims.pairs[0]
            lines += [
                "",
                f"{first.a} − {first.b}, overall test BLEU at each d: the rows of the "
                "paired BLEU table above (Holm within it).",
                "",
            ]
            rows = [[f"d = {p.dim}", difference_cell(p.row)] for p in dims.pairs]
            lines += table(["d", "Δ BLEU [95% CI] p (Holm)"], rows)
    return lines


def _best_of(curve, n: int) -> str:
    """`E[best of n] [low, high]` from an expected-maximum curve (`–` past its trials)."""
    if n not in curve.n:
        return "–"
    i = curve.n.index(n)
    return f"{curve.mean[i]:.1f} [{curve.low[i]:.1f}, {curve.high[i]:.1f}]"


def tuning_section(report: Report) -> list[str]:
    """An equal-tuning sweep: the budget and space, each study's choice and its expected
    best validation BLEU after n trials."""
    tuning = report.tuning
    if tuning is None:
        return []
    space = "; ".join(f"`{k}` {v}" for k, v in tuning.space.items())
    sampler = tuning.sampler
    curves = f" ({tuning.curves_png})" if tuning.curves_png else ""
    lines = _section(
        "Equal tuning",
        f"Every variant: {tuning.budget} trials over one search space ({space}), sampled "
        f"by {sampler.get('name')} (seed {sampler.get('seed')}, "
        f"{sampler.get('startup_trials')} random start-up trials), chosen on validation "
        f"BLEU; the chosen setting then trained with seeds "
        f"{', '.join(map(str, tuning.seeds))}, the runs the tables above compare. "
        "E[best of n]: the expected best validation BLEU of n of the trials drawn without "
        f"replacement (Tang et al. 2020) [95% percentile bootstrap over the trials]{curves}; "
        "last-trial gain: E[best of N] − E[best of N−1], how much the curve still rises.",
    )
    keys = list(tuning.space)
    n = tuning.budget
    points = [1] + ([n // 2] if 1 < n // 2 < n else [])  # the E[best of k] columns
    header = ["study", "trials", "chosen", *keys, "valid BLEU"]
    header += [f"E[best of {k}]" for k in points] + [f"best of {n}", "last-trial gain"]
    rows = []
    for st in tuning.studies:
        c, curve = st.chosen, st.curve
        row = [st.study, str(st.trials), "–" if c is None else f"#{c.number}"]
        row += ["–" if c is None or k not in c.params else f"{c.params[k]:.3g}" for k in keys]
        row.append("–" if c is None else f"{c.valid_bleu:.1f}")
        if curve is None:
            rows.append(row + ["–"] * (len(header) - len(row)))
            continue
        row += [_best_of(curve, k) for k in points] + [_best_of(curve, st.trials)]
        gain = curve.mean[-1] - curve.mean[-2] if len(curve.n) > 1 else None
        row.append("–" if gain is None else f"{gain:+.1f}")
        rows.append(row)
    return lines + table(header, rows)


def failed_section(report: Report) -> list[str]:
    lines = _section("Failed jobs")
    for f in report.failed:
        overrides = " ".join(f.overrides) or "no overrides recorded"
        lines.append(f"- `{f.dir.name}`: {f.reason} ({overrides})")
    return lines if report.failed else lines + ["none"]


SECTIONS = (
    verdicts_section,
    main_section,
    attention_section,
    rare_words_section,
    paired_sections,
    trend_section,
    alignment_by_jump_section,
    aso_section,
    dims_section,
    tuning_section,
    failed_section,
)


def summary_markdown(report: Report) -> str:
    """`summary.md`: verdicts, the main table, the paired comparisons, failed jobs."""
    lines = [f"# Sweep report: {report.sweep_dir}", ""]
    for section in SECTIONS:
        lines += section(report)
    return "\n".join(lines) + "\n"
