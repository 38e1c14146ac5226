"""Synthetic sequence tasks with known alignments: `copy`, `reverse`, `sort`.

The classic sanity checks for sequence-to-sequence models (Graves et al. 2014, Neural
Turing Machines §4.1 copy; Sutskever et al. 2014 §3.3 on reversing the source; Vinyals
et al. 2015, Pointer Networks, sorting). Each target token comes from exactly one source
position, so the gold alignment is exact: a diagonal for `copy`, an anti-diagonal for
`reverse` and a permutation for `sort`; an attention model should learn it sharply.

Tokens are the symbols `a0 .. a{vocab_size-1}`; `sort` orders them by their index (not
as strings: `a2` before `a10`), stably, so repeated symbols keep their source order and
map to distinct source positions.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ablate.data.corpus import Pair, check_generate_args

TASKS = ("copy", "reverse", "sort")


def generate(
    task: str,
    n: int,
    *,
    min_len: int,
    max_len: int,
    vocab_size: int,
    seed: int,
    accept: Callable[[tuple[str, ...]], bool] | None = None,
    tries: int = 100,
) -> list[Pair]:
    """Generate `n` pairs of one synthetic task with their gold alignments.

    Args:
        task: one of `TASKS`.
        n: number of pairs.
        min_len, max_len: inclusive range of the source length; drawn uniformly.
        vocab_size: number of distinct symbols.
        seed: seed of the `random.Random` that draws everything.
        accept: called with each drawn source; a refused one is redrawn at the same
            length (None accepts all). Splits use it to keep their sources apart.
        tries: draws per pair at most; a pair whose draws are all refused is left out,
            so with `accept` the list can be shorter than `n` (there are only
            `vocab_size ** length` sources of each length).

    Returns:
        The pairs; `alignment` links `(source index, target index)`, one per target token.

    Raises:
        ValueError: for an unknown task or sizes out of range.
    """
    if task not in TASKS:
        raise ValueError(f"unknown synthetic task {task!r}; valid tasks: {', '.join(TASKS)}")
    check_generate_args(n, min_len, max_len)
    if vocab_size < 1:
        raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
    rng = random.Random(seed)
    symbols = [f"a{k}" for k in range(vocab_size)]
    pairs = []
    for _ in range(n):
        length = rng.randint(min_len, max_len)
        for _ in range(tries):
            ids = [rng.randrange(vocab_size) for _ in range(length)]
            src = tuple(symbols[k] for k in ids)
            if accept is None or accept(src):
                pairs.append(_pair(task, ids, src, symbols))
                break
    return pairs


def _pair(task: str, ids: list[int], src: tuple[str, ...], symbols: list[str]) -> Pair:
    if task == "copy":
        order = list(range(len(ids)))
    elif task == "reverse":
        order = list(range(len(ids) - 1, -1, -1))
    else:
        order = sorted(range(len(ids)), key=ids.__getitem__)  # stable
    # order[j] is the source position the j-th target token comes from.
    return Pair(
        src=src,
        tgt=tuple(symbols[ids[i]] for i in order),
        alignment=tuple(sorted((i, j) for j, i in enumerate(order))),
    )
