"""The sweep report: every variant's BLEU by source length side by side, the paired
comparisons that test the lecture's claims, and a verdict line for each claim.

`python -m ablate.report SWEEP_DIR` (and the sweep's own end-of-run callback) reads every
job dir's results, `hypotheses.tsv` and `sentence_stats.json` and writes, next to them,
`summary.json`, `summary.md` and the figures. Parts, each handing the next typed records:

- `read`: job dirs → `Run`s (their `RunResults` and composed config) and `Failure`s,
  per-sentence data;
- `groups`: variant names, and the groups compared within (one dataset and model);
- `variants`: one `Variant` per configuration, means and intervals over seeds;
- `stats`: the calibrated paired test (sentence bootstrap and Welch over seeds),
  equivalence, Holm, trend and log-log slopes, ASO;
- `strata`, `rows`, `compare`: the subsets compared on, the comparison records, and the
  paired comparisons of a sweep;
- `dims`: the comparison across the key size d;
- `tuning`: an equal-tuning sweep's studies;
- `claims`: the lecture's claims (one registry), as a sweep declares them, judged in
  their declared families: supported, not supported or inconclusive;
- `design`: what a declared design can decide, checked when a sweep starts;
- `markdown`, `terminal`, `figures`, `cells`: `summary.md`, Rich tables, matplotlib
  figures and the cells they share;
- `record`: the `Report` record and `summary.json`; `build`: building and writing it.
"""

from ablate.report.build import build_report, write_report
from ablate.report.claims import CLAIMS, Claim, Evidence, Finding, register
from ablate.report.figures import report_figure
from ablate.report.markdown import summary_markdown
from ablate.report.read import collect
from ablate.report.record import Report
from ablate.report.stats import holm, mean_ci, t_quantile_975
from ablate.report.terminal import comparison_table, report_table
from ablate.run_files import read_hypotheses

__all__ = [
    "CLAIMS",
    "Claim",
    "Evidence",
    "Finding",
    "Report",
    "build_report",
    "collect",
    "comparison_table",
    "holm",
    "mean_ci",
    "read_hypotheses",
    "register",
    "report_figure",
    "report_table",
    "summary_markdown",
    "t_quantile_975",
    "write_report",
]
