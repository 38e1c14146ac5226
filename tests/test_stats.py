"""The report's statistics against references: sacrebleu's BLEU, a brute-force bootstrap,
Holm by hand, the t distribution."""

import itertools
import math

import numpy as np
import pytest
import sacrebleu
from sacrebleu.metrics import BLEU

from ablate.metrics import bleu_from_stats, sentence_bleu_stats
from ablate.report.stats import (
    Bootstrap,
    difference,
    format_p,
    holm,
    mean_ci,
    n_replicates_for,
    ratio_from_stats,
    slope,
    t_quantile_975,
)


def test_bleu_from_stats_agrees_with_sacrebleu_row_by_row():
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(2000):
        total = np.sort(rng.integers(0, 30, 4))[::-1]
        correct = [rng.integers(0, t + 1) if rng.random() < 0.8 else 0 for t in total]
        rows.append([total[0], rng.integers(0, 40), *correct, *total])
    rows = np.array(rows)
    ours = bleu_from_stats(rows)
    ref = [
        BLEU.compute_bleu(list(r[2:6]), list(r[6:10]), int(r[0]), int(r[1]), "exp").score
        for r in rows
    ]
    np.testing.assert_allclose(ours, ref, atol=1e-9)


def test_sentence_stats_sum_to_sacrebleus_corpus_bleu():
    # The one private sacrebleu call (pinned <3): its rows must add up to corpus BLEU.
    hyps = ["the cat sat on the mat", "a dog , barking .", "", "x y z"]
    refs = ["the cat sat on a mat", "a dog barking .", "nothing here", "x y z"]
    stats = sentence_bleu_stats(hyps, refs, tokenize="13a")
    assert stats.shape == (4, 10)
    expected = sacrebleu.corpus_bleu(hyps, [refs], tokenize="13a").score
    assert bleu_from_stats(stats.sum(0)) == pytest.approx(expected, abs=1e-9)
    assert bleu_from_stats(stats[[0, 3]].sum(0)) == pytest.approx(
        sacrebleu.corpus_bleu([hyps[0], hyps[3]], [[refs[0], refs[3]]], tokenize="13a").score
    )


def _exact_two_level(a_runs, b_runs, metric):
    """Every equally likely replicate of the two-level paired bootstrap, enumerated."""
    n = a_runs[0].shape[0]
    diffs = []
    for draw in itertools.product(range(n), repeat=n):  # sentences, shared
        counts = np.bincount(draw, minlength=n).astype(float)
        a_scores = [metric(counts @ r) for r in a_runs]
        b_scores = [metric(counts @ r) for r in b_runs]
        for sa in itertools.product(range(len(a_runs)), repeat=len(a_runs)):
            for sb in itertools.product(range(len(b_runs)), repeat=len(b_runs)):
                diffs.append(
                    np.mean([a_scores[i] for i in sa]) - np.mean([b_scores[i] for i in sb])
                )
    return np.array(diffs)


def test_two_level_bootstrap_matches_brute_force_enumeration():
    # 3 sentences, 2 seeds each: 3^3 sentence draws x 2^2 x 2^2 seed draws = 432 cases.
    a_runs = [np.array([[3, 4], [1, 2], [2, 5]]), np.array([[4, 4], [0, 2], [3, 5]])]
    b_runs = [np.array([[1, 4], [1, 2], [0, 5]]), np.array([[2, 4], [2, 2], [1, 5]])]
    exact = _exact_two_level(a_runs, b_runs, ratio_from_stats)
    boot = Bootstrap(40_000, seed=1)
    obs_a, reps_a = boot.variant("a", "all", a_runs, ratio_from_stats)
    obs_b, reps_b = boot.variant("b", "all", b_runs, ratio_from_stats)
    reps = reps_a - reps_b
    assert obs_a - obs_b == pytest.approx(
        np.mean([ratio_from_stats(r.sum(0)) for r in a_runs])
        - np.mean([ratio_from_stats(r.sum(0)) for r in b_runs])
    )
    # The Monte Carlo distribution is the exact one, up to sampling error.
    assert reps.mean() == pytest.approx(exact.mean(), abs=0.3)
    assert reps.std() == pytest.approx(exact.std(), rel=0.03)
    # The whole distribution: largest gap between the two CDFs over the exact support.
    support = np.unique(np.round(exact, 9))
    cdf_exact = np.searchsorted(np.sort(np.round(exact, 9)), support, side="right") / exact.size
    cdf_boot = np.searchsorted(np.sort(np.round(reps, 9)), support, side="right") / reps.size
    assert np.abs(cdf_exact - cdf_boot).max() < 0.015
    d = difference(obs_a - obs_b, reps)
    observed = obs_a - obs_b
    p_exact = np.mean(np.abs(exact - observed) >= abs(observed) - 1e-9)
    assert d.p == pytest.approx(p_exact, abs=0.01)


def test_seed_level_variance_widens_the_interval():
    # Same sentences, same mean; B's seeds disagree wildly, so the difference is uncertain.
    rng = np.random.default_rng(0)
    n = 200
    a_runs = [np.stack([rng.integers(5, 10, n), np.full(n, 10)], 1) for _ in range(3)]
    steady = [np.stack([r[:, 0] - 2, r[:, 1]], 1) for r in a_runs]
    lucky = [
        np.stack([np.clip(r[:, 0] + s, 0, 10), r[:, 1]], 1)
        for r, s in zip(a_runs, (-5, -4, 3), strict=True)
    ]
    boot = Bootstrap(5000, seed=0)
    oa, ra = boot.variant("a", "all", a_runs, ratio_from_stats)
    o1, r1 = boot.variant("steady", "all", steady, ratio_from_stats)
    o2, r2 = boot.variant("lucky", "all", lucky, ratio_from_stats)
    narrow, wide = difference(oa - o1, ra - r1), difference(oa - o2, ra - r2)
    assert narrow.p < 0.001 and narrow.ci_low > 0
    assert wide.ci_high - wide.ci_low > 3 * (narrow.ci_high - narrow.ci_low)


def test_identical_systems_give_p_one():
    runs = [np.array([[3, 4], [1, 2], [2, 5]])]
    boot = Bootstrap(1000, seed=0)
    oa, ra = boot.variant("a", "all", runs, ratio_from_stats)
    ob, rb = boot.variant("b", "all", runs, ratio_from_stats)
    d = difference(oa - ob, ra - rb)
    assert d.diff == 0 and d.p == 1.0


def test_p_value_floor_and_its_format():
    reps = np.full(9999, 5.0) + np.random.default_rng(0).normal(0, 0.1, 9999)
    d = difference(5.0, reps)
    assert d.p == d.p_floor == pytest.approx(1e-4)
    assert format_p(d.p, at_floor=True) == "< 0.0001"
    assert format_p(0.0123) == "0.012" and format_p(0.5) == "0.50" and format_p(None) == "–"
    # 70 comparisons at alpha 0.05: Holm's smallest threshold is 0.0007, so R >= 10,000.
    assert n_replicates_for(70) == 10_000 and 1 / (n_replicates_for(70) + 1) < 0.05 / 70
    assert 1 / (n_replicates_for(5000) + 1) < 0.05 / 5000


def test_holm_against_a_hand_example():
    # m = 4, sorted p: 0.01, 0.02, 0.03, 0.04 → 0.04, 0.06, 0.06 (running max), 0.06;
    # in input order, with an untested entry kept as None.
    adjusted = holm([0.03, None, 0.01, 0.04, 0.02])
    assert adjusted[1] is None
    assert [round(p, 10) if p is not None else None for p in adjusted] == [
        0.06,
        None,
        0.04,
        0.06,
        0.06,
    ]
    assert holm([0.5, 0.9]) == [1.0, 1.0]  # capped at 1
    assert holm([]) == []


def test_slope_is_least_squares():
    x = [5.0, 15.0, 25.0, 40.0]
    y = np.array([[1.0, 3.0, 5.0, 8.0], [0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(slope(x, y), [np.polyfit(x, y[0], 1)[0], 0.0])


def test_t_quantile_and_mean_ci():
    assert t_quantile_975(2) == pytest.approx(4.3027)
    assert t_quantile_975(200) == pytest.approx(1.971896, abs=1e-5)
    m, low, high = mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0 and (high - low) / 2 == pytest.approx(4.3027 * 1.0 / math.sqrt(3))
    assert mean_ci([1.0]) == (1.0, None, None)
