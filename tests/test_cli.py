"""`python -m ablate` as a user runs it: a real subprocess, real Hydra, offline W&B.

Bad input ends with one line naming the problem, a non-zero exit code and no traceback.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import ROOT, TINY, write_parallel


def ablate(*args, cwd, timeout=300):
    env = {**os.environ, "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "0"}
    env.pop("WANDB_API_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "ablate", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_run_writes_the_run_dir_and_prints_the_table(tmp_path):
    out = ablate(*TINY, "logger=csv", f"hydra.run.dir={tmp_path / 'run'}", cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "bucket" in out.stdout and "BLEU" in out.stdout and "01-10" in out.stdout
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["status"] == "complete"
    assert (tmp_path / "run" / ".hydra" / "config.yaml").exists()
    assert (tmp_path / "run" / "csv" / "metrics.csv").exists()


def readme_bad_inputs() -> dict[str, tuple[str, str]]:
    """README's bad-input table: row name → (example, message), as written there."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| bad input | example |") :].split("\n\n")[0].splitlines()[2:]
    rows = {}
    for line in table:
        name, example, message = (c.strip() for c in line.strip("| ").split(" | "))
        rows[name] = (example.strip("`"), message.strip("`"))
    return rows


BAD_INPUTS = readme_bad_inputs()


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    from ablate.train import run

    from conftest import compose

    run_dir = tmp_path_factory.mktemp("tiny")
    run(compose([*TINY, "logger=none"]), run_dir)
    return run_dir / "checkpoints" / "last.ckpt"


def make_files(tmp_path: Path, tiny_ckpt) -> dict[str, Path]:
    """The files the table's `{placeholders}` name."""
    folder_as_file = write_parallel(tmp_path / "folder_as_file")
    (folder_as_file / "train.src").unlink()
    (folder_as_file / "train.src").mkdir()
    latin1 = write_parallel(tmp_path / "latin1")
    lines = (latin1 / "train.src").read_bytes().splitlines()
    lines[2] = "café noir".encode("latin-1")
    (latin1 / "train.src").write_bytes(b"\n".join(lines) + b"\n")
    empty_test = write_parallel(tmp_path / "empty_test")
    for ext in ("src", "tgt"):
        (empty_test / f"test.{ext}").write_text("")
    (tmp_path / "file").write_text("not a folder\n")
    (tmp_path / "empty_dir").mkdir()
    return {
        "nowhere": tmp_path / "nowhere",
        "folder_as_file": folder_as_file,
        "mismatched": write_parallel(tmp_path / "mismatched", mismatch=True),
        "latin1": latin1,
        "empty_test": empty_test,
        "file": tmp_path / "file",
        "empty_dir": tmp_path / "empty_dir",
        "tiny_ckpt": tiny_ckpt,
    }


def test_the_readme_lists_the_bad_inputs_of_the_issue():
    assert len(BAD_INPUTS) >= 25
    for words in (
        "unknown config-group",
        "wrong type",
        "dropout",
        "max_len",
        "bucket edges",
        "missing corpus",
        "unreadable",
        "line counts",
        "UTF-8",
        "empty split",
        "output dir",
        "another model size",
        "another vocabulary",
    ):
        assert any(words in name for name in BAD_INPUTS), words


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gets_the_readme_line_and_a_non_zero_exit(tmp_path, tiny_ckpt, case):
    if "GPU" in case and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    example, message = BAD_INPUTS[case]
    files = make_files(tmp_path, tiny_ckpt)
    args = shlex.split(example.format(**files))
    if args[0] == "ablate.translate":
        out = subprocess.run(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HYDRA_FULL_ERROR": "0"},
        )
    else:
        given = {a.split("=")[0] for a in args}
        parallel = "dataset=parallel" in args
        tiny = [
            o
            for o in TINY
            if o.split("=")[0].lstrip("+") not in given
            and not (parallel and o.startswith("dataset."))
        ]
        run_dir = (
            []
            if any(a.startswith("hydra.run.dir") for a in args)
            else [f"hydra.run.dir={tmp_path / 'run'}"]
        )
        out = ablate(*tiny, "logger=none", *run_dir, *args, cwd=ROOT)
    text = out.stdout + out.stderr
    assert out.returncode == 1, text[-1500:]
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    pattern = ".*".join(re.escape(part) for part in message.split("…"))
    assert len(errors) == 1 and re.fullmatch(f"error: {pattern}", errors[0]), text[-1500:]
