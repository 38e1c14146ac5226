"""What a sweep's declared design can decide, checked when the sweep starts.

A claim is decided by its family's Holm correction and its tests' seed level: with n
seeds a variant, Welch's test has at most `2n - 2` degrees of freedom, and Holm's first
step asks a family of m tests for `p < α / m`. So before any training the design says,
per declared claim, how many standard errors a difference must reach to pass — and, for
a claim of similarity, how small the seed-to-seed spread must be for the 90% interval to
fit inside the margin. A design that cannot decide a claim gets a one-line warning that
says what to change (more seeds, fewer declared tests).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy.stats import t as student_t

from ablate.report.claims import CLAIMS, Declared
from ablate.report.read import BASELINE
from ablate.report.stats import ALPHA, MIN_SEEDS

# Beyond this many standard errors a real difference is rarely reached: warn.
HARD = 6.0


@dataclass(frozen=True)
class Design:
    """The shape of a sweep, as its sweeper's values give it.

    Args:
        attentions: the attention options swept (each group's variants).
        seeds: training seeds per variant.
        dims: the sizes d swept (`model.hidden` or `model.heads` values); 0 without.
    """

    attentions: tuple[str, ...]
    seeds: int
    dims: int = 0

    @property
    def with_attention(self) -> int:
        return sum(a != BASELINE for a in self.attentions)

    @property
    def baseline(self) -> bool:
        return BASELINE in self.attentions


def tests_of(name: str, design: Design) -> int:
    """How many tests a claim reads in one group (or family across d) of this design."""
    k, base = design.with_attention, design.baseline
    return {
        "attention": k if base else 0,
        "length": k if base else 0,
        "rare_words": 2 * k if base else 0,
        "reordering": k if base else 0,
        "scores": k * (k - 1) // 2,
        "scores_tuned": k * (k - 1) // 2,
        "dims_growth": 2 if design.dims else 0,
        "dims_scaled": 1 if design.dims else 0,
        "dims_britz": design.dims,
    }.get(name, 0)


def check(declared: Sequence[Declared], design: Design) -> tuple[list[str], list[str]]:
    """`(lines, warnings)`: per claim what it takes to decide, and the claims this design
    cannot decide, each in one line."""
    n = design.seeds
    if n < MIN_SEEDS:
        return [], [
            f"{n} seed per variant: no claim can be decided (the seed-level test needs >= "
            f"{MIN_SEEDS}); use seed=0,1,2 or more"
        ]
    sizes: dict[str, int] = {}
    for d in declared:
        sizes[d.family] = sizes.get(d.family, 0) + tests_of(d.name, design)
    df = 2 * n - 2  # Welch's largest
    lines, warnings = [], []
    for d in declared:
        m = sizes[d.family]
        if not tests_of(d.name, design):
            continue
        need = float(student_t.ppf(1 - ALPHA / (2 * m), df))
        line = (
            f"{d.name}: family {d.family} ({m} tests): a difference must reach "
            f"{need:.1f} standard errors over {n} seeds to pass Holm's first step "
            f"(p < {ALPHA / m:.2g})"
        )
        if d.margin is not None:
            t90 = float(student_t.ppf(1 - ALPHA, df))
            spread = d.margin / (t90 * math.sqrt(2 / n))
            line += (
                f"; similar within ±{d.margin:g} needs a seed-to-seed sd below {spread:.2g} "
                "(at a true difference of 0)"
            )
        lines.append(line)
        if CLAIMS[d.name].margin is None and need > HARD:
            warnings.append(
                f"{d.name}: {n} seeds per variant and {m} tests in family {d.family}: a "
                f"difference must reach {need:.1f} standard errors; use >= {better_seeds(m)} "
                "seeds or fewer declared tests"
            )
    return lines, warnings


def better_seeds(m: int) -> int:
    """The fewest seeds at which Holm's first step over m tests needs <= `HARD` standard
    errors."""
    n = MIN_SEEDS
    while float(student_t.ppf(1 - ALPHA / (2 * m), 2 * n - 2)) > HARD and n < 50:
        n += 1
    return n


def design_of(values: Mapping[str, Sequence[str]], config_seeds: Sequence | None = None) -> Design:
    """The design of a sweep from its swept values (`ablate.sweep_report.sweep_values`);
    `config_seeds`: a tuning sweep's final seeds (`tune.seeds`), which replace `seed`."""
    attentions = tuple(values.get("attention", ("?",)))
    seeds = len(config_seeds) if config_seeds else len(values.get("seed", ("0",)))
    dims = max(len(values.get("model.hidden", ())), len(values.get("model.heads", ())))
    return Design(attentions, seeds, dims if dims > 1 else 0)
