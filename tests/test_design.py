"""The design check a sweep prints when it starts (`ablate.report.design`): what a
declared design can decide, against the tests the report will run (scipy's t, Welch's
interval, `judge`'s Holm families), and the swept values read by Hydra's own grammar."""

import itertools
import math
import re

import numpy as np
import pytest
from scipy import stats as scipy_stats
from test_claims import evidence, row

from ablate.report.claims import CLAIMS, Declared, judge, parse_claims
from ablate.report.design import Design, check, design_of
from ablate.report.design import tests_of as count_tests  # not collected as a test
from ablate.report.stats import ALPHA, SeedTest
from ablate.sweep_report import sweep_values

FIVE = ("none", "dot", "scaled_dot", "additive", "multiplicative")
# attention and scores in one family: 4 rows vs none and 6 pairs in a group of FIVE.
OVERALL = [Declared("attention", "overall"), Declared("scores", "overall", 2.0)]


def line_of(lines, name: str) -> str:
    (found,) = [ln for ln in lines if ln.startswith(f"{name}: ")]
    return found


def samples(n: int, sd: float, mean: float = 0.0) -> np.ndarray:
    """`n` values with exactly this mean and sample sd."""
    z = np.arange(n, dtype=float) - (n - 1) / 2
    return mean + sd * z / z.std(ddof=1)


# --------------------------------------------------------------------------- counts


def test_tests_of_counts_a_groups_tests():
    design = Design(FIVE, seeds=3)
    assert design.with_attention == 4 and design.baseline
    counts = {n: count_tests(n, design) for n in CLAIMS}
    assert counts == {
        "attention": 4,
        "length": 4,
        "scores": 6,
        "rare_words": 8,  # two rare bands per variant
        "reordering": 4,
        "scores_tuned": 6,
        "dims_growth": 0,  # no sizes swept
        "dims_scaled": 0,
        "dims_britz": 0,
    }
    assert counts["scores"] == len(list(itertools.combinations(FIVE[1:], 2)))
    without = Design(FIVE[1:], seeds=3)
    assert count_tests("attention", without) == 0 and count_tests("scores", without) == 6
    sized = Design(FIVE, seeds=2, dims=4)
    assert [count_tests(n, sized) for n in ("dims_growth", "dims_scaled", "dims_britz")] == [
        2,
        1,
        4,
    ]
    assert count_tests("a claim of someone else's", design) == 0


def test_the_family_the_design_counts_is_the_one_the_report_corrects():
    # The same declared family, counted before the run and corrected after it.
    (line,) = [ln for ln in check(OVERALL, Design(FIVE, 3))[0] if ln.startswith("attention")]
    assert "family overall (10 tests)" in line
    vs_none = [row(a, 5.0, True) for a in FIVE[1:]]
    pairs = [row(a, 0.1, False, b=b) for a, b in itertools.combinations(FIVE[1:], 2)]
    found = judge(OVERALL, {"group": [("g", evidence(bleu=(*vs_none, *pairs)))]})
    assert {v.family_size for v in found} == {10}


def test_a_family_shared_by_a_group_claim_and_a_dims_claim_is_refused():
    # judge corrects each kind of evidence apart (a group's table, a family's sizes), so
    # one family over both would be counted whole by check and split by judge: refused.
    with pytest.raises(ValueError, match=r"family 'shared'.*group: attention.*dims: dims_growth"):
        parse_claims({"attention": {"family": "shared"}, "dims_growth": {"family": "shared"}})
    found = parse_claims({"attention": {"family": "a"}, "dims_growth": {"family": "b"}})
    assert [d.family for d in found] == ["a", "b"]


# --------------------------------------------------------------------------- check


def test_one_seed_can_decide_nothing():
    lines, warnings = check(OVERALL, Design(FIVE, seeds=1))
    assert lines == []
    (warning,) = warnings
    assert "1 seed per variant: no claim can be decided" in warning
    assert "seed=0,1,2" in warning


@pytest.mark.parametrize(("seeds", "warned"), [(2, True), (3, False), (5, False)])
def test_a_ten_test_family_warns_at_two_seeds(seeds, warned):
    lines, warnings = check(OVERALL, Design(FIVE, seeds=seeds))
    assert len(lines) == 2
    # Holm's first step over 10 tests at Welch's most degrees of freedom, 2n - 2.
    need = scipy_stats.t.ppf(1 - ALPHA / 20, 2 * seeds - 2)
    line = line_of(lines, "attention")
    assert f"must reach {need:.1f} standard errors over {seeds} seeds" in line
    assert "(p < 0.005)" in line
    assert bool(warnings) is warned
    if warned:
        (warning,) = warnings
        assert warning.startswith("attention: 2 seeds per variant and 10 tests in family overall")
        assert "use >= 3 seeds or fewer declared tests" in warning  # 3 seeds: t = 5.6


@pytest.mark.parametrize("seeds", [2, 3, 5])
def test_a_difference_of_the_needed_standard_errors_just_passes_holms_first_step(seeds):
    # At equal variances Welch's df is 2n - 2: a difference of `need` standard errors has
    # p = alpha / m exactly.
    line = line_of(check(OVERALL, Design(FIVE, seeds=seeds))[0], "attention")
    need = float(re.search(r"must reach ([\d.]+) standard errors", line)[1])
    a, b = samples(seeds, 1.0), samples(seeds, 1.0)
    se = math.sqrt(2 / seeds)
    at = SeedTest.welch(a + need * se, b)
    assert at.df == pytest.approx(2 * seeds - 2)
    assert at.p() == pytest.approx(ALPHA / 10, rel=0.05)  # `need` is printed to 0.1


@pytest.mark.parametrize("seeds", [2, 3, 5])
def test_the_similarity_line_gives_the_spread_that_fits_the_margin(seeds):
    line = line_of(check(OVERALL, Design(FIVE, seeds=seeds))[0], "scores")
    assert "similar within ±2 needs a seed-to-seed sd below" in line
    t90 = scipy_stats.t.ppf(1 - ALPHA, 2 * seeds - 2)
    spread = 2.0 / (t90 * math.sqrt(2 / seeds))
    assert f"sd below {spread:.2g} (at a true difference of 0)" in line
    # At a true difference of 0: seeds a little tighter than the spread fit ±2 (Welch's
    # 90% interval inside), a little looser do not.
    for factor, inside in ((0.97, True), (1.03, False)):
        sd = spread * factor
        low, high = SeedTest.welch(samples(seeds, sd), samples(seeds, sd)).interval(0.90)
        assert (low > -2.0 and high < 2.0) is inside, factor
    assert not check(OVERALL, Design(FIVE, seeds=2))[1][0].startswith("scores")


def test_claims_the_design_has_no_tests_for_get_no_line():
    declared = [Declared("attention", "overall"), Declared("dims_growth", "dims")]
    lines, warnings = check(declared, Design(FIVE[1:], seeds=3))  # no none, no sizes
    assert lines == [] and warnings == []


# --------------------------------------------------------------------------- sweep values


def test_sweep_values_read_hydras_grammar():
    params = {
        "seed": "0,1,2",
        "attention": "none,dot",
        "optim.lr": "tag(log, interval(1e-3, 3e-2))",  # a range to tune over: no list
        "model.dropout": "interval(0.0, 0.4)",
    }
    assert sweep_values(params, []) == {"seed": ["0", "1", "2"], "attention": ["none", "dot"]}
    assert sweep_values({"seed": "range(3)"}, [])["seed"] == ["0", "1", "2"]
    assert sweep_values({"seed": "range(1,4)"}, [])["seed"] == ["1", "2", "3"]
    assert sweep_values({}, ["model.hidden=32,64,128"]) == {"model.hidden": ["32", "64", "128"]}


def test_the_command_line_wins_over_the_params():
    params = {"seed": "0,1", "attention": "none,dot,additive"}
    found = sweep_values(params, ["seed=0,1,2,3,4", "attention=dot"])
    assert found == {"seed": ["0", "1", "2", "3", "4"], "attention": ["dot"]}
    assert sweep_values({"seed": "0,1,2"}, ["seed=7"])["seed"] == ["7"]
    # An interval on the command line unlists the key.
    assert "seed" not in sweep_values({"seed": "0,1"}, ["seed=interval(0, 5)"])
    # An ordinary override of another key is not a swept value.
    assert sweep_values({}, ["dataset.train_size=100"]) == {}


def test_design_of_the_swept_values():
    values = sweep_values(
        {"attention": ",".join(FIVE), "seed": "0,1", "model.hidden": "32,64,128,256"}, []
    )
    design = design_of(values)
    assert design == Design(FIVE, seeds=2, dims=4)
    assert design_of(values, [0, 1, 2]).seeds == 3  # a tuning sweep's final seeds
    assert design_of({"attention": ["dot"]}) == Design(("dot",), seeds=1, dims=0)
    assert design_of({"model.hidden": ["32"]}).dims == 0  # one size: no comparison across d
