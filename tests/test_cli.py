"""`python -m ablate` as a user runs it: real Hydra, offline W&B.

Bad input ends with one line naming the problem, exit code 1 and no traceback. Every row
of the bad-input table in docs/errors.md runs `ablate/__main__.py` in this process
(`runpy`: the checks of `ablate.cli.entry`, Hydra, `train.run`; the command's own path
without starting a Python per row); a few rows and one good run also go through a real
`python -m ablate` subprocess (`slow`).
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

from ablate import translate

from conftest import ROOT, TINY, ablate_in_process, skip_figures, write_parallel
from conftest import tiny as tiny_settings


def documented_bad_inputs() -> dict[str, tuple[str, str]]:
    """docs/errors.md's bad-input table: row name → (example, message), as written there."""
    text = (ROOT / "docs" / "errors.md").read_text()
    table = text[text.index("| bad input | example |") :].split("\n\n")[0].splitlines()[2:]
    rows = {}
    for line in table:
        name, example, message = (c.strip() for c in line.strip("| ").split(" | "))
        rows[name] = (example.strip("`"), message.strip("`"))
    return rows


BAD_INPUTS = documented_bad_inputs()
# One row per way out of the command: a check before Hydra starts, an OmegaConf error, a
# ValueError of a leaf, a checkpoint that does not fit, and `python -m ablate.translate`.
SUBPROCESS_ROWS = [
    "… in a sweep",
    "wrong type",
    "`dataset=parallel` without a folder",
    "a checkpoint of another vocabulary",
    "not a checkpoint (`translate`)",
]

# The fast tier runs one row per check that can stop a run (Hydra's composition, a
# leaf's own check, each corpus reader's, the output dir, resume, each checkpoint check,
# the test-set check, `translate`); every row of the table runs in the full suite (`slow`).
FAST_ROWS = [
    "unknown config-group option",
    "… in a sweep",
    "wrong type",
    "a setting of the other model family",
    "odd hidden size",
    "`inverse_sqrt` without a warm-up",
    "missing corpus file",
    "bytes that are not UTF-8",
    "output dir cannot be written",
    "`resume=true` with nothing to resume",
    "a checkpoint of another vocabulary",
    "a checkpoint of other data (the same vocabulary)",
    "not a checkpoint (`translate`)",
    "a partial test set",
]


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    from ablate.train import run

    from conftest import compose

    run_dir = tmp_path_factory.mktemp("tiny")
    with pytest.MonkeyPatch.context() as mp:
        skip_figures(mp)  # `no_png`, for a module
        run(compose([*TINY, "logger=none"]), run_dir)
    return run_dir / "checkpoints" / "last.ckpt"


def make_files(tmp_path: Path, tiny_ckpt, reverse_ckpt) -> dict[str, Path]:
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
        "reverse_ckpt": reverse_ckpt,
    }


def command(case: str, tmp_path: Path, tiny_ckpt, reverse_ckpt) -> list[str]:
    """The row's example as the arguments of `python -m`: `ablate.translate …`, or
    `ablate` with the example's overrides on top of the tiny settings it does not set."""
    if "GPU" in case and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    example, _ = BAD_INPUTS[case]
    args = shlex.split(example.format(**make_files(tmp_path, tiny_ckpt, reverse_ckpt)))
    if args[0] == "ablate.translate":
        return args
    given = {a.split("=")[0] for a in args}
    parallel = "dataset=parallel" in args
    model = next((a.partition("=")[2] for a in args if a.startswith("model=")), "default")
    tiny = [
        o
        for o in tiny_settings(model)  # the model family's own sizes
        if o.split("=")[0].lstrip("+") not in given and not (parallel and o.startswith("dataset."))
    ]
    dirs = (
        []
        if any(a.startswith("hydra.run.dir") for a in args)
        else [f"hydra.run.dir={tmp_path}/run"]
    )
    if "-m" in args:
        dirs.append(f"hydra.sweep.dir={tmp_path}/sweep")
    return ["ablate", *tiny, "logger=none", *dirs, *args]


def assert_one_error_line(code: int, text: str, message: str) -> None:
    """Exit code 1, no traceback, and one `error:` line that is the table's `message`."""
    assert code == 1, text[-1500:]
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    pattern = ".*".join(re.escape(part) for part in message.split("…"))
    assert len(errors) == 1 and re.fullmatch(f"error: {pattern}", errors[0]), text[-1500:]


def in_process(args: list[str], capsys, monkeypatch) -> tuple[int, str]:
    """Exit code and output of `python -m ARGS`, run in this process."""
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    if args[0] == "ablate.translate":  # its __main__ is `sys.exit(main())`
        code = translate.main(args[1:])
    else:
        code = ablate_in_process(args[1:])
    out = capsys.readouterr()
    return code, out.out + out.err


def subprocess_run(args: list[str], timeout=300) -> tuple[int, str]:
    """Exit code and output of a real `python -m ARGS`."""
    env = {**os.environ, "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "0"}
    env.pop("WANDB_API_KEY", None)
    out = subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return out.returncode, out.stdout + out.stderr


def test_the_error_doc_lists_every_kind_of_bad_input():
    assert len(BAD_INPUTS) >= 25
    assert set(SUBPROCESS_ROWS) <= set(BAD_INPUTS) and set(FAST_ROWS) <= set(BAD_INPUTS)
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
        "other data",
    ):
        assert any(words in name for name in BAD_INPUTS), words


@pytest.mark.parametrize(
    "case", [c if c in FAST_ROWS else pytest.param(c, marks=pytest.mark.slow) for c in BAD_INPUTS]
)
def test_bad_input_gets_the_documented_line_and_exit_code_1(
    tmp_path, tiny_ckpt, reverse_ckpt, capsys, monkeypatch, case
):
    args = command(case, tmp_path, tiny_ckpt, reverse_ckpt)
    assert_one_error_line(*in_process(args, capsys, monkeypatch), BAD_INPUTS[case][1])


@pytest.mark.slow
@pytest.mark.parametrize("case", SUBPROCESS_ROWS)
def test_bad_input_in_a_real_process_gets_the_documented_line_and_exit_code_1(
    tmp_path, tiny_ckpt, reverse_ckpt, case
):
    args = command(case, tmp_path, tiny_ckpt, reverse_ckpt)
    assert_one_error_line(*subprocess_run(args), BAD_INPUTS[case][1])


def check_run_dir(run_dir: Path, code: int, text: str) -> None:
    assert code == 0, text[-2000:]
    assert "bucket" in text and "BLEU" in text and "01-10" in text
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "complete"
    assert (run_dir / ".hydra" / "config.yaml").exists()
    assert (run_dir / "csv" / "metrics.csv").exists()


def test_a_run_writes_the_run_dir_and_prints_the_table(tmp_path, capsys, monkeypatch, no_png):
    args = ["ablate", *TINY, "logger=csv", f"hydra.run.dir={tmp_path / 'run'}"]
    check_run_dir(tmp_path / "run", *in_process(args, capsys, monkeypatch))


@pytest.mark.slow
def test_a_real_process_writes_the_run_dir_and_prints_the_table(tmp_path):
    args = ["ablate", *TINY, "logger=csv", f"hydra.run.dir={tmp_path / 'run'}"]
    check_run_dir(tmp_path / "run", *subprocess_run(args))


@pytest.mark.slow  # a sweep of two jobs
def test_a_sweep_reports_its_failed_job_and_exits_1(tmp_path, capsys, monkeypatch, no_png):
    # model.hidden must be even: job 1 fails, job 0 must not care, the report names job 1.
    args = ["ablate", "-m", *TINY, "logger=none", "model.hidden=8,7", f"hydra.sweep.dir={tmp_path}"]
    code, text = in_process(args, capsys, monkeypatch)
    assert code == 1 and "model.hidden must be even" in text, text[-1500:]
    status = {
        p.parent.name: json.loads(p.read_text())["status"] for p in tmp_path.glob("*/results.json")
    }
    assert sorted(status.values()) == ["complete", "failed"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [Path(f["dir"]).name for f in summary["failed"]] == [
        name for name, s in status.items() if s == "failed"
    ]
