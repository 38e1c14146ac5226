"""`python -m ablate` as a user runs it: a real subprocess, real Hydra, offline W&B.

Bad input ends with one line naming the problem, a non-zero exit code and no traceback.
"""

import json
import os
import re
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, TINY, write_parallel


def ablate(*args, cwd, timeout=300):
    env = {**os.environ, "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "0"}
    env.pop("WANDB_API_KEY", None)
    return subprocess.run([sys.executable, "-m", "ablate", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_cli_run_writes_the_run_dir_and_prints_the_table(tmp_path):
    out = ablate(*TINY, "logger=csv", f"hydra.run.dir={tmp_path / 'run'}", cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "bucket" in out.stdout and "BLEU" in out.stdout and "01-10" in out.stdout
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["status"] == "complete"
    assert (tmp_path / "run" / ".hydra" / "config.yaml").exists()
    assert (tmp_path / "run" / "csv" / "metrics.csv").exists()


def _bad_parallel(tmp_path):
    return f"dataset.path={write_parallel(tmp_path / 'corpus', mismatch=True)}"


BAD_INPUTS = {
    "unknown attention": (lambda t: ["attention=cosine"],
                          r"unknown attention 'cosine'; choose one of additive, dot"),
    "unknown option in a sweep": (lambda t: ["-m", "attention=dot,cosine"],
                                  r"unknown attention 'cosine'"),
    "parallel without a path": (lambda t: ["dataset=parallel"], r"dataset\.path"),
    "edges not increasing": (lambda t: ["buckets.edges=[1,20,10]"],
                             r"bucket edges must be strictly increasing"),
    "parallel line counts": (lambda t: ["dataset=parallel", _bad_parallel(t)],
                             r"train\.src has 40 lines but .*train\.tgt has 39"),
    "missing corpus file": (lambda t: ["dataset=parallel", f"dataset.path={t / 'nowhere'}"],
                            r"corpus file not found"),
    "hidden size 0": (lambda t: ["model.hidden=0"], r"model\.hidden must be a positive"),
    "gpu trainer without a GPU": (lambda t: ["trainer=gpu"], r"gpu.*trainer=default"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gets_one_line_and_non_zero_exit(tmp_path, case):
    if case.startswith("gpu") and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    make_args, message = BAD_INPUTS[case]
    args = [o for o in TINY if not (case.startswith(("parallel", "missing"))
                                   and o.startswith("dataset."))]
    out = ablate(*args, *make_args(tmp_path), "logger=none",
                 f"hydra.run.dir={tmp_path / 'run'}", cwd=ROOT)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.search(message, errors[0]), text[-1500:]
