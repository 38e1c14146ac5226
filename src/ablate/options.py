"""Config options, ablate's own and a user's: where they live, and building one.

ablate's configs ship inside the package (`ablate/conf`, mapped from the repository's
top-level `conf/` when it is built), so `python -m ablate` works from any folder. A
user's options live in their own folder, added with `--config-dir DIR` or
`hydra.searchpath=[DIR]`: `DIR/attention/tempdot.yaml` is the option `attention=tempdot`,
next to the built-in ones. An option is a `_target_` plus its parameters; its class lives
in the user's package, on the Python path. The contracts:

- `attention/`: a subclass of `ablate.models.attention.Attention` that defines `score`
  (and `prepare` if it helps), constructed as `cls(hidden=H, **parameters)`: the YAML
  sets `_partial_: true` and the model passes `hidden`.
- `dataset/`: any callable that returns an `ablate.data.corpus.Corpus` (see there: the
  train/valid/test pairs, optional gold alignments, tokenize/detokenize).

`build` instantiates one and turns a bad plugin (a `_target_` that cannot be imported, a
class that breaks its contract) into a `ValueError` that names the YAML file and the fix,
which the entry point prints as one line.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf


def _conf_dir() -> Path:
    """ablate's config folder: `ablate/conf` in an installed package, else the checkout's
    top-level `conf/` (where `src/ablate` runs from the source tree)."""
    shipped = Path(str(importlib.resources.files("ablate"))) / "conf"
    if (shipped / "config.yaml").is_file():
        return shipped
    return Path(__file__).resolve().parents[2] / "conf"


CONF = _conf_dir()


def config_dirs(argv: Sequence[str]) -> list[Path]:
    """The folders a command's configs come from, in Hydra's order of precedence: ablate's
    own, then `--config-dir`/`-cd DIR`, then `hydra.searchpath=[…]` entries (`file://` or
    plain paths, `pkg://module/path`)."""
    dirs = [CONF]
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            dirs.append(Path(argv[i + 1]).expanduser().absolute())
        elif arg.startswith(("--config-dir=", "-cd=")):
            dirs.append(Path(arg.partition("=")[2]).expanduser().absolute())
        elif arg.partition("=")[0] == "hydra.searchpath":
            entries = arg.partition("=")[2].strip("[]")
            dirs += [d for e in entries.split(",") if (d := _search_dir(e.strip(" '\"")))]
    return dirs


def _search_dir(entry: str) -> Path | None:
    if entry.startswith("pkg://"):
        module, _, sub = entry.removeprefix("pkg://").partition("/")
        try:
            return Path(str(importlib.resources.files(module.replace("/", ".")))) / sub
        except (ImportError, TypeError):
            return None
    return Path(entry.removeprefix("file://")).expanduser().absolute() if entry else None


def group_options(group: str, dirs: Sequence[Path]) -> dict[str, Path]:
    """Every option of a config group across `dirs`: its name → its YAML file (the first
    folder that has it, as Hydra picks it)."""
    found: dict[str, Path] = {}
    for d in dirs:
        for path in sorted((d / group).glob("*.yaml")):
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def _running_dirs() -> list[Path]:
    """The config folders of the running Hydra job (ablate's own, `--config-dir`,
    `hydra.searchpath`), in its order; ablate's own outside one."""
    if not HydraConfig.initialized():
        return [CONF]
    dirs = []
    for source in HydraConfig.get().runtime.config_sources:
        if source.schema == "file":
            dirs.append(Path(str(source.path)))
        elif source.schema == "pkg" and (d := _search_dir(f"pkg://{source.path}")):
            dirs.append(d)
    return dirs + [CONF]


def option(group: str, name: str, key: str) -> Any:
    """The group's option `name` built as the group builds it, for a key that takes an
    option of another group by name (`model.self_attention=additive` → the `attention`
    group's `additive.yaml`, its parameters included; a user's option from
    `--config-dir` too).

    Args:
        group: the config group the name belongs to (`attention`).
        name: the option's name.
        key: the key that named it, for the error message.

    Raises:
        ValueError: in one line, when the group has no option `name`.
    """
    found = group_options(group, _running_dirs())
    if name not in found:
        raise ValueError(
            f"unknown {key} {name!r}; choose one of the {group} options: {', '.join(found)}"
        )
    return build(OmegaConf.load(found[name]), group, name)


def option_file(group: str, choice: str | None) -> str:
    """The YAML file behind a group's choice in the running Hydra job, for error messages;
    `<group>/<choice>.yaml` outside one (a notebook composing the config itself)."""
    fallback = f"{group}/{choice}.yaml"
    if not choice or not HydraConfig.initialized():
        return fallback
    for source in HydraConfig.get().runtime.config_sources:
        path = str(source.path)
        if source.schema == "file":
            candidate = Path(path) / group / f"{choice}.yaml"
        elif source.schema == "pkg":
            candidate = _search_dir(f"pkg://{path}") / group / f"{choice}.yaml"
        else:
            continue
        if candidate.is_file():
            return str(candidate)
    return fallback


def option_name(group: str, node: DictConfig, choices: dict | None = None) -> str:
    """The name of the option a config node came from (`additive`), for run names and
    results: Hydra's choice where given; for a config composed by hand, the built-in
    option with the same `_target_`, else the target's class name."""
    if choices and choices.get(group):
        return str(choices[group])
    target = node.get("_target_") if isinstance(node, DictConfig) else None
    for name, path in group_options(group, [CONF]).items():
        if target and OmegaConf.load(path).get("_target_") == target:
            return name
    return str(target).rpartition(".")[2] if target else str(node)


def build(node: DictConfig, group: str, choice: str | None, kind: type | None = None) -> Any:
    """`instantiate(node)` for the config group `group`, with a one-line `ValueError`
    naming the option's YAML file when its `_target_` cannot be imported or called, or
    (with `kind`) returns something that is not a `kind`.

    Args:
        node: the group's config node (`cfg.attention`, `cfg.dataset`).
        group: its config group.
        choice: the option's name (Hydra's `runtime.choices`), for the file name.
        kind: the class the result must be an instance of; None to skip the check.
    """
    where = option_file(group, choice)
    target = node.get("_target_") if isinstance(node, DictConfig) else None
    try:
        built = instantiate(node, _convert_="all")
    except InstantiationException as e:
        cause = e.__cause__
        if isinstance(cause, (ImportError, AttributeError)) or "Error locating target" in str(e):
            root = cause or e
            while root.__cause__ is not None:  # Hydra wraps the ImportError that says why
                root = root.__cause__
            reason = str(root).splitlines()[0] if str(root) else type(root).__name__
            raise ValueError(
                f"{where}: cannot import _target_ {target!r} ({reason}); install the package "
                f"that defines it or put it on PYTHONPATH, or correct _target_"
            ) from None
        if isinstance(cause, TypeError):  # the parameters do not fit the constructor
            raise ValueError(f"{where}: {cause}; fix the parameters in that file") from None
        raise  # a leaf's own ValueError already names its key (`dataset.max_len`)
    if kind is not None and not isinstance(built, kind):
        raise ValueError(
            f"{where}: _target_ {target!r} returned a {type(built).__name__}, which is not "
            f"an {kind.__module__}.{kind.__qualname__}; make it return one"
        )
    return built
