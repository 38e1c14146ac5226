"""The equal-tuning claim in the report: judged as the similarity claim on the final runs
where every compared variant had a study of the same finished budget, not tested (and
saying why) where budgets differ or a variant was not tuned."""

import dataclasses
import json

import pytest
from test_claims import row

from ablate.report.claims import CLAIMS, Evidence, Holds, ScoresPerformSimilarly
from ablate.report.read import Run
from ablate.report.rows import Tables
from ablate.report.tuning import (
    ScoresSimilarAfterEqualTuning,
    Study,
    Tuning,
    claims_for,
    report_tuning,
    tuning_record,
)
from ablate.results import RunResults
from ablate.tuning.expected_max import expected_max
from ablate.tuning.record import TrialRecord, TuningRecord, VariantRecord, write_tuning


def trial(number, bleu, variant="dot"):
    return TrialRecord(number, {"optim.lr": 0.001 * (number + 1)}, bleu, "complete",
                       f"trials/{variant}/{number}")  # fmt: skip


def tuning(counts: dict[str, int], budget=4) -> Tuning:
    studies = []
    for name, n in counts.items():
        trials = [trial(k, 10.0 * k) for k in range(n)]
        studies.append(
            Study(name, (name,), n, trials[-1], expected_max([t.valid_bleu for t in trials]))
        )
    return Tuning(budget, {"optim.lr": "tag(log, interval(1e-3, 3e-2))"}, {"name": "tpe"},
                  (0, 1, 2), tuple(studies))  # fmt: skip


def judge(claim, rows):
    return claim.judge(Evidence("g", Tables(bleu=tuple(rows)), {}))


SIMILAR = [row("dot", +0.5, False, b="additive"), row("dot", +40.0, True)]  # vs none: not read
APART = [row("dot", +9.0, True, b="additive")]


@pytest.mark.parametrize(("rows", "holds"), [(SIMILAR, True), (APART, False)])
def test_equal_budgets_are_judged_as_the_similarity_claim_is(rows, holds):
    claim = ScoresSimilarAfterEqualTuning(tuning({"dot": 4, "additive": 4, "none": 4}))
    finding = judge(claim, rows)
    untuned = judge(ScoresPerformSimilarly(), rows)
    assert finding.holds is holds is untuned.holds
    assert finding.text.startswith(untuned.text) and "from 4 trials" in finding.text
    verdict = claim.verdict("g", finding, many=False)
    assert verdict.claim == "scores_tuned"
    assert verdict.verdict is (Holds.SUPPORTED if holds else Holds.NOT_SUPPORTED)
    assert verdict.line.startswith(
        'the score functions give "similar performance" after equal tuning (4 trials each)'
    )


def test_unequal_budgets_are_not_tested_and_say_so():
    claim = ScoresSimilarAfterEqualTuning(tuning({"dot": 4, "additive": 3}))
    finding = judge(claim, APART)
    assert finding.holds is None
    assert (
        "additive 3, dot 4 finished trials of 4" in finding.text and "resume=true" in finding.text
    )
    assert claim.verdict("g", finding, many=False).verdict is Holds.NOT_TESTED


def test_a_variant_without_a_study_is_not_tested():
    finding = judge(ScoresSimilarAfterEqualTuning(tuning({"dot": 4})), SIMILAR)
    assert finding.holds is None and finding.text.startswith("additive had no tuning study")


def test_a_tuning_sweep_swaps_the_similarity_claim_for_its_tuned_form():
    assert claims_for(None) == CLAIMS
    swapped = claims_for(tuning({"dot": 4}))
    assert [c.name for c in swapped] == [
        "scores_tuned" if c.name == "scores" else c.name for c in CLAIMS
    ]


def run(tmp_path, name, overrides) -> Run:
    results = RunResults(attention=overrides[0].split("=")[1], dataset="toy_fr", seed=0,
                         status="complete")  # fmt: skip
    return Run(tmp_path / name, tuple(overrides), results, variant=name.split("-")[0])


def test_studies_are_tied_to_the_runs_of_their_axes(tmp_path):
    variants = [
        VariantRecord(name, {"attention": name}, [trial(k, 5.0 + k, name) for k in range(3)])
        for name in ("dot", "additive")
    ]
    write_tuning(tmp_path, TuningRecord(3, [0], 2, {"name": "tpe", "seed": 0}, {}, variants))
    runs = [
        run(tmp_path, "dot-s0", ["attention=dot", "optim.lr=0.003", "seed=0"]),
        run(tmp_path, "additive-s0", ["attention=additive", "optim.lr=0.003", "seed=0"]),
    ]
    found = report_tuning(tmp_path, tuning_record(tmp_path), runs)
    assert [(s.study, s.variants, s.trials) for s in found.studies] == [
        ("dot", ("dot",), 3),
        ("additive", ("additive",), 3),
    ]
    assert found.studies[0].chosen.number == 2 and found.curves_png is None
    (tmp_path / "elsewhere").mkdir()
    assert tuning_record(tmp_path / "elsewhere") is None


def test_a_broken_tuning_record_names_the_file_and_the_fix(tmp_path):
    (tmp_path / "tuning.json").write_text(json.dumps({"variants": [{}]}))
    with pytest.raises(ValueError, match=r"tuning\.json is not a tuning record.*resume=true"):
        tuning_record(tmp_path)


def test_chosen_settings_name_no_variant_and_split_no_group(tmp_path):
    """Each variant's chosen lr and dropout differ: untuned, model.dropout would make each
    its own model (group) and nothing would be compared; tuned, they are its setting."""
    from ablate.report.groups import name_runs

    runs = [
        run(tmp_path, f"{a}-s{seed}", [f"attention={a}", f"model.dropout={p}", f"seed={seed}"])
        for a, p in (("dot", 0.1), ("additive", 0.3))
        for seed in (0, 1)
    ]
    runs = [dataclasses.replace(r, results=dataclasses.replace(r.results, seed=s))
            for r, s in zip(runs, (0, 1, 0, 1), strict=True)]  # fmt: skip
    assert len({r.group for r in name_runs(runs)}) == 2
    named = name_runs(runs, tuned=("model.dropout", "optim.lr"))
    assert [r.variant for r in named] == ["dot", "dot", "additive", "additive"]
    assert len({r.group for r in named}) == 1
