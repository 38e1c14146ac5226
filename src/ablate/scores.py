"""The typed records of one split's scores (`Scores`), standard library only.

They are what the scorer (`ablate.scoring`) returns, what `results.json` holds
(`ablate.run_files.RunResults` embeds a `Scores`), and what the sweep report reads.

Adding a measurement is a field here (with its JSON name) and a column where it is
shown. Standard library only: the report reads these without torch.

JSON layout (kept from the first version of `results.json`, so older runs still read):
`bleu`, `chrf`, `exact_match`, `signature`, `buckets`, `alignment`,
`alignment_by_jump`, `rare_words`, `attention_stats` sit at the top level of the record;
the per-sentence counts go to their own file, `sentence_stats.json`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def _record(cls, data: Mapping):
    """`cls(**data)` for the fields `cls` knows (newer files may hold more)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class BucketScore:
    """One source-length bucket: `n` test sentences of `lo`–`hi` source words (`hi` None:
    no upper end), their BLEU with a 95% bootstrap interval (None without one, as at
    validation), chrF and exact-match %; the scores are None for an empty bucket."""

    label: str
    lo: int
    hi: int | None
    n: int
    bleu: float | None = None
    bleu_ci_low: float | None = None
    bleu_ci_high: float | None = None
    chrf: float | None = None
    exact_match: float | None = None


@dataclass(frozen=True)
class AlignmentScore:
    """Attention against the gold word alignment (`ablate.alignment`): the share of target
    words whose strongest weight falls on a gold source word, the alignment error rate,
    and the mean attention entropy in nats."""

    accuracy: float
    aer: float
    entropy: float


@dataclass(frozen=True)
class JumpBand:
    """Alignment accuracy on the gold links that jump `label` words off the diagonal
    (`n` links; accuracy None where there are none)."""

    label: str
    n: int
    accuracy: float | None


@dataclass(frozen=True)
class FrequencyBand:
    """The share of reference words produced (clipped) among the `n` whose training
    frequency is `lo`–`hi` (`hi` None: no upper end)."""

    label: str
    lo: int
    hi: int | None
    n: int
    accuracy: float | None


# The per-sentence sums behind `AttentionStats` (`ablate.diagnostics.sentence_sums`), in
# this column order: the real query positions, and over them the sums of each query's
# score std, weight entropy and largest weight, and the count of saturated queries.
ATTENTION_SUMS = ("queries", "score_std", "entropy", "max_weight", "saturated")
# A query is saturated where its largest weight is at least this.
SATURATED = 0.99


@dataclass(frozen=True)
class AttentionBucket:
    """The attention statistics of the `n` sentences of one source-length bucket, pooled
    over their `queries` real target positions (None where there are none)."""

    label: str
    lo: int
    hi: int | None
    n: int
    queries: int
    score_std: float | None
    entropy: float | None
    max_weight: float | None
    saturated: float | None


@dataclass(frozen=True)
class AttentionEpoch:
    """One epoch of a run's attention statistics: the validation split's, and the mean
    gradient norm at the scores over that epoch's training batches (`epoch` counts the
    epochs trained, from 1)."""

    epoch: int
    score_std: float | None
    entropy: float | None
    max_weight: float | None
    saturated: float | None
    score_grad_norm: float | None

    @classmethod
    def of(cls, epoch: int, stats: AttentionStats) -> AttentionEpoch:
        return cls(
            epoch,
            stats.score_std,
            stats.entropy,
            stats.max_weight,
            stats.saturated,
            stats.score_grad_norm,
        )


@dataclass(frozen=True)
class AttentionStats:
    """What the attention's scores and weights look like on a split, under teacher
    forcing on the references (`ablate.diagnostics`), pooled over its `queries` real
    target positions:

    - `score_std`: the std of a query's pre-softmax scores over the real source
      positions, mean over queries (Vaswani et al. 2017, fn. 4: unscaled dot products
      grow as √d);
    - `entropy`: mean entropy of a query's weights, nats; `max_weight`: mean of each
      query's largest weight; `saturated`: the share of queries whose largest weight is
      at least `SATURATED`;
    - `score_grad_norm`: mean over training batches of the Frobenius norm of the loss's
      gradient at the scores (real positions), of the epoch whose weights were scored;
      None where no training batch was seen.

    `buckets` are those statistics per source-length bucket. A model with several
    attention modules (a Transformer's layers) has one record per module in `layers`,
    each named by its module path in `layer`; the top-level numbers then pool them all.
    `history` holds one `AttentionEpoch` per validation (test records only).
    """

    queries: int
    score_std: float | None
    entropy: float | None
    max_weight: float | None
    saturated: float | None
    score_grad_norm: float | None = None
    buckets: tuple[AttentionBucket, ...] = ()
    layer: str | None = None
    layers: tuple[AttentionStats, ...] = ()
    history: tuple[AttentionEpoch, ...] = ()

    def named(self, layer: str | None) -> AttentionStats | None:
        """This record (`layer` None) or its layer called `layer` (None if it has none)."""
        if layer is None or layer == self.layer:
            return self
        return next((x for x in self.layers if x.layer == layer), None)

    def with_grad(self, norm: float | None, layers: Mapping[str, float | None]) -> AttentionStats:
        """These statistics with the gradient norms at the scores: pooled, and per layer."""
        return dataclasses.replace(
            self,
            score_grad_norm=norm,
            layers=tuple(
                dataclasses.replace(x, score_grad_norm=layers.get(x.layer)) for x in self.layers
            ),
        )

    def with_history(self, epochs: Sequence[tuple[int, AttentionStats]]) -> AttentionStats:
        """These statistics with the per-epoch ones: `(epoch, that validation's stats)`."""

        def history(layer: str | None) -> tuple[AttentionEpoch, ...]:
            found = [(e, s.named(layer)) for e, s in epochs]
            return tuple(AttentionEpoch.of(e, s) for e, s in found if s is not None)

        return dataclasses.replace(
            self,
            history=history(None),
            layers=tuple(dataclasses.replace(x, history=history(x.layer)) for x in self.layers),
        )

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping) -> AttentionStats:
        record = _record(cls, data)
        return dataclasses.replace(
            record,
            buckets=tuple(_record(AttentionBucket, b) for b in data.get("buckets") or ()),
            layers=tuple(cls.from_json(x) for x in data.get("layers") or ()),
            history=tuple(_record(AttentionEpoch, h) for h in data.get("history") or ()),
        )


@dataclass(frozen=True)
class Scores:
    """A split's scores: overall, per bucket, and the attention and rare-word analyses.

    Args:
        bleu, chrf, exact_match: corpus scores (sacrebleu; exact match in %).
        signature: sacrebleu's signatures, `{"bleu": …, "chrf": …}`.
        buckets: one `BucketScore` per source-length bucket, in bucket order.
        alignment: None without weights (`attention=none`) or gold alignments.
        alignment_by_jump: test only, where the data has gold alignments.
        rare_words: test only.
        attention_stats: the attention's score and weight statistics; None without
            attention weights (`attention=none`).
        sentence_stats: test only: the per-sentence counts behind `rare_words`,
            `alignment_by_jump` and `attention_stats` (`{"rare_words": {labels, hits,
            totals}, "alignment_by_jump": {labels, correct, linked, max_jump},
            "attention_stats": {columns, sums, layers}}`), which a sweep report
            resamples; not part of `results.json`.
    """

    bleu: float
    chrf: float
    exact_match: float
    signature: Mapping[str, str]
    buckets: tuple[BucketScore, ...]
    alignment: AlignmentScore | None = None
    alignment_by_jump: tuple[JumpBand, ...] | None = None
    rare_words: tuple[FrequencyBand, ...] | None = None
    attention_stats: AttentionStats | None = None
    sentence_stats: Mapping[str, Any] | None = None

    # The keys this record contributes to `results.json`, in their order there.
    JSON_KEYS = (
        "bleu",
        "chrf",
        "exact_match",
        "signature",
        "buckets",
        "alignment",
        "alignment_by_jump",
        "rare_words",
        "attention_stats",
    )

    def bucket(self, label: str) -> BucketScore:
        """The bucket called `label`.

        Raises:
            KeyError: no such bucket.
        """
        for b in self.buckets:
            if b.label == label:
                return b
        raise KeyError(f"no bucket {label!r}; the buckets are {[b.label for b in self.buckets]}")

    def to_json(self) -> dict:
        """The `results.json` keys (`JSON_KEYS`); `sentence_stats` is not among them."""

        def plain(x):
            if x is None:
                return None
            if isinstance(x, tuple):
                return [dataclasses.asdict(r) for r in x]
            return dataclasses.asdict(x)

        return {
            "bleu": self.bleu,
            "chrf": self.chrf,
            "exact_match": self.exact_match,
            "signature": dict(self.signature),
            "buckets": plain(self.buckets),
            "alignment": plain(self.alignment),
            "alignment_by_jump": plain(self.alignment_by_jump),
            "rare_words": plain(self.rare_words),
            "attention_stats": plain(self.attention_stats),
        }

    @classmethod
    def from_json(cls, data: Mapping, sentence_stats: Mapping | None = None) -> Scores:
        """The scores in a `results.json` record (its top-level keys).

        Raises:
            KeyError: `bleu` or `buckets` is missing.
            TypeError: an entry does not have its fields.
        """

        def rows(key, record):
            value = data.get(key)
            return None if value is None else tuple(_record(record, r) for r in value)

        alignment, attention = data.get("alignment"), data.get("attention_stats")
        return cls(
            bleu=data["bleu"],
            chrf=data.get("chrf"),
            exact_match=data.get("exact_match"),
            signature=dict(data.get("signature") or {}),
            buckets=tuple(_record(BucketScore, r) for r in data["buckets"]),
            alignment=None if alignment is None else _record(AlignmentScore, alignment),
            alignment_by_jump=rows("alignment_by_jump", JumpBand),
            rare_words=rows("rare_words", FrequencyBand),
            attention_stats=None if attention is None else AttentionStats.from_json(attention),
            sentence_stats=sentence_stats,
        )


def bucket_rows(rows: Sequence[Mapping]) -> tuple[BucketScore, ...]:
    """`BucketScore`s from `ablate.metrics.bucket_scores`' rows."""
    return tuple(_record(BucketScore, r) for r in rows)
