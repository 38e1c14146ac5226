"""`Report`: everything a sweep's report found, as one record, and `summary.json`'s
content (`Report.to_json`).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from ablate.report.claims import Declared, Verdict
from ablate.report.dims import Dims
from ablate.report.read import Failure, Run
from ablate.report.rows import Comparisons
from ablate.report.tuning import TuningSummary
from ablate.report.variants import Variant

METHOD = (
    "paired bootstrap over test sentences (resampled once per replicate, shared by every "
    "variant), Welch's t-test over training seeds, and a t-test of both levels' variance "
    "at once; the largest p counts and the intervals are their union; Holm within each "
    "claim's declared family; similarity by "
    "two one-sided tests against the declared margin"
)


@dataclass(frozen=True)
class Significance:
    """How the report tests: the method in words, alpha, replicates R, resampling seed."""

    method: str
    alpha: float
    n_bootstrap: int
    seed: int


@dataclass(frozen=True)
class Report:
    """A sweep's report: its variants, the comparisons between them, the verdicts.

    Args:
        sweep_dir: the multirun dir.
        variants: name -> its row (means and intervals over seeds), in report order.
        buckets: the bucket labels of every variant, in length order.
        runs: the complete runs, variant by variant.
        failed: the jobs that did not complete.
        comparisons: the paired tests, per group.
        verdicts: the claims judged, per group (and per family across d).
        claims: the claims judged: as the sweep declared them, or the defaults.
        significance: how the tests were made.
        dims: the comparisons across the key size d, per family of groups that differ
            in `model.hidden` (or a Transformer's `model.heads`) alone
            (`ablate.report.dims`); empty without such a sweep.
        tuning: an equal-tuning sweep's studies (`ablate.report.tuning`); None for a
            sweep that did not tune.
    """

    sweep_dir: Path
    variants: Mapping[str, Variant]
    buckets: tuple[str, ...]
    runs: tuple[Run, ...]
    failed: tuple[Failure, ...]
    comparisons: Comparisons
    verdicts: tuple[Verdict, ...]
    claims: tuple[Declared, ...]
    significance: Significance
    dims: tuple[Dims, ...] = ()
    tuning: TuningSummary | None = None

    def to_json(self) -> dict:
        """`summary.json`'s content: plain JSON (no NaN; strata and kinds as text)."""
        c = self.comparisons
        return plain(
            {
                "sweep_dir": self.sweep_dir,
                "variants": self.variants,
                "buckets": self.buckets,
                "runs": self.runs,
                "failed": self.failed,
                "reference": c.reference,
                "comparisons": c.tables,
                "alignment_by_jump": c.alignment_by_jump,
                "aso": c.aso,
                "problems": c.problems,
                "verdicts": self.verdicts,
                "claims": self.claims,
                "claims_declared": all(d.declared for d in self.claims),
                "significance": self.significance,
                "dims": self.dims,
                "tuning": self.tuning,
            }
        )


def plain(value):
    """`value` as JSON: records by their `to_json` or fields, enums by value, paths as
    text, NaN/inf floats as `None` (JSON has no NaN), numpy scalars as Python."""
    if hasattr(value, "to_json"):
        return plain(value.to_json())
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def natural(text: str) -> tuple:
    """A sort key that orders the numbers in `text` by value: `model.hidden=32` before
    `model.hidden=128`."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))
