"""The equal-tuning claim in the report (`scores_tuned`, `ablate.report.claims`): judged
as the similarity claim on the final runs where every compared variant had a study of
the same finished budget; inconclusive, saying why, where budgets differ, a variant was
not tuned or the sweep has no tuning record. Studies tied to runs; a tuning sweep
written by hand reported end to end, with and without declared claims."""

import dataclasses
import json

import pytest
from test_claims import assert_line, row
from test_report import N_BOOT, declare, make_sweep

from ablate.report import build_report, summary_markdown
from ablate.report.claims import (
    CLAIMS,
    DEFAULT_CLAIMS,
    Declared,
    Evidence,
    Holds,
    ScoresSimilarAfterEqualTuning,
    default_claims,
    judge,
)
from ablate.report.read import Run
from ablate.report.rows import Tables
from ablate.report.tuning import Study, TuningSummary, report_tuning, tuning_record
from ablate.run_files import RunResults
from ablate.tuning.expected_max import expected_max
from ablate.tuning.record import (
    TrainingBudget,
    TrialRecord,
    TuningRecord,
    VariantRecord,
    write_tuning,
)

S, NS, I = Holds.SUPPORTED, Holds.NOT_SUPPORTED, Holds.INCONCLUSIVE


def trial(number, bleu, variant="dot"):
    return TrialRecord(number, {"optim.lr": 0.001 * (number + 1)}, bleu, "complete",
                       f"trials/{variant}/{number}")  # fmt: skip


def tuning(counts: dict[str, int], budget=4, training=None) -> TuningSummary:
    studies = []
    for name, n in counts.items():
        trials = [trial(k, 10.0 * k) for k in range(n)]
        studies.append(
            Study(name, (name,), n, trials[-1], expected_max([t.valid_bleu for t in trials]))
        )
    return TuningSummary(budget, {"optim.lr": "tag(log, interval(1e-3, 3e-2))"}, {"name": "tpe"},
                  (0, 1, 2), tuple(studies), training=training)  # fmt: skip


def evidence(rows, tuned: TuningSummary | None) -> Evidence:
    return Evidence("g", Tables(bleu=tuple(rows)), {}, tuned)


def decide(name, rows, tuned: TuningSummary | None):
    claim = CLAIMS[name]
    ev = evidence(rows, tuned)
    return claim.decide(list(claim.tests(ev)), ev, Declared(name, "overall", 2.0))


def verdict(rows, tuned: TuningSummary | None):
    (v,) = judge(
        [Declared("scores_tuned", "overall", 2.0)], {"group": [("g", evidence(rows, tuned))]}
    )
    assert_line(v)
    return v


SIMILAR = [row("dot", +0.5, False, b="additive"), row("dot", +40.0, True)]  # vs none: not read
APART = [row("dot", +9.0, True, b="additive")]


@pytest.mark.parametrize(("rows", "holds"), [(SIMILAR, S), (APART, NS)])
def test_equal_budgets_are_judged_as_the_similarity_claim_is(rows, holds):
    tuned = tuning({"dot": 4, "additive": 4, "none": 4}, training="3,000 training pairs × 4 epochs")
    finding = decide("scores_tuned", rows, tuned)
    untuned = decide("scores", rows, None)
    assert finding.holds is holds is untuned.holds
    assert finding.text.startswith(untuned.text) and "from 4 trials" in finding.text
    assert finding.text.endswith("with seeds 0, 1, 2 at 3,000 training pairs × 4 epochs")
    v = verdict(rows, tuned)
    assert v.claim == "scores_tuned" and v.verdict is holds
    assert v.line.startswith(
        'the score functions give "similar performance" after equal tuning (4 trials each)'
    )


def test_unequal_budgets_are_inconclusive_and_say_so():
    finding = decide("scores_tuned", APART, tuning({"dot": 4, "additive": 3}))
    assert finding.holds is I  # though the pair differs: the budgets do not compare
    assert "additive 3, dot 4 finished trials of 4" in finding.text
    assert "resume=true" in finding.decide
    v = verdict(APART, tuning({"dot": 4, "additive": 3}))
    assert v.verdict is I and "to decide: finishing the tuning sweep (resume=true)" in v.line


def test_a_variant_without_a_study_is_inconclusive():
    finding = decide("scores_tuned", SIMILAR, tuning({"dot": 4}))
    assert finding.holds is I and finding.text.startswith("additive had no tuning study")
    assert finding.decide == "a study for every compared variant"


def test_a_sweep_without_tuning_is_inconclusive():
    finding = decide("scores_tuned", SIMILAR, None)
    assert finding.holds is I and finding.text == "the sweep has no tuning record"
    assert verdict(SIMILAR, None).verdict is I


def test_no_pairs_no_verdict():
    assert decide("scores_tuned", [row("dot", 40.0, True)], tuning({"dot": 4})) is None


def test_a_tuning_sweep_swaps_the_similarity_claim_for_its_tuned_form():
    assert [d.name for d in default_claims()] == list(DEFAULT_CLAIMS)
    swapped = default_claims(tuned=True)
    assert [d.name for d in swapped] == [
        "scores_tuned" if n == "scores" else n for n in DEFAULT_CLAIMS
    ]
    tuned = next(d for d in swapped if d.name == "scores_tuned")
    assert (tuned.family, tuned.margin, tuned.declared) == ("overall", 2.0, False)
    assert isinstance(CLAIMS["scores_tuned"], ScoresSimilarAfterEqualTuning)


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


def test_the_tuning_keeps_the_budget_it_trained_at(tmp_path):
    variants = [VariantRecord("dot", {"attention": "dot"}, [trial(0, 5.0)])]
    record = TuningRecord(1, [0], 1, {"name": "tpe"}, {}, variants, TrainingBudget(3000, 4))
    write_tuning(tmp_path, record)
    found = report_tuning(tmp_path, tuning_record(tmp_path), [])
    assert found.training == "3,000 training pairs × 4 epochs"


# --------------------------------------------------------------------------- a tuning sweep

ATTENTIONS = ("none", "additive", "multiplicative")  # test_report.make_sweep's variants


def tuned_sweep(root, finished: dict[str, int] | None = None, budget: int = 3):
    """test_report's sweep (2 seeds; additive's output is multiplicative's) as the final
    runs of a tuning sweep: a `tuning.json` with each attention's study, `finished`
    trials of `budget` (default: all)."""
    sweep = make_sweep(root)
    finished = finished or {}
    variants = [
        VariantRecord(
            a, {"attention": a}, [trial(k, 5.0 + k, a) for k in range(finished.get(a, budget))]
        )
        for a in ATTENTIONS
    ]
    space = {"optim.lr": "tag(log, interval(1e-3, 3e-2))"}
    write_tuning(
        sweep, TuningRecord(budget, [0, 1], 1, {"name": "tpe", "seed": 0}, space, variants)
    )
    return sweep


def test_a_tuning_sweep_judges_scores_tuned_by_default(tmp_path):
    report = build_report(tuned_sweep(tmp_path), n_bootstrap=N_BOOT)
    assert report.tuning is not None and report.tuning.budget == 3
    assert [d.name for d in report.claims if d.name.startswith("scores")] == ["scores_tuned"]
    assert not any(d.declared for d in report.claims)
    found = {v.claim: v for v in report.verdicts}
    assert "scores" not in found
    assert found["scores_tuned"].verdict is S  # equal budgets, identical outputs
    assert "after equal tuning (3 trials each)" in found["scores_tuned"].line
    assert "No claims were declared before the run" in summary_markdown(report)


def test_a_tuning_sweep_with_unequal_budgets_is_inconclusive(tmp_path):
    sweep = tuned_sweep(tmp_path, finished={"multiplicative": 2})
    found = {v.claim: v for v in build_report(sweep, n_bootstrap=N_BOOT).verdicts}
    v = found["scores_tuned"]
    assert v.verdict is I and "multiplicative 2 finished trials of 3" in v.line


def test_a_tuning_sweep_judges_its_declared_claims(tmp_path):
    # conf/experiment/tuned.yaml's declaration: one family over both claims' rows.
    claims = {
        "attention": {"family": "overall"},
        "scores_tuned": {"family": "overall", "margin": 2.0},
    }
    sweep = declare(tuned_sweep(tmp_path), claims)
    report = build_report(sweep, n_bootstrap=N_BOOT)
    assert [(d.name, d.family, d.margin, d.declared) for d in report.claims] == [
        ("attention", "overall", None, True),
        ("scores_tuned", "overall", 2.0, True),
    ]
    found = {v.claim: v for v in report.verdicts}
    assert set(found) == {"attention", "scores_tuned"}
    # 2 vs none + 1 pair, Holm-corrected together.
    assert {(v.family, v.family_size) for v in found.values()} == {("overall", 3)}
    for v in found.values():
        assert_line(v)
    md = summary_markdown(report)
    assert "Claims declared before the run (`report.claims`): `attention` (family `overall`)" in md
    assert "`scores_tuned` (family `overall`, margin ±2)" in md
