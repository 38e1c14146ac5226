"""Same behaviour before and after a refactor: four fixed runs, their outputs' digests.

    python benchmarks/behaviour.py run OUT [--checkout DIR]   # the four runs; OUT/digest.json
    python benchmarks/behaviour.py compare A/digest.json B/digest.json

`run` trains, with the `python -m ablate` of the checkout at DIR (default: this one; its
`src/` goes first on the path, so an older commit's worktree runs its own code):

- `default`: `python -m ablate` as the README's first command runs it;
- `reverse_beam5`: `dataset=reverse decode.beam_size=5`, 3 epochs;
- `transformer`: `model=transformer`, 3 epochs;
- `sweep`: `-m attention=none,dot`, 2 jobs, 2 epochs on 2,000 pairs, and its report.

W&B is offline, the launcher the basic one. For every run dir it records the SHA-256 of
`hypotheses.tsv` and `sentence_stats.json`, and results.json's metrics (every key, with
`train` cut to its epochs and steps and the best checkpoint to its file name: timings and
paths differ run to run); for the sweep also
summary.json's verdicts. `compare` prints one line per item, `same` or `DIFFERS`, the
keys one side has and the other lacks, and exits 1 when something differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

RUNS: dict[str, list[str]] = {
    "default": [],
    "reverse_beam5": ["dataset=reverse", "decode.beam_size=5", "trainer.max_epochs=3"],
    "transformer": ["model=transformer", "trainer.max_epochs=3"],
}
SWEEP = ["-m", "attention=none,dot", "trainer.max_epochs=2", "dataset.train_size=2000"]
# results.json's `train` keys that are behaviour (the rest are timings and memory).
TRAIN_KEYS = ("epochs", "steps")


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def run_record(run_dir: Path) -> dict:
    results = json.loads((run_dir / "results.json").read_text())
    results["train"] = {k: results["train"].get(k) for k in TRAIN_KEYS}
    results["best_checkpoint"] = Path(results.get("best_checkpoint") or "").name  # not its dir
    return {
        "hypotheses.tsv": digest(run_dir / "hypotheses.tsv"),
        "sentence_stats.json": digest(run_dir / "sentence_stats.json"),
        "results": results,
    }


def ablate(checkout: Path, args: list[str]) -> float:
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true")
    env["PYTHONPATH"] = os.pathsep.join([str(checkout / "src"), env.get("PYTHONPATH", "")])
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ablate", *args], cwd=checkout, env=env, check=True)
    return time.perf_counter() - start


def run(out: Path, checkout: Path) -> None:
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    record: dict = {"checkout": str(checkout), "seconds": {}}
    git = ["git", "-C", str(checkout), "rev-parse", "HEAD"]
    record["commit"] = subprocess.run(git, capture_output=True, text=True).stdout.strip()
    for name, overrides in RUNS.items():
        run_dir = out / name
        record["seconds"][name] = ablate(checkout, [*overrides, f"hydra.run.dir={run_dir}"])
        record[name] = run_record(run_dir)
    sweep_dir = out / "sweep"
    record["seconds"]["sweep"] = ablate(checkout, [*SWEEP, f"hydra.sweep.dir={sweep_dir}"])
    jobs = sorted(p for p in sweep_dir.iterdir() if (p / "results.json").exists())
    record["sweep"] = {job.name: run_record(job) for job in jobs}
    summary = json.loads((sweep_dir / "summary.json").read_text())
    record["sweep"]["verdicts"] = summary.get("verdicts")
    (out / "digest.json").write_text(json.dumps(record, indent=1, sort_keys=True))
    print(f"wrote {out / 'digest.json'} ({record['commit'][:7]})")


def flatten(d: dict, prefix: str = "") -> dict:
    flat = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and k != "verdicts":
            flat.update(flatten(v, key + "."))
        else:
            flat[key] = v
    return flat


def compare(a_path: Path, b_path: Path) -> int:
    a, b = (json.loads(Path(p).read_text()) for p in (a_path, b_path))
    print(f"A {a['commit'][:7]}  B {b['commit'][:7]}")
    differs = 0
    for name in [*RUNS, "sweep"]:
        fa, fb = flatten(a[name]), flatten(b[name])
        shared = sorted(fa.keys() & fb.keys())
        bad = [k for k in shared if fa[k] != fb[k]]
        differs += len(bad)
        ta, tb = a["seconds"][name], b["seconds"][name]
        status = "same" if not bad else f"DIFFERS in {len(bad)} of {len(shared)}"
        print(f"{name:14s} {status}  ({len(shared)} items; {ta:.0f} s → {tb:.0f} s)")
        for k in bad[:10]:
            print(f"    {k}: {str(fa[k])[:60]} → {str(fb[k])[:60]}")
        for side, keys in (
            ("only in A", fa.keys() - fb.keys()),
            ("only in B", fb.keys() - fa.keys()),
        ):
            if keys:
                print(f"    {side}: {', '.join(sorted(keys)[:8])}")
    return 1 if differs else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("out", type=Path)
    r.add_argument("--checkout", type=Path, default=HERE)
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.command == "run":
        run(args.out, args.checkout.resolve())
    else:
        sys.exit(compare(args.a, args.b))


if __name__ == "__main__":
    main()
