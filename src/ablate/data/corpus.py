"""The in-memory parallel corpus every dataset produces.

A `Pair` is one tokenised sentence pair with, where the dataset knows it, the gold word
alignment as `(source index, target index)` links (0-based, into the token lists).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pair:
    """One sentence pair.

    Args:
        src: source tokens.
        tgt: target tokens.
        alignment: gold links `(i, j)` meaning `src[i]` translates to (part of) `tgt[j]`,
            or `None` when the data has no gold alignment.
    """

    src: tuple[str, ...]
    tgt: tuple[str, ...]
    alignment: tuple[tuple[int, int], ...] | None = None


@dataclass
class Corpus:
    """Train / valid / test splits of one dataset.

    Args:
        name: dataset name, as in `conf/dataset/<name>.yaml`.
        train, valid, test: the splits.
        tokenize: the sacrebleu tokenizer that fits the text (`none` for synthetic
            token sets, `13a` for real text).
    """

    name: str
    train: list[Pair]
    valid: list[Pair]
    test: list[Pair]
    tokenize: str = "none"
    meta: dict = field(default_factory=dict)

    @property
    def has_alignment(self) -> bool:
        return all(p.alignment is not None for p in self.test)


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
