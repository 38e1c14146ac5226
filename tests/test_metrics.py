"""Scores agree with sacrebleu, bootstrap CIs behave, alignment metrics check out by hand."""

import math
import random

import numpy as np
import pytest
import sacrebleu

from ablate.alignment import alignment_scores
from ablate.buckets import Bucket, make_buckets
from ablate.metrics import bucket_scores, corpus_scores

EDGES = [1, 11, 21, 31, 41, 51, 61]
VOCAB = [f"w{i}" for i in range(40)] + ["le", "chat", "noir", ",", ".", "l'", "était"]


def synthetic(n: int, seed: int = 0, max_len: int = 70):
    """References of random length and noisy hypotheses (substitutions, drops, copies)."""
    rng = random.Random(seed)
    hyps, refs, lengths = [], [], []
    for _ in range(n):
        length = rng.randint(1, max_len)
        ref = [rng.choice(VOCAB) for _ in range(rng.randint(1, max_len))]
        noise = rng.choice([0.0, 0.1, 0.3, 0.6])
        hyp = [t if rng.random() >= noise else rng.choice(VOCAB) for t in ref]
        if rng.random() < 0.3:
            hyp = hyp[: max(0, len(hyp) - rng.randint(1, 4))]
        hyps.append(" ".join(hyp))
        refs.append(" ".join(ref))
        lengths.append(length)
    return hyps, refs, lengths


@pytest.mark.parametrize("tokenize", ["none", "13a"])
def test_bucket_bleu_equals_sacrebleu_on_the_subset(tokenize):
    hyps, refs, lengths = synthetic(400)
    buckets = make_buckets("edges", edges=EDGES)
    rows = bucket_scores(hyps, refs, lengths, buckets, tokenize=tokenize, n_bootstrap=50)
    assert [r["label"] for r in rows] == [b.label for b in buckets]
    for row, bucket in zip(rows, buckets, strict=True):
        ids = [k for k, n in enumerate(lengths) if bucket.contains(n)]
        sub_h, sub_r = [hyps[k] for k in ids], [refs[k] for k in ids]
        assert row["n"] == len(ids) > 0
        assert row["bleu"] == sacrebleu.corpus_bleu(sub_h, [sub_r], tokenize=tokenize).score
        assert row["chrf"] == pytest.approx(sacrebleu.corpus_chrf(sub_h, [sub_r]).score)
        exact = sum(h.split() == r.split() for h, r in zip(sub_h, sub_r, strict=True))
        assert row["exact_match"] == pytest.approx(100 * exact / len(ids))


def test_ci_brackets_the_point_estimate():
    hyps, refs, lengths = synthetic(600, seed=1)
    rows = bucket_scores(hyps, refs, lengths, make_buckets("edges", edges=EDGES), tokenize="none")
    for row in rows:
        assert row["n"] > 20
        assert row["bleu_ci_low"] <= row["bleu"] <= row["bleu_ci_high"]
        assert row["bleu_ci_low"] < row["bleu_ci_high"]


def test_bootstrap_is_deterministic_given_the_seed():
    hyps, refs, lengths = synthetic(300, seed=2)
    buckets = make_buckets("edges", edges=EDGES)
    a = bucket_scores(hyps, refs, lengths, buckets, tokenize="none", n_bootstrap=200, seed=7)
    b = bucket_scores(hyps, refs, lengths, buckets, tokenize="none", n_bootstrap=200, seed=7)
    c = bucket_scores(hyps, refs, lengths, buckets, tokenize="none", n_bootstrap=200, seed=8)
    assert a == b
    assert [r["bleu_ci_low"] for r in a] != [r["bleu_ci_low"] for r in c]
    assert [r["bleu"] for r in a] == [r["bleu"] for r in c]


def test_single_sentence_bucket_has_a_degenerate_interval():
    rows = bucket_scores(
        ["le chat noir était assis"],
        ["le chat noir était assis"],
        [5],
        [Bucket("01+", 1, None)],
        tokenize="none",
    )
    assert rows[0]["bleu"] == rows[0]["bleu_ci_low"] == rows[0]["bleu_ci_high"]
    assert rows[0]["bleu"] == pytest.approx(100.0)


def test_empty_buckets_are_kept_with_none_scores():
    hyps, refs, _ = synthetic(30, seed=3)
    lengths = [5] * 15 + [65] * 15
    rows = bucket_scores(hyps, refs, lengths, make_buckets("edges", edges=EDGES), tokenize="none")
    assert [r["n"] for r in rows] == [15, 0, 0, 0, 0, 0, 15]
    for row in rows[1:-1]:
        scores = [row[k] for k in ("bleu", "bleu_ci_low", "bleu_ci_high", "chrf", "exact_match")]
        assert scores == [None] * 5
        assert row["hi"] - row["lo"] == 9


def test_mismatched_inputs_raise():
    buckets = make_buckets("edges", edges=EDGES)
    with pytest.raises(ValueError, match="references"):
        bucket_scores(["a"], ["a", "b"], [1], buckets, tokenize="none")
    with pytest.raises(ValueError, match="source lengths"):
        bucket_scores(["a"], ["a"], [1, 2], buckets, tokenize="none")
    with pytest.raises(ValueError, match="references"):
        corpus_scores(["a", "b"], ["a"], tokenize="none")


@pytest.mark.parametrize("tokenize", ["none", "13a"])
def test_corpus_scores_agree_with_sacrebleu(tokenize):
    hyps, refs, _ = synthetic(200, seed=5)
    scores = corpus_scores(hyps, refs, tokenize=tokenize)
    assert scores["bleu"] == sacrebleu.corpus_bleu(hyps, [refs], tokenize=tokenize).score
    assert scores["chrf"] == sacrebleu.corpus_chrf(hyps, [refs]).score
    assert f"tok:{tokenize}" in scores["signature"]["bleu"]
    assert "nrefs:1" in scores["signature"]["chrf"]


def test_exact_match_ignores_only_whitespace():
    hyps = ["le chat noir", "le  chat noir ", "le chat", "Le chat noir"]
    refs = ["le chat noir"] * 4
    assert corpus_scores(hyps, refs, tokenize="none")["exact_match"] == 50.0


def diagonal(n: int) -> np.ndarray:
    return np.eye(n)


def test_perfect_diagonal_attention_on_a_copy_task():
    weights = [diagonal(n) for n in (1, 4, 9)]
    gold = [[(i, i) for i in range(n)] for n in (1, 4, 9)]
    scores = alignment_scores(weights, gold)
    assert scores == {"accuracy": 1.0, "aer": 0.0, "entropy": 0.0}


@pytest.mark.parametrize("S", [1, 3, 10])
def test_uniform_attention_has_entropy_log_s(S):
    weights = [np.full((5, S), 1.0 / S)]
    gold = [[(0, t) for t in range(5)]]
    assert alignment_scores(weights, gold)["entropy"] == pytest.approx(math.log(S))


def test_hand_made_example():
    # src: the black cat   tgt: le chat noir <eos>   (gold: the-le, cat-chat, black-noir)
    w = np.array(
        [
            [0.7, 0.2, 0.1],  # le    -> the   (right)
            [0.1, 0.6, 0.3],  # chat  -> black (wrong, gold is cat)
            [0.1, 0.8, 0.1],  # noir  -> black (right)
            [0.5, 0.0, 0.5],  # <eos> -> the   (argmax takes the first; no gold link)
        ]
    )
    gold = [(0, 0), (2, 1), (1, 2)]
    scores = alignment_scores([w], [gold])
    assert scores["accuracy"] == pytest.approx(2 / 3)
    # A = {(0,0), (1,1), (1,2), (0,3)}, S = gold, |A∩S| = 2: AER = 1 - 4/7.
    assert scores["aer"] == pytest.approx(1 - 4 / 7)
    rows = [[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.1, 0.8, 0.1], [0.5, 0.5]]
    per_row = [-sum(p * math.log(p) for p in row) for row in rows]
    assert scores["entropy"] == pytest.approx(sum(per_row) / 4)


def test_one_to_many_gold_accepts_any_gold_source():
    # "sat" -> "était assis": both targets link to source 0; "assis" also to source 1.
    w = np.array([[0.9, 0.1], [0.2, 0.8]])
    scores = alignment_scores([w], [[(0, 0), (0, 1), (1, 1)]])
    assert scores["accuracy"] == 1.0
    assert scores["aer"] == pytest.approx(1 - 2 * 2 / (2 + 3))


def test_alignment_rejects_links_outside_the_matrix():
    with pytest.raises(ValueError, match="outside"):
        alignment_scores([np.eye(3)], [[(0, 3)]])
    with pytest.raises(ValueError, match="gold alignments"):
        alignment_scores([np.eye(3)], [])


def test_rare_word_accuracy_by_training_frequency():
    from ablate.metrics import rare_word_accuracy

    counts = {"the": 500, "cat": 50, "zebra": 3, "mat": 10}
    refs = [["the", "cat", "sat"], ["the", "zebra", "the", "mat"]]
    hyps = [["the", "cat"], ["the", "mat", "mat"]]
    bands = {b["label"]: b for b in rare_word_accuracy(hyps, refs, counts)}
    assert bands["0"]["n"] == 1 and bands["0"]["accuracy"] == 0.0  # "sat": never trained
    assert bands["1-5"] == {"label": "1-5", "lo": 1, "hi": 5, "n": 1, "accuracy": 0.0}
    assert bands["6-20"]["accuracy"] == 1.0  # mat: once in the reference, clipped
    assert bands["21-100"]["accuracy"] == 1.0
    assert bands[">100"]["n"] == 3 and bands[">100"]["accuracy"] == 2 / 3
    assert rare_word_accuracy(refs, refs, counts)[-1]["accuracy"] == 1.0


def test_rare_words_count_words_after_the_bleu_tokenizer_without_case_or_punctuation():
    from ablate.metrics import counted_words, rare_word_accuracy, word_counts

    # Multi30k-style text: "fence." and "Two" are the frequent words "fence" and "two".
    assert counted_words("Two dogs jump over a fence.", "13a") == [
        "two",
        "dogs",
        "jump",
        "over",
        "a",
        "fence",
    ]
    assert counted_words("« Quoi ? » dit-il...", "13a") == ["quoi", "dit-il"]
    counts = word_counts(["two dogs near a fence", "Two cats, a fence."] * 3, "13a")
    assert counts["fence"] == counts["two"] == 6 and "." not in counts and "," not in counts
    bands = rare_word_accuracy(
        [counted_words("Two dogs.", "13a")], [counted_words("two dogs , a fence", "13a")], counts
    )
    assert {b["label"]: (b["n"], b["accuracy"]) for b in bands}["1-5"] == (1, 1.0)  # dogs


def test_rare_word_matches_are_clipped_by_the_reference_count():
    from ablate.metrics import rare_word_counts

    counts = rare_word_counts([["cat", "cat", "cat"]], [["cat", "dog"]], {"cat": 3, "dog": 3})
    assert counts["hits"] == [[0, 1, 0, 0, 0]] and counts["totals"] == [[0, 2, 0, 0, 0]]


def test_alignment_by_jump_counts_target_words_in_the_band_of_their_nearest_link():
    import numpy as np

    from ablate.alignment import alignment_by_jump, link_jumps

    # Reverse a 12-word sentence: jumps 11, 9, 7, ..., the middle words stay near.
    links = [(11 - j, j) for j in range(12)]
    jumps = link_jumps(links, 12, 12)
    assert jumps == [11, 9, 7, 5, 3, 1, 1, 3, 5, 7, 9, 11]
    w = np.eye(12)[::-1]  # the right answer for every target word
    out = alignment_by_jump([w], [links], [(12, 12)])
    assert out["labels"] == ["0-2", "3-9", "10+"]
    assert out["linked"] == [[2, 8, 2]] and out["correct"] == [[2, 8, 2]]
    assert out["max_jump"] == [11]
    none = alignment_by_jump(None, [links], [(12, 12)])
    assert none["correct"] is None and none["linked"] == [[2, 8, 2]]
