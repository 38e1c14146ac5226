"""Your own ablation: a score function or a dataset from the user's package and config dir.

The README's worked example runs as written, from a folder outside the checkout; a bad
plugin (missing module, not an `Attention`, a score of the wrong shape, a loader without
a `Corpus`) is one `error:` line naming its YAML file; `--help` and the unknown-option
check see the user's options; a user's attention survives a checkpoint round trip."""

import functools
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ablate import cli
from ablate.models.attention import (
    AdditiveAttention,
    Attention,
    AttentionError,
    build_attention,
)
from ablate.translate import build_model

from models import rnn_model

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "dataset=copy",
    "dataset.train_size=200",
    "dataset.valid_size=20",
    "dataset.test_size=20",
    "model.embed=16",
    "model.hidden=16",
    "trainer.max_epochs=1",
    "logger=none",
]


def readme_files() -> dict[str, str]:
    """The code blocks of README's "Your own ablation" whose first line is `# <path>`."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Your own ablation", 1)[1].split("\n## ", 1)[0]
    files = {}
    for block in re.findall(r"```\w*\n(.*?)```", section, flags=re.S):
        first, _, rest = block.partition("\n")
        if first.startswith("# ") and "/" in first:
            files[first[2:].strip()] = rest
    return files


def write_plugin(root: Path, yamls: dict[str, str], code: str = "") -> Path:
    """The README's package plus `code`, and `my_conf/<group>/<name>.yaml` files."""
    for path, content in readme_files().items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content + (code if path.endswith(".py") else ""))
    for path, content in yamls.items():
        (root / "my_conf" / path).parent.mkdir(parents=True, exist_ok=True)
        (root / "my_conf" / path).write_text(content)
    return root / "my_conf"


def run_cli(args: list[str], cwd: Path, monkeypatch, capsys) -> tuple[int, str]:
    """Exit code and output of `python -m ablate ARGS` run in this process from `cwd`."""
    monkeypatch.chdir(cwd)
    monkeypatch.syspath_prepend(str(cwd))  # what `python -m` does for the user's folder
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    monkeypatch.setattr(sys, "argv", ["ablate", *args])
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        cli.entry()
        code = 0
    except SystemExit as e:
        code = 0 if e.code is None else e.code
    finally:
        for handler in set(root.handlers) - set(handlers):
            handler.close()
        root.handlers[:], root.level = handlers, level
        sys.modules.pop("my_pkg", None)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_the_readme_example_is_15_lines_of_python_and_2_of_yaml():
    files = readme_files()
    assert set(files) == {"my_pkg/__init__.py", "my_conf/attention/tempdot.yaml"}
    code = [line for line in files["my_pkg/__init__.py"].splitlines() if line.strip()]
    yaml = [line for line in files["my_conf/attention/tempdot.yaml"].splitlines() if line]
    assert len(code) <= 15 and len(yaml) == 2


@pytest.mark.slow
def test_the_readme_example_sweeps_next_to_the_built_in_options(tmp_path):
    """`python -m ablate --config-dir my_conf -m attention=none,tempdot`, outside the repo."""
    assert not tmp_path.is_relative_to(ROOT)
    write_plugin(tmp_path, {})
    env = {**os.environ, "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "0"}
    env.pop("PYTHONPATH", None)
    args = ["--config-dir", "my_conf", "-m", "attention=none,tempdot", *TINY]
    out = subprocess.run(
        [sys.executable, "-m", "ablate", *args, "hydra.sweep.dir=sweep"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    sweep = tmp_path / "sweep"
    results = json.loads((sweep / "1-tempdot-s0" / "results.json").read_text())
    assert results["attention"] == "tempdot" and results["status"] == "complete"
    assert (sweep / "0-none-s0" / "results.json").is_file()
    assert "tempdot" in (sweep / "summary.md").read_text()


class Flat(Attention):
    """A score without the key axis: the wrong shape."""

    def score(self, query, prepared):
        return query.sum(-1)  # (B, T)


FLAT = """

class Flat(Attention):
    def score(self, query, prepared):
        return query.sum(-1)  # (B, T): no key axis


def dict_data(size: int = 3):
    return {"pairs": [("a", "b")] * size}
"""
BAD_PLUGINS = {
    "attention: missing module": (
        "attention/gone.yaml",
        "_target_: nowhere_pkg.Score\n_partial_: true\n",
        r"cannot import _target_ 'nowhere_pkg\.Score' \(No module named 'nowhere_pkg'\); "
        r"install the package .* or put it on PYTHONPATH",
    ),
    "attention: missing class": (
        "attention/gone.yaml",
        "_target_: my_pkg.NoSuchScore\n_partial_: true\n",
        r"cannot import _target_ 'my_pkg\.NoSuchScore'",
    ),
    "attention: not an Attention": (
        "attention/gone.yaml",
        "_target_: collections.OrderedDict\n_partial_: true\n",
        r"collections\.OrderedDict is not an ablate\.models\.attention\.Attention subclass; "
        r"derive it from Attention and define score",
    ),
    "attention: score of the wrong shape": (
        "attention/gone.yaml",
        "_target_: my_pkg.Flat\n_partial_: true\n",
        r"my_pkg\.Flat\.score returned shape \(1, 2\) for queries \(1, 2, 16\) and keys "
        r"\(1, 3, 16\); it must return one score per query step and key, \(B, T, S\)",
    ),
    "dataset: missing module": (
        "dataset/gone.yaml",
        "_target_: nowhere_pkg.load\n",
        r"cannot import _target_ 'nowhere_pkg\.load'",
    ),
    "dataset: not a Corpus": (
        "dataset/gone.yaml",
        "_target_: my_pkg.dict_data\nsize: 3\n",
        r"_target_ 'my_pkg\.dict_data' returned a dict, which is not an "
        r"ablate\.data\.corpus\.Corpus; make it return one",
    ),
}


@pytest.mark.parametrize("case", list(BAD_PLUGINS))
def test_a_bad_plugin_is_one_line_naming_its_yaml_file(tmp_path, monkeypatch, capsys, case):
    path, yaml, message = BAD_PLUGINS[case]
    conf = write_plugin(tmp_path, {path: yaml}, FLAT)
    group = path.split("/")[0]
    tiny = [a for a in TINY if not (group == "dataset" and a.startswith("dataset"))]
    args = ["--config-dir", "my_conf", f"{group}=gone", *tiny, "hydra.run.dir=out"]
    code, text = run_cli(args, tmp_path, monkeypatch, capsys)
    assert code == 1, text[-2000:]
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, text[-2000:]
    assert errors[0].startswith(f"error: {conf / path}: "), errors[0]
    assert re.search(message, errors[0]), errors[0]


def test_help_lists_the_options_of_a_config_dir(tmp_path, monkeypatch, capsys):
    write_plugin(tmp_path, {"dataset/mine.yaml": "_target_: my_pkg.load\n"})
    code, text = run_cli(["--config-dir", "my_conf", "--help"], tmp_path, monkeypatch, capsys)
    assert code == 0
    groups = dict(line.split(": ", 1) for line in text.splitlines() if re.match(r"^\w+: ", line))
    assert groups["attention"].split(", ") == [
        "additive",
        "dot",
        "local_p",
        "location",
        "multiplicative",
        "none",
        "scaled_dot",
        "tempdot",
    ]
    assert "mine" in groups["dataset"].split(", ") and "toy_fr" in groups["dataset"]


@pytest.mark.parametrize(
    "dir_args",
    [
        lambda d: ["--config-dir", str(d)],
        lambda d: [f"--config-dir={d}"],
        lambda d: ["-cd", str(d)],
        lambda d: [f"hydra.searchpath=[file://{d}]"],
    ],
    ids=["--config-dir DIR", "--config-dir=DIR", "-cd DIR", "hydra.searchpath"],
)
def test_the_option_check_accepts_a_config_dirs_options(tmp_path, dir_args):
    conf = write_plugin(tmp_path, {})
    assert cli.check_group_choices([*dir_args(conf), "-m", "attention=none,tempdot"]) is None
    problem = cli.check_group_choices([*dir_args(conf), "attention=tempdot,cosine"])
    assert problem.startswith("unknown attention 'cosine'; choose one of additive, dot, ")
    assert "tempdot" in problem and str(conf / "attention") in problem
    assert cli.check_group_choices(["attention=tempdot"]).startswith("unknown attention")


class TemperatureDot(Attention):
    def __init__(self, hidden: int, init: float = 0.0):
        super().__init__(hidden)
        self.log_tau = torch.nn.Parameter(torch.full((), init))

    def score(self, query, prepared):
        return torch.bmm(query, prepared.transpose(1, 2)) / self.log_tau.exp()


def test_a_users_attention_is_recorded_and_rebuilt_from_a_checkpoint_record():
    torch.manual_seed(0)
    factory = functools.partial(TemperatureDot, init=0.5)
    model = rnn_model(factory, src_vocab_size=20, tgt_vocab_size=20, embed=8, hidden=8, eval=False)
    record = model.config.record()["attention"]
    assert record == {"_target_": f"{__name__}.TemperatureDot", "init": 0.5}
    again = build_model(model.config.record())  # what ablate.translate does with a checkpoint
    again.load_state_dict(model.state_dict())
    assert isinstance(again.decoder.attention, TemperatureDot)
    src, src_len = torch.randint(4, 20, (2, 5)), torch.tensor([5, 3])
    tgt_in = torch.randint(4, 20, (2, 4))
    torch.testing.assert_close(again(src, src_len, tgt_in)[0], model(src, src_len, tgt_in)[0])


@pytest.mark.parametrize(
    ("attention", "message"),
    [
        ("cosine", r"unknown attention 'cosine'; choose one of none, dot, scaled_dot"),
        (Flat, r"Flat\.score returned shape \(1, 2\) .* \(B, T, S\) = \(1, 2, 3\)"),
        (dict, r"builtins\.dict is not an ablate\.models\.attention\.Attention subclass"),
        ({"_target_": "nowhere_pkg.X"}, r"cannot import the attention class 'nowhere_pkg\.X'"),
        (functools.partial(TemperatureDot, tau=2), r"unexpected keyword argument 'tau'"),
        (functools.partial(AdditiveAttention, dim=0), r"attention\.dim must be"),
    ],
    ids=["name", "shape", "not a subclass", "import", "parameter", "bad dim"],
)
def test_build_attention_says_what_is_wrong(attention, message):
    with pytest.raises(AttentionError, match=message):
        build_attention(attention, 16)
