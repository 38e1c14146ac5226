"""One row per variant: its seeds' scores averaged, with a 95% interval over seeds.

- Intervals: with two or more seeds, a Student-t 95% interval of the mean over seeds
  (variation between training runs); with one seed, that run's own 95% bootstrap interval
  over test sentences (Koehn 2004) where its results have one (the buckets).
- Buckets are averaged only where every seed scored the same buckets (the same labels and
  bounds, from the same test set); otherwise the variant's bucket means are withheld and
  the reason given — averaging "21-30" of one test set with "21-30" of another is not a
  mean of anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ablate.report.read import Run, seed_key
from ablate.report.stats import bleu_ci, finite, mean
from ablate.scores import AlignmentScore, AttentionEpoch, AttentionStats

WITHHELD = "its seeds were tested on different buckets (different test sets); not averaged"


@dataclass(frozen=True)
class BucketMean:
    """One source-length bucket of a variant: `n` sentences, BLEU mean over seeds with
    its interval (`ci`: `t over seeds`, `bootstrap` for one seed, None without one)."""

    label: str
    lo: int
    hi: int | None
    n: int
    bleu: float | None
    bleu_ci_low: float | None
    bleu_ci_high: float | None
    bleu_per_seed: tuple[float | None, ...]
    ci: str | None


@dataclass(frozen=True)
class BandMean:
    """A band's accuracy (rare words by frequency, alignment by jump), mean over seeds;
    `n` None where the seeds counted different numbers."""

    label: str
    n: int | None
    accuracy: float | None


@dataclass(frozen=True)
class TrainMeans:
    """Training cost, mean over seeds (peak memory: the largest)."""

    epochs: float | None
    steps: float | None
    seconds: float | None
    tokens_per_second: float | None
    peak_rss_mb: float | None


@dataclass(frozen=True)
class AttentionMeans:
    """A variant's attention statistics on the test set (`ablate.scores.AttentionStats`),
    mean over its seeds, and per epoch of validation (`history`: mean over the seeds that
    reached the epoch)."""

    score_std: float | None
    entropy: float | None
    max_weight: float | None
    saturated: float | None
    score_grad_norm: float | None
    history: tuple[AttentionEpoch, ...]

    FIELDS = ("score_std", "entropy", "max_weight", "saturated", "score_grad_norm")

    @classmethod
    def over(cls, stats: Sequence[AttentionStats]) -> AttentionMeans | None:
        """The means of the seeds' statistics; None where no seed has any."""
        if not stats:
            return None
        epochs: dict[int, list[AttentionEpoch]] = {}
        for s in stats:
            for h in s.history:
                epochs.setdefault(h.epoch, []).append(h)
        history = tuple(
            AttentionEpoch(e, *(mean([getattr(h, f) for h in hs]) for f in cls.FIELDS))
            for e, hs in sorted(epochs.items())
        )
        return cls(*(mean([getattr(s, f) for s in stats]) for f in cls.FIELDS), history)


@dataclass(frozen=True)
class Variant:
    """A variant's row of the report: one configuration, its seeds, its mean scores."""

    name: str
    attention: str
    dataset: str
    group: str
    seeds: tuple
    n_runs: int
    dirs: tuple[Path, ...]
    bleu: float | None
    bleu_ci_low: float | None
    bleu_ci_high: float | None
    bleu_ci: str | None
    bleu_per_seed: tuple[float, ...]
    valid_bleu: float | None
    chrf: float | None
    exact_match: float | None
    alignment: AlignmentScore | None
    attention_stats: AttentionMeans | None
    train: TrainMeans
    buckets: tuple[BucketMean, ...]
    buckets_withheld: str | None
    rare_words: tuple[BandMean, ...] | None
    alignment_by_jump: tuple[BandMean, ...] | None


def _bucket_means(runs: Sequence[Run]) -> tuple[BucketMean, ...]:
    """Per bucket (in length order): n, mean BLEU over seeds and its 95% interval."""
    rows = []
    for k, first in enumerate(runs[0].scores.buckets):
        found = [r.scores.buckets[k] for r in runs]
        bleus = tuple(b.bleu for b in found)
        m, low, high = bleu_ci(bleus)
        ci = "t over seeds" if len(finite(bleus)) > 1 else None
        if len(finite(bleus)) == 1:  # one seed: its own bootstrap interval
            one = next(b for b in found if finite([b.bleu]))
            low, high = one.bleu_ci_low, one.bleu_ci_high
            ci = "bootstrap" if low is not None else None
        rows.append(BucketMean(first.label, first.lo, first.hi, first.n, m, low, high, bleus, ci))
    return tuple(rows)


def _same_buckets(runs: Sequence[Run]) -> bool:
    def key(r: Run):
        return [(b.label, b.lo, b.hi, b.n) for b in r.scores.buckets]

    return all(key(r) == key(runs[0]) for r in runs)


def _band_means(bands_per_run: Sequence[Sequence | None]) -> tuple[BandMean, ...] | None:
    """Mean over seeds of each band's accuracy (`rare_words`, `alignment_by_jump`)."""
    per_band: dict[str, list] = {}
    for bands in bands_per_run:
        for band in bands or ():
            per_band.setdefault(band.label, []).append(band)
    if not per_band:
        return None
    return tuple(
        BandMean(
            label,
            bands[0].n if len({b.n for b in bands}) == 1 else None,
            mean([b.accuracy for b in bands]),
        )
        for label, bands in per_band.items()
    )


def _alignment(runs: Sequence[Run]) -> AlignmentScore | None:
    aligned = [r.scores.alignment for r in runs if r.scores.alignment]
    if not aligned:
        return None
    return AlignmentScore(
        accuracy=mean([a.accuracy for a in aligned]),
        aer=mean([a.aer for a in aligned]),
        entropy=mean([a.entropy for a in aligned]),
    )


def _train(runs: Sequence[Run]) -> TrainMeans:
    trains = [r.results.train or {} for r in runs]

    def over_seeds(key: str) -> float | None:
        return mean([t.get(key) for t in trains])

    return TrainMeans(
        epochs=over_seeds("epochs"),
        steps=over_seeds("steps"),
        seconds=over_seeds("seconds"),
        tokens_per_second=over_seeds("tokens_per_second"),
        peak_rss_mb=max(finite([t.get("peak_rss_mb") for t in trains]), default=None),
    )


def summarise(name: str, runs: Sequence[Run]) -> Variant:
    """A variant's row: seeds, mean scores with intervals, buckets, alignment, speed."""
    runs = sorted(runs, key=lambda r: (seed_key(r.seed), str(r.dir)))
    bleus = tuple(r.scores.bleu for r in runs)
    m, low, high = bleu_ci(bleus)
    same = _same_buckets(runs)
    return Variant(
        name=name,
        attention=runs[0].attention,
        dataset=runs[0].dataset,
        group=runs[0].group,
        seeds=tuple(r.seed for r in runs),
        n_runs=len(runs),
        dirs=tuple(r.dir for r in runs),
        bleu=m,
        bleu_ci_low=low,
        bleu_ci_high=high,
        bleu_ci="t over seeds" if len(runs) > 1 else None,
        bleu_per_seed=bleus,
        valid_bleu=mean([r.results.valid_bleu for r in runs]),
        chrf=mean([r.scores.chrf for r in runs]),
        exact_match=mean([r.scores.exact_match for r in runs]),
        alignment=_alignment(runs),
        attention_stats=AttentionMeans.over(
            [r.scores.attention_stats for r in runs if r.scores.attention_stats]
        ),
        train=_train(runs),
        buckets=_bucket_means(runs) if same else (),
        buckets_withheld=None if same else WITHHELD,
        rare_words=_band_means([r.scores.rare_words for r in runs]),
        alignment_by_jump=_band_means([r.scores.alignment_by_jump for r in runs]),
    )
