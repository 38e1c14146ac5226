"""The calibration benchmark on small cases: the report's pair rule keeps its A/A
false-positive rate near α where the seeds dominate the noise, the equivalence rule does
not call a difference of twice the margin "similar", and the JSON has its documented
fields. Each case a few hundred simulated designs through the report's own functions."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from calibration import MARGIN, REGIMES, Design, main, simulate  # noqa: E402


def _rate(rows, rule, outcome):
    (row,) = [r for r in rows if r.rule == rule and r.outcome == outcome]
    return row


def test_pair_rule_aa_false_positive_rate_at_3_seeds_in_the_seed_regime():
    design = Design("shift", 3, REGIMES["seed"], 500, 0.0, bleu=False)
    rows = simulate(design, 300, 200, 20, seed=1)
    row = _rate(rows, "pair", "differ")
    assert row.designs == 300 and row.true_diff == 0
    assert row.rate <= 0.10, row
    assert not [r for r in rows if r.outcome == "not testable"]  # Welch tests 3 seeds


def test_equivalence_says_similar_at_twice_the_margin_in_at_most_5_percent():
    # the sentence regime: the tightest intervals, where a false "similar" is likeliest
    design = Design("shift", 3, REGIMES["sentence"], 500, 2 * MARGIN, bleu=False)
    row = _rate(simulate(design, 200, 200, 20, seed=2), "equivalence", "similar")
    assert row.true_diff == 2 * MARGIN and row.margin == MARGIN
    assert row.rate <= 0.05, row


def test_json_has_the_documented_fields(tmp_path):
    path = tmp_path / "cal.json"
    argv = ["--designs", "4", "--ab-designs", "2", "--replicates", "50", "--seed-counts", "2"]
    argv += ["--sizes", "50", "--regimes", "seed", "--json", str(path)]
    assert main(argv) == 0
    payload = json.loads(path.read_text())
    assert payload["alpha"] == 0.05
    fields = {"rule", "seeds", "regime", "true_diff", "margin", "rate", "ci", "outcome"}
    fields |= {"designs", "n_sentences"}
    rules = set()
    for row in payload["rows"]:
        assert fields <= set(row), row
        assert row["ci"][0] <= row["rate"] <= row["ci"][1]
        assert (row["margin"] is None) == (row["rule"] not in ("equivalence", "similar_claim_aa"))
        rules.add(row["rule"])
    assert rules == {
        "pair",
        "pair_bleu",
        "bucket",
        "length_slope",
        "dims_slope",
        "equivalence",
        "similar_claim_aa",
    }
