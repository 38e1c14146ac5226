"""Equal-budget tuning (`+experiment=tuned`, `ablate.tuning`).

Tang et al. 2020's expected maximum against every subset of the scores; the search space
as Hydra's sweep syntax; bad settings as one line; and real tuning sweeps (`slow`): equal
trial counts, trials apart from the final runs, choices made on validation, and a sweep
killed with SIGKILL that resumes without re-running a finished trial and ends with the
choices of an uninterrupted one.
"""

import itertools
import json
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from ablate.tuning.expected_max import expected_max, max_weights
from ablate.tuning.record import TuningRecord, read_tuning
from ablate.tuning.space import parse_space
from hydra_plugins.ablate_tuning._impl import check_settings, make_sampler

from conftest import ROOT, TINY, ablate_in_process

# ------------------------------------------------------------------ the estimator


def brute_force(scores, n):
    """Mean and population sd of the best of every n-subset of the scores."""
    best = [max(c) for c in itertools.combinations(scores, n)]
    return statistics.fmean(best), statistics.pstdev(best)


@pytest.mark.parametrize("total", range(1, 8))
@pytest.mark.parametrize("draw", range(3))
def test_expected_max_equals_the_mean_best_over_all_subsets(total, draw):
    rng = random.Random(total * 10 + draw)
    # Few distinct values, so most draws have ties; one draw of distinct floats.
    scores = [rng.choice([0.0, 1.5, 1.5, 7.0, 30.25]) for _ in range(total)]
    if draw == 2:
        scores = [rng.uniform(0, 100) for _ in range(total)]
    curve = expected_max(scores)
    assert curve.n == list(range(1, total + 1))
    ascending = sorted(scores)
    for n in curve.n:
        mean, sd = brute_force(scores, n)
        assert math.isclose(curve.mean[n - 1], mean, rel_tol=1e-12, abs_tol=1e-12)
        assert math.isclose(curve.std[n - 1], sd, rel_tol=1e-9, abs_tol=1e-9)
        low, high = curve.low[n - 1], curve.high[n - 1]  # a bootstrap band around the curve
        assert ascending[0] - 1e-12 <= low <= curve.mean[n - 1] <= high <= ascending[-1] + 1e-12
    assert math.isclose(curve.mean[0], statistics.fmean(scores))
    assert curve.mean[-1] == max(scores) and curve.std[-1] == 0.0
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(curve.mean))  # more trials, no worse


def test_the_weights_are_the_probabilities_of_each_rank_being_the_best():
    for total, n in [(1, 1), (5, 1), (5, 3), (7, 7), (40, 13)]:
        weights = max_weights(total, n)
        assert math.isclose(sum(weights), 1.0) and all(w == 0 for w in weights[: n - 1])
    with pytest.raises(ValueError):
        max_weights(3, 4)
    for bad in ([], [1.0, math.nan]):
        with pytest.raises(ValueError):
            expected_max(bad)


# ------------------------------------------------------------------ the search space


def test_lists_are_variants_and_ranges_are_the_search_space():
    space = parse_space(
        [
            "attention=none,dot",
            "optim.lr=tag(log, interval(1e-4, 1e-2))",
            "model.dropout=interval(0.0, 0.5)",
            "data.batch_size=choice(16, 32)",
            "model.layers=int(interval(1, 3))",
            "dataset=toy_fr,reverse",
            "dataset.train_size=300",
            "model.dropout=interval(0.1, 0.3)",  # later wins: the command line over the file
        ]
    )
    assert [v.name for v in space.variants] == [
        "none-toy_fr",
        "none-reverse",
        "dot-toy_fr",
        "dot-reverse",
    ]
    assert space.variants[1].overrides == ["attention=none", "dataset=reverse"]
    assert space.dimensions == {
        "optim.lr": FloatDistribution(1e-4, 1e-2, log=True),
        "model.dropout": FloatDistribution(0.1, 0.3),
        "data.batch_size": CategoricalDistribution([16, 32]),
        "model.layers": IntDistribution(1, 3),
    }
    assert space.text["optim.lr"] == "tag(log, interval(1e-4, 1e-2))"
    assert space.fixed == ["dataset.train_size=300"]
    one = parse_space(["attention=none,dot", "optim.lr=interval(0.001, 0.01)", "attention=dot"])
    assert [(v.name, v.axes) for v in one.variants] == [("dot", {"attention": "dot"})]


@pytest.mark.parametrize(
    "lines, message",
    [
        (["attention=dot", "optim.lr=0.01"], "the search space is empty"),
        (["optim.lr=interval(0.01, 0.001)"], "needs low < high"),
        (["optim.lr=tag(log, interval(0.0, 0.1))"], "needs low > 0"),
        (["optim.lr=interval(1e-4, 1e-2)", "seed=0,1"], "tune.seeds"),
    ],
)
def test_a_bad_search_space_names_the_key_and_the_fix(lines, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_space(lines)


@pytest.mark.parametrize(
    "change, key",
    [
        ({"trials": 0}, "tune.trials"),
        ({"trials": "8"}, "tune.trials"),
        ({"trials": True}, "tune.trials"),
        ({"seeds": []}, "tune.seeds"),
        ({"batch_size": 0}, "tune.batch_size"),
        ({"sampler": "grid"}, "tune.sampler"),
    ],
)
def test_a_bad_setting_names_its_key(change, key):
    good = dict(trials=4, seeds=[1], batch_size=None, sampler="tpe", startup_trials=2, seed=0)
    assert check_settings(**good, parallel=3, trial_seed=0).batch_size == 3
    with pytest.raises(ValueError, match=re.escape(key)):
        check_settings(**{**good, **change}, parallel=2, trial_seed=0)


def test_a_trial_is_sampled_from_the_seed_and_its_number_alone():
    import optuna

    settings = check_settings(8, [1], 2, "tpe", 4, seed=5, parallel=2, trial_seed=0)
    space = {"optim.lr": FloatDistribution(1e-4, 1e-2, log=True)}

    def params(number):
        study = optuna.create_study(sampler=make_sampler(settings, number))
        return study.ask(space).params

    assert params(3) == params(3) != params(4)


# ------------------------------------------------------------------ the command


@pytest.mark.parametrize(
    "args, message",
    [
        (["tune.trials=0"], "tune.trials must be an integer >= 1, got 0"),
        (["attention=dot,cosine"], "unknown attention 'cosine'; choose one of"),
        (
            ["optim.lr=0.003", "model.dropout=0.1", "optim.label_smoothing=0.0"],
            "the search space is empty: give hydra.sweeper.params a range",
        ),
    ],
)
def test_a_bad_tuning_command_is_one_error_line(tmp_path, capsys, args, message):
    code = ablate_in_process(
        ["+experiment=tuned", "logger=none", f"hydra.sweep.dir={tmp_path}", *args]
    )
    out = capsys.readouterr()
    text = out.out + out.err
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert code == 1 and "Traceback" not in text, text[-2000:]
    assert len(errors) == 1 and errors[0].startswith(f"error: {message}"), text[-2000:]
    assert not list(tmp_path.glob("trials/*/*"))  # nothing ran


# ------------------------------------------------------------------ real tuning sweeps

TUNED = [
    "+experiment=tuned",
    *TINY,
    "logger=none",
    "attention=dot,additive",
    "tune.trials=3",
    "tune.seeds=[1]",
]


def trial_files(sweep: Path) -> dict[str, tuple[int, bytes]]:
    """Each finished trial's results.json: its mtime and bytes, by trial dir."""
    return {
        str(p.parent.relative_to(sweep)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sweep.glob("trials/*/*/results.json")
        if json.loads(p.read_text())["status"] == "complete"
    }


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    """An uninterrupted tiny tuning sweep, run in this process: its sweep dir."""
    sweep = tmp_path_factory.mktemp("tuned")
    assert ablate_in_process([*TUNED, f"hydra.sweep.dir={sweep}"]) == 0
    return sweep


@pytest.mark.slow
def test_every_variant_gets_the_same_trials_and_its_choice_trains_apart(tuned):
    record = read_tuning(tuned)
    assert isinstance(record, TuningRecord) and record.trials == 3
    assert [v.variant for v in record.variants] == ["dot", "additive"]
    summary = json.loads((tuned / "summary.json").read_text())
    runs = sorted(Path(r["dir"]).name for r in summary["runs"])
    assert runs == ["0-dot-s1", "1-additive-s1"] and not summary["failed"]  # no trial in sight
    for v in record.variants:
        assert [t.number for t in v.trials] == [0, 1, 2] and len(v.finished) == 3
        for t in v.trials:  # the objective is the trial's validation BLEU, as it wrote it
            written = json.loads((tuned / t.dir / "results.json").read_text())
            assert t.dir == f"trials/{v.variant}/{t.number}"
            assert t.valid_bleu == written["valid_bleu"] and t.status == "complete"
        chosen = v.chosen
        assert chosen.valid_bleu == max(t.valid_bleu for t in v.trials)
        assert v.curve().mean[-1] == chosen.valid_bleu
        final = tuned / f"{['dot', 'additive'].index(v.variant)}-{v.variant}-s1"
        overrides = (final / ".hydra" / "overrides.yaml").read_text()
        for key, value in chosen.params.items():
            assert f"- {key}={value!r}" in overrides
    # Random start-up trials (startup_trials > trials here): the same settings per variant.
    dot, additive = record.variants
    assert [t.params for t in dot.trials] == [t.params for t in additive.trials]
    assert (tuned / "tuning_curves.png").stat().st_size > 0
    saved = json.loads((tuned / "tuning.json").read_text())
    assert saved["variants"][0]["trial_count"] == 3 and saved["space"]["optim.lr"]
    assert saved["training"] == {"train_size": 64, "max_epochs": 1}  # TINY's budget
    # The report ties each study to its final runs and judges similarity after tuning.
    studies = {s["study"]: s for s in summary["tuning"]["studies"]}
    assert studies["dot"]["variants"] == ["dot"] and studies["additive"]["trials"] == 3
    claims = [v["claim"] for v in summary["verdicts"]]
    assert "scores_tuned" in claims and "scores" not in claims
    md = (tuned / "summary.md").read_text()
    assert "after equal tuning (3 trials each)" in md and "## Equal tuning" in md


def journal_running(sweep: Path) -> dict[str, dict[int, dict]]:
    """The asked-but-unfinished trials in a sweep's journal: variant -> number -> params."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from optuna.trial import TrialState

    storage = JournalStorage(JournalFileBackend(str(sweep / "tuning.journal")))
    return {
        s.study_name: {
            t.number: t.params
            for t in optuna.load_study(study_name=s.study_name, storage=storage).trials
            if t.state == TrialState.RUNNING
        }
        for s in optuna.get_all_study_summaries(storage)
    }


@pytest.mark.slow
def test_a_killed_tuning_sweep_resumes_without_rerunning_a_finished_trial(tuned, tmp_path):
    sweep = tmp_path / "sweep"
    command = [sys.executable, "-m", "ablate", *TUNED, f"hydra.sweep.dir={sweep}"]
    env = {**os.environ, "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:  # kill -9 once two trials have finished, inside the first batch of four
        deadline = time.monotonic() + 240
        while len(trial_files(sweep)) < 2 and proc.poll() is None:
            assert time.monotonic() < deadline, "no trial finished"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = trial_files(sweep)
    running = journal_running(sweep)
    assert 2 <= len(before) < 6 and any(running.values()), (before.keys(), running)

    out = subprocess.run(
        [*command, "resume=true"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    after = trial_files(sweep)
    assert {k: after[k] for k in before} == before  # no finished trial ran again
    resumed, reference = read_tuning(sweep), read_tuning(tuned)
    for v in resumed.variants:  # the unfinished ones ran with the parameters they had
        for number, params in running[v.variant].items():
            assert v.trials[number].params == params
    assert resumed.to_json() == reference.to_json()  # the same trials, scores and choices
    for final in ("0-dot-s1", "1-additive-s1"):  # the final runs: the same overrides
        ours = (sweep / final / ".hydra" / "overrides.yaml").read_text()
        theirs = (tuned / final / ".hydra" / "overrides.yaml").read_text()
        assert ours.replace("- resume=true\n", "") == theirs
