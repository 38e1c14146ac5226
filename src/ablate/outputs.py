"""Writes a run's dir and test logs at its end, however it ends (formats: `ablate.run_files`).

`RunOutputs` writes a run's dir and its tracker's test logs: for a complete run its
record (an `ablate.run_files.RunResults` with the test `Scores`), `hypotheses.tsv`,
`sentence_stats.json`, the plots and the alignment examples, and the W&B test tables and
images; for a run that stopped early (`interrupted`: Ctrl-C, SIGTERM, resumable;
`diverged`: a NaN/inf loss, the last good checkpoint kept) the record that says why and
how to continue. `record_failure` marks a sweep job `failed`, keeping what it had written.
The file formats themselves are `ablate.run_files`'; figures are drawn by `ablate.plots`
(pure) and rendered to PNG here (`save_figure`).
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch
from matplotlib.figure import Figure
from pytorch_lightning.loggers import Logger

from ablate import checkpoints, tracking
from ablate.atomic import atomic_write_bytes
from ablate.data.corpus import Corpus
from ablate.models.config import ModelConfig
from ablate.perf import peak_rss_mb
from ablate.plots import alignment_figure, bleu_by_length_figure
from ablate.run_files import (
    HYPOTHESES,
    RunResults,
    read_results,
    write_alignment_examples,
    write_hypotheses,
    write_results,
)
from ablate.scoring import Scorer
from ablate.system import Seq2SeqSystem, TestOutputs

# The corpus facts a run reports (`RunResults.data`), where the dataset has them.
DATA_FACTS = ("dropped", "drop_reasons", "deduplicated", "missing", "subword")


def save_figure(fig: Figure, path: Path) -> Path:
    """Render `fig` to PNG at `path` (atomically) and return the path.

    Every figure of ablate's is laid out by matplotlib's constrained layout, which keeps
    labels inside the figure, so the PNG is the figure as sized (no `bbox_inches="tight"`,
    which draws the figure once more only to measure it).
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    atomic_write_bytes(path, buf.getvalue())
    return path


class RunOutputs:
    """Writes one run's dir and its tracker's test logs.

    Args:
        run_dir: the run's dir.
        corpus: the run's data (its name and the facts its record reports).
        attention: the attention option's name, as in the run's name.
        seed: the training seed.
        model: the model's settings (`ablate.models.config`), whose family and values
            its record reports (`results()`).
        logger: the run's tracker, None for none.
        in_sweep: a sweep job (the command that continues it names the sweep dir).
    """

    def __init__(
        self,
        run_dir: Path,
        corpus: Corpus,
        attention: str,
        seed: int,
        model: ModelConfig,
        logger: Logger | None,
        in_sweep: bool,
    ):
        self.run_dir, self.corpus = Path(run_dir), corpus
        self.attention, self.seed, self.model = attention, seed, model.results()
        self.logger, self.in_sweep = logger, in_sweep

    def complete(self, system: Seq2SeqSystem, trainer: pl.Trainer) -> RunResults:
        """Write the outputs of a run that trained and tested, and log its test tables
        and images; return its record."""
        test, scorer = system.test_outputs, system.scorer
        hypotheses = [d.tokens for d in test.decoded]
        best = trainer.checkpoint_callback.best_model_score
        seconds = round(system.fit_seconds, 2)
        results = RunResults(
            attention=self.attention,
            dataset=self.corpus.name,
            seed=self.seed,
            model=self.model,
            status="complete",
            scores=test.scores,
            valid_bleu=None if best is None else round(float(best), 4),
            test_set=scorer.test_set(),
            train={
                "epochs": trainer.current_epoch,
                "steps": trainer.global_step,
                "seconds": seconds,
                "tokens_per_second": round(int(system.train_tokens) / max(seconds, 1e-9), 1),
                "threads": torch.get_num_threads(),
                "peak_rss_mb": peak_rss_mb(),
            },
            decode=dataclasses.asdict(system.decode),
            data={k: self.corpus.meta[k] for k in DATA_FACTS if k in self.corpus.meta},
            best_checkpoint=trainer.checkpoint_callback.best_model_path,
        )
        write_hypotheses(self.run_dir / HYPOTHESES, scorer.rows(hypotheses))
        images = self._figures(test, scorer)
        write_results(self.run_dir, results)
        tracking.log_test(self.logger, test.scores, images)
        return results

    def _figures(self, test: TestOutputs, scorer: Scorer) -> dict[str, Path]:
        """Write the BLEU-by-length plot and the three example sentences' attention (their
        heatmaps and matrices); return the images by their tracker name."""
        plots = self.run_dir / "plots"
        buckets = [dataclasses.asdict(b) for b in test.scores.buckets]
        title = f"{self.corpus.name}: BLEU by source length"
        images = {
            "test/bleu_by_length_plot": save_figure(
                bleu_by_length_figure({self.attention: buckets}, title=title),
                plots / "bleu_by_length.png",
            )
        }
        examples = {}
        for tag, i in zip(("short", "median", "long"), scorer.examples(), strict=False):
            weights = test.decoded[i].weights
            if weights is None:  # attention=none has no weights to draw
                continue
            src = list(scorer.test[i].src)
            hyp = (test.decoded[i].tokens + ["</s>"])[: weights.shape[0]]
            title = f"{self.attention} · {tag} ({len(src)} tokens)"
            images[f"test/alignment/{tag}"] = save_figure(
                alignment_figure(weights, src, hyp, title=title), plots / f"alignment_{tag}.png"
            )
            examples[tag] = {
                "index": i,
                "source": src,
                "hypothesis": hyp,
                "weights": weights.round(4).tolist(),
            }
        if examples:  # the raw matrices, so a sweep report can put variants side by side
            write_alignment_examples(self.run_dir, examples)
        return images

    def stopped(self, trainer: pl.Trainer, status: str, why: str) -> str:
        """Write the record of a run that stopped early (`interrupted` or `diverged`);
        return the one-line message, which says how to continue."""
        ckpt_dir = self.run_dir / "checkpoints"
        last, saved = ckpt_dir / checkpoints.LAST, ckpt_dir / checkpoints.INTERRUPTED
        if status == "interrupted":
            again = (
                f"resume=true hydra.sweep.dir={self.run_dir.parent}"
                if self.in_sweep
                else f"resume=true hydra.run.dir={self.run_dir}"
            )
            message = (
                f"{why} at epoch {trainer.current_epoch}, step {trainer.global_step}"
                + (f"; saved {saved}" if saved.is_file() else "")
                + f"; continue with the same command plus {again}"
            )
        else:
            kept = (
                f"last good checkpoint {last}"
                if last.is_file()
                else "no checkpoint (it diverged in the first epoch)"
            )
            message = f"{why}; {kept}"
        record = RunResults(
            attention=self.attention,
            dataset=self.corpus.name,
            seed=self.seed,
            model=self.model,
            status=status,
            error=message,
            train={"epochs": trainer.current_epoch, "steps": trainer.global_step},
            last_checkpoint=str(last) if last.is_file() else None,
        )
        write_results(self.run_dir, record)
        return message


def record_failure(run_dir: Path, error: str, overrides: Sequence[str]) -> None:
    """Mark a sweep job failed in its record (`ablate.run_files.RESULTS`), keeping what it
    already wrote (metrics, a `diverged` status)."""
    try:
        results = read_results(run_dir)
    except (OSError, ValueError, TypeError, KeyError):
        results = RunResults(attention=None, dataset=None, seed=None, status="failed")
    write_results(run_dir, results.failed(error, overrides))
