"""Attention against gold word alignments: accuracy, AER, entropy, and how far links jump.

- Alignment error rate follows Och & Ney 2003, "A Systematic Comparison of Various
  Statistical Alignment Models", §6, with every gold link counted as a sure link.
- A link's *jump* is its distance from the length-scaled diagonal: how far a translation
  moves a word (the lecture's "handles reordering"), so accuracy can be split by it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

import numpy as np


def alignment_scores(
    weights: Sequence[np.ndarray], gold: Sequence[Iterable[tuple[int, int]]]
) -> dict:
    """Compare attention weights with gold word alignments.

    Each target position's predicted link is its argmax source position. Counts are
    pooled over the whole corpus (micro averages).

    Args:
        weights: per pair, (T, S) attention weights under teacher forcing on the
            reference; rows are target positions and sum to 1.
        gold: per pair, gold links `(src_idx, tgt_idx)`, 0-based.

    Returns:
        `{"accuracy", "aer", "entropy"}`:
        accuracy (0-1): fraction of target positions with at least one gold link whose
        argmax source is one of their gold sources;
        aer (0-1): alignment error rate (Och & Ney 2003) with all gold links sure,
        `1 - 2|A∩S| / (|A| + |S|)`, where `A` holds one predicted link per target position;
        entropy (nats): mean over target positions of `-Σ_s α_ts log α_ts`.
    """
    if len(weights) != len(gold):
        raise ValueError(f"got {len(weights)} weight matrices but {len(gold)} gold alignments")
    n_linked = n_correct = n_pred = n_sure = n_hit = 0
    entropy_sum = 0.0
    n_rows = 0
    for k, (w, links) in enumerate(zip(weights, gold, strict=True)):
        w = np.asarray(w, dtype=np.float64)
        if w.ndim != 2:
            raise ValueError(f"weights[{k}] must be (T, S), got shape {w.shape}")
        T, S = w.shape
        sure = {(int(s), int(t)) for s, t in links}
        bad = [(s, t) for s, t in sure if not (0 <= s < S and 0 <= t < T)]
        if bad:
            raise ValueError(
                f"gold[{k}] has links {sorted(bad)} outside weights of shape (T={T}, S={S}); "
                "links are (src_idx, tgt_idx)"
            )
        pred = {(int(s), t) for t, s in enumerate(w.argmax(axis=1))} if S else set()
        gold_src: dict[int, set[int]] = {}
        for s, t in sure:
            gold_src.setdefault(t, set()).add(s)
        n_linked += len(gold_src)
        n_correct += sum(int(w[t].argmax()) in srcs for t, srcs in gold_src.items())
        n_pred += len(pred)
        n_sure += len(sure)
        n_hit += len(pred & sure)
        # 0 log 0 = 0: where() keeps log() away from zeros.
        plogp = np.where(w > 0, w * np.log(np.where(w > 0, w, 1.0)), 0.0)
        entropy_sum += float(-plogp.sum())
        n_rows += T
    if n_rows == 0:
        raise ValueError("alignment_scores needs at least one target position")
    return {
        "accuracy": n_correct / n_linked if n_linked else float("nan"),
        "aer": 1.0 - 2.0 * n_hit / (n_pred + n_sure) if n_pred + n_sure else float("nan"),
        "entropy": entropy_sum / n_rows,
    }


# How far gold links move a word (the lecture: attention "handles reordering").
# A monotone translation
# keeps target word j near source position j·S/T (the diagonal, scaled for one-to-many
# words); a link's jump is its distance from there, in source words.
JUMP_BANDS = ((0, 2), (3, 9), (10, None))


def link_jumps(alignment: Iterable[tuple[int, int]], src_len: int, tgt_len: int) -> list[int]:
    """Distance of every gold link from the length-scaled diagonal, in source words.

    Args:
        alignment: gold links `(src_idx, tgt_idx)`, 0-based.
        src_len, tgt_len: the sentence lengths `S`, `T` in tokens.

    Returns:
        `round(|i - j * S / T|)` for each link `(i, j)`, in the order given. A copy has
        jumps 0; reversing a 30-word sentence moves its first and last words 29.
    """
    if src_len < 1 or tgt_len < 1:
        raise ValueError(f"link_jumps needs src_len, tgt_len >= 1, got {src_len}, {tgt_len}")
    scale = src_len / tgt_len
    # j + 0.5 and i + 0.5: positions as centres, so a copy of any length has jumps 0.
    return [round(abs((i + 0.5) - (j + 0.5) * scale)) for i, j in alignment]


def _jump_labels(bands: Sequence[tuple[int, int | None]]) -> list[str]:
    return [f"{lo}-{hi}" if hi is not None else f"{lo}+" for lo, hi in bands]


def alignment_by_jump(
    weights: Sequence[np.ndarray],
    gold: Sequence[Iterable[tuple[int, int]]],
    lengths: Sequence[tuple[int, int]],
    bands: Sequence[tuple[int, int | None]] = JUMP_BANDS,
) -> dict:
    """Alignment accuracy split by how far the gold links jump, per sentence.

    A target word with gold links counts in the band of its smallest jump (`link_jumps`):
    correct when the attention's argmax is one of its gold sources, as in
    `alignment_scores`.

    Args:
        weights: per pair, (T, S) teacher-forced attention (rows: target words without
            `</s>`), or None for every pair when the model has no attention.
        gold: per pair, gold links `(src_idx, tgt_idx)`.
        lengths: per pair, `(S, T)`: source and target length in tokens.
        bands: inclusive jump ranges in source words; `hi=None` is open.

    Returns:
        `{"labels", "correct": (N, bands) or None, "linked": (N, bands), "max_jump": (N,)}`
        as lists; `max_jump` is each sentence's largest gold jump (0 without links).
    """
    if len(gold) != len(lengths):
        raise ValueError(f"got {len(gold)} gold alignments but {len(lengths)} lengths")
    los = [lo for lo, _ in bands]
    correct, linked, max_jump = [], [], []
    for k, links in enumerate(gold):
        links = [(int(s), int(t)) for s, t in links]
        c, n = [0] * len(bands), [0] * len(bands)
        if not links:
            correct.append(c)
            linked.append(n)
            max_jump.append(0)
            continue
        w = None if weights is None else np.asarray(weights[k])
        jumps = link_jumps(links, *lengths[k])
        nearest: dict[int, tuple[int, set[int]]] = {}
        for (s, t), j in zip(links, jumps, strict=True):
            jump, sources = nearest.get(t, (j, set()))
            nearest[t] = (min(jump, j), sources | {s})
        for t, (jump, sources) in nearest.items():
            b = bisect.bisect_right(los, jump) - 1
            n[b] += 1
            if w is not None and t < w.shape[0] and int(w[t].argmax()) in sources:
                c[b] += 1
        correct.append(c)
        linked.append(n)
        max_jump.append(max(jumps))
    return {
        "labels": _jump_labels(bands),
        "correct": correct if weights is not None else None,
        "linked": linked,
        "max_jump": max_jump,
    }
