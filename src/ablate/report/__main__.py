"""`python -m ablate.report DIR [--n-bootstrap R] [--seed S]`: (re)build a sweep's report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ablate.console import console
from ablate.report.build import build_report, write_report
from ablate.report.read import job_dirs
from ablate.report.terminal import show
from ablate.run_files import RESULTS


def main(argv: list[str] | None = None) -> int:
    """Returns 0 when every job is complete; 1 when a job failed, there is no complete run
    or `DIR` is missing (with a one-line error)."""

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
        default=None,
        help="bootstrap replicates R (default: >= 10,000, enough for Holm)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampling")
    args = parser.parse_args(argv)

    def error(message: str) -> int:
        console.print(f"[bold red]error:[/bold red] {message}", soft_wrap=True)
        return 1

    if not args.dir.is_dir():
        return error(f"sweep dir {args.dir} does not exist or is not a directory")
    if not job_dirs(args.dir):
        return error(f"no job dirs (subdirs with .hydra/ or {RESULTS}) in {args.dir}")
    try:
        report = build_report(args.dir, n_bootstrap=args.n_bootstrap, seed=args.seed)
    except (OSError, ValueError) as e:
        return error(f"cannot build the report of {args.dir}: {e}")
    paths = write_report(args.dir, report)
    show(report)
    console.print(f"sweep report: {paths['summary_md']}")
    if not report.variants:
        return error(
            f"no complete run in {args.dir}; {len(report.failed)} failed job(s), "
            f"see {paths['summary_md']}"
        )
    if report.failed:
        names = ", ".join(f.dir.name for f in report.failed)
        return error(f"{len(report.failed)} job(s) failed in {args.dir}: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
