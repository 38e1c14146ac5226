"""The throughput benchmark's arithmetic: training ratios are medians of per-round ratios,
so a slow round that hits every variant alike leaves them unchanged. No timings here."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from throughput import ratios  # noqa: E402


def _row(attention, tokens, greedy=100.0, beam=20.0):
    return {
        "attention": attention,
        "train_tokens_per_s": tokens,
        "greedy_sentences_per_s": greedy,
        "beam5_sentences_per_s": beam,
    }


def test_training_ratios_are_medians_of_per_round_ratios():
    # Round 2 runs at half speed for everyone: per-round ratios do not move.
    rounds = {
        "train_tokens_per_s": {
            "none": [20.0, 10.0, 20.0],
            "additive": [16.0, 8.0, 16.0],
            "reference": [4.0, 2.0, 5.0],
        }
    }
    results = [_row("none", 20.0, greedy=600.0), _row("additive", 16.0, beam=40.0)]
    reference = _row("additive", 4.0, greedy=60.0, beam=10.0)
    r = ratios(results, reference, rounds)
    assert r["train_tokens_per_s_vs_reference"] == {"none": 5.0, "additive": 4.0}
    assert r["train_cost_vs_none_pct"] == pytest.approx({"none": 0.0, "additive": 25.0})
    # decoding ratios divide the table's figures
    assert r["greedy_sentences_per_s_vs_reference"] == {"none": 10.0, "additive": 100.0 / 60.0}
    assert r["beam5_sentences_per_s_vs_reference"] == {"none": 2.0, "additive": 4.0}
