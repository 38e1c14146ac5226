"""The `Scorer`: applies `ablate.metrics` to a split's hypotheses, returns its `Scores`.

A split is scored overall, per source-length bucket, on alignment, on rare words and by
the attention's statistics.

`score` scores any list of hypotheses against a split the way a run does, and returns
an `ablate.scores.Scores`; a `Scorer` holds what a run scores against (its valid and test
pairs, the buckets, the tokenizer and the training word counts), built once from the
corpus. Hypotheses come in model tokens (words or subword pieces); everything is scored
in words: BLEU and chrF on detokenised text (Papineni et al. 2002; Popović 2015, through
sacrebleu), buckets by source words, rare-word accuracy over target words. Plain Python
in and out, so a notebook can use it without Lightning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ablate.alignment import alignment_by_jump, alignment_scores
from ablate.buckets import Bucket, assign
from ablate.data.corpus import Corpus, Pair
from ablate.metrics import (
    band_accuracy,
    bucket_scores,
    corpus_scores,
    counted_words,
    rare_word_counts,
)
from ablate.run_files import fingerprint
from ablate.scores import (
    ATTENTION_SUMS,
    AlignmentScore,
    AttentionBucket,
    AttentionStats,
    FrequencyBand,
    JumpBand,
    Scores,
    bucket_rows,
)

# Per module path, per sentence: the `ATTENTION_SUMS` of its real queries
# (`ablate.diagnostics.Probes.sums`), by the sentence's index in its split.
SentenceSums = Mapping[str, Mapping[int, Sequence[float]]]


def _join(tokens: Sequence[str]) -> str:
    return " ".join(tokens)


def score(
    pairs: Sequence[Pair],
    hypotheses: Sequence[Sequence[str]],
    buckets: Sequence[Bucket],
    *,
    tokenize: str,
    detokenize: Callable[[Sequence[str]], str] | None = None,
    weights: Sequence[np.ndarray] | None = None,
    train_counts: Mapping[str, int] | None = None,
    attention: Mapping[str, np.ndarray] | None = None,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> Scores:
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
            `sentence_stats` are None without it).
        attention: per attention module (by path), `(N, 5)` sums `ATTENTION_SUMS` of each
            pair's real queries (`ablate.diagnostics`); None or empty for a model
            without attention weights.
        n_bootstrap: resamples for each bucket's 95% BLEU interval (0 = no interval).
        seed: the bootstrap's seed.

    Returns:
        the `Scores`; `alignment` is None when there are no weights or no gold links,
        `attention_stats` None without `attention`, and `sentence_stats` holds the
        per-sentence counts behind `rare_words`, `alignment_by_jump` and
        `attention_stats` (`ablate.metrics`, `ablate.alignment`).
    """
    if len(pairs) != len(hypotheses):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(pairs)} sentence pairs")
    detokenize = detokenize or _join
    hyps = [detokenize(h) for h in hypotheses]
    refs = [p.reference for p in pairs]
    lengths = [len(p.src_words) for p in pairs]
    overall = corpus_scores(hyps, refs, tokenize=tokenize)
    by_length = bucket_scores(
        hyps, refs, lengths, list(buckets), tokenize=tokenize, n_bootstrap=n_bootstrap, seed=seed
    )
    gold = [p.alignment for p in pairs]
    has_gold = bool(pairs) and all(g is not None for g in gold)
    alignment = None
    if weights is not None and has_gold:
        alignment = AlignmentScore(**alignment_scores(weights, gold))
    # The test-time analyses (asked for by train_counts; validation needs none of them),
    # with their per-sentence counts, so a sweep report can resample sentences.
    rare_words = by_jump = stats = None
    if train_counts is not None:
        hyp_words = [counted_words(h, tokenize) for h in hyps]
        ref_words = [counted_words(r, tokenize) for r in refs]
        counts = rare_word_counts(hyp_words, ref_words, train_counts)
        rare_words = tuple(FrequencyBand(**band) for band in band_accuracy(counts))
        stats = {"rare_words": counts}
        if has_gold:
            sizes = [(len(p.src), len(p.tgt)) for p in pairs]
            stats["alignment_by_jump"] = jumps = alignment_by_jump(weights, gold, sizes)
            by_jump = jump_bands(jumps)
    attention_stats = None
    if attention:
        attention_stats = attention_summary(attention, lengths, buckets)
        if stats is not None:
            stats["attention_stats"] = attention_sentences(attention)
    return Scores(
        bleu=overall["bleu"],
        chrf=overall["chrf"],
        exact_match=overall["exact_match"],
        signature=overall["signature"],
        buckets=bucket_rows(by_length),
        alignment=alignment,
        alignment_by_jump=by_jump,
        rare_words=rare_words,
        attention_stats=attention_stats,
        sentence_stats=stats,
    )


def _pooled(sums: np.ndarray) -> dict:
    """The statistics of `(N, 5)` per-sentence sums, pooled over their queries."""
    total = np.asarray(sums, dtype=np.float64).reshape(-1, len(ATTENTION_SUMS)).sum(0)
    queries = int(round(total[0]))
    means = [float(x / total[0]) if queries else None for x in total[1:]]
    return dict(zip(ATTENTION_SUMS, [queries, *means], strict=True))


def attention_summary(
    attention: Mapping[str, np.ndarray], lengths: Sequence[int], buckets: Sequence[Bucket]
) -> AttentionStats:
    """The `AttentionStats` of a split from each attention module's per-sentence sums.

    Args:
        attention: module path -> `(N, 5)` sums `ATTENTION_SUMS`, in split order.
        lengths: each sentence's source length in words (what buckets it).
        buckets: the source-length buckets.

    Returns:
        the statistics pooled over every module's queries, by bucket too; with several
        modules, each one's own in `layers`.
    """
    arrays = {name: np.asarray(a, dtype=np.float64) for name, a in attention.items()}
    which = np.array([assign(buckets, n) for n in lengths], dtype=int)

    def stats(sums: np.ndarray, layer: str | None) -> AttentionStats:
        rows = tuple(
            AttentionBucket(
                label=b.label,
                lo=b.lo,
                hi=b.hi,
                n=int((which == k).sum()),
                **_pooled(sums[which == k]),
            )
            for k, b in enumerate(buckets)
        )
        return AttentionStats(**_pooled(sums), buckets=rows, layer=layer)

    pooled = stats(sum(arrays.values()), None)
    if len(arrays) == 1:
        return pooled
    layers = tuple(stats(a, name) for name, a in arrays.items())
    return dataclasses.replace(pooled, layers=layers)


def attention_sentences(attention: Mapping[str, np.ndarray]) -> dict:
    """`sentence_stats.json`'s `attention_stats`: the per-sentence sums pooled over the
    modules (`sums`, `(N, 5)`, columns `ATTENTION_SUMS`) and, with several modules, each
    one's (`layers`)."""

    def rounded(a) -> list:
        return np.round(np.asarray(a, dtype=np.float64), 6).tolist()

    out = {"columns": list(ATTENTION_SUMS), "sums": rounded(sum(attention.values()))}
    if len(attention) > 1:
        out["layers"] = {name: rounded(a) for name, a in attention.items()}
    return out


def jump_bands(by_jump: Mapping) -> tuple[JumpBand, ...] | None:
    """Alignment accuracy per jump band from `ablate.alignment.alignment_by_jump`'s
    per-sentence counts; None without weights (`attention=none`)."""
    if by_jump["correct"] is None:
        return None
    correct = np.asarray(by_jump["correct"]).sum(0)
    linked = np.asarray(by_jump["linked"]).sum(0)
    return tuple(
        JumpBand(label=label, n=int(n), accuracy=int(c) / int(n) if n else None)
        for label, c, n in zip(by_jump["labels"], correct, linked, strict=True)
    )


def source_text(pair: Pair) -> str:
    """The source sentence as text: what `hypotheses.tsv` shows."""
    return " ".join(pair.src) if pair.src_text is None else pair.src_text


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
            source_text(p),
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


class Scorer:
    """What a run scores against, built once: its valid and test pairs, the buckets, the
    BLEU tokenizer, the detokenizer and the training word counts.

    Validation gets BLEU overall and per bucket (no bootstrap, no analyses); the test
    gets every score `score` computes.

    Args:
        valid: the validation pairs, in the order of the validation loader's `index`.
        test: the test pairs, likewise.
        buckets: source-length buckets, in words.
        tokenize: sacrebleu tokenizer for this data.
        detokenize: model tokens → text; None joins with spaces.
        train_counts: training frequency of each counted target word, for rare-word
            accuracy (`Corpus.word_counts`); None: the test skips the rare-word and
            jump-distance analyses.
    """

    def __init__(
        self,
        valid: Sequence[Pair],
        test: Sequence[Pair],
        buckets: Sequence[Bucket],
        *,
        tokenize: str = "none",
        detokenize: Callable[[Sequence[str]], str] | None = None,
        train_counts: Mapping[str, int] | None = None,
    ):
        self.valid, self.test, self.buckets = list(valid), list(test), list(buckets)
        self.tokenize, self.detokenize = tokenize, detokenize or _join
        self.train_counts = None if train_counts is None else dict(train_counts)

    @classmethod
    def from_corpus(cls, corpus: Corpus, buckets: Sequence[Bucket]) -> Scorer:
        """The scorer of `corpus`'s valid and test splits."""
        return cls(
            corpus.valid,
            corpus.test,
            buckets,
            tokenize=corpus.tokenize,
            detokenize=corpus.detokenize,
            train_counts=corpus.word_counts(),
        )

    def score_valid(
        self, hypotheses: Mapping[int, Sequence[str]], attention: SentenceSums | None = None
    ) -> Scores:
        """BLEU of the validation sentences decoded, by their index in the split (all of
        them, or the first batches with `trainer.limit_val_batches`), and the attention
        statistics of their teacher-forced pass (`SentenceSums`; None: none)."""
        decoded = sorted(hypotheses)
        return score(
            [self.valid[i] for i in decoded],
            [hypotheses[i] for i in decoded],
            self.buckets,
            tokenize=self.tokenize,
            detokenize=self.detokenize,
            attention=_in_order(attention, decoded),
            n_bootstrap=0,
        )

    def score_test(
        self,
        hypotheses: Sequence[Sequence[str]],
        weights: Sequence[np.ndarray] | None,
        attention: SentenceSums | None = None,
    ) -> Scores:
        """Every score of the whole test set: one hypothesis per test pair, in order, the
        teacher-forced attention `(T, S)` of each (None for `attention=none`) and the
        attention statistics of that pass (`SentenceSums`)."""
        return score(
            self.test,
            hypotheses,
            self.buckets,
            tokenize=self.tokenize,
            detokenize=self.detokenize,
            weights=weights,
            train_counts=self.train_counts,
            attention=_in_order(attention, range(len(self.test))),
        )

    def rows(self, hypotheses: Sequence[Sequence[str]]) -> list[tuple[str, str, str, str]]:
        """`hypotheses.tsv`'s rows for the test hypotheses (`hypotheses_rows`)."""
        return hypotheses_rows(self.test, hypotheses, self.buckets, detokenize=self.detokenize)

    def test_set(self) -> str:
        """The test set's fingerprint (`ablate.run_files.fingerprint` of its source and
        reference text): runs with equal ones scored the same sentences."""
        return fingerprint([source_text(p) for p in self.test], [p.reference for p in self.test])

    def examples(self) -> list[int]:
        """The three test sentences whose attention a run draws (`pick_examples`)."""
        return pick_examples(self.test)


def _in_order(attention: SentenceSums | None, indices) -> dict[str, np.ndarray] | None:
    """Each module's `(N, 5)` sums of the sentences `indices`, in that order."""
    if not attention:
        return None
    indices = list(indices)
    return {name: np.array([rows[i] for i in indices]) for name, rows in attention.items()}
