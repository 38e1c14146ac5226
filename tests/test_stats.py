"""The report's statistics against references: sacrebleu's BLEU, the bootstrap's exact
distribution by enumeration, scipy's Welch test, regression and t distribution, Holm by
hand, equivalence as two one-sided scipy tests, and an A/A simulation of the paired
test's false-positive rate."""

import itertools
import math

import numpy as np
import pytest
import sacrebleu
from sacrebleu.metrics import BLEU
from scipy import stats as scipy_stats

from ablate.metrics import bleu_from_stats, sentence_bleu_stats
from ablate.report.stats import (
    ALPHA,
    Bootstrap,
    PairedTest,
    Score,
    SeedTest,
    difference,
    format_p,
    holm,
    holm_adjusted,
    log_slope,
    mean_ci,
    n_replicates_for,
    overlap,
    paired,
    percentile_interval,
    ratio_from_stats,
    slope,
    t_quantile_975,
    trend,
)

# --------------------------------------------------------------------------- metrics


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


# --------------------------------------------------------------------------- bootstrap

A_RUNS = [np.array([[3, 4], [1, 2], [2, 5]]), np.array([[4, 4], [0, 2], [3, 5]])]
B_RUNS = [np.array([[1, 4], [1, 2], [0, 5]]), np.array([[2, 4], [2, 2], [1, 5]])]


def hits(values, total: int = 10) -> np.ndarray:
    """`(n, 2)` per-sentence `(hits, total)`: a run whose metric is `ratio_from_stats`."""
    values = np.asarray(values)
    return np.stack([values, np.full(values.shape, total)], axis=1)


def test_a_variants_score_is_its_seeds_mean_on_shared_sentence_draws():
    boot = Bootstrap(500, seed=0)
    a = boot.variant("all", A_RUNS, ratio_from_stats)
    per_seed = [float(ratio_from_stats(r.sum(0))) for r in A_RUNS]
    np.testing.assert_allclose(a.per_seed, per_seed)
    assert a.observed == pytest.approx(np.mean(per_seed)) and a.replicates.shape == (500,)
    # Each replicate: the mean over seeds of the metric on the drawn sentences.
    counts = boot.sentences("all", 3)
    assert (counts.sum(1) == 3).all()  # n draws with replacement
    np.testing.assert_allclose(
        a.replicates, np.mean([ratio_from_stats(counts @ r) for r in A_RUNS], axis=0)
    )
    # Paired: another variant on the same stratum reads the same draws, so a copy of A's
    # runs has A's replicates exactly; another stratum draws its own.
    copy = boot.variant("all", [r.copy() for r in A_RUNS], ratio_from_stats)
    np.testing.assert_array_equal(copy.replicates, a.replicates)
    other = boot.variant("bucket", A_RUNS, ratio_from_stats)
    assert not np.array_equal(other.replicates, a.replicates)
    with pytest.raises(ValueError, match="n_replicates"):
        Bootstrap(0)


def test_the_sentence_bootstrap_matches_brute_force_enumeration():
    # 3 sentences: the 3^3 equally likely draws give the bootstrap's exact distribution.
    exact = []
    for draw in itertools.product(range(3), repeat=3):
        counts = np.bincount(draw, minlength=3).astype(float)
        exact.append(
            np.mean([ratio_from_stats(counts @ r) for r in A_RUNS])
            - np.mean([ratio_from_stats(counts @ r) for r in B_RUNS])
        )
    exact = np.array(exact)
    boot = Bootstrap(40_000, seed=1)
    a = boot.variant("all", A_RUNS, ratio_from_stats)
    b = boot.variant("all", B_RUNS, ratio_from_stats)
    reps = a.replicates - b.replicates
    assert reps.mean() == pytest.approx(exact.mean(), abs=0.3)
    assert reps.std() == pytest.approx(exact.std(), rel=0.03)
    support = np.unique(np.round(exact, 9))
    cdf_exact = np.searchsorted(np.sort(np.round(exact, 9)), support, side="right") / exact.size
    cdf_boot = np.searchsorted(np.sort(np.round(reps, 9)), support, side="right") / reps.size
    assert np.abs(cdf_exact - cdf_boot).max() < 0.015
    observed = a.observed - b.observed
    p_exact = np.mean(np.abs(exact - observed) >= abs(observed) - 1e-9)
    assert paired(a, b).p_sentences == pytest.approx(p_exact, abs=0.01)


# --------------------------------------------------------------------------- paired


def welch_reference(a: Score, b: Score):
    return scipy_stats.ttest_ind(a.per_seed, b.per_seed, equal_var=False)


def both_reference(a: Score, b: Score) -> scipy_stats.rv_continuous:
    """Both levels at once, written out: the bootstrap's variance plus Welch's, less each
    side's own-seed sentence noise `(mean_s var_s - var_pooled) / (k - 1)`; Satterthwaite's
    df with the bootstrap's share known. A frozen t of the difference."""
    var_boot = float(np.var(a.replicates - b.replicates, ddof=1))
    welch = welch_reference(a, b)
    se_w = float(
        np.sqrt(
            np.var(a.per_seed, ddof=1) / a.per_seed.size
            + np.var(b.per_seed, ddof=1) / b.per_seed.size
        )
    )
    own = 0.0
    for side in (a, b):
        if side.seed_replicates is not None:
            k = side.seed_replicates.shape[1]
            each = np.mean([np.var(side.seed_replicates[:, s], ddof=1) for s in range(k)])
            pooled = np.var(side.seed_replicates.mean(axis=1), ddof=1)
            own += max(0.0, (each - pooled) / (k - 1))
    var = max(var_boot + se_w**2 - own, var_boot, se_w**2)
    df = welch.df * (var / se_w**2) ** 2 if se_w > 0 else 1e6
    return scipy_stats.t(min(df, 1e6), loc=a.observed - b.observed, scale=math.sqrt(var))


def assert_union_of_both_levels(test: PairedTest, a: Score, b: Score) -> None:
    boot = percentile_interval(a.replicates - b.replicates, 1 - ALPHA)
    seeds = welch_reference(a, b).confidence_interval(1 - ALPHA)
    both = both_reference(a, b).interval(1 - ALPHA)
    assert test.ci_low == pytest.approx(min(boot[0], seeds.low, both[0]))
    assert test.ci_high == pytest.approx(max(boot[1], seeds.high, both[1]))
    assert test.ci_low <= test.eq_low <= test.diff <= test.eq_high <= test.ci_high
    reference = both_reference(a, b)
    assert test.p_both == pytest.approx(2 * reference.sf(reference.mean() + abs(test.diff)))
    assert test.p == max(test.p_sentences, test.p_seeds, test.p_both)


def test_sentence_noise_makes_the_bootstrap_p_the_larger():
    # Every seed of a variant scores the same, so over seeds the small gain is sure; the
    # sentences disagree about it, so the bootstrap is not.
    rng = np.random.default_rng(0)
    base = rng.integers(0, 11, 40)
    b_hits = np.clip(base + rng.integers(-3, 4, 40), 0, 10)
    boot = Bootstrap(2000, seed=0)
    a = boot.variant("all", [hits(base)] * 3, ratio_from_stats)
    b = boot.variant("all", [hits(b_hits)] * 3, ratio_from_stats)
    test = paired(a, b)
    assert test.diff == pytest.approx(a.observed - b.observed) and test.diff != 0
    assert test.p_seeds == 0.0 and test.p_sentences > 0.05
    assert test.p >= test.p_sentences and test.seeds == 3 and test.untestable is None
    assert test.p_both == pytest.approx(test.p_sentences, rel=0.15)  # the bootstrap's, as a t


def test_a_seed_spread_makes_welchs_p_the_larger():
    # A gains one hit in every sentence (the bootstrap's p at its floor), but its seeds
    # are far apart: Welch's p over seeds counts, and equals scipy's.
    rng = np.random.default_rng(1)
    base = rng.integers(0, 15, 400)
    boot = Bootstrap(2000, seed=0)
    a = boot.variant("all", [hits(base + 1 + o, 20) for o in (-3, 0, 4)], ratio_from_stats)
    b = boot.variant("all", [hits(base + o, 20) for o in (0, 1, -1)], ratio_from_stats)
    test = paired(a, b)
    assert test.p_sentences == pytest.approx(test.p_floor) == pytest.approx(1 / 2001)
    assert test.p_seeds == pytest.approx(welch_reference(a, b).pvalue)
    assert test.p >= test.p_seeds > 0.3
    assert test.p_both == pytest.approx(test.p_seeds, abs=0.02)  # Welch's alone
    assert_union_of_both_levels(test, a, b)
    assert test.ci_low < 0 < test.ci_high  # as wide as the seeds say


@pytest.mark.parametrize("seed", range(5))
def test_paired_is_the_largest_p_and_the_union_of_the_intervals(seed):
    rng = np.random.default_rng(seed)
    R = 1000
    a = Score(0.8, 0.8 + rng.normal(0, rng.uniform(0.1, 1), R), rng.normal(0.8, 0.5, 3))
    b = Score(0.0, rng.normal(0, 0.3, R), rng.normal(0.0, rng.uniform(0.1, 2), 4))
    test = paired(a, b)
    assert test.p_seeds == pytest.approx(welch_reference(a, b).pvalue)
    assert test.seeds == 3 and test.n_replicates == R
    assert_union_of_both_levels(test, a, b)


def test_overlap_estimates_each_seeds_own_sentence_noise():
    # Over the sentence draws a seed's replicate is shared + own: var(own) / k is what
    # both levels count, and what `overlap` estimates.
    rng = np.random.default_rng(0)
    shared = rng.normal(0, 2.0, (20_000, 1))
    for k in (2, 3, 5):
        own = rng.normal(0, 1.0, (20_000, k))
        assert overlap(shared + own) == pytest.approx(1.0 / k, rel=0.05)
    assert overlap(np.repeat(shared, 3, axis=1)) == pytest.approx(0.0, abs=1e-9)
    assert overlap(None) == overlap(shared) == 0.0  # one seed: nothing to count twice


def test_both_levels_at_once_sees_what_each_level_misses():
    # A variant's own advantage on some sentences (the bootstrap sees it) and seeds that
    # scatter (Welch sees them), of equal size: the combined test's interval is wider than
    # either level's, and its p the largest.
    rng = np.random.default_rng(3)
    theta = rng.integers(5, 15, 500)
    boot = Bootstrap(2000, seed=0)
    runs = {
        name: [
            hits(np.clip(theta + own + rng.integers(-2, 3, 500) + offset, 0, 20), 20)
            for offset in rng.integers(-1, 2, 3)
        ]
        for name, own in (("a", rng.integers(-2, 3, 500)), ("b", rng.integers(-2, 3, 500)))
    }
    a, b = (boot.variant("all", runs[name], ratio_from_stats) for name in ("a", "b"))
    test = paired(a, b)
    assert_union_of_both_levels(test, a, b)
    assert test.p_both >= max(test.p_sentences, test.p_seeds) - 0.01
    assert overlap(a.seed_replicates) > 0 and overlap(b.seed_replicates) > 0


def test_identical_variants_give_p_one():
    runs = [hits([3, 1, 2, 7]), hits([4, 0, 3, 6])]
    boot = Bootstrap(1000, seed=0)
    a, b = (boot.variant("all", runs, ratio_from_stats) for _ in range(2))
    test = paired(a, b)
    assert test.diff == 0 and test.p == test.p_sentences == test.p_seeds == test.p_both == 1.0


def test_one_seed_a_side_is_not_testable_and_says_why():
    boot = Bootstrap(500, seed=0)
    a = boot.variant("all", [hits([9, 9, 8, 9, 10])], ratio_from_stats)
    b = boot.variant("all", [hits([1, 2, 1, 0, 2])] * 3, ratio_from_stats)
    test = paired(a, b)
    assert test.p is None and test.p_seeds is None and test.seeds == 1
    assert test.p_sentences is not None  # the sentence level still ran
    assert "1 seed per variant" in test.untestable and "seed-level" in test.untestable
    assert not test.within(1e9)  # untestable: not equivalent either
    adjusted = test.adjusted(None, "overall", 0)
    assert not adjusted.significant and not adjusted.positive
    assert SeedTest.welch([1.0], [2.0, 3.0]) is None
    assert SeedTest.welch([1.0, float("nan")], [2.0, 3.0]) is None  # one finite value


def test_welchs_interval_and_p_agree_with_scipy():
    a, b = [31.2, 29.8, 33.1, 30.4], [27.9, 30.5, 26.1]
    t = SeedTest.welch(a, b)
    ref = scipy_stats.ttest_ind(a, b, equal_var=False)
    assert t.diff == pytest.approx(np.mean(a) - np.mean(b))
    assert t.df == pytest.approx(ref.df) and t.p() == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval(0.95)
    assert t.interval(0.95) == pytest.approx((ci.low, ci.high))
    same = SeedTest.welch([2.0, 2.0], [1.0, 1.0])
    assert same.se == 0 and same.p() == 0.0 and same.interval(0.9) == (1.0, 1.0)


def test_the_regression_over_runs_agrees_with_scipy_linregress():
    rng = np.random.default_rng(3)
    x = np.repeat(np.log([32.0, 64.0, 128.0, 256.0]), 3)
    y = 0.4 * x + rng.normal(0, 0.3, x.size)
    t = SeedTest.regression(x, y)
    ref = scipy_stats.linregress(x, y)
    assert t.diff == pytest.approx(ref.slope) and t.se == pytest.approx(ref.stderr)
    assert t.p() == pytest.approx(ref.pvalue) and t.df == x.size - 2
    y_nan = np.append(y, np.nan)
    assert SeedTest.regression(np.append(x, 1.0), y_nan).diff == pytest.approx(ref.slope)
    assert SeedTest.regression([1.0, 2.0], [1.0, 2.0]) is None  # 2 points: no residual df
    assert SeedTest.regression([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]) is None  # one x


# --------------------------------------------------------------------------- equivalence


def tost(a, b, margin: float) -> float:
    """Two one-sided Welch tests of `|mean(a) - mean(b)| < margin` (Schuirmann): the
    larger of their p-values."""
    lower = scipy_stats.ttest_ind(np.add(a, margin), b, equal_var=False, alternative="greater")
    upper = scipy_stats.ttest_ind(np.add(a, -margin), b, equal_var=False, alternative="less")
    return max(lower.pvalue, upper.pvalue)


@pytest.mark.parametrize("margin", [0.2, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0])
def test_within_is_tost_at_the_seed_level(margin):
    # Replicates at the observed difference: the sentence level adds no width, so
    # `within` must be scipy's two one-sided tests at α.
    a, b = np.array([30.1, 30.9, 29.7]), np.array([29.8, 30.2, 31.0, 30.6])
    d = a.mean() - b.mean()
    test = paired(
        Score(a.mean(), np.full(200, a.mean()), a), Score(b.mean(), np.full(200, b.mean()), b)
    )
    assert test.diff == pytest.approx(d)
    assert test.within(margin) == bool(tost(a, b, margin) < ALPHA)


def test_within_needs_both_levels_inside_the_margin():
    a, b = np.array([30.1, 30.9, 29.7]), np.array([29.8, 30.2, 31.0, 30.6])
    assert tost(a, b, 2.0) < ALPHA and tost(a, b, 0.5) > ALPHA  # seeds: inside ±2, not ±0.5
    narrow = paired(
        Score(a.mean(), np.full(200, a.mean()), a), Score(b.mean(), np.full(200, b.mean()), b)
    )
    assert narrow.within(2.0) and not narrow.within(0.5)
    # The same seeds, but the sentences disagree by ±3: the union reaches past ±2.
    rng = np.random.default_rng(0)
    wide = paired(
        Score(a.mean(), a.mean() + rng.normal(0, 3, 2000), a),
        Score(b.mean(), np.full(2000, b.mean()), b),
    )
    assert not wide.within(2.0) and wide.within(10.0)


# --------------------------------------------------------------------------- Holm


def test_holm_against_a_hand_example():
    # m = 4, sorted p: 0.01, 0.02, 0.03, 0.04 → 0.04, 0.06, 0.06 (running max), 0.06;
    # in input order, with an untested entry kept as None.
    adjusted = holm([0.03, None, 0.01, 0.04, 0.02])
    assert [round(p, 10) if p is not None else None for p in adjusted] == [
        0.06,
        None,
        0.04,
        0.06,
        0.06,
    ]
    assert holm([0.5, 0.9]) == [1.0, 1.0]  # capped at 1
    assert holm([]) == []


def fixed_p(p: float | None) -> PairedTest:
    return PairedTest(1.0, 0.5, 1.5, p, 0.001, 999, eq_low=0.6, eq_high=1.4)


def test_holm_adjusted_names_the_family_and_counts_its_tests():
    tests = [fixed_p(0.01), fixed_p(None), fixed_p(0.02), fixed_p(0.04)]
    out = holm_adjusted(tests, "overall")
    assert [t.family for t in out] == ["overall"] * 4
    assert [t.family_size for t in out] == [3] * 4  # the untestable one is not counted
    assert [t.p_holm for t in out] == holm([t.p for t in tests])
    # m = 3: 3 · 0.01 = 0.03, then max(0.03, 2 · 0.02) = 0.04, then max(0.04, 0.04).
    assert out[0].p_holm == pytest.approx(0.03) and out[3].p_holm == pytest.approx(0.04)
    assert [t.significant for t in out] == [True, False, True, True]
    # A p that passes alone fails in a larger family.
    assert holm_adjusted([fixed_p(0.02)], "a")[0].significant
    assert not holm_adjusted([fixed_p(0.02)] + [fixed_p(0.5)] * 2, "b")[0].significant


def test_the_p_value_floor_and_its_format():
    reps = 5.0 + np.random.default_rng(0).normal(0, 0.1, 9999)
    test = difference(5.0, reps, SeedTest(5.0, 0.01, 10.0), 3)
    assert test.p == test.p_floor == pytest.approx(1e-4)
    (adjusted,) = holm_adjusted([test], "f")
    assert adjusted.p_at_floor and adjusted.significant
    assert format_p(test.p, at_floor=True) == "< 0.0001"
    assert format_p(0.0123) == "0.012" and format_p(0.5) == "0.50" and format_p(None) == "–"
    # 70 comparisons at alpha 0.05: Holm's smallest threshold is 0.0007, so R >= 10,000.
    assert n_replicates_for(70) == 10_000 and 1 / (n_replicates_for(70) + 1) < 0.05 / 70
    assert 1 / (n_replicates_for(5000) + 1) < 0.05 / 5000


def test_a_test_scaled_and_flipped_keeps_its_p():
    test = paired(
        Score(1.0, 1.0 + np.linspace(-0.5, 0.5, 101), np.array([0.8, 1.2, 1.0])),
        Score(0.0, np.zeros(101), np.array([0.1, -0.1, 0.0])),
    )
    ten = test.scaled(10.0)
    assert (ten.diff, ten.ci_low, ten.eq_high) == pytest.approx(
        (10 * test.diff, 10 * test.ci_low, 10 * test.eq_high)
    )
    assert ten.p == test.p
    back = test.flipped()
    assert (back.diff, back.ci_low, back.ci_high) == (-test.diff, -test.ci_high, -test.ci_low)
    assert (back.eq_low, back.eq_high) == (-test.eq_high, -test.eq_low) and back.p == test.p
    assert back.flipped() == test


# --------------------------------------------------------------------------- slopes


def test_slope_is_least_squares():
    x = [5.0, 15.0, 25.0, 40.0]
    y = np.array([[1.0, 3.0, 5.0, 8.0], [0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(slope(x, y), [np.polyfit(x, y[0], 1)[0], 0.0])


def test_trend_recovers_the_slope_of_the_gain():
    # A's gain over B grows by 0.3 per source word; each of A's seeds has its own slope.
    rng = np.random.default_rng(0)
    x = np.array([5.0, 15.0, 25.0, 40.0])
    R = 500
    noise = rng.normal(0, 0.2, (R, x.size))  # the shared sentence draws
    seed_slopes = np.array([0.25, 0.3, 0.35])
    b = [Score(20.0, 20.0 + noise[:, i], np.array([19.8, 20.0, 20.2])) for i in range(x.size)]
    a = [
        Score(20.0 + 2 + 0.3 * xi, 20.0 + 2 + 0.3 * xi + 1.1 * noise[:, i],
              20.0 + 2 + seed_slopes * xi)
        for i, xi in enumerate(x)
    ]  # fmt: skip
    test = trend(a, b, x)
    assert test.diff == pytest.approx(0.3)
    per_a = [np.polyfit(x, [s.per_seed[k] for s in a], 1)[0] for k in range(3)]
    per_b = [np.polyfit(x, [s.per_seed[k] for s in b], 1)[0] for k in range(3)]
    np.testing.assert_allclose(per_a, seed_slopes)
    assert test.p_seeds == pytest.approx(
        scipy_stats.ttest_ind(per_a, per_b, equal_var=False).pvalue
    )
    assert test.ci_low < 0.3 < test.ci_high and test.p == max(test.p_sentences, test.p_seeds)


def test_log_slope_recovers_the_exponent_paired_across_d():
    # score = c · d^½; the replicates' noise multiplies every d alike (the same drawn
    # sentences), so every replicate's slope is ½; the seeds' c differ.
    rng = np.random.default_rng(0)
    dims = np.array([32.0, 64.0, 128.0, 256.0])
    c = np.array([0.9, 1.0, 1.1])
    shared = np.exp(rng.normal(0, 0.1, 400))
    cells = [(d, Score(d**0.5, shared * d**0.5, c * d**0.5)) for d in dims]
    test = log_slope(cells)
    assert test.diff == pytest.approx(0.5)
    ref = scipy_stats.linregress(np.repeat(np.log(dims), 3), np.log(np.outer(dims**0.5, c).ravel()))
    assert ref.slope == pytest.approx(0.5)
    assert test.p_seeds == pytest.approx(ref.pvalue) and test.seeds == 3
    boot = percentile_interval(
        slope(np.log(dims), np.log(np.stack([shared * d**0.5 for d in dims], 1)))
    )
    assert boot == pytest.approx((0.5, 0.5))


def test_percentile_interval_is_the_definition():
    reps = np.arange(1001, dtype=float)  # the 2.5th and 97.5th percentiles: 25 and 975
    assert percentile_interval(reps, 0.95) == pytest.approx((25.0, 975.0))
    assert percentile_interval(reps, 0.90) == pytest.approx((50.0, 950.0))
    assert percentile_interval(np.append(reps, [np.nan, np.inf]), 0.95) == pytest.approx(
        (25.0, 975.0)
    )  # only the finite replicates
    assert percentile_interval(np.array([np.nan])) == (None, None)
    assert percentile_interval(np.array([])) == (None, None)


# --------------------------------------------------------------------------- calibration


def a_a_rates(seeds: int, sims: int = 300, n: int = 100, R: int = 199) -> tuple[float, float]:
    """The share of A/A simulations (no true difference; each seed shifts its model's
    hit rate, seed sd 0.08) that `paired` and its sentence level alone call significant."""
    rng = np.random.default_rng(seeds)
    rejected = sentences_only = 0
    for s in range(sims):
        difficulty = rng.uniform(0.2, 0.8, n)
        boot = Bootstrap(R, seed=s)

        def variant(boot=boot, difficulty=difficulty):
            runs = [
                hits(rng.binomial(10, np.clip(difficulty + rng.normal(0, 0.08), 0, 1)))
                for _ in range(seeds)
            ]
            return boot.variant("all", runs, ratio_from_stats)

        test = paired(variant(), variant())
        rejected += test.p < ALPHA
        sentences_only += test.p_sentences < ALPHA
    return rejected / sims, sentences_only / sims


@pytest.mark.parametrize("seeds", [2, 3])
def test_an_a_a_simulation_rejects_at_most_alpha(seeds):
    rate, sentences_only = a_a_rates(seeds)
    # 300 simulations: α plus three standard errors of a rate of α.
    assert rate <= ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / 300)
    # The sentence bootstrap alone ignores the seeds' spread: far above α.
    assert sentences_only > 4 * ALPHA


# --------------------------------------------------------------------------- over seeds


def test_t_quantile_and_mean_ci():
    assert t_quantile_975(2) == pytest.approx(scipy_stats.t.ppf(0.975, 2))
    assert t_quantile_975(200) == pytest.approx(1.971896, abs=1e-5)
    m, low, high = mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0 and (high - low) / 2 == pytest.approx(t_quantile_975(2) / math.sqrt(3))
    assert mean_ci([1.0]) == (1.0, None, None)
    with pytest.raises(ValueError, match="df"):
        t_quantile_975(0)
