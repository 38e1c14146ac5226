"""The report's typed records: strata, variant names and groups, the claims' records,
and their JSON."""

import json
from pathlib import Path

import numpy as np
import pytest

from ablate.report.claims import Declared, Holds, Verdict
from ablate.report.groups import name_runs
from ablate.report.read import Run, read_job
from ablate.report.record import natural, plain
from ablate.report.rows import Kind, Row
from ablate.report.stats import SeedTest, difference
from ablate.report.strata import ALL, FAR, JUMP_BANDS, RARE_BANDS, Stratum, StratumKind
from ablate.run_files import RunResults, write_results
from ablate.scores import BucketScore, Scores


def test_strata_print_as_summary_json_names_them():
    bucket = Stratum.bucket(BucketScore("01-10", 1, 10, 5))
    assert [str(s) for s in (ALL, bucket, FAR, RARE_BANDS[1])] == [
        "all",
        "01-10",
        "jump 10+",
        "freq 6-20",
    ]
    assert [b.label for b in JUMP_BANDS] == ["0-2", "3-9", "10+"]
    assert [b.axis_label for b in JUMP_BANDS] == ["00-02", "03-09", "10+"]
    # Kind and label make a stratum: a length bucket 10+ is not the jump band 10+.
    assert Stratum(StratumKind.LENGTH, "10+") != FAR
    assert Stratum(StratumKind.JUMP, "10+") == FAR


def test_jump_bands_partition_the_sentences():
    max_jump = np.array([0, 1, 2, 3, 9, 10, 25, 4])
    masks = [band.select(max_jump) for band in JUMP_BANDS]
    assert (np.sum(masks, axis=0) == 1).all()  # every sentence in exactly one band
    assert FAR.select(max_jump).tolist() == (max_jump >= 10).tolist()


def test_a_row_is_summary_json_shaped():
    test = difference(2.0, np.array([1.5, 2.5, 2.0, 1.0]), SeedTest(2.0, 0.4, 4.0), 3)
    r = Row(
        "toy_fr", "dot", "none", Kind.VS_NONE, FAR, 12, 80.0, 78.0, test.adjusted(0.01, "jumps", 4)
    )
    out = plain(r)
    assert out["kind"] == "vs none" and out["stratum"] == "jump 10+"
    assert list(out)[:8] == ["group", "a", "b", "kind", "stratum", "n", "a_score", "b_score"]
    assert out["significant"] is True and out["p_holm"] == 0.01
    assert (out["family"], out["family_size"], out["seeds"]) == ("jumps", 4, 3)
    assert out["p"] == max(out["p_sentences"], out["p_seeds"]) and out["untestable"] is None
    json.dumps(out, allow_nan=False)
    # Not testable (one seed): the reason travels, the p is null, not NaN.
    one = plain(r.with_test(difference(2.0, np.array([1.5, 2.5]), None, 1)))
    assert one["p"] is None and "1 seed per variant" in one["untestable"]
    json.dumps(one, allow_nan=False)


def test_the_claims_records_are_summary_json_shaped():
    declared = Declared("scores", "overall", 2.0)
    assert plain(declared) == {"name": "scores", "family": "overall", "margin": 2.0}
    v = Verdict("scores", "toy_fr", Holds.INCONCLUSIVE, "line", "overall", 6, declared=False)
    assert plain(v) == {
        "claim": "scores",
        "group": "toy_fr",
        "verdict": "inconclusive",
        "family": "overall",
        "family_size": 6,
        "declared": False,
        "line": "line",
    }
    assert plain({"x": float("nan"), "y": np.float64(1.5)}) == {"x": None, "y": 1.5}
    assert sorted(["h=128", "h=32", "h=64"], key=natural) == ["h=32", "h=64", "h=128"]


def run(dataset, attention, seed, overrides, name=None) -> Run:
    scores = Scores(50.0, 60.0, 10.0, {"bleu": "tok:13a"}, (BucketScore("01-10", 1, 10, 3),))
    results = RunResults(attention, dataset, seed, "complete", scores=scores)
    return Run(Path(f"/sweep/{name or attention}-{seed}"), tuple(overrides), results)


def named(runs):
    return [(r.variant, r.group) for r in name_runs(runs)]


def test_another_model_is_another_group_even_without_a_clash():
    # No name and seed clash, yet default and big are different models: never compared.
    runs = [
        run("toy_fr", "none", 0, ["attention=none", "model=default"]),
        run("toy_fr", "dot", 0, ["attention=dot", "model=big"]),
        run("toy_fr", "additive", 1, ["attention=additive", "model=big"]),
    ]
    assert named(runs) == [
        ("none model=default", "toy_fr model=default"),
        ("dot model=big", "toy_fr model=big"),
        ("additive model=big", "toy_fr model=big"),
    ]
    runs = [
        run("toy_fr", "none", 0, ["attention=none", "model.hidden=8"]),
        run("toy_fr", "dot", 0, ["attention=dot", "+model.hidden=16"]),
    ]
    assert [g for _, g in named(runs)] == ["toy_fr model.hidden=8", "toy_fr model.hidden=16"]
    runs = [
        run("toy_fr", "dot", 0, ["attention=dot", "model/decoder=rnn"]),
        run("toy_fr", "dot", 1, ["attention=dot", "model/decoder=transformer"]),
    ]
    assert [g for _, g in named(runs)] == [
        "toy_fr model/decoder=rnn",
        "toy_fr model/decoder=transformer",
    ]


def test_other_axes_name_a_variant_only_where_they_clash():
    runs = [
        run("toy_fr", "none", 0, ["attention=none", "trainer.max_epochs=2"]),
        run("toy_fr", "dot", 0, ["attention=dot", "trainer.max_epochs=3"]),
    ]
    assert named(runs) == [("none", "toy_fr"), ("dot", "toy_fr")]
    runs += [run("toy_fr", "dot", 0, ["attention=dot", "trainer.max_epochs=2"], name="dot2")]
    assert named(runs) == [
        ("none trainer.max_epochs=2", "toy_fr trainer.max_epochs=2"),
        ("dot trainer.max_epochs=3", "toy_fr trainer.max_epochs=3"),
        ("dot trainer.max_epochs=2", "toy_fr trainer.max_epochs=2"),
    ]
    # A re-run of one configuration and seed: both kept, told apart by their dir.
    again = [run("toy_fr", "dot", 0, ["attention=dot"]), run("toy_fr", "dot", 0, [], name="x")]
    assert [v for v, _ in named(again)] == ["dot [dot-0]", "dot [x-0]"]


@pytest.mark.parametrize(
    ("status", "scores", "reason"),
    [
        ("diverged", None, "status: diverged"),
        ("complete", None, "results.json lacks bleu"),
    ],
)
def test_a_job_without_test_scores_is_a_failure(tmp_path, status, scores, reason):
    write_results(tmp_path, RunResults("dot", "toy_fr", 0, status, scores=scores))
    failure = read_job(tmp_path)
    assert failure.reason == reason and failure.dir == tmp_path
