"""Paired comparisons between the variants of a sweep, and the lecture's claims as verdicts.

Variants are compared within a *group*: runs of one dataset and setting, tested on the
same sentences (checked: identical source and reference columns of `hypotheses.tsv`).
Every comparison uses the same bootstrap replicates (`ablate.report.stats.Bootstrap`):
sentences drawn once per replicate and stratum, each variant's seeds drawn once per
replicate. Four tables, each its own Holm family:

- `bleu`: BLEU difference per bucket and overall — each variant vs `none`, every pair of
  the other variants;
- `trend`: the slope of the gain over `none` against the buckets' mean source length;
- `rare_words`: rare-word accuracy difference vs `none` in the 1-5 and 6-20 bands;
- `jumps`: BLEU difference vs `none` on sentences grouped by their farthest gold link.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from ablate.metrics import bleu_from_stats
from ablate.report.read import BASELINE, Sentences, tokenizer
from ablate.report.stats import (
    ALPHA,
    ASO_MIN_SEEDS,
    Bootstrap,
    aso,
    difference,
    holm,
    mean,
    n_replicates_for,
    ratio_from_stats,
    slope,
)

ALL = "all"
RARE_BANDS = ("1-5", "6-20")
JUMP_BANDS = ("0-2", "3-9", "10+")
MIN_TREND_BUCKETS = 3


def check_group(runs: Sequence[Mapping], sentences: Sentences) -> str | None:
    """Why the runs of a group cannot be compared sentence by sentence, or None."""
    for r in runs:
        table = sentences.table(r)
        if isinstance(table, str):
            return table
    toks = {tokenizer(r) for r in runs}
    if None in toks:
        return "no BLEU tokenizer (tok:) in a run's signature"
    if len(toks) > 1:
        return f"BLEU tokenizers differ ({', '.join(sorted(toks))})"
    first = sentences.table(runs[0])
    for r in runs[1:]:
        t = sentences.table(r)
        if t["source"] != first["source"] or t["reference"] != first["reference"]:
            return (
                f"{r['variant']} (seed {r['seed']}) was tested on other sentences than "
                f"{runs[0]['variant']} (seed {runs[0]['seed']}): runs of one comparison must "
                "share dataset.seed and the test set, so buckets are not averaged across them"
            )
    return None


def strata(runs: Sequence[Mapping], table: Mapping) -> dict[str, np.ndarray]:
    """Sentence indices of `all` and of each source-length bucket (in length order)."""
    labels = np.asarray(table["bucket"])
    out = {ALL: np.arange(len(labels))}
    for b in runs[0]["buckets"]:
        idx = np.flatnonzero(labels == b["label"])
        if idx.size:
            out[b["label"]] = idx
    return out


def _jump_strata(side: Mapping | None) -> dict[str, np.ndarray]:
    by_jump = (side or {}).get("alignment_by_jump")
    if not by_jump:
        return {}
    max_jump = np.asarray(by_jump["max_jump"])
    if not (max_jump >= 10).any():
        return {}
    bands = {"0-2": max_jump <= 2, "3-9": (max_jump >= 3) & (max_jump <= 9), "10+": max_jump >= 10}
    return {f"jump {k}": np.flatnonzero(v) for k, v in bands.items() if v.any()}


class Comparison:
    """All paired comparisons of one sweep (`run` fills `rows`)."""

    def __init__(
        self,
        groups: Mapping[str, Mapping[str, list[dict]]],
        sentences: Sentences,
        *,
        n_bootstrap: int | None = None,
        seed: int = 0,
    ):
        self.groups, self.sentences = groups, sentences
        self.problems: dict[str, str] = {}
        self.rows: dict[str, list[dict]] = {"bleu": [], "trend": [], "rare_words": [], "jumps": []}
        self.alignment_by_jump: dict[str, dict] = {}
        self.aso: dict[str, dict] = {}
        self.reference: dict[str, str] = {}
        self._scores: dict[tuple, tuple[float, np.ndarray]] = {}
        size = 0
        for group, variants in groups.items():
            runs = [r for rs in variants.values() for r in rs]
            problem = check_group(runs, sentences) if len(variants) > 1 else None
            if problem:
                self.problems[group] = problem
                continue
            if len(variants) > 1:
                n_strata = len(runs[0]["buckets"]) + 1
                size += len(list(_pairs(variants))) * n_strata
        self.n_bootstrap = n_bootstrap or n_replicates_for(size)
        self.boot = Bootstrap(self.n_bootstrap, seed)
        self.seed = seed

    def run(self) -> Comparison:
        for group, variants in self.groups.items():
            if group in self.problems or len(variants) < 2:
                continue
            self._group(group, variants)
        for family in self.rows.values():
            adjusted = holm([r["p"] for r in family])
            for r, p in zip(family, adjusted, strict=True):
                r["p_holm"] = p
                r["p_at_floor"] = r["p"] is not None and r["p"] <= r["p_floor"] * (1 + 1e-9)
                r["significant"] = p is not None and p < ALPHA
        return self

    # ------------------------------------------------------------------ per group

    def _score(self, group, variant, runs, stratum, idx, measure, stats_of, metric):
        """A variant's `(observed, replicates)` of one measure on one stratum, computed
        once (the baseline's serves every variant compared with it)."""
        key = (group, variant, stratum, measure)
        if key not in self._scores:
            self._scores[key] = self.boot.variant(
                f"{group}/{variant}",
                f"{group}|{stratum}",
                [stats_of(r)[idx] for r in runs],
                metric,
            )
        return self._scores[key]

    def _bleu(self, group, variant, runs, stratum, idx):
        return self._score(
            group, variant, runs, stratum, idx, "bleu", self.sentences.bleu_stats, bleu_from_stats
        )

    def _group(self, group: str, variants: Mapping[str, list[dict]]) -> None:
        runs0 = next(iter(variants.values()))
        table = self.sentences.table(runs0[0])
        cells = strata(runs0, table)
        lengths = np.array([len(s.split()) for s in table["source"]])
        bleu = {}  # (variant, stratum) -> (observed, replicates)
        for v, runs in variants.items():
            for stratum, idx in cells.items():
                bleu[v, stratum] = self._bleu(group, v, runs, stratum, idx)
        for a, b, kind in _pairs(variants):
            for stratum, idx in cells.items():
                self.rows["bleu"].append(
                    _row(group, a, b, kind, stratum, len(idx), bleu[a, stratum], bleu[b, stratum])
                )
        self._aso(group, variants)
        valid = {
            v: mean([r.get("valid_bleu") for r in rs])
            for v, rs in variants.items()
            if _attention(rs) != BASELINE
        }
        valid = {v: x for v, x in valid.items() if x is not None}
        if valid:
            self.reference[group] = max(valid, key=valid.get)
        base = next((v for v, rs in variants.items() if _attention(rs) == BASELINE), None)
        if base is None:
            return
        buckets = [s for s in cells if s != ALL]
        x = [float(lengths[cells[s]].mean()) for s in buckets]
        sides = {v: [self.sentences.side_stats(r) for r in rs] for v, rs in variants.items()}
        for v in variants:
            if v == base:
                continue
            if len(buckets) >= MIN_TREND_BUCKETS:
                gain = np.array([bleu[v, s][0] - bleu[base, s][0] for s in buckets])
                reps = np.stack([bleu[v, s][1] - bleu[base, s][1] for s in buckets], axis=1)
                row = {
                    "group": group,
                    "variant": v,
                    "baseline": base,
                    "buckets": buckets,
                    "x": x,
                    "gain": gain.tolist(),
                    "unit": "BLEU per 10 source words",
                }
                row.update(_scaled(difference(float(slope(x, gain)), slope(x, reps)), 10.0))
                self.rows["trend"].append(row)
            self._rare(group, v, base, variants, sides, cells[ALL])
            self._jumps(group, v, base, variants, sides)

    def _rare(self, group, v, base, variants, sides, idx) -> None:
        if not all(s and s.get("rare_words") for ss in sides.values() for s in ss):
            return
        labels = sides[v][0]["rare_words"]["labels"]
        for band in RARE_BANDS:
            if band not in labels:
                continue
            k = labels.index(band)

            def stats(run, k=k):
                return self.sentences.band_counts(run, "rare_words", "hits", "totals", k)

            n_tokens = int(stats(variants[v][0])[:, 1].sum())
            if n_tokens == 0:
                continue
            measure = f"rare {band}"
            a = self._score(group, v, variants[v], ALL, idx, measure, stats, ratio_from_stats)
            b = self._score(group, base, variants[base], ALL, idx, measure, stats, ratio_from_stats)
            row = _row(group, v, base, "vs none", f"freq {band}", n_tokens, a, b)
            self.rows["rare_words"].append(row)

    def _jumps(self, group, v, base, variants, sides) -> None:
        side = sides[v][0]
        cells = _jump_strata(side)
        if not cells:
            return
        for stratum, idx in cells.items():
            a = self._bleu(group, v, variants[v], stratum, idx)
            b = self._bleu(group, base, variants[base], stratum, idx)
            self.rows["jumps"].append(_row(group, v, base, "vs none", stratum, len(idx), a, b))
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
            obs, reps = self._score(
                group, v, variants[v], ALL, idx, f"aligned {label}", stats, ratio_from_stats
            )
            reps = reps[np.isfinite(reps)]
            low, high = np.percentile(reps, [2.5, 97.5]) if reps.size else (None, None)
            out[label] = {"n": n_links, "accuracy": obs, "ci_low": low, "ci_high": high}
        self.alignment_by_jump[v] = out

    def _aso(self, group, variants) -> None:
        pairs = list(_pairs(variants))
        seeds = min(len(rs) for rs in variants.values())
        if seeds < ASO_MIN_SEEDS:
            self.aso[group] = {
                "reason": f"ASO needs >= {ASO_MIN_SEEDS} seeds per variant; this sweep has "
                f"{seeds} (add seeds, e.g. seed=0,1,2,3,4)",
                "pairs": [],
            }
            return
        out = []
        for a, b, kind in pairs:
            sa = [r["bleu"] for r in variants[a]]
            sb = [r["bleu"] for r in variants[b]]
            res = aso(sa, sb, n_comparisons=len(pairs), seed=self.seed)
            out.append({"a": a, "b": b, "kind": kind, **res})
        self.aso[group] = {"reason": None, "pairs": out}


def _attention(runs: Sequence[Mapping]) -> str:
    return str(runs[0]["attention"])


def _pairs(variants: Mapping[str, list[dict]]):
    """`(a, b, kind)`: every variant vs `none`, then every pair of the others."""
    names = list(variants)
    base = [v for v in names if _attention(variants[v]) == BASELINE]
    others = [v for v in names if v not in base]
    for b in base[:1]:
        for a in others:
            yield a, b, "vs none"
    for a, b in itertools.combinations(others, 2):
        yield a, b, "pair"


def _scaled(d: dict, factor: float) -> dict:
    return {
        k: (v * factor if k in ("diff", "ci_low", "ci_high") and v is not None else v)
        for k, v in d.items()
    }


def _row(group, a, b, kind, stratum, n, score_a, score_b) -> dict:
    (obs_a, reps_a), (obs_b, reps_b) = score_a, score_b
    return {
        "group": group,
        "a": a,
        "b": b,
        "kind": kind,
        "stratum": stratum,
        "n": n,
        "a_score": obs_a,
        "b_score": obs_b,
        **difference(obs_a - obs_b, reps_a - reps_b),
    }
