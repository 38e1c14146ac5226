"""The lecture's claims, each tested by the comparison that fits it, as one verdict line.

A verdict says the claim, the effect with its 95% interval, the test, and `supported`
or `not supported` at the Holm-corrected level (alpha = 0.05). It never says more than
its test: "no pair differs" is what "similar performance" is taken to mean, and the
interval of the largest difference says how similar.
"""

from __future__ import annotations

from collections.abc import Mapping

from ablate.report.compare import ALL, Comparison
from ablate.report.stats import format_p

CLAIMS = {
    "attention": "attention beats the fixed context vector",
    "length": "attention helps most on long sentences (gain grows with source length)",
    "scores": 'the score functions give "similar performance"',
    "rare_words": "attention helps rare words",
    "reordering": "attention handles long reordering",
}


def _effect(r: Mapping, unit: str = "") -> str:
    return (
        f"{r['diff']:+.1f}{unit} [{r['ci_low']:+.1f}, {r['ci_high']:+.1f}], "
        f"p_Holm {format_p(r['p_holm'], r['p_at_floor'])}"
    )


def _verdict(claim: str, group: str, holds, text: str, many: bool) -> dict:
    """A verdict line. `holds` is None (not tested), a bool, or for a claim tested per
    variant a list of `(variant, holds)`: supported only where it holds for every one."""
    where = f" ({group})" if many else ""
    detail = ""
    if isinstance(holds, list):
        yes = [v for v, ok in holds if ok]
        no = [v for v, ok in holds if not ok]
        if yes and no:
            detail = f" (holds for {', '.join(yes)}; not for {', '.join(no)})"
        holds = not no
    verdict = {True: "supported", False: "not supported", None: "not tested"}[holds]
    return {
        "claim": claim,
        "group": group,
        "verdict": verdict,
        "line": f"{CLAIMS[claim]}{where}: **{verdict}**{detail} — {text}",
    }


def verdicts(comparison: Comparison) -> list[dict]:
    """One verdict per claim the sweep bears on, per group."""
    rows = comparison.rows
    many = len(comparison.groups) > 1
    out = []
    for group in comparison.groups:
        if group in comparison.problems:
            continue
        mine = {k: [r for r in v if r["group"] == group] for k, v in rows.items()}
        vs_none = [r for r in mine["bleu"] if r["kind"] == "vs none" and r["stratum"] == ALL]
        if vs_none:
            ok = [(r["a"], r["significant"] and r["diff"] > 0) for r in vs_none]
            text = "; ".join(f"{r['a']} {_effect(r, ' BLEU')}" for r in vs_none)
            out.append(
                _verdict(
                    "attention",
                    group,
                    ok,
                    f"{text} (overall test BLEU vs none, two-level paired bootstrap)",
                    many,
                )
            )
        if mine["trend"]:
            ok = [(r["variant"], r["significant"] and r["diff"] > 0) for r in mine["trend"]]
            per_bucket = {
                r["variant"]: sum(
                    x["significant"] and x["diff"] > 0
                    for x in mine["bleu"]
                    if x["a"] == r["variant"] and x["kind"] == "vs none" and x["stratum"] != ALL
                )
                for r in mine["trend"]
            }
            n_buckets = len(mine["trend"][0]["buckets"])
            text = "; ".join(
                f"{r['variant']} slope {_effect(r, ' BLEU/10 words')}, beats none in "
                f"{per_bucket[r['variant']]} of {n_buckets} buckets"
                for r in mine["trend"]
            )
            out.append(
                _verdict(
                    "length",
                    group,
                    ok,
                    f"{text} (least-squares slope of the "
                    "per-bucket gain over none against mean source length)",
                    many,
                )
            )
        elif vs_none:
            out.append(_verdict("length", group, None, "fewer than 3 populated buckets", many))
        pairs = [r for r in mine["bleu"] if r["kind"] == "pair"]
        if pairs:
            differ = [r for r in pairs if r["significant"]]
            if not differ:
                top = max(pairs, key=lambda r: abs(r["diff"]) if r["diff"] is not None else 0)
                text = (
                    f"no pair differs in any bucket ({len(pairs)} tests); the largest "
                    f"difference is {top['a']} − {top['b']} on {top['stratum']}: "
                    f"{_effect(top, ' BLEU')}"
                )
            else:
                overall = [r for r in differ if r["stratum"] == ALL] or differ
                text = "; ".join(
                    f"{r['a']} − {r['b']} on {r['stratum']}: {_effect(r, ' BLEU')}"
                    for r in overall[:4]
                )
                text += f" ({len(differ)} of {len(pairs)} tests differ)"
            out.append(_verdict("scores", group, not differ, text, many))
        if mine["rare_words"]:
            ok = [
                (f"{r['a']} {r['stratum']}", r["significant"] and r["diff"] > 0)
                for r in mine["rare_words"]
            ]
            text = "; ".join(
                f"{r['a']} {r['stratum']} ({r['n']} tokens) {_effect(r, ' points')}"
                for r in mine["rare_words"]
            )
            out.append(
                _verdict(
                    "rare_words",
                    group,
                    ok,
                    f"{text} (rare-word accuracy vs none, by training frequency)",
                    many,
                )
            )
        far = [r for r in mine["jumps"] if r["stratum"] == "jump 10+"]
        if far:
            ok = [(r["a"], r["significant"] and r["diff"] > 0) for r in far]
            acc = []
            for r in far:
                a = comparison.alignment_by_jump.get(r["a"], {}).get("10+")
                if a:
                    acc.append(f"{r['a']} aligns {a['accuracy']:.1f}% of them")
            text = "; ".join(f"{r['a']} {_effect(r, ' BLEU')}" for r in far)
            text += (
                f" on the {far[0]['n']} sentences whose gold links jump >= 10 words (BLEU vs none)"
            )
            if acc:
                text += "; " + ", ".join(acc)
            out.append(_verdict("reordering", group, ok, text, many))
    return out
