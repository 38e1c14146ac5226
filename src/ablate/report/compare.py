"""Paired comparisons between the variants of a sweep.

Variants are compared within a *group* (`ablate.report.groups`): runs of one dataset and
model, tested on the same sentences (checked: identical source and reference columns of
`hypotheses.tsv`). Every comparison uses the same bootstrap replicates
(`ablate.report.stats.Bootstrap`): sentences drawn once per replicate and stratum; each
difference is also tested over seeds (`ablate.report.stats.paired`). Four tables
(`ablate.report.rows.Tables`), each Holm-corrected within itself for display; the claims
correct their own declared families (`ablate.report.claims`):

- `bleu`: BLEU difference per bucket and overall — each variant vs `none`, every pair of
  the other variants;
- `trend`: the slope of the gain over `none` against the buckets' mean source length;
- `rare_words`: rare-word accuracy difference vs `none` in the 1-5 and 6-20 bands;
- `jumps`: BLEU difference vs `none` on sentences grouped by their farthest gold link.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from ablate.metrics import bleu_from_stats
from ablate.report.read import BASELINE, Run, Sentences
from ablate.report.rows import (
    AsoGroup,
    AsoPair,
    Comparisons,
    JumpAccuracy,
    Kind,
    Row,
    Tables,
    TrendRow,
)
from ablate.report.stats import (
    ASO_MIN_SEEDS,
    Bootstrap,
    Score,
    aso,
    mean,
    n_replicates_for,
    paired,
    percentile_interval,
    ratio_from_stats,
    trend,
)
from ablate.report.strata import ALL, FAR, JUMP_BANDS, RARE_BANDS, Stratum

MIN_TREND_BUCKETS = 3
# A group: variant name -> its runs (one per seed).
Group = Mapping[str, Sequence[Run]]


def check_group(runs: Sequence[Run], sentences: Sentences) -> str | None:
    """Why the runs of a group cannot be compared sentence by sentence, or None."""
    for r in runs:
        table = sentences.table(r)
        if isinstance(table, str):
            return table
    toks = {r.tokenizer for r in runs}
    if None in toks:
        return "no BLEU tokenizer (tok:) in a run's signature"
    if len(toks) > 1:
        return f"BLEU tokenizers differ ({', '.join(sorted(toks))})"
    first = sentences.table(runs[0])
    for r in runs[1:]:
        t = sentences.table(r)
        if t["source"] != first["source"] or t["reference"] != first["reference"]:
            return (
                f"{r.variant} (seed {r.seed}) was tested on other sentences than "
                f"{runs[0].variant} (seed {runs[0].seed}): runs of one comparison must "
                "share dataset.seed and the test set, so buckets are not averaged across them"
            )
    return None


def strata(run: Run, table: Mapping) -> dict[Stratum, np.ndarray]:
    """Sentence indices of `all` and of each source-length bucket (in length order)."""
    labels = np.asarray(table["bucket"])
    out = {ALL: np.arange(len(labels))}
    for b in run.scores.buckets:
        idx = np.flatnonzero(labels == b.label)
        if idx.size:
            out[Stratum.bucket(b)] = idx
    return out


def jump_strata(side: Mapping | None) -> dict[Stratum, np.ndarray]:
    """Sentence indices of each jump band, where some gold link jumps `FAR.lo` or more."""
    by_jump = (side or {}).get("alignment_by_jump")
    if not by_jump:
        return {}
    max_jump = np.asarray(by_jump["max_jump"])
    if not FAR.select(max_jump).any():
        return {}
    masks = {band: band.select(max_jump) for band in JUMP_BANDS}
    return {band: np.flatnonzero(m) for band, m in masks.items() if m.any()}


def pairs(variants: Group) -> Iterator[tuple[str, str, Kind]]:
    """`(a, b, kind)`: every variant vs `none`, then every pair of the others."""
    names = list(variants)
    base = [v for v in names if _attention(variants[v]) == BASELINE]
    others = [v for v in names if v not in base]
    for b in base[:1]:
        for a in others:
            yield a, b, Kind.VS_NONE
    for a, b in itertools.combinations(others, 2):
        yield a, b, Kind.PAIR


def compare(
    groups: Mapping[str, Group],
    sentences: Sentences,
    *,
    n_bootstrap: int | None = None,
    seed: int = 0,
) -> Comparisons:
    """All paired comparisons of one sweep.

    Args:
        groups: group -> variant -> its runs.
        sentences: the runs' per-sentence data.
        n_bootstrap: replicates R; default: enough that `1 / (R + 1)` is below Holm's
            smallest threshold for the BLEU table (at least 10,000).
        seed: seed of the resampling.
    """
    return _Comparer(groups, sentences, n_bootstrap, seed).run()


def _attention(runs: Sequence[Run]) -> str:
    return str(runs[0].attention)


class _Comparer:
    """The bootstrap and its score cache, shared by every group of a sweep."""

    def __init__(self, groups: Mapping[str, Group], sentences: Sentences, n_bootstrap, seed):
        self.groups, self.sentences, self.seed = groups, sentences, seed
        self.problems: dict[str, str] = {}
        self.tables: dict[str, list] = {"bleu": [], "trend": [], "rare_words": [], "jumps": []}
        self.alignment_by_jump: dict[str, dict[str, JumpAccuracy]] = {}
        self.aso: dict[str, AsoGroup] = {}
        self.reference: dict[str, str] = {}
        self._scores: dict[tuple, Score] = {}
        size = 0
        for group, variants in groups.items():
            runs = [r for rs in variants.values() for r in rs]
            problem = check_group(runs, sentences) if len(variants) > 1 else None
            if problem:
                self.problems[group] = problem
            elif len(variants) > 1:
                size += len(list(pairs(variants))) * (len(runs[0].scores.buckets) + 1)
        self.n_bootstrap = n_bootstrap or n_replicates_for(size)
        self.boot = Bootstrap(self.n_bootstrap, seed)

    def run(self) -> Comparisons:
        for group, variants in self.groups.items():
            if group not in self.problems and len(variants) > 1:
                self._group(group, variants)
        return Comparisons(
            groups=tuple(self.groups),
            tables=Tables(**{k: tuple(rows) for k, rows in self.tables.items()}).adjusted(),
            reference=self.reference,
            alignment_by_jump=self.alignment_by_jump,
            aso=self.aso,
            problems=self.problems,
            n_bootstrap=self.n_bootstrap,
        )

    def _score(self, group, variant, runs, stratum, idx, measure, stats_of, metric) -> Score:
        """A variant's score of one measure on one stratum, computed once (the baseline's
        serves every variant compared with it)."""
        key = (group, variant, stratum, measure)
        if key not in self._scores:
            self._scores[key] = self.boot.variant(
                f"{group}|{stratum}", [stats_of(r)[idx] for r in runs], metric
            )
        return self._scores[key]

    def _bleu(self, group, variant, runs, stratum, idx):
        stats = self.sentences.bleu_stats
        return self._score(group, variant, runs, stratum, idx, "bleu", stats, bleu_from_stats)

    def _group(self, group: str, variants: Group) -> None:
        runs0 = next(iter(variants.values()))
        table = self.sentences.table(runs0[0])
        cells = strata(runs0[0], table)
        bleu: dict[tuple, Score] = {}  # (variant, stratum) -> its score
        for v, runs in variants.items():
            for stratum, idx in cells.items():
                bleu[v, stratum] = self._bleu(group, v, runs, stratum, idx)
        for a, b, kind in pairs(variants):
            for stratum, idx in cells.items():
                row = _row(group, a, b, kind, stratum, len(idx), bleu[a, stratum], bleu[b, stratum])
                self.tables["bleu"].append(row)
        self._aso(group, variants)
        valid = {
            v: mean([r.results.valid_bleu for r in rs])
            for v, rs in variants.items()
            if _attention(rs) != BASELINE
        }
        valid = {v: x for v, x in valid.items() if x is not None}
        if valid:
            self.reference[group] = max(valid, key=valid.get)
        base = next((v for v, rs in variants.items() if _attention(rs) == BASELINE), None)
        if base is None:
            return
        lengths = np.array([len(s.split()) for s in table["source"]])
        buckets = tuple(s for s in cells if s != ALL)
        x = tuple(float(lengths[cells[s]].mean()) for s in buckets)
        for v in variants:
            if v == base:
                continue
            if len(buckets) >= MIN_TREND_BUCKETS:
                a, b = [bleu[v, s] for s in buckets], [bleu[base, s] for s in buckets]
                gain = tuple(sa.observed - sb.observed for sa, sb in zip(a, b, strict=True))
                row = TrendRow(group, v, base, buckets, x, gain, trend(a, b, x).scaled(10.0))
                self.tables["trend"].append(row)
            self._rare(group, v, base, variants, cells[ALL])
            self._jumps(group, v, base, variants)

    def _rare(self, group: str, v: str, base: str, variants: Group, idx: np.ndarray) -> None:
        sides = [Sentences.side_stats(r) for rs in variants.values() for r in rs]
        if not all(s and s.get("rare_words") for s in sides):
            return
        labels = Sentences.side_stats(variants[v][0])["rare_words"]["labels"]
        for band in RARE_BANDS:
            if band.label not in labels:
                continue
            k = labels.index(band.label)

            def stats(run, k=k):
                return self.sentences.band_counts(run, "rare_words", "hits", "totals", k)

            n_tokens = int(stats(variants[v][0])[:, 1].sum())
            if n_tokens == 0:
                continue
            measure = f"rare {band.label}"
            a = self._score(group, v, variants[v], ALL, idx, measure, stats, ratio_from_stats)
            b = self._score(group, base, variants[base], ALL, idx, measure, stats, ratio_from_stats)
            self.tables["rare_words"].append(
                _row(group, v, base, Kind.VS_NONE, band, n_tokens, a, b)
            )

    def _jumps(self, group: str, v: str, base: str, variants: Group) -> None:
        side = Sentences.side_stats(variants[v][0])
        cells = jump_strata(side)
        if not cells:
            return
        for stratum, idx in cells.items():
            a = self._bleu(group, v, variants[v], stratum, idx)
            b = self._bleu(group, base, variants[base], stratum, idx)
            self.tables["jumps"].append(_row(group, v, base, Kind.VS_NONE, stratum, len(idx), a, b))
        by_jump = side["alignment_by_jump"]
        if by_jump.get("correct") is None:
            return
        out = {}
        for k, label in enumerate(by_jump["labels"]):

            def stats(run, k=k):
                return self.sentences.band_counts(run, "alignment_by_jump", "correct", "linked", k)

            n_links = int(stats(variants[v][0])[:, 1].sum())
            if not n_links:
                continue
            idx = np.arange(len(by_jump["max_jump"]))
            score = self._score(
                group, v, variants[v], ALL, idx, f"aligned {label}", stats, ratio_from_stats
            )
            out[label] = JumpAccuracy(
                n_links, score.observed, *percentile_interval(score.replicates)
            )
        self.alignment_by_jump[v] = out

    def _aso(self, group: str, variants: Group) -> None:
        found = list(pairs(variants))
        seeds = min(len(rs) for rs in variants.values())
        if seeds < ASO_MIN_SEEDS:
            self.aso[group] = AsoGroup(
                f"ASO needs >= {ASO_MIN_SEEDS} seeds per variant; this sweep has "
                f"{seeds} (add seeds, e.g. seed=0,1,2,3,4)"
            )
            return
        out = []
        for a, b, kind in found:
            sa = [r.scores.bleu for r in variants[a]]
            sb = [r.scores.bleu for r in variants[b]]
            out.append(AsoPair(a, b, kind, aso(sa, sb, n_comparisons=len(found), seed=self.seed)))
        self.aso[group] = AsoGroup(None, tuple(out))


def _row(group, a, b, kind, stratum, n, score_a: Score, score_b: Score) -> Row:
    return Row(
        group, a, b, kind, stratum, n, score_a.observed, score_b.observed, paired(score_a, score_b)
    )
