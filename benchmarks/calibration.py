"""The report's statistical rules under simulation: false-positive rate (A/A) and power (A/B).

    python benchmarks/calibration.py [--quick] [--json PATH] [--seed 0] [--designs D]
                                     [--replicates R] [--block B] [--seed-counts 2,3,5,10]
                                     [--sizes 500,1000] [--regimes sentence,seed,mixed]

Style rule 21: before a test prints verdicts, an A/A simulation at the experiments' seed
counts and test sizes shows its false-positive rate at nominal α, an A/B one its power.
Every design is run through the report's own functions (`ablate.report.stats`:
`Bootstrap.variant`, `paired`, `trend`, `log_slope`, `holm_adjusted`, `PairedTest.within`;
`ablate.report.claims.similar`); nothing of the tests is restated here. A row is one rule
at one design; its `rate` is the fraction of its `designs` simulated designs with the row's
`outcome` at α = 0.05, `ci` a Wilson 95% interval of that rate.

The noise model, per test sentence `i` of length `L_i` (uniform on 5-40 tokens), variant
`v` and training seed `s`: a run's hit probability on a sentence is
`p = clip(0.5 + θ_i + γ_vi + e_vsi + u_vs + w_vs·z_i + effect_vi, 0.01, 0.99)`, its ratio
statistics `(hits ~ Binomial(L_i, p), L_i)` (K = 2, `ratio_from_stats`), and its BLEU
statistics (K = 10, `bleu_from_stats`) `matches_n ~ Binomial(L_i - n + 1, p**n)` from the
same `p`, hypothesis length = reference length. `θ` (sd 0.12) is the sentence's difficulty,
shared by every run (what makes the test paired); `γ` (sd 0.05) a variant's own advantage
on some sentences, shared by its seeds, mean 0 over sentences; `e` (sd 0.08) a run's noise
on a sentence; `u` a seed's offset on the whole run, `w` its tilt along the standardised
length `z_i` (centred so that it leaves the run's score unchanged; same sd as `u`).
`sd_run` is the sd that `e` and the binomial draw give a run's score; per regime:

- `sentence`: `γ` and `e` dominate, `u = w = 0`;
- `seed`: `u`'s sd is 5 × `sd_run`, no `γ`;
- `mixed`: `u`'s sd is 1 × `sd_run`, with `γ`.

The dims rule scores a positive ratio, as the report's score std: per sentence
`(L_i · σ_i, L_i)` with `log σ_i = β·(log d - mean log d) + θ_i + γ_di + e_dsi + u_ds`
(log-scale sds 0.3, 0.1, 0.2; `u` against the sd `e` gives a run's log score), `seeds`
runs at each of d = 32, 64, 128, 256, every d on the same sentences.

Rules (`rule`: `outcome`):

- `pair`, `pair_bleu`: `differ` = `paired(A, B).p < ALPHA`, one test, no Holm, on all `n`
  sentences; `true_diff` is A's shift of `p` in points (`pair_bleu`: the mean observed BLEU
  difference that shift gave; 0 for A/A);
- `bucket`: `differ`, the same on the middle fifth of the sentences by length;
- `length_slope`: `differ` of `trend` over 5 length buckets; `true_diff` the slope of A's
  gain in points per token (A/A from the shift-0 designs);
- `dims_slope`: `differ` of `log_slope` over d; `true_diff` β;
- `equivalence`: `similar` = `paired(A, B).within(margin)`, margin 2 points: at
  `true_diff = 0` its power, at the margin and at twice it the false "similar" rate;
- `similar_claim_aa`: `not supported` = `claims.similar` after `holm_adjusted` over the
  claim's family (the one pair of the A/A sweep) says not supported; shift-0 designs.

A design whose test has no p counts as `not testable` (a row of its own). The sentence
draws (`Bootstrap`) are shared by `--block` consecutive designs of a row, as a report
shares them across its comparisons (a fresh multinomial draw costs ~25 ms a design); the
designs' data are independent.

JSON (`--json PATH`): `{"alpha", "seed", "replicates", "block", "seconds", "rows":
[{"rule", "seeds", "regime", "true_diff", "margin", "rate", "ci": [lo, hi], "outcome",
"designs", "n_sentences"}]}`, `margin` null where unused.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # threaded, (R, n) @ (n, K) is 15× slower
import numpy as np  # noqa: E402

from ablate.metrics import bleu_from_stats  # noqa: E402
from ablate.report.claims import Holds, similar  # noqa: E402
from ablate.report.stats import (  # noqa: E402
    ALPHA,
    Bootstrap,
    PairedTest,
    holm_adjusted,
    log_slope,
    paired,
    ratio_from_stats,
    trend,
)

MARGIN = 2.0  # the equivalence margin, points (the report's default for "scores")
SHIFTS = (0.0, MARGIN, 2 * MARGIN)  # A's shift in points: A/A, at the margin, twice it
LENGTH_SLOPE = 0.1  # A/B: A's gain per token of sentence length, points
DIMS_SLOPE = 0.1  # A/B: slope of log score on log d
DIMS = (32, 64, 128, 256)
BUCKETS = 5
LENGTHS = (5, 40)
THETA, GAMMA, NOISE = 0.12, 0.05, 0.08  # sds of θ, γ, e (probability scale)
LOG_THETA, LOG_GAMMA, LOG_NOISE = 0.3, 0.1, 0.2  # the same on the dims rule's log σ
OUTCOME = {
    "pair": "differ",
    "pair_bleu": "differ",
    "bucket": "differ",
    "length_slope": "differ",
    "dims_slope": "differ",
    "equivalence": "similar",
    "similar_claim_aa": "not supported",
}
MARGINED = ("equivalence", "similar_claim_aa")


@dataclass(frozen=True)
class Regime:
    """Where the noise lives: `gamma`, whether variants have their own sentence effects;
    `seed_ratio`, the sd of a seed's offset over `sd_run`."""

    name: str
    gamma: bool
    seed_ratio: float


REGIMES = {
    r.name: r
    for r in (Regime("sentence", True, 0.0), Regime("seed", False, 5.0), Regime("mixed", True, 1.0))
}


@dataclass(frozen=True)
class Design:
    """One simulated experiment: `kind` `shift` (A shifted by `true_diff` points),
    `length` (A's gain rising by `true_diff` points per token) or `dims` (β =
    `true_diff`); `seeds` per variant (per d), `n` test sentences."""

    kind: str
    seeds: int
    regime: Regime
    n: int
    true_diff: float
    bleu: bool = True  # the A/A shift also feeds the BLEU pair rule


@dataclass(frozen=True)
class Row:
    """One line of the table and of the JSON."""

    rule: str
    seeds: int
    regime: str
    true_diff: float
    margin: float | None
    rate: float
    ci: tuple[float, float]
    outcome: str
    designs: int
    n_sentences: int


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson's 95% interval of the binomial rate `k / n`."""
    if n == 0:
        return 0.0, 1.0
    phat, z2 = k / n, z * z
    centre = (phat + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(phat * (1 - phat) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True)
class TestSet:
    """`n` sentences, sorted by length so that the buckets are slices: `length (n,)`,
    `z (n,)` the standardised length centred on the length-weighted mean (so a tilt along
    it leaves a ratio score unchanged), `theta (n,)` their difficulty."""

    length: np.ndarray
    z: np.ndarray
    theta: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, n: int, theta_sd: float) -> TestSet:
        length = np.sort(rng.integers(LENGTHS[0], LENGTHS[1] + 1, n)).astype(np.float64)
        z = (length - (length**2).sum() / length.sum()) / length.std()
        return cls(length, z, rng.normal(0, theta_sd, n))

    def buckets(self) -> list[slice]:
        edges = np.linspace(0, self.length.size, BUCKETS + 1).astype(int)
        return [slice(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]


def seed_effects(rng, design: Design, sd_run: float) -> tuple[np.ndarray, np.ndarray]:
    """`(seeds, 1)` per-seed offsets `u` and tilts `w`."""
    sd = design.regime.seed_ratio * sd_run
    return rng.normal(0, sd, (design.seeds, 1)), rng.normal(0, sd, (design.seeds, 1))


def hit_probs(rng, design: Design, data: TestSet, effect) -> np.ndarray:
    """`(seeds, n)` hit probabilities of one variant's runs."""
    base = 0.5 + data.theta
    q = np.clip(base, 0.01, 0.99)
    sd_run = math.sqrt(np.sum(data.length**2 * NOISE**2 + data.length * q * (1 - q)))
    u, w = seed_effects(rng, design, sd_run / data.length.sum())
    gamma = rng.normal(0, GAMMA, data.length.size) if design.regime.gamma else 0.0
    e = rng.normal(0, NOISE, (design.seeds, data.length.size))
    return np.clip(base + gamma + e + u + w * data.z + effect, 0.01, 0.99)


def ratio_runs(rng, length: np.ndarray, p: np.ndarray) -> list[np.ndarray]:
    """One `(n, 2)` `(hits, total)` array per run of `(seeds, n)` probabilities."""
    hits = rng.binomial(length.astype(np.int64), p).astype(np.float64)
    return [np.stack([h, length], axis=1) for h in hits]


def bleu_runs(rng, length: np.ndarray, p: np.ndarray) -> list[np.ndarray]:
    """One `(n, 10)` BLEU statistics array per run (hypothesis = reference length)."""
    totals = np.stack([np.maximum(length - k, 0) for k in range(4)], axis=1)  # (n, 4)
    matches = rng.binomial(totals.astype(np.int64), p[..., None] ** np.arange(1, 5))
    lengths = np.stack([length, length], axis=1)
    return [np.concatenate([lengths, m, totals], axis=1) for m in matches]


# --------------------------------------------------------------------------- the rules


def differ(test: PairedTest) -> bool | None:
    """The outcome `differ` of one test; None where it is not testable."""
    return None if test.p is None else test.p < ALPHA


def shift_design(design: Design, rng, boot: Bootstrap) -> dict[str, object]:
    """A shifted by `true_diff` points: the pair, BLEU, bucket and equivalence rules, and
    at shift 0 the length-slope rule and the claim of similarity."""
    data = TestSet.draw(rng, design.n, THETA)
    pa = hit_probs(rng, design, data, design.true_diff / 100)
    pb = hit_probs(rng, design, data, 0.0)
    ra, rb = ratio_runs(rng, data.length, pa), ratio_runs(rng, data.length, pb)
    test = paired(
        boot.variant("all", ra, ratio_from_stats), boot.variant("all", rb, ratio_from_stats)
    )
    out = {"pair": differ(test), "equivalence": None if test.p is None else test.within(MARGIN)}
    if design.bleu and design.true_diff == 0:
        bleu = [
            boot.variant("all", bleu_runs(rng, data.length, p), bleu_from_stats) for p in (pa, pb)
        ]
        out["pair_bleu"] = differ(paired(*bleu))
    cuts = data.buckets()
    # the middle bucket alone where the length-slope rule is not read (A/B shifts)
    keep = range(BUCKETS) if design.true_diff == 0 else [BUCKETS // 2]
    by_a = {k: boot.variant(f"b{k}", [r[cuts[k]] for r in ra], ratio_from_stats) for k in keep}
    by_b = {k: boot.variant(f"b{k}", [r[cuts[k]] for r in rb], ratio_from_stats) for k in keep}
    out["bucket"] = differ(paired(by_a[BUCKETS // 2], by_b[BUCKETS // 2]))
    if design.true_diff == 0:
        x = [float(data.length[c].mean()) for c in cuts]
        out["length_slope"] = differ(trend(list(by_a.values()), list(by_b.values()), x))
        (held,) = holm_adjusted([test], "overall")
        out["similar_claim_aa"] = (
            None if held.p is None else similar(held, MARGIN) is Holds.NOT_SUPPORTED
        )
    return out


def length_design(design: Design, rng, boot: Bootstrap) -> dict[str, object]:
    """A's gain over B rising by `true_diff` points per token: the length-slope rule."""
    data = TestSet.draw(rng, design.n, THETA)
    gain = design.true_diff * (data.length - data.length.mean()) / 100
    ra = ratio_runs(rng, data.length, hit_probs(rng, design, data, gain))
    rb = ratio_runs(rng, data.length, hit_probs(rng, design, data, 0.0))
    cuts = data.buckets()
    by_a = [boot.variant(f"b{k}", [r[c] for r in ra], ratio_from_stats) for k, c in enumerate(cuts)]
    by_b = [boot.variant(f"b{k}", [r[c] for r in rb], ratio_from_stats) for k, c in enumerate(cuts)]
    x = [float(data.length[c].mean()) for c in cuts]
    return {"length_slope": differ(trend(by_a, by_b, x))}


def dims_design(design: Design, rng, boot: Bootstrap) -> dict[str, object]:
    """One variant's score std at each d, log σ rising by β per log d: the dims rule."""
    data = TestSet.draw(rng, design.n, LOG_THETA)
    weight = data.length * np.exp(data.theta)
    sd_run = LOG_NOISE * math.sqrt(float(weight @ weight)) / weight.sum()
    logd = np.log(DIMS) - np.log(DIMS).mean()
    cells = []
    for d, ld in zip(DIMS, logd, strict=True):
        u, _ = seed_effects(rng, design, sd_run)
        gamma = rng.normal(0, LOG_GAMMA, design.n) if design.regime.gamma else 0.0
        e = rng.normal(0, LOG_NOISE, (design.seeds, design.n))
        sigma = np.exp(design.true_diff * ld + data.theta + gamma + e + u)  # (seeds, n)
        runs = [np.stack([data.length * s, data.length], axis=1) for s in sigma]
        cells.append((d, boot.variant("dims", runs, ratio_from_stats)))
    return {"dims_slope": differ(log_slope(cells))}


SIMULATE: dict[str, Callable[[Design, np.random.Generator, Bootstrap], dict]] = {
    "shift": shift_design,
    "length": length_design,
    "dims": dims_design,
}


# --------------------------------------------------------------------------- the rows


def simulate(
    design: Design,
    designs: int,
    replicates: int,
    block: int,
    seed: int,
    advance: Callable[[], None] | None = None,
) -> list[Row]:
    """The rows of `designs` simulated designs (every rule the design's kind feeds), from
    a random stream of their own: the same rows whatever else runs."""
    key = repr((design.kind, design.seeds, design.regime.name, design.n, design.true_diff))
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    tally: dict[str, Counter] = {}
    for i in range(designs):
        if i % block == 0:
            boot = Bootstrap(replicates, int(rng.integers(2**63)))
        out = SIMULATE[design.kind](design, rng, boot)
        for rule, outcome in out.items():
            tally.setdefault(rule, Counter())[outcome] += 1
        if advance:
            advance()
    rows = []
    for rule, count in tally.items():
        true_diff = design.true_diff
        if design.kind == "shift" and rule in ("length_slope", "similar_claim_aa"):
            true_diff = 0.0  # read on the A/A designs only
        margin = MARGIN if rule in MARGINED else None
        for outcome, k in ((OUTCOME[rule], count[True]), ("not testable", count[None])):
            if outcome == "not testable" and k == 0:
                continue
            rate, ci = k / designs, wilson(k, designs)
            rows.append(
                Row(rule, design.seeds, design.regime.name, true_diff, margin, rate, ci,
                    outcome, designs, design.n)
            )  # fmt: skip
    return rows


def grid(
    seed_counts: Iterable[int],
    regimes: Iterable[str],
    sizes: Iterable[int],
    bleu: bool = True,
) -> list[Design]:
    """Every design of a run, per test size, regime and seed count: the three shifts, the
    length slope (its A/A is the shift-0 design) and the dims slope at 0 and β."""
    out = []
    for n in sizes:
        for name in regimes:
            for seeds in seed_counts:
                r = REGIMES[name]
                out += [Design("shift", seeds, r, n, d, bleu) for d in SHIFTS]
                out += [Design("length", seeds, r, n, LENGTH_SLOPE)]
                out += [Design("dims", seeds, r, n, b) for b in (0.0, DIMS_SLOPE)]
    return out


def power_only(design: Design) -> bool:
    """The design feeds no false-positive rate (A/B slopes): it gets fewer designs."""
    return design.kind != "shift" and design.true_diff != 0


def aa(row: Row) -> bool:
    """The row is a false-positive rate: a difference where there is none, or "similar"
    where the difference is at least the margin."""
    if row.outcome == "similar":
        return row.true_diff >= MARGIN
    return row.outcome in ("differ", "not supported") and row.true_diff == 0


RULES = tuple(OUTCOME)


def pivot(rows: list[Row]) -> tuple[list[int], list[tuple[tuple, dict[int, Row]]]]:
    """Rows grouped into lines `(rule, outcome, regime, n, true_diff, margin)`, one column
    per seed count."""
    seeds = sorted({r.seeds for r in rows})
    lines: dict[tuple, dict[int, Row]] = {}
    order = {r: i for i, r in enumerate(RULES)}
    for r in sorted(rows, key=lambda r: (order[r.rule], r.outcome, r.n_sentences,
                                         list(REGIMES).index(r.regime), r.true_diff)):  # fmt: skip
        line = (r.rule, r.outcome, r.regime, r.n_sentences, r.true_diff, r.margin)
        lines.setdefault(line, {})[r.seeds] = r
    return seeds, list(lines.items())


def cell(row: Row | None) -> str:
    if row is None:
        return "–"
    return f"{row.rate:.3f} [{row.ci[0]:.3f}, {row.ci[1]:.3f}]"


HIGH = 0.07  # a false-positive rate above this is flagged


def too_high(row: Row | None) -> bool:
    """The row is a false-positive rate above `HIGH`."""
    return row is not None and aa(row) and row.rate > HIGH


HEAD = ("rule", "outcome", "regime", "n", "true diff", "margin", "designs")


def text_rows(rows: list[Row], mark: Callable[[str], str]) -> tuple[list[str], list[list[str]]]:
    """The table's header and its lines as text, `mark` applied to a rate above `HIGH`."""
    seeds, lines = pivot(rows)
    body = []
    for (rule, outcome, regime, n, diff, margin), by in lines:
        designs = "/".join(sorted({str(r.designs) for r in by.values()}))
        cells = [mark(cell(by.get(s))) if too_high(by.get(s)) else cell(by.get(s)) for s in seeds]
        info = [
            rule,
            outcome,
            regime,
            str(n),
            f"{diff:g}",
            "–" if margin is None else f"{margin:g}",
        ]
        body.append(info + [designs] + cells)
    return [*HEAD, *(f"{s} seeds" for s in seeds)], body


def markdown(rows: list[Row]) -> str:
    """The table as Markdown; a false-positive rate above `HIGH` in bold."""
    head, body = text_rows(rows, lambda t: f"**{t}**")
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(line) + " |" for line in body]
    return "\n".join(out) + "\n"


def print_table(rows: list[Row], console) -> None:
    from rich.table import Table

    head, body = text_rows(rows, lambda t: f"[red]{t}[/]")
    table = Table(title=f"rate of each rule's outcome at α = {ALPHA} (Wilson 95%)")
    for i, name in enumerate(head):
        table.add_column(name, justify="right" if i >= len(HEAD) else "left")
    for line in body:
        table.add_row(*line)
    console.print(table)


def run(args, console=None) -> list[Row]:
    """Every design of `args`' grid: `args.designs` of each that feeds a false-positive
    rate (every shift: A/A, and the equivalence rule's false "similar" at δ and 2δ),
    `args.ab_designs` of the others; in `args.jobs` processes."""
    from concurrent.futures import ProcessPoolExecutor

    from rich.progress import Progress

    plan = grid(args.seed_counts, args.regimes, args.sizes, args.bleu)
    count = {d: args.ab_designs if power_only(d) else args.designs for d in plan}
    rows: list[Row] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("designs", total=sum(count.values()))
        if args.jobs == 1:
            for d in plan:
                advance = lambda: progress.advance(task)  # noqa: E731
                rows += simulate(d, count[d], args.replicates, args.block, args.seed, advance)
            return rows
        with ProcessPoolExecutor(args.jobs) as pool:
            done = [
                pool.submit(simulate, d, count[d], args.replicates, args.block, args.seed)
                for d in plan
            ]
            for d, future in zip(plan, done, strict=True):
                rows += future.result()
                progress.advance(task, count[d])
    return rows


def ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="600/100 designs, R 200, n 500")
    parser.add_argument("--json", type=Path, help="write the rows here")
    parser.add_argument("--markdown", type=Path, help="write the table here as Markdown")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw")
    parser.add_argument("--designs", type=int, help="A/A designs per row (1000; --quick 600)")
    parser.add_argument("--ab-designs", type=int, help="A/B designs per row (300; --quick 100)")
    parser.add_argument("--replicates", type=int, help="bootstrap R (500; --quick 200)")
    parser.add_argument("--block", type=int, default=20, help="designs per sentence draw")
    parser.add_argument(
        "--jobs", type=int, default=min(4, os.cpu_count() or 1), help="processes (CPUs, at most 4)"
    )
    parser.add_argument(
        "--no-bleu", dest="bleu", action="store_false", help="leave out the BLEU pair rule"
    )
    parser.add_argument("--seed-counts", type=ints, default=(2, 3, 5, 10))
    parser.add_argument("--sizes", type=ints, help="test sizes (500,1000; --quick 500)")
    parser.add_argument(
        "--regimes",
        type=lambda t: tuple(t.split(",")),
        help="of sentence,seed,mixed (all; --quick sentence,seed)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "designs": 600 if quick else 1000,
        "ab_designs": 100 if quick else 300,
        "replicates": 200 if quick else 500,
        "sizes": (500,) if quick else (500, 1000),
        "regimes": ("sentence", "seed") if quick else tuple(REGIMES),
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("designs", "ab_designs", "replicates", "block", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    bad = [r for r in args.regimes if r not in REGIMES]
    if bad:
        parser.error(f"unknown regime {bad[0]!r}; valid: {', '.join(REGIMES)}")
    if min(args.seed_counts) < 1 or min(args.sizes) < BUCKETS:
        parser.error(f"seed counts must be >= 1 and sizes >= {BUCKETS}")

    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 170)
    console.print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
        f"{args.designs} A/A and {args.ab_designs} A/B designs per row, R = "
        f"{args.replicates}, a sentence draw per {args.block} designs, seed {args.seed}"
        + (", --quick" if quick else "")
    )
    start = time.perf_counter()
    rows = run(args, console)
    seconds = time.perf_counter() - start
    print_table(rows, console)
    high = [r for r in rows if too_high(r)]
    console.print(
        f"  {seconds:.0f} s; {len(high)} false-positive rate{'s' if len(high) != 1 else ''} "
        f"above {HIGH}"
        + (
            ": "
            + "; ".join(
                f"{r.rule} {r.regime} {r.seeds} seeds n {r.n_sentences} {r.rate:.3f}" for r in high
            )
            if high
            else ""
        )  # fmt: skip
    )
    if args.json:
        payload = {
            "alpha": ALPHA,
            "seed": args.seed,
            "replicates": args.replicates,
            "block": args.block,
            "seconds": round(seconds, 1),
            "rows": [asdict(r) for r in rows],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        console.print(f"  wrote {args.json}")
    if args.markdown:
        args.markdown.write_text(markdown(rows))
        console.print(f"  wrote {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
