"""The sweep report: every variant's BLEU by source length side by side, with significance.

`python -m ablate.report SWEEP_DIR` (and the sweep's own end-of-run callback) reads the
`results.json` and `hypotheses.tsv` of every job dir in a sweep and writes, next to them,
`summary.json`, `summary.md` and `bleu_by_length.png`: one line per variant of BLEU
against source length, mean over seeds with a 95% band — Bahdanau et al. 2015, Fig. 2,
across attention variants.

- Intervals: with two or more seeds, a Student-t 95% interval of the mean over seeds
  (variation between training runs); with one seed, that run's own 95% bootstrap interval
  over test sentences (Koehn 2004), as written in its `results.json`.
- Significance: paired bootstrap resampling (Koehn 2004, "Statistical Significance Tests
  for Machine Translation Evaluation"), sacrebleu's implementation (the one behind
  `sacrebleu --paired-bs`), run per seed on the same test sentences: each variant
  against `attention=none` and against the best variant.

Nothing is dropped silently: a job without a complete `results.json` is listed under
"failed" with its reason and overrides, and the command exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import sacrebleu
import yaml
from matplotlib.figure import Figure
from rich import box
from rich.markup import escape
from rich.table import Table
from sacrebleu.metrics import BLEU
from sacrebleu.significance import Result, _paired_bs_test

from ablate.data.datasets import atomic_write_text
from ablate.outputs import save_figure, write_json
from ablate.plots import bleu_by_length_figure

# sacrebleu logs two INFO lines per paired test; in a sweep that buries the report.
logging.getLogger("sacrebleu").setLevel(logging.WARNING)

ALPHA = 0.05
# The no-attention baseline and the order variants are listed in (DESIGN.md's order);
# attention names not listed here follow, alphabetically.
BASELINE = "none"
ATTENTION_ORDER = ("none", "dot", "scaled_dot", "additive", "multiplicative")
# Keys whose variation across runs is already part of a variant's name, or is the
# replication axis itself.
_NAMED_KEYS = ("seed", "attention", "dataset")
_HEADER = "source\treference\thypothesis\tbucket"
_REQUIRED = ("attention", "dataset", "seed", "bleu", "buckets")
# Two-sided 95% Student-t quantiles t_{0.975, df} for df = 1..30.
# fmt: off
_T975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
         2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
         2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423)
# fmt: on


# --------------------------------------------------------------------------- statistics


def t_quantile_975(df: int) -> float:
    """The 0.975 quantile of Student's t with `df` degrees of freedom.

    A table for df <= 30; above, the Cornish-Fisher expansion around the normal quantile
    (Abramowitz & Stegun 26.7.5), accurate to 1e-6 there.

    Args:
        df: degrees of freedom, >= 1.

    Returns:
        `t` such that P(T <= t) = 0.975.
    """
    if df < 1:
        raise ValueError(f"a t quantile needs df >= 1, got df={df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959963984540054
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _finite(values: Sequence) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _mean(values: Sequence) -> float | None:
    """Mean of the finite values; `None` when there are none (JSON has no NaN)."""
    xs = _finite(values)
    return sum(xs) / len(xs) if xs else None


def mean_ci(values: Sequence[float]) -> tuple[float | None, float | None, float | None]:
    """Mean and two-sided 95% Student-t interval of the mean.

    Args:
        values: one score per seed; `None`/NaN entries are ignored.

    Returns:
        `(mean, low, high)`; the bounds are `None` with fewer than two values, and all
        three are `None` with no value.
    """
    xs = _finite(values)
    if not xs:
        return None, None, None
    mean = sum(xs) / len(xs)
    if len(xs) < 2:
        return mean, None, None
    sd = float(np.std(xs, ddof=1))
    half = t_quantile_975(len(xs) - 1) * sd / math.sqrt(len(xs))
    return mean, mean - half, mean + half


def _bleu_ci(values: Sequence) -> tuple[float | None, float | None, float | None]:
    """`mean_ci` with the bounds clipped to BLEU's range, 0-100: with few seeds the t
    interval is wide and would otherwise promise BLEU above 100 or below 0."""
    mean, low, high = mean_ci(values)
    if low is not None:
        low, high = max(0.0, low), min(100.0, high)
    return mean, low, high


def paired_bootstrap(
    hyps: Sequence[str],
    baseline_hyps: Sequence[str],
    refs: Sequence[str],
    *,
    tokenize: str,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict:
    """Paired bootstrap resampling test of BLEU (Koehn 2004), sacrebleu's implementation.

    Draws `n_bootstrap` resamples of the test sentences (the same ones for both systems)
    and returns the share of resamples whose centred absolute BLEU difference exceeds the
    observed one: `sacrebleu --paired-bs`, with the seed given here instead of
    `SACREBLEU_SEED`. Systems whose per-sentence BLEU statistics are identical get
    p = 1: every resample ties, and sacrebleu's strict `>` would otherwise report
    p = 1/(n+1) for a system compared with itself.

    Args:
        hyps: the system's hypotheses.
        baseline_hyps: the baseline's hypotheses of the same sentences.
        refs: one reference per sentence.
        tokenize: the sacrebleu tokenizer the runs were scored with (`tok:` in their
            signature).
        n_bootstrap: resamples, >= 1.
        seed: seed of the resampling.

    Returns:
        `{"bleu", "baseline_bleu", "diff", "p_value"}`, `diff = bleu - baseline_bleu`.
    """
    if not len(hyps) == len(baseline_hyps) == len(refs) > 0:
        raise ValueError(
            f"paired_bootstrap needs the same non-zero number of hypotheses, baseline "
            f"hypotheses and references, got {len(hyps)}, {len(baseline_hyps)}, {len(refs)}"
        )
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    # force=True as in ablate.metrics: silences the "looks tokenized" warning only.
    metric = BLEU(tokenize=tokenize, force=True)
    references = [list(refs)]
    base_stats = metric._extract_corpus_statistics(list(baseline_hyps), references)
    base_score = metric._aggregate_and_compute(base_stats).score
    sys_stats = metric._extract_corpus_statistics(list(hyps), references)
    if sys_stats == base_stats:
        return {"bleu": base_score, "baseline_bleu": base_score, "diff": 0.0, "p_value": 1.0}
    baseline_info = {"BLEU": (base_stats, Result(base_score))}
    _, results = _paired_bs_test(
        baseline_info,
        "system",
        list(hyps),
        references,
        {"BLEU": metric},
        n_samples=n_bootstrap,
        seed=seed,
    )
    score = float(results["BLEU"].score)
    return {
        "bleu": score,
        "baseline_bleu": float(base_score),
        "diff": score - base_score,
        "p_value": float(results["BLEU"].p_value),
    }


# --------------------------------------------------------------------------- reading


def _read_overrides(job: Path) -> list[str]:
    path = job / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    return [str(x) for x in data] if isinstance(data, list) else []


def _job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(
        p
        for p in sweep_dir.iterdir()
        if p.is_dir() and ((p / ".hydra").is_dir() or (p / "results.json").is_file())
    )


def _failure(job: Path) -> tuple[dict | None, str | None]:
    """`(results, None)` for a complete job, `(None, reason)` otherwise."""
    path = job / "results.json"
    if not path.is_file():
        return None, "no results.json"
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        return None, f"unreadable results.json ({e})"
    if not isinstance(results, dict):
        return None, "results.json is not a JSON object"
    status = results.get("status", "missing")
    if status != "complete":
        error = results.get("error")
        return None, f"status: {status}" + (f" ({error})" if error else "")
    missing = [k for k in _REQUIRED if k not in results]
    if missing:
        return None, f"results.json lacks {', '.join(missing)}"
    return results, None


def collect(sweep_dir: Path) -> tuple[list[dict], list[dict]]:
    """Read every job dir of a sweep.

    A job dir is an immediate subdir of `sweep_dir` with a `.hydra/` folder or a
    `results.json`. A job is complete when its `results.json` has `status == "complete"`
    and the keys a report needs; every other job is returned as failed, never dropped.

    Args:
        sweep_dir: the multirun dir (`outputs/multirun/<date>/<time>`).

    Returns:
        `(runs, failed)`, both sorted by dir name: each run is its `results.json` plus
        `"dir"` (str) and `"overrides"` (Hydra's override strings, `[]` when there are
        none); each failure is `{"dir", "reason", "overrides"}`.

    Raises:
        FileNotFoundError: if `sweep_dir` is not a directory.
    """
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"sweep dir {sweep_dir} does not exist or is not a directory")
    runs, failed = [], []
    for job in _job_dirs(sweep_dir):
        results, reason = _failure(job)
        overrides = _read_overrides(job)
        if results is None:
            if not overrides and job.joinpath("results.json").is_file():
                # A job that failed inside ablate records its overrides in results.json.
                try:
                    overrides = list(
                        json.loads(job.joinpath("results.json").read_text()).get("overrides") or []
                    )
                except (OSError, ValueError, AttributeError):
                    overrides = []
            failed.append({"dir": str(job), "reason": reason, "overrides": overrides})
        else:
            runs.append(
                {
                    **results,
                    "dir": str(job),
                    "overrides": overrides or list(results.get("overrides") or []),
                }
            )
    return runs, failed


def read_hypotheses(path: Path) -> dict[str, list[str]]:
    """The columns of a `hypotheses.tsv` (as written by `ablate.outputs.write_tsv`).

    Args:
        path: the file.

    Returns:
        `{"source", "reference", "hypothesis", "bucket"}`, one list entry per sentence.

    Raises:
        ValueError: if the header or a row does not have the four columns.
    """
    # split("\n"), not splitlines(): fields may hold \r or \x0b, only \n ends a row.
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    columns = tuple(_HEADER.split("\t"))
    if not lines or tuple(lines[0].split("\t")) != columns:
        raise ValueError(f"{path} must start with the header {_HEADER!r}")
    table: dict[str, list[str]] = {c: [] for c in columns}
    for i, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(columns):
            raise ValueError(f"{path} line {i} has {len(fields)} fields, expected 4")
        for c, f in zip(columns, fields, strict=True):
            table[c].append(f)
    return table


def _tokenizer(run: Mapping) -> str | None:
    signature = (run.get("signature") or {}).get("bleu") or ""
    for part in str(signature).split("|"):
        key, _, value = part.partition(":")
        if key == "tok" and value:
            return value
    return None


# --------------------------------------------------------------------------- variants


def _attention_rank(name: str) -> tuple[int, str]:
    order = {a: i for i, a in enumerate(ATTENTION_ORDER)}
    return order.get(name, len(order)), name


def _seed_key(seed) -> tuple:
    # Integer seeds in numeric order (2 before 10), anything else after, as text.
    return (0, seed, "") if isinstance(seed, int) else (1, 0, str(seed))


def _override_items(overrides: Sequence[str]) -> dict[str, str]:
    items = {}
    for o in overrides:
        key, sep, value = o.lstrip("+~").partition("=")
        if sep and key not in _NAMED_KEYS:
            items[key] = value
    return items


def _name_runs(runs: list[dict]) -> None:
    """Set each run's `variant` name and `group` (the variants it is compared with)."""
    several = len({r["dataset"] for r in runs}) > 1
    for r in runs:
        r["variant"] = f"{r['dataset']}/{r['attention']}" if several else str(r["attention"])
        r["group"] = str(r["dataset"])

    def collides() -> bool:
        keys = [(r["variant"], r["seed"]) for r in runs]
        return len(set(keys)) < len(keys)

    if collides():
        # Another axis was swept too (model=default,big): name it, so that one variant
        # holds one configuration and its seeds, never two configurations mixed.
        items = [_override_items(r["overrides"]) for r in runs]
        keys = sorted({k for it in items for k in it})
        varying = [k for k in keys if len({it.get(k) for it in items}) > 1]
        for r, it in zip(runs, items, strict=True):
            extra = ",".join(f"{k}={it[k]}" for k in varying if k in it)
            if extra:
                r["variant"] += f" {extra}"
                r["group"] += f" {extra}"
    if collides():
        # Same configuration and seed twice (a re-run): keep both, told apart by dir.
        for r in runs:
            r["variant"] += f" [{Path(r['dir']).name}]"


def _bucket_rows(runs: list[dict]) -> list[dict]:
    """Per bucket label (in length order): n, mean BLEU over seeds and its 95% interval."""
    info: dict[str, dict] = {}
    for r in runs:
        for b in r["buckets"]:
            info.setdefault(b["label"], {"lo": b.get("lo"), "hi": b.get("hi")})
    labels = sorted(info, key=lambda lab: (info[lab]["lo"] is None, info[lab]["lo"] or 0, lab))
    rows = []
    for label in labels:
        found = [b for r in runs for b in r["buckets"] if b["label"] == label]
        ns = [b.get("n") for b in found]
        bleus = [b.get("bleu") for b in found]
        mean, low, high = _bleu_ci(bleus)
        scored = [b for b in found if _finite([b.get("bleu")])]
        if len(_finite(bleus)) == 1:  # one seed: its own bootstrap interval
            low, high = scored[0].get("bleu_ci_low"), scored[0].get("bleu_ci_high")
        rows.append(
            {
                "label": label,
                "lo": info[label]["lo"],
                "hi": info[label]["hi"],
                # The test set is generated from the seed, so n may differ between seeds.
                "n": ns[0] if len(set(ns)) == 1 else None,
                "n_per_seed": ns,
                "bleu": mean,
                "bleu_ci_low": low,
                "bleu_ci_high": high,
                "bleu_per_seed": bleus,
                "ci": "t over seeds"
                if len(_finite(bleus)) > 1
                else ("bootstrap" if low is not None else None),
            }
        )
    return rows


def _variant(name: str, runs: list[dict]) -> dict:
    runs = sorted(runs, key=lambda r: (_seed_key(r["seed"]), r["dir"]))
    bleus = [r["bleu"] for r in runs]
    mean, low, high = _bleu_ci(bleus)
    method = "t over seeds" if len(runs) > 1 else None
    if len(runs) == 1 and runs[0].get("bleu_ci_low") is not None:
        low, high, method = runs[0]["bleu_ci_low"], runs[0].get("bleu_ci_high"), "bootstrap"
    aligned = [r["alignment"] for r in runs if r.get("alignment")]
    alignment = (
        {k: _mean([a.get(k) for a in aligned]) for k in ("accuracy", "aer", "entropy")}
        if aligned
        else None
    )
    trains = [r.get("train") or {} for r in runs]
    return {
        "name": name,
        "attention": runs[0]["attention"],
        "dataset": runs[0]["dataset"],
        "group": runs[0]["group"],
        "seeds": [r["seed"] for r in runs],
        "n_runs": len(runs),
        "dirs": [r["dir"] for r in runs],
        "bleu": mean,
        "bleu_ci_low": low,
        "bleu_ci_high": high,
        "bleu_ci": method,
        "bleu_per_seed": bleus,
        "chrf": _mean([r.get("chrf") for r in runs]),
        "exact_match": _mean([r.get("exact_match") for r in runs]),
        "alignment": alignment,
        "train": {
            **{
                k: _mean([t.get(k) for t in trains])
                for k in ("epochs", "steps", "seconds", "tokens_per_second")
            },
            "peak_rss_mb": max(_finite([t.get("peak_rss_mb") for t in trains]), default=None),
        },
        "buckets": _bucket_rows(runs),
        "rare_words": _rare_word_rows(runs),
    }


def _rare_word_rows(runs: list[dict]) -> list[dict] | None:
    """Mean over seeds of each training-frequency band's word accuracy."""
    per_band: dict[str, list] = {}
    for r in runs:
        for band in r.get("rare_words") or []:
            per_band.setdefault(band["label"], []).append(band)
    if not per_band:
        return None
    return [
        {
            "label": label,
            "n": bands[0]["n"] if len({b["n"] for b in bands}) == 1 else None,
            "accuracy": _mean([b["accuracy"] for b in bands]),
        }
        for label, bands in per_band.items()
    ]


# --------------------------------------------------------------------------- significance


class _Hypotheses:
    """Reads each job's `hypotheses.tsv` once."""

    def __init__(self):
        self._cache: dict[str, dict | str] = {}

    def get(self, run: Mapping) -> dict | str:
        """The table, or the reason it cannot be had."""
        key = run["dir"]
        if key not in self._cache:
            path = Path(key) / "hypotheses.tsv"
            if not path.is_file():
                self._cache[key] = f"no hypotheses.tsv in {Path(key).name}"
            else:
                try:
                    self._cache[key] = read_hypotheses(path)
                except (OSError, ValueError) as e:
                    self._cache[key] = str(e)
        return self._cache[key]


def _compare_seed(
    run: Mapping, base: Mapping, hyps: _Hypotheses, n_bootstrap: int, seed: int
) -> dict:
    row = {
        "seed": run["seed"],
        "bleu": None,
        "baseline_bleu": None,
        "diff": None,
        "p_value": None,
        "reason": None,
    }
    tok, base_tok = _tokenizer(run), _tokenizer(base)
    a, b = hyps.get(run), hyps.get(base)
    if isinstance(a, str) or isinstance(b, str):
        row["reason"] = a if isinstance(a, str) else b
    elif tok is None or base_tok is None:
        row["reason"] = "no BLEU tokenizer (tok:) in the results' signature"
    elif tok != base_tok:
        row["reason"] = f"BLEU tokenizers differ ({tok} vs {base_tok})"
    elif a["source"] != b["source"] or a["reference"] != b["reference"]:
        row["reason"] = "the test sets differ"
    elif not a["source"]:
        row["reason"] = "empty hypotheses.tsv"
    else:
        row.update(
            paired_bootstrap(
                a["hypothesis"],
                b["hypothesis"],
                a["reference"],
                tokenize=tok,
                n_bootstrap=n_bootstrap,
                seed=seed,
            )
        )
    return row


def _compare(
    variant: list[dict],
    baseline: list[dict],
    baseline_name: str,
    hyps: _Hypotheses,
    n_bootstrap: int,
    seed: int,
) -> dict:
    by_seed = {r["seed"]: r for r in baseline}
    rows = []
    for run in sorted(variant, key=lambda r: _seed_key(r["seed"])):
        if run["seed"] in by_seed:
            rows.append(_compare_seed(run, by_seed[run["seed"]], hyps, n_bootstrap, seed))
        else:
            rows.append(
                {
                    "seed": run["seed"],
                    "bleu": None,
                    "baseline_bleu": None,
                    "diff": None,
                    "p_value": None,
                    "reason": f"{baseline_name} has no run with this seed",
                }
            )
    tested = [r for r in rows if r["p_value"] is not None]
    reasons = sorted({r["reason"] for r in rows if r["reason"]})
    return {
        "baseline": baseline_name,
        "per_seed": rows,
        "n_seeds": len(tested),
        "n_significant": sum(r["p_value"] < ALPHA for r in tested),
        "diff": _mean([r["diff"] for r in tested]),
        "reason": None if tested else "; ".join(reasons) or "no seed to compare",
    }


# --------------------------------------------------------------------------- report


def _plain(value):
    """`value` with NaN/inf floats as `None` (JSON has no NaN) and tuples as lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def build_report(sweep_dir: Path, *, n_bootstrap: int = 1000, seed: int = 0) -> dict:
    """Compare the variants of a sweep: BLEU by length over seeds, alignment, speed, tests.

    Complete runs are grouped into variants by `attention` (named `dataset/attention` when
    the sweep covers several datasets, and with the other swept overrides appended when
    the sweep varied more than attention and seed). Significance is computed per seed
    between runs of the same seed, which share their test set.

    Args:
        sweep_dir: the multirun dir.
        n_bootstrap: resamples of the paired bootstrap test, >= 1.
        seed: seed of the resampling.

    Returns:
        A JSON-serialisable dict: `sweep_dir`; `variants` (name -> seeds, n_runs, dirs,
        bleu with bleu_ci_low/high, chrf, exact_match, alignment means or None, train
        means, and `buckets`: per label n, bleu, bleu_ci_low, bleu_ci_high); `buckets`
        (the labels in length order); `runs` (one line per complete run); `failed`;
        `best` (the variant with the highest mean BLEU, or None); `significance`
        (`method`, `alpha`, `n_bootstrap`, `seed`, and `vs_none` / `vs_best`: variant ->
        `{baseline, per_seed: [{seed, bleu, baseline_bleu, diff, p_value, reason}],
        n_seeds, n_significant, diff, reason}`).

    Raises:
        FileNotFoundError: if `sweep_dir` is not a directory.
        ValueError: if `n_bootstrap < 1`.
    """
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be >= 1, got {n_bootstrap}")
    sweep_dir = Path(sweep_dir)
    runs, failed = collect(sweep_dir)
    _name_runs(runs)
    members: dict[str, list[dict]] = {}
    for r in sorted(
        runs, key=lambda r: (r["group"], _attention_rank(str(r["attention"])), r["variant"])
    ):
        members.setdefault(r["variant"], []).append(r)
    variants = {name: _variant(name, rs) for name, rs in members.items()}

    def score(name: str) -> float:
        bleu = variants[name]["bleu"]
        return -math.inf if bleu is None else bleu

    best = max(variants, key=score) if variants else None
    best_in: dict[str, str] = {}
    for name, v in variants.items():
        if v["group"] not in best_in or score(name) > score(best_in[v["group"]]):
            best_in[v["group"]] = name
    none_in = {v["group"]: name for name, v in variants.items() if v["attention"] == BASELINE}

    hyps = _Hypotheses()
    vs_none, vs_best = {}, {}
    for name, v in variants.items():
        base = none_in.get(v["group"])
        if base is not None and base != name:
            vs_none[name] = _compare(members[name], members[base], base, hyps, n_bootstrap, seed)
        top = best_in[v["group"]]
        if top != name:
            # When `none` is the best, the two comparisons are one: test it once.
            vs_best[name] = (
                vs_none[name]
                if top == base
                else _compare(members[name], members[top], top, hyps, n_bootstrap, seed)
            )

    labels = []
    for v in variants.values():
        for b in v["buckets"]:
            if b["label"] not in labels:
                labels.append(b["label"])
    lo = {b["label"]: b["lo"] for v in variants.values() for b in v["buckets"]}
    labels.sort(key=lambda lab: (lo[lab] is None, lo[lab] or 0, lab))
    return _plain(
        {
            "sweep_dir": str(sweep_dir),
            "variants": variants,
            "buckets": labels,
            "runs": [
                {
                    "dir": r["dir"],
                    "variant": r["variant"],
                    "attention": r["attention"],
                    "dataset": r["dataset"],
                    "seed": r["seed"],
                    "bleu": r["bleu"],
                }
                for rs in members.values()
                for r in rs
            ],
            "failed": failed,
            "best": best,
            "significance": {
                "method": "paired bootstrap resampling (Koehn 2004), "
                f"sacrebleu {sacrebleu.__version__}",
                "alpha": ALPHA,
                "n_bootstrap": n_bootstrap,
                "seed": seed,
                "vs_none": vs_none,
                "vs_best": vs_best,
            },
        }
    )


# --------------------------------------------------------------------------- rendering


def _f(value, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


def _interval(mean, low, high, *, terminal: bool = False) -> str:
    if mean is None:
        return "–"
    if low is None or high is None:
        return _f(mean)
    if terminal:  # two short lines keep a column narrow
        return f"{_f(mean)}\n[dim]{_f(low)}–{_f(high)}[/dim]"
    return f"{_f(mean)} [{_f(low)}, {_f(high)}]"


def _seeds(v: Mapping) -> str:
    return ",".join(str(s) for s in v["seeds"])


def _main_rows(report: Mapping, *, terminal: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the main table: full in summary.md, narrow in the terminal."""
    if terminal:  # seeds go under the name, headers are short: the table has 15 columns
        header = (
            ["variant", "BLEU"] + list(report["buckets"]) + ["acc", "AER", "H", "train s", "tok/s"]
        )
    else:
        header = (
            ["variant", "seeds", "BLEU [95% CI]"]
            + list(report["buckets"])
            + ["align acc", "AER", "entropy", "train s", "tok/s"]
        )
    rows = []
    for name, v in report["variants"].items():
        by_label = {b["label"]: b for b in v["buckets"]}
        label = name + (" (best)" if name == report.get("best") else "")
        if terminal:
            cells = [f"{escape(label)}\n[dim]seeds {_seeds(v)}[/dim]"]
        else:
            cells = [label, _seeds(v)]
        cells.append(_interval(v["bleu"], v["bleu_ci_low"], v["bleu_ci_high"], terminal=terminal))
        for bucket in report["buckets"]:
            b = by_label.get(bucket)
            cells.append(
                _interval(b["bleu"], b["bleu_ci_low"], b["bleu_ci_high"], terminal=terminal)
                if b
                else "–"
            )
        a = v["alignment"] or {}
        cells += [
            _f(a.get("accuracy"), ".3f"),
            _f(a.get("aer"), ".3f"),
            _f(a.get("entropy"), ".2f"),
            _f(v["train"].get("seconds"), ".0f"),
            _f(v["train"].get("tokens_per_second"), ".0f"),
        ]
        rows.append(cells)
    return header, rows


def _significance_rows(report: Mapping) -> tuple[list[str], list[list[str]]]:
    header = ["variant", "vs", "ΔBLEU", "p per seed", f"seeds p < {ALPHA}"]
    rows = []
    sig = report["significance"]
    for kind in ("vs_none", "vs_best"):
        for name, c in sig[kind].items():
            if c["reason"]:
                rows.append([name, c["baseline"], "–", f"skipped: {c['reason']}", "–"])
                continue
            ps = ", ".join(
                f"{r['seed']}: {_f(r['p_value'], '.3f')}"
                + (f" ({r['reason']})" if r["reason"] else "")
                for r in c["per_seed"]
            )
            rows.append(
                [
                    name,
                    c["baseline"],
                    _f(c["diff"], "+.1f"),
                    ps,
                    f"{c['n_significant']}/{c['n_seeds']}",
                ]
            )
    return header, rows


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(_md_cell(h) for h in header) + " |",
        "|" + "|".join(" --- " if i < 2 else " ---: " for i in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return lines


def summary_markdown(report: Mapping) -> str:
    """`summary.md`: the main table, the significance table and the failed jobs."""
    sig = report["significance"]
    lines = [f"# Sweep report: {report['sweep_dir']}", ""]
    if report["variants"]:
        header, rows = _main_rows(report)
        lines += [
            "BLEU on the test set, mean over seeds with a 95% interval (Student t over "
            "seeds; with one seed, that run's bootstrap interval). Bucket columns: "
            "source length in words (Bahdanau et al. 2015, Fig. 2).",
            "",
        ]
        lines += _md_table(header, rows)
    else:
        lines.append("No complete run.")
    lines += [
        "",
        "## Significance",
        "",
        f"{sig['method']}, {sig['n_bootstrap']} resamples, seed {sig['seed']}, per seed "
        "on the same test sentences. ΔBLEU = variant − baseline (mean over seeds).",
        "",
    ]
    header, rows = _significance_rows(report)
    lines += _md_table(header, rows) if rows else ["No comparison (fewer than two variants)."]
    rare = {name: v["rare_words"] for name, v in report["variants"].items() if v["rare_words"]}
    if rare:
        labels = list(dict.fromkeys(b["label"] for bands in rare.values() for b in bands))
        lines += [
            "",
            "## Rare words",
            "",
            "Share of reference words the hypotheses produce (clipped unigram recall), "
            "by the word's frequency in the training targets; mean over seeds.",
            "",
        ]
        rows = [
            [name]
            + [
                _f(
                    next(
                        (
                            100 * b["accuracy"]
                            for b in bands
                            if b["label"] == lab and b["accuracy"] is not None
                        ),
                        None,
                    )
                )
                for lab in labels
            ]
            for name, bands in rare.items()
        ]
        lines += _md_table(["variant", *(f"freq {lab}" for lab in labels)], rows)
    lines += ["", "## Failed jobs", ""]
    if report["failed"]:
        for f in report["failed"]:
            overrides = " ".join(f["overrides"]) or "no overrides recorded"
            lines.append(f"- `{Path(f['dir']).name}`: {f['reason']} ({overrides})")
    else:
        lines.append("none")
    return "\n".join(lines) + "\n"


def report_figure(report: Mapping) -> Figure:
    """BLEU by source length, one line per variant: mean over seeds with its 95% band.

    Raises:
        ValueError: if the report has no variant.
    """
    series = {name: v["buckets"] for name, v in report["variants"].items()}
    datasets = sorted({str(v["dataset"]) for v in report["variants"].values()})
    return bleu_by_length_figure(
        series, title=f"{', '.join(datasets)}: BLEU by source length (mean over seeds, 95% CI)"
    )


def write_report(sweep_dir: Path, report: dict) -> dict[str, Path]:
    """Write `summary.json`, `summary.md` and (with a variant) `bleu_by_length.png`.

    Args:
        sweep_dir: where to write them.
        report: `build_report`'s result.

    Returns:
        The written paths under the keys `summary_json`, `summary_md` and
        `bleu_by_length_plot`.
    """
    sweep_dir = Path(sweep_dir)
    paths = {"summary_json": sweep_dir / "summary.json", "summary_md": sweep_dir / "summary.md"}
    write_json(paths["summary_json"], report)
    atomic_write_text(paths["summary_md"], summary_markdown(report))
    if report["variants"]:
        paths["bleu_by_length_plot"] = save_figure(
            report_figure(report), sweep_dir / "bleu_by_length.png"
        )
    return paths


def report_table(report: Mapping) -> Table:
    """The main table of `summary.md` for the terminal, failed jobs in the caption."""
    n_runs = sum(v["n_runs"] for v in report["variants"].values())
    table = Table(
        title=f"{escape(report['sweep_dir'])} · {n_runs} complete run(s)\n"
        "test BLEU by source length: mean over seeds, 95% CI below · acc, AER: "
        "attention vs gold alignment · H: attention entropy (nats)",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    header, rows = _main_rows(report, terminal=True)
    for i, col in enumerate(header):
        # Variant names never wrap: they are what a reader scans for.
        table.add_column(col, justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    if report["failed"]:
        names = ", ".join(f"{Path(f['dir']).name} ({f['reason']})" for f in report["failed"])
        table.caption = f"[red]failed: {escape(names)}[/red]"
    return table


def main(argv: list[str] | None = None) -> int:
    """`python -m ablate.report DIR [--n-bootstrap N] [--seed S]`.

    Returns:
        0 when every job is complete, 1 when a job failed, there is no complete run or
        `DIR` is missing (with a one-line error).
    """
    # Imported here: ablate.console pulls in Lightning, which build_report does not need.
    from ablate.console import console

    def positive(text: str) -> int:
        value = int(text)
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
        return value

    parser = argparse.ArgumentParser(
        prog="python -m ablate.report", description="Compare the variants of a sweep."
    )
    parser.add_argument("dir", type=Path, help="the sweep dir (outputs/multirun/<date>/<time>)")
    parser.add_argument(
        "--n-bootstrap",
        type=positive,
        default=1000,
        help="resamples of the paired bootstrap test (default 1000)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampling")
    args = parser.parse_args(argv)

    def error(message: str) -> int:
        console.print(f"[bold red]error:[/bold red] {message}", soft_wrap=True)
        return 1

    if not args.dir.is_dir():
        return error(f"sweep dir {args.dir} does not exist or is not a directory")
    if not _job_dirs(args.dir):
        return error(f"no job dirs (subdirs with .hydra/ or results.json) in {args.dir}")
    try:
        report = build_report(args.dir, n_bootstrap=args.n_bootstrap, seed=args.seed)
    except (OSError, ValueError) as e:
        return error(f"cannot build the report of {args.dir}: {e}")
    paths = write_report(args.dir, report)
    if report["variants"]:
        console.print(report_table(report))
    console.print(f"sweep report: {paths['summary_md']}")
    if not report["variants"]:
        return error(
            f"no complete run in {args.dir}; {len(report['failed'])} failed job(s), "
            f"see {paths['summary_md']}"
        )
    if report["failed"]:
        names = ", ".join(Path(f["dir"]).name for f in report["failed"])
        return error(f"{len(report['failed'])} job(s) failed in {args.dir}: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
