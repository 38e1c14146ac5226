"""Faults as they happen to a real run: each test kills, interrupts or breaks a real
`python -m ablate` subprocess (no mocks of the failure) and checks what it left on disk.
Real processes that train for seconds each: `slow`.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import ROOT
from wandb_files import summary

pytestmark = pytest.mark.slow

# Epochs of about a second, so a test can stop a run in the middle of one.
REVERSE = [
    "dataset=reverse",
    "dataset.train_size=3000",
    "dataset.valid_size=100",
    "dataset.test_size=100",
    "dataset.max_len=20",
    "model.embed=16",
    "model.hidden=32",
    "trainer.max_epochs=3",
    "threads=1",
]
METRICS = (
    "bleu",
    "chrf",
    "exact_match",
    "buckets",
    "alignment",
    "rare_words",
    "attention_stats",  # its per-epoch history too: the checkpoint carries it
    "signature",
)


def env(**extra):
    e = {**os.environ, "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "0", **extra}
    e.pop("WANDB_API_KEY", None)
    return {k: v for k, v in e.items() if v is not None}


def ablate(*args, timeout=300, **extra_env):
    return subprocess.run(
        [sys.executable, "-m", "ablate", *args],
        cwd=ROOT,
        env=env(**extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _default_sigint() -> None:
    # A shell starts background jobs with SIGINT ignored, and a child inherits that:
    # Python then never raises KeyboardInterrupt. A user's Ctrl-C reaches a foreground
    # run, so the test gives its run the default handler, however pytest was started.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(*args, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ablate", *args],
        cwd=ROOT,
        env=env(),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        preexec_fn=_default_sigint,
    )


def wait_for(path: Path, proc: subprocess.Popen, timeout=240):
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the run ended before {path} appeared"
        assert time.monotonic() < end, f"{path} did not appear in {timeout} s"
        time.sleep(0.05)


def results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text())


# The real-data recipe (token batches, the warm-up schedule, accumulated steps): state in
# the sampler's seed + epoch and in the scheduler's step count, which a resume must restore.
RECIPE = [
    "data.batch_tokens=400",
    "optim.schedule=inverse_sqrt",
    "optim.warmup=30",
    "trainer.accumulate_grad_batches=2",
]


@pytest.mark.parametrize("recipe", [[], RECIPE], ids=["defaults", "recipe"])
def test_kill_9_mid_epoch_then_resume_equals_the_uninterrupted_run(tmp_path, recipe):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    out = ablate(*REVERSE, *recipe, "logger=none", f"hydra.run.dir={whole}")
    assert out.returncode == 0, out.stderr[-2000:]

    proc = start(*REVERSE, *recipe, "logger=none", f"hydra.run.dir={killed}", log=tmp_path / "log")
    wait_for(killed / "checkpoints" / "last.ckpt", proc)  # epoch 1 is done: now in epoch 2
    time.sleep(0.4)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "results.json").exists()

    out = ablate(*REVERSE, *recipe, "logger=none", f"hydra.run.dir={killed}", "resume=true")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "resuming from" in out.stdout
    a, b = results(whole), results(killed)
    assert b["status"] == "complete"
    assert {k: a[k] for k in METRICS} == {k: b[k] for k in METRICS}
    assert a["train"]["steps"] == b["train"]["steps"]
    assert (whole / "hypotheses.tsv").read_bytes() == (killed / "hypotheses.tsv").read_bytes()


def test_the_same_seed_twice_gives_byte_identical_hypotheses(tmp_path):
    for name in ("one", "two"):
        out = ablate(
            *REVERSE, "trainer.max_epochs=1", "logger=none", f"hydra.run.dir={tmp_path / name}"
        )
        assert out.returncode == 0, out.stderr[-2000:]
    one = (tmp_path / "one" / "hypotheses.tsv").read_bytes()
    assert one == (tmp_path / "two" / "hypotheses.tsv").read_bytes()
    assert len(one.splitlines()) == 101  # header + every test sentence


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_signal_saves_a_checkpoint_and_marks_the_run_interrupted(tmp_path, sig):
    run_dir = tmp_path / "run"
    proc = start(
        *REVERSE,
        "trainer.max_epochs=20",
        "logger=wandb",
        f"hydra.run.dir={run_dir}",
        log=tmp_path / "log",
    )
    wait_for(run_dir / "checkpoints" / "last.ckpt", proc)
    time.sleep(0.3)
    proc.send_signal(sig)
    assert proc.wait(timeout=60) != 0
    log = (tmp_path / "log").read_text()
    assert "Traceback" not in log

    res = results(run_dir)
    assert res["status"] == "interrupted"
    assert "resume=true" in res["error"] and f"hydra.run.dir={run_dir}" in res["error"]
    from ablate.translate import load, translate

    translator = load(run_dir / "checkpoints" / "interrupted.ckpt")
    assert translate(translator, "s1 s2 s3")[1] is not None
    assert summary(run_dir)["exit_code"] != 0  # the W&B run is closed as failed

    out = ablate(
        *REVERSE, "trainer.max_epochs=2", "logger=none", f"hydra.run.dir={run_dir}", "resume=true"
    )  # and it goes on from there
    assert out.returncode == 0, out.stderr[-2000:]
    assert results(run_dir)["status"] == "complete"


def test_a_nan_loss_stops_the_run_keeps_the_last_good_checkpoint_and_says_diverged(tmp_path):
    run_dir = tmp_path / "run"
    # Fault injection: the loss of step 150 (in the second epoch) becomes NaN.
    out = ablate(*REVERSE, "logger=none", f"hydra.run.dir={run_dir}", ABLATE_FAULT_NAN_STEP="150")
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "Traceback" not in text
    assert "NaN/inf at step 150" in text and "optim.lr" in text
    assert "gradient_clip_val" in text
    res = results(run_dir)
    assert res["status"] == "diverged" and "last good checkpoint" in res["error"]
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert ckpt["global_step"] < 150
    assert all(torch.isfinite(v).all() for v in ckpt["state_dict"].values())


def test_a_learning_rate_far_too_high_diverges_in_the_first_epoch(tmp_path):
    out = ablate(*REVERSE, "logger=none", "optim.lr=1e35", f"hydra.run.dir={tmp_path / 'run'}")
    assert out.returncode != 0 and "Traceback" not in out.stdout + out.stderr
    res = results(tmp_path / "run")
    assert res["status"] == "diverged" and "optim.lr=1e+35" in res["error"]
    assert "no checkpoint" in res["error"]


def test_an_unreachable_wandb_server_falls_back_to_offline(tmp_path):
    with socket.socket() as s:  # a local port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    key = "k3y" * 13 + "x"  # 40 characters, like a real key
    run_dir = tmp_path / "run"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ablate",
            *REVERSE,
            "trainer.max_epochs=1",
            "logger=wandb",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **env(WANDB_MODE=None),
            "WANDB_API_KEY": key,
            "WANDB_BASE_URL": f"http://127.0.0.1:{port}",
        },
    )
    assert out.returncode == 0, out.stderr[-2000:]
    warnings = [line for line in out.stdout.splitlines() if "W&B server unreachable" in line]
    assert len(warnings) == 1, out.stdout[-2000:]
    assert results(run_dir)["status"] == "complete"
    assert summary(run_dir)["exit_code"] == 0  # the offline run holds the metrics
    for path in run_dir.rglob("*"):  # the API key reaches no file the run wrote
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


def test_a_sweep_run_again_over_its_dir_skips_the_complete_jobs(tmp_path):
    args = [
        sys.executable,
        "-m",
        "ablate",
        "-m",
        "attention=none,dot",
        *REVERSE,
        "trainer.max_epochs=1",
        "logger=none",
        f"hydra.sweep.dir={tmp_path}",
    ]
    first = subprocess.run(args, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    jobs = sorted(p for p in tmp_path.iterdir() if (p / "results.json").exists())
    assert len(jobs) == 2
    before = {p: (p / "results.json").stat().st_mtime_ns for p in jobs}
    again = subprocess.run(
        args + ["resume=true"], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("already holds a complete run") == 2
    assert {p: (p / "results.json").stat().st_mtime_ns for p in jobs} == before
    assert (tmp_path / "summary.json").exists()
