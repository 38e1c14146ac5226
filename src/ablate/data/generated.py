"""The generated datasets: `toy_fr` (`conf/dataset/toy_fr.yaml`) and the synthetic
`copy`, `reverse` and `sort` tasks (`conf/dataset/{copy,reverse,sort}.yaml`), each a
`Corpus` from its data seed, offline.

The three splits are drawn apart (`disjoint_splits`): no source is in two splits, none
twice in valid or test. `toy_fr` is cached on disk by a hash of its settings (written
atomically, so a killed run never leaves half a cache); the synthetic tasks are cheap
enough to draw every time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from ablate.atomic import atomic_write_text
from ablate.console import console
from ablate.data import synthetic as synthetic_tasks
from ablate.data import toy_fr as toy_fr_grammar
from ablate.data.cache import cache_root
from ablate.data.corpus import SPLITS, Corpus, Pair, check_sizes


def _check_lengths(prefix: str, min_len: int, max_len: int) -> None:
    check_sizes(prefix, min_len=min_len, max_len=max_len)
    if min_len > max_len:
        raise ValueError(f"{prefix}.min_len ({min_len}) must be <= {prefix}.max_len ({max_len})")


def split_lengths(min_len: int, max_len: int, test_max_len: int | None) -> dict:
    """Source-length range of each split; the test split may reach further (extrapolation)."""
    _check_lengths("dataset", min_len, max_len)
    if test_max_len is not None:
        _check_lengths("dataset", min_len, test_max_len)
    test = (min_len, test_max_len or max_len)
    return {"train": (min_len, max_len), "valid": (min_len, max_len), "test": test}


class _NewSources:
    """The `accept` of one split's generator: refuses a source that an earlier split
    holds (and, with `distinct`, one this split already holds) and counts the refusals."""

    def __init__(self, taken: set[tuple[str, ...]], distinct: bool):
        self.taken = taken
        self.distinct = distinct
        self.seen: set[tuple[str, ...]] = set()
        self.refused = 0

    def __call__(self, src: tuple[str, ...]) -> bool:
        if src in self.taken or src in self.seen:
            self.refused += 1
            return False
        if self.distinct:
            self.seen.add(src)
        return True


def disjoint_splits(
    name: str, generate: Callable[..., list[Pair]], sizes: dict, lengths: dict, seed: int
) -> tuple[dict[str, list[Pair]], dict]:
    """Train, valid and test from `generate(n, min_len=, max_len=, seed=, accept=)`, with
    no source in two splits and none twice in valid or test.

    Test comes first (from `seed + 2`), so it keeps its uniform length distribution; then
    valid (`seed + 1`) refuses test sources, and train (`seed`) refuses both, which only
    costs it some short sentences. A refused source is redrawn at the same length, a
    bounded number of times (see the generators' `tries`); a length with no new sentence
    left costs the split that pair.

    Returns:
        `(splits, meta)`; `meta["deduplicated"]` counts the refused draws of each split,
        `meta["missing"]` the pairs a split is short of its size.
    """
    splits, refused, taken = {}, {}, set()
    for split, offset in (("test", 2), ("valid", 1), ("train", 0)):
        accept = _NewSources(taken, distinct=split != "train")
        lo, hi = lengths[split]
        splits[split] = generate(
            sizes[split], min_len=lo, max_len=hi, seed=seed + offset, accept=accept
        )
        taken |= {p.src for p in splits[split]}
        refused[split] = accept.refused
    missing = {split: sizes[split] - len(splits[split]) for split in SPLITS}
    for split in SPLITS:
        if missing[split]:
            console.print(
                f"{name}: {split} has {len(splits[split])} of {sizes[split]} pairs; some "
                f"short lengths have too few distinct sentences to fill it apart from "
                f"the other splits",
                soft_wrap=True,
            )
    meta = {"deduplicated": {s: refused[s] for s in SPLITS}, "missing": missing}
    return {s: splits[s] for s in SPLITS}, meta


def _pairs_to_json(pairs: list[Pair]) -> list:
    return [[list(p.src), list(p.tgt), [list(a) for a in p.alignment or ()]] for p in pairs]


def _pairs_from_json(rows: list) -> list[Pair]:
    return [Pair(tuple(s), tuple(t), tuple(tuple(a) for a in al)) for s, t, al in rows]


def _read_cache(path: Path) -> tuple[dict[str, list[Pair]], dict] | None:
    """The splits and meta a cache file holds; None when it is missing or corrupt (a
    corrupt cache is regenerated, never trusted)."""
    if not path.exists():
        return None
    try:
        cached = json.loads(path.read_text())
        return {k: _pairs_from_json(cached[k]) for k in SPLITS}, dict(cached["meta"])
    except (ValueError, KeyError, TypeError):
        return None


def _write_cache(path: Path, splits: dict[str, list[Pair]], meta: dict) -> None:
    rows = {k: _pairs_to_json(v) for k, v in splits.items()}
    atomic_write_text(path, json.dumps({**rows, "meta": meta}))


def toy_fr(
    train_size: int,
    valid_size: int,
    test_size: int,
    min_len: int,
    max_len: int,
    seed: int,
    test_max_len: int | None = None,
    reordering: str = "local",
    rare_words: int = 0,
    rare_share: float = 0.1,
    cache_dir: str | None = None,
) -> Corpus:
    """The embedded English→French-like grammar (see `ablate.data.toy_fr`).

    Splits are generated from the data seed `seed` (see `disjoint_splits`) and cached
    under `cache_dir` (default `default_cache_dir()`). Sources have `min_len`–`max_len`
    words, test sources up to `test_max_len` when it is given. `reordering`,
    `rare_words` and `rare_share` are `ablate.data.toy_fr.generate`'s.
    """
    check_sizes("dataset", train_size=train_size, valid_size=valid_size, test_size=test_size)
    lengths = split_lengths(min_len, max_len, test_max_len)
    if reordering not in toy_fr_grammar.REORDERINGS:
        raise ValueError(
            f"unknown dataset.reordering {reordering!r}; choose one of "
            f"{', '.join(toy_fr_grammar.REORDERINGS)}"
        )
    most = toy_fr_grammar.MAX_RARE_WORDS
    if not (isinstance(rare_words, int) and 0 <= rare_words <= most):
        raise ValueError(
            f"dataset.rare_words must be an integer in [0, {most}], got {rare_words!r}"
        )
    if not (isinstance(rare_share, (int, float)) and 0 <= rare_share <= 1):
        raise ValueError(f"dataset.rare_share must be a number in [0, 1], got {rare_share!r}")
    settings = dict(
        train_size=train_size,
        valid_size=valid_size,
        test_size=test_size,
        min_len=min_len,
        max_len=max_len,
        test_max_len=test_max_len,
        seed=seed,
        reordering=reordering,
        rare_words=rare_words,
        rare_share=float(rare_share),
        grammar=toy_fr_grammar.VERSION,
    )
    # The file name is a hash of every setting and the grammar's version, so a changed
    # setting or grammar never reads another's splits.
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_root(cache_dir) / f"toy_fr-{key}.json"
    cached = _read_cache(path)
    if cached is None:

        def generate(n: int, **kwargs) -> list[Pair]:
            return toy_fr_grammar.generate(
                n,
                reordering=reordering,
                rare_words=rare_words,
                rare_share=float(rare_share),
                **kwargs,
            )

        sizes = dict(train=train_size, valid=valid_size, test=test_size)
        cached = disjoint_splits("toy_fr", generate, sizes, lengths, seed)
        _write_cache(path, *cached)
    splits, meta = cached
    return Corpus(
        "toy_fr",
        splits["train"],
        splits["valid"],
        splits["test"],
        tokenize="none",
        meta={**meta, "cache": str(path)},
    )


def synthetic(
    task: str,
    train_size: int,
    valid_size: int,
    test_size: int,
    min_len: int,
    max_len: int,
    vocab_size: int,
    seed: int,
    test_max_len: int | None = None,
) -> Corpus:
    """`copy`, `reverse` or `sort` over `vocab_size` symbols (see `ablate.data.synthetic`),
    split apart as `disjoint_splits` says, from the data seed `seed`."""
    check_sizes(
        "dataset",
        train_size=train_size,
        valid_size=valid_size,
        test_size=test_size,
        vocab_size=vocab_size,
    )
    lengths = split_lengths(min_len, max_len, test_max_len)
    sizes = dict(train=train_size, valid=valid_size, test=test_size)

    def generate(n: int, **kwargs) -> list[Pair]:
        return synthetic_tasks.generate(task, n, vocab_size=vocab_size, **kwargs)

    splits, meta = disjoint_splits(task, generate, sizes, lengths, seed)
    return Corpus(
        task, splits["train"], splits["valid"], splits["test"], tokenize="none", meta=meta
    )
