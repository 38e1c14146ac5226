"""Scoring a split's translations: overall, per source-length bucket, and alignment.

Plain Python in, plain dicts out, so a notebook can score any list of hypotheses the
way a run does. Hypotheses come in model tokens (words or subword pieces); everything
is scored in words: BLEU and chrF on detokenised text, buckets by source words,
rare-word accuracy over target words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ablate.alignment import alignment_by_jump, alignment_scores
from ablate.buckets import Bucket, assign
from ablate.data.corpus import Pair
from ablate.metrics import (
    band_accuracy,
    bucket_scores,
    corpus_scores,
    counted_words,
    rare_word_counts,
)


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
        train_counts: training frequency of each counted target word
            (`ablate.metrics.word_counts` of the training references, `counted_words`).
            Given, the test-time analyses run: rare words, alignment by jump distance and
            their per-sentence counts (`rare_words`, `alignment_by_jump` and
            `sentence_stats` are None / empty without it).
        n_bootstrap: resamples for each bucket's 95% BLEU interval (0 = no interval).

    Returns:
        `{"bleu", "chrf", "exact_match", "signature", "buckets": [...], "alignment",
        "alignment_by_jump", "rare_words", "sentence_stats"}`, with `alignment` None when
        there are no weights or no gold links; `sentence_stats` holds the per-sentence
        counts behind `rare_words` and `alignment_by_jump` (`ablate.metrics`).
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
    # The test-time analyses (asked for by train_counts; validation needs none of them),
    # with their per-sentence counts, so a sweep report can resample sentences.
    out["sentence_stats"] = {}
    out["rare_words"] = out["alignment_by_jump"] = None
    if train_counts is None:
        return out
    hyp_words = [counted_words(h, tokenize) for h in hyps]
    ref_words = [counted_words(r, tokenize) for r in refs]
    counts = rare_word_counts(hyp_words, ref_words, train_counts)
    out["rare_words"] = band_accuracy(counts)
    out["sentence_stats"]["rare_words"] = counts
    if has_gold:
        sizes = [(len(p.src), len(p.tgt)) for p in pairs]
        by_jump = alignment_by_jump(weights, gold, sizes)
        out["sentence_stats"]["alignment_by_jump"] = by_jump
        if by_jump["correct"] is not None:
            correct = np.asarray(by_jump["correct"]).sum(0)
            linked = np.asarray(by_jump["linked"]).sum(0)
            out["alignment_by_jump"] = [
                {"label": label, "n": int(n), "accuracy": int(c) / int(n) if n else None}
                for label, c, n in zip(by_jump["labels"], correct, linked, strict=True)
            ]
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
