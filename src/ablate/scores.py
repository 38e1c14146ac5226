"""The scores of one split, as typed records: what the scorer returns, what `results.json`
holds (`ablate.results.RunResults` embeds a `Scores`), and what the sweep report reads.

Adding a measurement is a field here (with its JSON name) and a column where it is
shown. Standard library only: the report reads these without torch.

JSON layout (kept from the first version of `results.json`, so older runs still read):
`bleu`, `chrf`, `exact_match`, `signature`, `buckets`, `alignment`,
`alignment_by_jump`, `rare_words` sit at the top level of the record; the per-sentence
counts go to their own file, `sentence_stats.json`.
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
        sentence_stats: test only: the per-sentence counts behind `rare_words` and
            `alignment_by_jump` (`{"rare_words": {labels, hits, totals},
            "alignment_by_jump": {labels, correct, linked, max_jump}}`), which a sweep
            report resamples; not part of `results.json`.
    """

    bleu: float
    chrf: float
    exact_match: float
    signature: Mapping[str, str]
    buckets: tuple[BucketScore, ...]
    alignment: AlignmentScore | None = None
    alignment_by_jump: tuple[JumpBand, ...] | None = None
    rare_words: tuple[FrequencyBand, ...] | None = None
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

        alignment = data.get("alignment")
        return cls(
            bleu=data["bleu"],
            chrf=data.get("chrf"),
            exact_match=data.get("exact_match"),
            signature=dict(data.get("signature") or {}),
            buckets=tuple(_record(BucketScore, r) for r in data["buckets"]),
            alignment=None if alignment is None else _record(AlignmentScore, alignment),
            alignment_by_jump=rows("alignment_by_jump", JumpBand),
            rare_words=rows("rare_words", FrequencyBand),
            sentence_stats=sentence_stats,
        )


def bucket_rows(rows: Sequence[Mapping]) -> tuple[BucketScore, ...]:
    """`BucketScore`s from `ablate.metrics.bucket_scores`' rows."""
    return tuple(_record(BucketScore, r) for r in rows)
