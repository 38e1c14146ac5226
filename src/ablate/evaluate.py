"""Scoring a split's translations: overall, per source-length bucket, and alignment.

Plain Python in, plain dicts out, so a notebook can score any list of hypotheses the
way a run does. Hypotheses come in model tokens (words or subword pieces); everything
is scored in words: BLEU and chrF on detokenised text, buckets by source words,
rare-word accuracy over target words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ablate.buckets import Bucket, assign
from ablate.data.corpus import Pair
from ablate.metrics import alignment_scores, bucket_scores, corpus_scores, rare_word_accuracy


def _join(tokens: Sequence[str]) -> str:
    return " ".join(tokens)


def evaluate(
    pairs: Sequence[Pair],
    hypotheses: Sequence[Sequence[str]],
    buckets: Sequence[Bucket],
    *,
    tokenize: str,
    detokenize: Callable[[Sequence[str]], str] | None = None,
    weights: Sequence[np.ndarray] | None = None,
    train_counts: Mapping[str, int] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict:
    """Scores of `hypotheses` against the targets of `pairs`.

    Args:
        pairs: the split, in order.
        hypotheses: one token list per pair (words or subword pieces).
        buckets: source-length buckets, over source words (`Pair.src_words`).
        tokenize: sacrebleu tokenizer (`none` for synthetic token sets, `13a` for text).
        detokenize: tokens → text (`Corpus.detokenize`); None joins with spaces. BLEU and
            chrF compare these strings with `Pair.reference`.
        weights: teacher-forced attention `(T, S)` per pair, for alignment metrics where the
            pairs carry gold alignments; None for `attention=none`.
        train_counts: target-side training frequency of each word (`Corpus.word_counts()`),
            for the rare-word analysis (`rare_words` is None without it).
        n_bootstrap: resamples for each bucket's 95% BLEU interval (0 = no interval).

    Returns:
        `{"bleu", "chrf", "exact_match", "signature", "buckets": [...], "alignment",
        "rare_words"}`, with `alignment` None when there are no weights or no gold links.
    """
    if len(pairs) != len(hypotheses):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(pairs)} sentence pairs")
    detokenize = detokenize or _join
    hyps = [detokenize(h) for h in hypotheses]
    refs = [p.reference for p in pairs]
    lengths = [len(p.src_words) for p in pairs]
    out = corpus_scores(hyps, refs, tokenize=tokenize)
    out["buckets"] = bucket_scores(
        hyps, refs, lengths, list(buckets), tokenize=tokenize, n_bootstrap=n_bootstrap, seed=seed
    )
    gold = [p.alignment for p in pairs]
    has_gold = bool(pairs) and all(g is not None for g in gold)
    out["alignment"] = alignment_scores(weights, gold) if weights is not None and has_gold else None
    out["rare_words"] = (
        None
        if train_counts is None
        else rare_word_accuracy(
            [h.split() for h in hyps], [p.tgt_words for p in pairs], train_counts
        )
    )
    return out


def hypotheses_rows(
    pairs: Sequence[Pair],
    hypotheses: Sequence[Sequence[str]],
    buckets: Sequence[Bucket],
    *,
    detokenize: Callable[[Sequence[str]], str] | None = None,
) -> list[tuple[str, str, str, str]]:
    """`(source, reference, hypothesis, bucket label)` for every pair, for `hypotheses.tsv`:
    text, not tokens, and the bucket of the source length in words."""
    detokenize = detokenize or _join
    return [
        (
            " ".join(p.src) if p.src_text is None else p.src_text,
            p.reference,
            detokenize(h),
            buckets[assign(buckets, len(p.src_words))].label,
        )
        for p, h in zip(pairs, hypotheses, strict=True)
    ]


def pick_examples(pairs: Sequence[Pair]) -> list[int]:
    """Indices of three fixed test sentences to draw: short, median and long — the 10th,
    50th and 90th percentile of source length in words (the extremes are one-word or
    unreadably long); ties broken by position, so every variant draws the same three."""
    if not pairs:
        return []
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i].src_words), i))
    n = len(order) - 1
    picks = [order[round(q * n)] for q in (0.1, 0.5, 0.9)]
    return list(dict.fromkeys(picks))
