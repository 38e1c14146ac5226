"""ablate installs as a package: `pip install .` (not editable) into a fresh environment,
then `python -m ablate` from any folder finds the configs that ship inside it.

The distribution is `ablate-attention` (`ablate` on PyPI is another project); the import
package, `python -m ablate` and the `ablate` command are `ablate`."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "ablate-attention"


def test_every_package_and_config_file_is_in_the_wheels_list():
    """pyproject.toml lists the packages by hand (ablate.conf is mapped from conf/, which a
    find would not reach): a new package or config folder must not be left out."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(p.parent.relative_to(ROOT / "src").parts)
        for p in (ROOT / "src").rglob("__init__.py")  # ablate and hydra_plugins.ablate_tuning
    }
    assert set(setuptools["packages"]) == found | {"ablate.conf"}
    assert setuptools["package-dir"]["ablate.conf"] == "conf"
    patterns = setuptools["package-data"]["ablate.conf"]
    for path in (ROOT / "conf").rglob("*.yaml"):
        depth = len(path.relative_to(ROOT / "conf").parts)
        assert ("*.yaml" if depth == 1 else "**/*.yaml") in patterns, path


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_runs_a_job_from_outside_the_checkout(tmp_path):
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "WANDB_MODE": "offline", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)

    def run(*args, cwd=tmp_path, timeout=900):
        out = subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
        return out.stdout + out.stderr

    before = {p.name for p in ROOT.iterdir()}
    # Built from a copy: setuptools leaves build/ and *.egg-info in the tree it builds.
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("src", "conf"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        dist,
        source,
    )
    (wheel,) = dist.glob(DISTRIBUTION.replace("-", "_") + "-*.whl")
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    # torch pinned to the CPU wheel on local disk; the rest comes from the package index
    run(python, "-m", "pip", "install", "-q", "torch==2.13.0", wheel, timeout=1800)
    where = run(python, "-c", "import ablate, ablate.options as p; print(ablate.__file__, p.CONF)")
    assert str(ROOT) not in where and "site-packages" in where
    # The installed distribution is ours under its own name, and it alone provides the
    # `ablate` command.
    names = run(
        python,
        "-c",
        "import importlib.metadata as m; "
        f"print(m.version({DISTRIBUTION!r}), m.distribution({DISTRIBUTION!r}).entry_points); "
        "print([d.metadata['Name'] for d in m.distributions() if d.metadata['Name'] == 'ablate'])",
    )
    assert "ablate.cli:entry" in names and names.rstrip().endswith("[]"), names
    help_text = run(venv / "bin" / "ablate", "--help", cwd=work)
    assert "attention: additive" in help_text, help_text[-2000:]  # the shipped configs
    text = run(
        python,
        "-m",
        "ablate",
        "trainer.max_epochs=1",
        "dataset=copy",
        "dataset.train_size=200",
        "dataset.valid_size=20",
        "dataset.test_size=20",
        "model.embed=16",
        "model.hidden=16",
        "logger=none",
        "hydra.run.dir=run",
        cwd=work,
    )
    results = json.loads((work / "run" / "results.json").read_text())
    assert results["status"] == "complete" and results["attention"] == "additive", text[-2000:]
    left = {p.name for p in ROOT.iterdir()} - before
    assert not left, f"the build left {sorted(left)} in the checkout"
