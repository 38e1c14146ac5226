"""The metric functions, text and counts in, numbers out: what the scorer and report call.

Corpus BLEU/chrF, BLEU by length, per-sentence statistics, rare words:

- BLEU (Papineni et al. 2002) and chrF (Popović 2015) come from sacrebleu (Post 2018),
  so numbers are comparable with published ones and carry sacrebleu's signature.
- Per-bucket 95% confidence intervals use bootstrap resampling of sentences
  (Koehn 2004, "Statistical Significance Tests for Machine Translation Evaluation").
  BLEU's sufficient statistics (n-gram matches and totals, hypothesis and reference
  lengths) add over sentences, so they are extracted once and each resample is one
  weighted sum plus sacrebleu's own score-from-statistics function.
- Rare-word accuracy counts words after the BLEU tokenizer, case-folded, without
  punctuation (alignment metrics are `ablate.alignment`).
"""

from __future__ import annotations

import bisect
import functools
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from sacrebleu.metrics import BLEU, CHRF

from ablate.buckets import Bucket, assign


def _bleu(tokenize: str) -> BLEU:
    # force=True only silences sacrebleu's "looks tokenized" warning, which fires on our
    # pre-tokenised synthetic data; it changes neither the score nor the signature.
    return BLEU(tokenize=tokenize, force=True)


def _check_parallel(hyps: Sequence[str], refs: Sequence[str]) -> None:
    if len(hyps) != len(refs):
        raise ValueError(
            f"got {len(hyps)} hypotheses but {len(refs)} references; pass one reference "
            "per hypothesis"
        )


def _exact_match(hyps: Sequence[str], refs: Sequence[str]) -> float:
    # Whitespace-normalised string equality, in percent like BLEU and chrF.
    hits = sum(h.split() == r.split() for h, r in zip(hyps, refs, strict=True))
    return 100.0 * hits / len(hyps)


def corpus_scores(hyps: list[str], refs: list[str], *, tokenize: str) -> dict:
    """Corpus-level BLEU, chrF and exact match.

    Args:
        hyps: detokenised (or, with `tokenize="none"`, space-separated) hypotheses.
        refs: one reference per hypothesis.
        tokenize: the sacrebleu tokenizer, e.g. `"13a"` for real text, `"none"` for
            synthetic token sequences.

    Returns:
        `{"bleu", "chrf", "exact_match", "signature": {"bleu", "chrf"}}`; scores in 0-100,
        `exact_match` is the percentage of hypotheses equal to their reference up to
        whitespace.
    """
    _check_parallel(hyps, refs)
    if not hyps:
        raise ValueError("corpus_scores needs at least one hypothesis")
    bleu, chrf = _bleu(tokenize), CHRF()
    bleu_score = bleu.corpus_score(list(hyps), [list(refs)])
    chrf_score = chrf.corpus_score(list(hyps), [list(refs)])
    return {
        "bleu": float(bleu_score.score),
        "chrf": float(chrf_score.score),
        "exact_match": _exact_match(hyps, refs),
        "signature": {"bleu": str(bleu.get_signature()), "chrf": str(chrf.get_signature())},
    }


def sentence_bleu_stats(hyps: Sequence[str], refs: Sequence[str], *, tokenize: str) -> np.ndarray:
    """`(N, 10)` per-sentence BLEU sufficient statistics: hypothesis length, reference
    length, n-gram matches and totals for n = 1..4 (sacrebleu's order). They add over
    sentences: the sum of a subset's rows is that subset's corpus statistics.

    The one call of sacrebleu's private `_extract_corpus_statistics` (sacrebleu 2.x,
    pinned `<3` in pyproject.toml; `tests/test_stats.py` checks the call).
    """
    _check_parallel(hyps, refs)
    if not hyps:
        return np.zeros((0, 10), dtype=np.int64)
    stats = _bleu(tokenize)._extract_corpus_statistics(list(hyps), [list(refs)])
    return np.asarray(stats, dtype=np.int64)


def bleu_from_stats(stats: np.ndarray) -> np.ndarray:
    """Corpus BLEU from summed sufficient statistics, many rows at once.

    sacrebleu's `BLEU.compute_bleu` (its defaults: 4-gram, `exp` smoothing, no effective
    order), vectorised; `tests/test_stats.py` checks it against sacrebleu row by row.

    Args:
        stats: `(..., 10)`: hypothesis length, reference length, n-gram matches for
            n = 1..4, n-gram totals for n = 1..4 (sacrebleu's order).

    Returns:
        `(...)` BLEU in 0-100.
    """
    stats = np.asarray(stats, dtype=np.float64)
    sys_len, ref_len = stats[..., 0], stats[..., 1]
    correct, total = stats[..., 2:6], stats[..., 6:10]
    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(sys_len >= ref_len, 1.0, np.exp(1 - ref_len / sys_len))
        bp = np.where(sys_len > 0, bp, 0.0)
        # exp smoothing: the k-th order with no match gets precision 1 / (2^k · total).
        k = np.cumsum(correct == 0, axis=-1)
        precision = np.where(correct > 0, correct / total, 1.0 / (2.0**k * total))
        log_mean = np.log(np.where(total > 0, precision, 1.0)).mean(-1)
    score = 100.0 * bp * np.exp(log_mean)
    no_match = ~(correct > 0).any(-1)
    return np.where(no_match | (total == 0).any(-1), 0.0, score)


def percentile_interval(
    replicates: np.ndarray, level: float = 0.95
) -> tuple[float | None, float | None]:
    """The two-sided percentile interval of the finite replicates; `(None, None)` with none.
    The one such interval in ablate: a run's bucket BLEU and every report interval."""
    reps = np.asarray(replicates, dtype=np.float64)
    reps = reps[np.isfinite(reps)]
    if not reps.size:
        return None, None
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(reps, [tail, 100 - tail])
    return float(low), float(high)


def _bootstrap_bleu(
    bleu: BLEU, stats: np.ndarray, n_bootstrap: int, rng: np.random.Generator
) -> np.ndarray:
    """BLEU of `n_bootstrap` resamples (with replacement) of the sentences in `stats`.

    Args:
        bleu: the metric whose `_compute_score_from_stats` turns summed stats into BLEU.
        stats: (N, 2 + 2 * max_order) per-sentence sufficient statistics, integers.
        n_bootstrap: number of resamples.
        rng: the random generator.

    Returns:
        (n_bootstrap,) BLEU scores.
    """
    n = len(stats)
    idx = rng.integers(0, n, size=(n_bootstrap, n))
    # counts[b, i] = how often sentence i is drawn in resample b; one int matmul sums
    # every resample's statistics without materialising (n_bootstrap, N, K).
    flat = (np.arange(n_bootstrap)[:, None] * n + idx).ravel()
    counts = np.bincount(flat, minlength=n_bootstrap * n).reshape(n_bootstrap, n)
    sums = counts @ stats  # (n_bootstrap, K)
    return np.array([bleu._compute_score_from_stats(s.tolist()).score for s in sums])


def bucket_scores(
    hyps: Sequence[str],
    refs: Sequence[str],
    src_lengths: Sequence[int],
    buckets: list[Bucket],
    *,
    tokenize: str,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> list[dict]:
    """BLEU, chrF and exact match per source-length bucket, with bootstrap CIs for BLEU.

    Each bucket's BLEU is corpus BLEU on exactly the sentences in that bucket, equal to
    `sacrebleu.corpus_bleu(sub_hyps, [sub_refs], tokenize=tokenize).score`. Its 95%
    interval is the (2.5, 97.5) percentile interval of BLEU over `n_bootstrap` resamples
    of the bucket's sentences (Koehn 2004). Bucket `i` uses the generator
    `default_rng([seed, i])`, so its interval does not depend on the other buckets.

    Args:
        hyps: hypotheses.
        refs: one reference per hypothesis.
        src_lengths: source length in words of each pair.
        buckets: the buckets, from `ablate.buckets.make_buckets`.
        tokenize: the sacrebleu tokenizer.
        n_bootstrap: resamples per bucket; 0 or 1 gives no interval (`None` bounds).
        seed: seed of the resampling.

    Returns:
        One dict per bucket, in bucket order and including empty buckets:
        `{"label", "lo", "hi", "n", "bleu", "bleu_ci_low", "bleu_ci_high", "chrf",
        "exact_match"}`; for an empty bucket `n == 0` and the scores are `None`.
    """
    _check_parallel(hyps, refs)
    if len(src_lengths) != len(hyps):
        raise ValueError(
            f"got {len(src_lengths)} source lengths for {len(hyps)} hypotheses; pass one "
            "length per pair"
        )
    if n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    hyps, refs = list(hyps), list(refs)
    bleu, chrf = _bleu(tokenize), CHRF()
    if hyps:
        # Per-sentence sufficient statistics, extracted once for all buckets.
        bleu_stats = sentence_bleu_stats(hyps, refs, tokenize=tokenize)
        chrf_stats = chrf._extract_corpus_statistics(hyps, [refs])
    members: list[list[int]] = [[] for _ in buckets]
    for k, length in enumerate(src_lengths):
        members[assign(buckets, length)].append(k)

    rows = []
    for i, (bucket, ids) in enumerate(zip(buckets, members, strict=True)):
        row = {"label": bucket.label, "lo": bucket.lo, "hi": bucket.hi, "n": len(ids)}
        if not ids:
            row.update(bleu=None, bleu_ci_low=None, bleu_ci_high=None, chrf=None)
            row["exact_match"] = None
            rows.append(row)
            continue
        stats = bleu_stats[ids]  # (n, K)
        row["bleu"] = float(bleu._compute_score_from_stats(stats.sum(0).tolist()).score)
        if n_bootstrap > 1:
            samples = _bootstrap_bleu(bleu, stats, n_bootstrap, np.random.default_rng([seed, i]))
            row["bleu_ci_low"], row["bleu_ci_high"] = percentile_interval(samples)
        else:
            row["bleu_ci_low"] = row["bleu_ci_high"] = None
        row["chrf"] = float(chrf._aggregate_and_compute([chrf_stats[k] for k in ids]).score)
        row["exact_match"] = _exact_match([hyps[k] for k in ids], [refs[k] for k in ids])
        rows.append(row)
    return rows


# Training-frequency bands of target words (the lecture: attention gives "better
# handling of rare words").
FREQUENCY_BANDS = ((1, 5), (6, 20), (21, 100), (101, None))


def counted_words(text: str, tokenize: str) -> list[str]:
    """The words of `text` that rare-word accuracy counts: sacrebleu's BLEU tokenizer
    (so `fence.` is `fence` and `.`), case-folded, punctuation-only tokens dropped — a
    capital letter or an attached full stop does not make a frequent word rare.

    Args:
        text: a detokenised sentence.
        tokenize: the sacrebleu tokenizer the BLEU of this text uses (`13a`, `none`, ...).
    """
    return [w for w in _tokenizer(tokenize)(text).casefold().split() if not _punctuation(w)]


def word_counts(texts: Iterable[str], tokenize: str) -> dict[str, int]:
    """Training frequency of each counted word (`counted_words`) of the target texts."""
    return dict(Counter(w for t in texts for w in counted_words(t, tokenize)))


def _punctuation(word: str) -> bool:
    return all(unicodedata.category(c).startswith("P") for c in word)


@functools.cache
def _tokenizer(tokenize: str):
    return _bleu(tokenize).tokenizer


def _band_labels(bands: Sequence[tuple[int, int | None]]) -> list[str]:
    return ["0"] + [f"{lo}-{hi}" if hi is not None else f">{lo - 1}" for lo, hi in bands]


def rare_word_counts(
    hypotheses: Sequence[Sequence[str]],
    references: Sequence[Sequence[str]],
    train_counts: Mapping[str, int],
    bands: Sequence[tuple[int, int | None]] = FREQUENCY_BANDS,
) -> dict:
    """Per sentence and training-frequency band: reference words, and how many of them
    the hypothesis produces (clipped: a hypothesis word counts at most as often as the
    reference has it, so longer outputs are not rewarded).

    Args:
        hypotheses, references: counted words (`counted_words`), one list per sentence.
        train_counts: training frequency of each counted word (`word_counts`).
        bands: inclusive `(lo, hi)` frequency ranges; `hi=None` is open. Words never
            seen in training go to an extra first band `0`.

    Returns:
        `{"labels": [...], "hits": (N, 1 + len(bands)) ints, "totals": same}` as lists.
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses for {len(references)} references")
    los = [0] + [lo for lo, _ in bands]
    hits, totals = [], []
    for hyp, ref in zip(hypotheses, references, strict=True):
        h, t = [0] * len(los), [0] * len(los)
        produced = Counter(hyp)
        for word, count in Counter(ref).items():
            freq = train_counts.get(word, 0)
            b = 0 if freq == 0 else bisect.bisect_right(los, freq) - 1
            t[b] += count
            h[b] += min(count, produced[word])
        hits.append(h)
        totals.append(t)
    return {"labels": _band_labels(bands), "hits": hits, "totals": totals}


def rare_word_accuracy(
    hypotheses: Sequence[Sequence[str]],
    references: Sequence[Sequence[str]],
    train_counts: Mapping[str, int],
    bands: Sequence[tuple[int, int | None]] = FREQUENCY_BANDS,
) -> list[dict]:
    """How many reference words the hypotheses get right, by the word's training frequency.

    A reference word counts as produced up to the number of times the hypothesis has it
    (clipped unigram recall, as in BLEU's 1-gram precision but from the reference side),
    so the measure needs no alignment between hypothesis and reference. Words never seen
    in training fall in an extra band `0` when there are any.

    Args:
        hypotheses, references: token lists, one per sentence (`counted_words`).
        train_counts: target-side training frequency of each word.
        bands: inclusive `(lo, hi)` frequency ranges; `hi=None` is open.

    Returns:
        one dict per band, `{"label", "lo", "hi", "n", "accuracy"}` (`n` = reference words in
        the band; accuracy in 0-1, None when `n` is 0).
    """
    return band_accuracy(rare_word_counts(hypotheses, references, train_counts, bands), bands)


def band_accuracy(
    counts: Mapping, bands: Sequence[tuple[int, int | None]] = FREQUENCY_BANDS
) -> list[dict]:
    """`rare_word_accuracy` from `rare_word_counts`' per-sentence counts (the same bands)."""
    hits = np.asarray(counts["hits"], dtype=np.int64).reshape(-1, len(bands) + 1).sum(0)
    totals = np.asarray(counts["totals"], dtype=np.int64).reshape(-1, len(bands) + 1).sum(0)
    out = []
    for i, ((lo, hi), label) in enumerate(zip([(0, 0), *bands], counts["labels"], strict=True)):
        if i == 0 and totals[0] == 0:
            continue  # no unseen words: leave the band out rather than show an empty row
        n = int(totals[i])
        out.append(
            {
                "label": label,
                "lo": lo,
                "hi": hi,
                "n": n,
                "accuracy": int(hits[i]) / n if n else None,
            }
        )
    return out
