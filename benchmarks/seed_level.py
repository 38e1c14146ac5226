"""The seed-level half of the report's paired test, re-applied to a published report whose
run dirs are gone: Welch's t-test over seeds on each pair's overall test BLEU, from the
variants table of its `summary.md` (each variant's mean over seeds and its 95% Student-t
interval, which give the seeds' standard deviation), Holm within each group.

The calibrated test's p is the larger of the sentence-level bootstrap's and this one
(`ablate.report.stats.paired`), so a pair this says is not significant is not significant
under the new rule either; a pair it says is significant still needs the sentence level,
which only the run dirs can give. An interval clipped at 0 or 100 BLEU uses its other side;
one clipped at both ends gives a lower bound on the sd, so its p is a lower bound (`p >=`):
still conclusive where it says not significant.

    python benchmarks/seed_level.py docs/results/dims_transformer/summary.md
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
from pathlib import Path

from scipy.stats import t as student_t

from ablate.report.stats import ALPHA, SeedTest, holm

ROW = re.compile(
    r"^\| (?P<name>[^|]+?) \| (?P<seeds>[\d,]+) \| (?P<m>[\d.]+) \[(?P<lo>[\d.]+), (?P<hi>[\d.]+)\]"
)


def variants(summary_md: Path) -> dict[str, dict[str, tuple[int, float, float]]]:
    """group -> attention -> (seeds, mean, sd) from the report's variants table."""
    out: dict[str, dict[str, tuple[int, float, float]]] = {}
    text = summary_md.read_text(encoding="utf-8").split("## BLEU by source length")[1]
    for line in text.split("\n## ")[0].splitlines():
        m = ROW.match(line)
        if not m:
            continue
        name = m["name"].replace(" (ref)", "")
        attention, _, group = name.partition(" ")
        n = len(m["seeds"].split(","))
        mean, lo, hi = float(m["m"]), float(m["lo"]), float(m["hi"])
        if lo <= 0 and hi >= 100:  # clipped at both ends: the half-width is at least this
            half = max(mean - lo, hi - mean)
        else:  # the side not clipped to 0-100
            half = mean - lo if lo > 0 else hi - mean
        sd = half * math.sqrt(n) / float(student_t.ppf(0.975, n - 1)) if n > 1 else math.nan
        out.setdefault(group, {})[attention] = (n, mean, sd)
    return out


def welch(a: tuple[int, float, float], b: tuple[int, float, float]) -> float:
    """Welch's two-sided p from two (n, mean, sd)."""
    (na, ma, sa), (nb, mb, sb) = a, b
    va, vb = sa**2 / na, sb**2 / nb
    test = SeedTest(
        ma - mb, math.sqrt(va + vb), (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    )
    return test.p()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("summary_md", type=Path, nargs="+")
    args = parser.parse_args()
    for path in args.summary_md:
        print(f"# {path}")
        for group, by in variants(path).items():
            pairs = [
                (a, b)
                for a, b in itertools.combinations(by, 2)
                if min(by[a][0], by[b][0]) > 1 and "none" not in (a, b)
            ] + [(a, "none") for a in by if a != "none" and "none" in by]
            ps = [welch(by[a], by[b]) for a, b in pairs]
            for (a, b), p, ph in zip(pairs, ps, holm(ps), strict=True):
                d = by[a][1] - by[b][1]
                mark = "significant" if ph < ALPHA else "not significant"
                print(
                    f"{group or '-'}\t{a} − {b}\t{d:+.1f}\tWelch p {p:.2g}\tp_Holm {ph:.2g}\t{mark}"
                )


if __name__ == "__main__":
    main()
