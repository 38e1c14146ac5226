"""The sweep report: every variant's BLEU by source length side by side, the paired
comparisons that test the lecture's claims, and a verdict line for each claim.

`python -m ablate.report SWEEP_DIR` (and the sweep's own end-of-run callback) reads the
`results.json`, `hypotheses.tsv` and `sentence_stats.json` of every job dir and writes,
next to them, `summary.json`, `summary.md` and the figures. Parts:

- `read`: job dirs, results, variant names, per-sentence data;
- `variants`: one row per variant, means and intervals over seeds;
- `stats`: two-level paired bootstrap, Holm, trend, ASO;
- `compare`: the paired comparisons of a sweep; `verdicts`: the claims judged;
- `render`: Markdown, Rich tables, figures; `build`: all of it for one sweep dir.
"""

from ablate.report.build import build_report, write_report
from ablate.report.read import collect
from ablate.report.render import comparison_table, report_figure, report_table, summary_markdown
from ablate.report.stats import holm, mean_ci, t_quantile_975
from ablate.results import read_hypotheses

__all__ = [
    "build_report",
    "collect",
    "comparison_table",
    "holm",
    "mean_ci",
    "read_hypotheses",
    "report_figure",
    "report_table",
    "summary_markdown",
    "t_quantile_975",
    "write_report",
]
