"""The in-memory parallel corpus every dataset produces.

A `Pair` is one tokenised sentence pair with, where the dataset knows it, the gold word
alignment as `(source index, target index)` links (0-based, into the token lists).

Two units meet here. The model reads and writes *tokens* (`Pair.src`, `Pair.tgt`): words,
or subword pieces on real text (Sennrich et al. 2016; Kudo & Richardson 2018). People
and metrics read *words*: buckets count source words, BLEU scores detokenised text and
rare-word accuracy counts target words. `Pair.src_text` / `tgt_text` keep the sentence
behind the tokens where they are not plain words, and `Corpus.detokenize` turns model
output back into text.

The split names (`SPLITS`) and the argument checks that every loader and generator
shares live here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ablate.metrics import word_counts

if TYPE_CHECKING:
    from ablate.data.subword import Subword

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Pair:
    """One sentence pair.

    Args:
        src: source tokens.
        tgt: target tokens.
        alignment: gold links `(i, j)` meaning `src[i]` translates to (part of) `tgt[j]`,
            or `None` when the data has no gold alignment.
        src_text, tgt_text: the normalised sentence (single spaces, Unicode NFC) the
            tokens were made from, for real text; `None` for generated data, whose tokens
            are the words.
    """

    src: tuple[str, ...]
    tgt: tuple[str, ...]
    alignment: tuple[tuple[int, int], ...] | None = None
    src_text: str | None = None
    tgt_text: str | None = None

    @property
    def src_words(self) -> tuple[str, ...]:
        """The source sentence in whitespace words (what buckets count)."""
        return self.src if self.src_text is None else tuple(self.src_text.split())

    @property
    def tgt_words(self) -> tuple[str, ...]:
        """The target sentence in whitespace words (what rare-word accuracy counts)."""
        return self.tgt if self.tgt_text is None else tuple(self.tgt_text.split())

    @property
    def reference(self) -> str:
        """The target sentence as text: what a detokenised hypothesis is scored against."""
        return " ".join(self.tgt) if self.tgt_text is None else self.tgt_text


@dataclass
class Corpus:
    """Train / valid / test splits of one dataset.

    Args:
        name: dataset name, as in `conf/dataset/<name>.yaml`.
        train, valid, test: the splits.
        tokenize: the sacrebleu tokenizer that fits the text (`none` for synthetic
            token sets, `13a` for real text).
        meta: facts about where the data came from (path, dropped pairs, subword settings).
        src_subword, tgt_subword: the subword models that made the source and target
            tokens (the same object for a joint model); `None` for word tokens.
    """

    name: str
    train: list[Pair]
    valid: list[Pair]
    test: list[Pair]
    tokenize: str = "none"
    meta: dict = field(default_factory=dict)
    src_subword: Subword | None = None
    tgt_subword: Subword | None = None

    def detokenize(self, tokens: Sequence[str]) -> str:
        """Target tokens (model output) → text: subword pieces decoded, words joined."""
        if self.tgt_subword is None:
            return " ".join(tokens)
        return self.tgt_subword.decode(tokens)

    def word_counts(self) -> dict[str, int]:
        """Training-split frequency of every target word (not piece) as rare-word accuracy
        counts it: after the BLEU tokenizer, case-folded, without punctuation
        (`ablate.metrics.counted_words`)."""
        return word_counts((p.reference for p in self.train), self.tokenize)


def check_sizes(prefix: str, **sizes: int) -> None:
    """The check of a loader's size settings (`dataset.train_size`, `dataset.max_len`, …).

    Raises:
        ValueError: naming `{prefix}.{name}` of the first size that is not a positive int.
    """
    for name, value in sizes.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{prefix}.{name} must be a positive integer, got {value!r}")


def check_generate_args(n: int, min_len: int, max_len: int) -> None:
    """The argument checks every sentence generator shares.

    Raises:
        ValueError: if `n < 0` or not `1 <= min_len <= max_len`.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if min_len < 1:
        raise ValueError(f"min_len must be >= 1, got {min_len}")
    if max_len < min_len:
        raise ValueError(f"max_len must be >= min_len ({min_len}), got {max_len}")
