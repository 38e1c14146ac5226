"""A tuning sweep's overrides, read as Hydra's sweep syntax: which variants get a study,
and the search space every study shares.

- A list (`attention=none,dot`), `range(…)` or `glob(…)` is a study axis, enumerated as
  the basic sweeper does: one study per combination of the axes' values (a variant).
  `attention` always names the variant, given as a list or as one value.
- `interval(a, b)` (uniform floats; `int(interval(a, b))` for integers),
  `tag(log, interval(a, b))` (log-uniform) and `choice(x, y, …)` (categorical) span the
  search space; Optuna samples them (`FloatDistribution`, `IntDistribution`,
  `CategoricalDistribution`).
- Any other override (`dataset.train_size=3000`) goes to every job as it is; the later
  of two overrides of one key wins, so the command line overrides the experiment file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, ValueType
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from ablate.tuning import TuningError

VARIANT_KEY = "attention"
# The final runs' replication axis (`tune.seeds`); a trial runs with the config's seed.
SEED_KEY = "seed"
_AXIS_TYPES = (ValueType.SIMPLE_CHOICE_SWEEP, ValueType.RANGE_SWEEP, ValueType.GLOB_CHOICE_SWEEP)


@dataclass(frozen=True)
class Variant:
    """One study: its name (also its folder under `trials/`) and the overrides that make it."""

    name: str
    axes: dict[str, str]  # key -> value, e.g. {"attention": "dot"}

    @property
    def overrides(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.axes.items()]


@dataclass(frozen=True)
class Space:
    """The studies, the shared search space and the overrides every job gets."""

    variants: list[Variant]
    dimensions: dict[str, BaseDistribution]  # key -> what Optuna samples
    text: dict[str, str]  # key -> the range as written, for tuning.json
    fixed: list[str]  # overrides for every job, as given


def parse_space(lines: Sequence[str], parser: OverridesParser | None = None) -> Space:
    """Read the sweeper's `params` and the command line's overrides (in that order).

    Raises:
        TuningError: an empty search space, `seed` among the axes or dimensions, or a
            range Optuna cannot sample (naming the key and the fix).
    """
    parser = parser or OverridesParser.create()
    latest: dict[str, Override] = {}
    for override in parser.parse_overrides(list(lines)):
        latest.pop(override.get_key_element(), None)  # re-insert: the later one's place
        latest[override.get_key_element()] = override
    axes: list[tuple[str, list[str]]] = []
    dimensions, text, fixed = {}, {}, []
    for key, override in latest.items():
        bare = override.key_or_group
        if override.is_delete() or not override.is_sweep_override():
            if bare == VARIANT_KEY and not override.is_delete():
                axes.append((key, [override.get_value_element_as_str()]))
            else:
                fixed.append(override.input_line or f"{key}={override.get_value_element_as_str()}")
            continue
        if bare == SEED_KEY:
            raise TuningError(
                f"{key}={_written(override)}: the final runs' seeds are "
                "tune.seeds (e.g. tune.seeds=[0,1,2]); trials use one seed (seed=0)"
            )
        if override.value_type in _AXIS_TYPES:
            axes.append((key, list(override.sweep_string_iterator())))
        else:
            dimensions[key] = distribution(key, override)
            text[key] = _written(override)
    if not dimensions:
        raise TuningError(
            "the search space is empty: give hydra.sweeper.params a range, e.g. "
            "optim.lr='tag(log, interval(1e-4, 1e-2))' or model.dropout='interval(0.0, 0.5)'"
        )
    axes.sort(key=lambda a: a[0].lstrip("+~") != VARIANT_KEY)  # the variant's name first
    return Space(variants=_variants(axes), dimensions=dimensions, text=text, fixed=fixed)


def _variants(axes: list[tuple[str, list[str]]]) -> list[Variant]:
    combos: list[dict[str, str]] = [{}]
    for key, values in axes:
        combos = [{**c, key: v} for c in combos for v in values]
    variants = []
    for combo in combos:
        name = "-".join(combo.values()) or "tuned"
        variants.append(Variant(name=re.sub(r"[^\w.+-]+", "_", name), axes=combo))
    names = [v.name for v in variants]
    if len(set(names)) < len(names):
        raise TuningError(f"two variants share a name ({', '.join(names)}); list each value once")
    return variants


def distribution(key: str, override: Override) -> BaseDistribution:
    """The Optuna distribution of a search-space override."""
    value = override.value()
    if isinstance(value, ChoiceSweep):  # choice(...): categorical
        choices = list(override.sweep_iterator())
        if len(choices) < 2:
            raise TuningError(f"{key}: choice() needs two or more values, got {choices}")
        return CategoricalDistribution([_plain(c) for c in choices])
    if isinstance(value, IntervalSweep):
        low, high, log = value.start, value.end, "log" in value.tags
        if not low < high:
            raise TuningError(f"{key}: interval({low}, {high}) needs low < high")
        if log and low <= 0:
            raise TuningError(f"{key}: a log interval needs low > 0, got {low}")
        if isinstance(low, int) and isinstance(high, int):
            return IntDistribution(low, high, log=log)
        return FloatDistribution(float(low), float(high), log=log)
    raise TuningError(
        f"{key}={_written(override)}: a tuning sweep searches interval(), "
        "tag(log, interval()) and choice(); lists, range() and glob() are study axes"
    )


def _written(override: Override) -> str:
    """The value of an override as written (Hydra will not print a sweep as a value)."""
    return (override.input_line or "").partition("=")[2].strip()


def _plain(value):
    """A categorical choice as a JSON value Optuna can store (quoted strings unquoted)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def format_value(value) -> str:
    """A sampled value as the right-hand side of a Hydra override."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # round-trips exactly: the job gets the value Optuna stored
    return str(value)
