"""One row per variant: its seeds' scores averaged, with a 95% interval over seeds.

- Intervals: with two or more seeds, a Student-t 95% interval of the mean over seeds
  (variation between training runs); with one seed, that run's own 95% bootstrap interval
  over test sentences (Koehn 2004), as written in its `results.json`.
- Buckets are averaged only where every seed scored the same buckets (the same labels and
  bounds, from the same test set); otherwise the variant's bucket means are withheld and
  the reason given — averaging "21-30" of one test set with "21-30" of another is not a
  mean of anything.
"""

from __future__ import annotations

from ablate.report.read import seed_key
from ablate.report.stats import bleu_ci, finite, mean


def _bucket_rows(runs: list[dict]) -> list[dict]:
    """Per bucket (in length order): n, mean BLEU over seeds and its 95% interval."""
    labels = [(b["label"], b.get("lo"), b.get("hi")) for b in runs[0]["buckets"]]
    rows = []
    for k, (label, lo, hi) in enumerate(labels):
        found = [r["buckets"][k] for r in runs]
        bleus = [b.get("bleu") for b in found]
        m, low, high = bleu_ci(bleus)
        ci = "t over seeds" if len(finite(bleus)) > 1 else None
        if len(finite(bleus)) == 1:  # one seed: its own bootstrap interval
            one = next(b for b in found if finite([b.get("bleu")]))
            low, high = one.get("bleu_ci_low"), one.get("bleu_ci_high")
            ci = "bootstrap" if low is not None else None
        rows.append(
            {
                "label": label,
                "lo": lo,
                "hi": hi,
                "n": found[0].get("n"),
                "bleu": m,
                "bleu_ci_low": low,
                "bleu_ci_high": high,
                "bleu_per_seed": bleus,
                "ci": ci,
            }
        )
    return rows


def _same_buckets(runs: list[dict]) -> bool:
    def key(r):
        return [(b["label"], b.get("lo"), b.get("hi"), b.get("n")) for b in r["buckets"]]

    return all(key(r) == key(runs[0]) for r in runs)


def _band_rows(runs: list[dict], key: str) -> list[dict] | None:
    """Mean over seeds of each band's accuracy (`rare_words`, `alignment_by_jump`)."""
    per_band: dict[str, list] = {}
    for r in runs:
        for band in r.get(key) or []:
            per_band.setdefault(band["label"], []).append(band)
    if not per_band:
        return None
    return [
        {
            "label": label,
            "n": bands[0]["n"] if len({b["n"] for b in bands}) == 1 else None,
            "accuracy": mean([b["accuracy"] for b in bands]),
        }
        for label, bands in per_band.items()
    ]


def summarise(name: str, runs: list[dict]) -> dict:
    """A variant's row: seeds, mean scores with intervals, buckets, alignment, speed."""
    runs = sorted(runs, key=lambda r: (seed_key(r["seed"]), r["dir"]))
    bleus = [r["bleu"] for r in runs]
    m, low, high = bleu_ci(bleus)
    method = "t over seeds" if len(runs) > 1 else None
    if len(runs) == 1 and runs[0].get("bleu_ci_low") is not None:
        low, high, method = runs[0]["bleu_ci_low"], runs[0].get("bleu_ci_high"), "bootstrap"
    aligned = [r["alignment"] for r in runs if r.get("alignment")]
    trains = [r.get("train") or {} for r in runs]
    same = _same_buckets(runs)
    return {
        "name": name,
        "attention": runs[0]["attention"],
        "dataset": runs[0]["dataset"],
        "group": runs[0]["group"],
        "seeds": [r["seed"] for r in runs],
        "n_runs": len(runs),
        "dirs": [r["dir"] for r in runs],
        "bleu": m,
        "bleu_ci_low": low,
        "bleu_ci_high": high,
        "bleu_ci": method,
        "bleu_per_seed": bleus,
        "valid_bleu": mean([r.get("valid_bleu") for r in runs]),
        "chrf": mean([r.get("chrf") for r in runs]),
        "exact_match": mean([r.get("exact_match") for r in runs]),
        "alignment": {k: mean([a.get(k) for a in aligned]) for k in ("accuracy", "aer", "entropy")}
        if aligned
        else None,
        "train": {
            **{
                k: mean([t.get(k) for t in trains])
                for k in ("epochs", "steps", "seconds", "tokens_per_second")
            },
            "peak_rss_mb": max(finite([t.get("peak_rss_mb") for t in trains]), default=None),
        },
        "buckets": _bucket_rows(runs) if same else [],
        "buckets_withheld": None
        if same
        else "its seeds were tested on different buckets (different test sets); not averaged",
        "rare_words": _band_rows(runs, "rare_words"),
        "alignment_by_jump": _band_rows(runs, "alignment_by_jump"),
    }
