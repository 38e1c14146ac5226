"""`run(cfg)`: one training run, top to bottom — data, model, system, logger, fit, test,
outputs. Hydra builds the leaves (`instantiate`); this function wires the trunk by hand.

A run that stops early still leaves a `results.json` saying why: `interrupted` (Ctrl-C,
SIGTERM; resumable) or `diverged` (NaN/inf loss; the last good checkpoint is kept).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.accelerators import CPUAccelerator
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.utilities.exceptions import SIGTERMException

from ablate import callbacks, checkpoints, plugins, tracking
from ablate.buckets import make_buckets
from ablate.callbacks import DivergedError
from ablate.console import buckets_table, console
from ablate.data.corpus import Corpus
from ablate.data.datamodule import Seq2SeqData
from ablate.evaluate import hypotheses_rows, pick_examples
from ablate.models.attention import AttentionError
from ablate.models.cpu import speed_up
from ablate.outputs import save_figure
from ablate.perf import keep_freed_memory, peak_rss_mb
from ablate.plots import alignment_figure, bleu_by_length_figure
from ablate.results import (
    HYPOTHESES,
    RunResults,
    complete_results,
    fingerprint,
    write_alignment_examples,
    write_hypotheses,
    write_results,
)
from ablate.scores import Scores
from ablate.system import Seq2SeqSystem

# Lightning 2.6 on torch 2.13 warns about its own use of a torch pytree class at every
# step of every run; it is not the user's to fix, so keep it off their screen.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped the run after it saved what it had; the message says how
    to continue. A KeyboardInterrupt, so a sweep stops too."""


def run(
    cfg: DictConfig, run_dir: Path, choices: dict[str, str] | None = None, in_sweep: bool = False
) -> dict:
    """Train and test one model; write the run dir; return `results.json`'s content.

    Args:
        cfg: the composed config (see `conf/config.yaml`).
        run_dir: where outputs go (Hydra's run or job dir).
        choices: the Hydra config-group choices, for the tracker.
        in_sweep: a sweep job: `resume=true` without a checkpoint starts afresh.
    """
    run_dir = Path(run_dir)
    if (done := complete_results(run_dir)) is not None:
        console.print(f"{run_dir} already holds a complete run (results.json); skipped")
        return done.to_json()
    check_writable(run_dir)
    resume_from = checkpoints.resume_path(run_dir, cfg.resume, cfg.ckpt_path, required=not in_sweep)
    keep_freed_memory()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)

    corpus = plugins.build(cfg.dataset, "dataset", (choices or {}).get("dataset"), Corpus)
    data = Seq2SeqData(
        corpus, batch_size=cfg.data.batch_size, min_freq=cfg.data.min_freq, seed=cfg.seed
    )
    buckets = make_buckets(
        **OmegaConf.to_container(cfg.buckets), lengths=[len(p.src_words) for p in corpus.test]
    )
    attention = plugins.build(cfg.attention, "attention", (choices or {}).get("attention"))
    try:  # the model passes hidden to the attention and checks it on a tiny batch
        model = instantiate(cfg.model)(
            src_vocab_size=len(data.src_vocab),
            tgt_vocab_size=len(data.tgt_vocab),
            attention=attention,
        )
    except AttentionError as e:
        where = plugins.option_file("attention", (choices or {}).get("attention"))
        raise ValueError(f"{where}: {e}") from None
    if resume_from:
        checkpoints.check_fits(resume_from, model.config, data.src_vocab.itos, data.tgt_vocab.itos)
        console.print(f"resuming from {resume_from}")
    system = Seq2SeqSystem(
        model,
        data.src_vocab,
        data.tgt_vocab,
        valid=corpus.valid,
        test=corpus.test,
        buckets=buckets,
        tokenize=corpus.tokenize,
        detokenize=corpus.detokenize,
        train_counts=corpus.word_counts(),
        subword=checkpoints.subword_state(corpus),
        **cfg.decode,
        **cfg.optim,
    )

    variant = plugins.option_name("attention", cfg.attention, choices)  # `additive`
    name = f"{corpus.name}-{variant}-s{cfg.seed}"
    config = {
        **OmegaConf.to_container(cfg, resolve=True),
        "attention": variant,  # the option's name, as in the run name; its settings below
        "attention_config": OmegaConf.to_container(cfg.attention, resolve=True),
        "choices": dict(choices or {}),
    }
    logger = (
        instantiate(cfg.logger)(save_dir=str(run_dir), name=name, config=config)
        if cfg.logger
        else None
    )
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        monitor="val/bleu",
        mode="max",
        save_last=True,
        filename="best-{epoch}",
    )
    callbacks.quiet_lightning()
    trainer = instantiate(cfg.trainer)(
        default_root_dir=str(run_dir),
        logger=logger or False,
        callbacks=[
            checkpoint,
            checkpoints.SaveOnStop(run_dir / "checkpoints"),
            callbacks.FiniteLoss(),
            callbacks.progress_callback(),
        ],
    )
    if isinstance(trainer.accelerator, CPUAccelerator):
        speed_up(model)  # the same values, computed faster on a CPU (ablate.models.cpu)
    exit_code = 1
    try:
        trainer.fit(system, datamodule=data, ckpt_path=resume_from)
        train = {
            "epochs": trainer.current_epoch,
            "steps": trainer.global_step,
            "seconds": round(system.elapsed(), 2),
            "tokens": int(system.train_tokens),
        }
        trainer.test(system, datamodule=data, ckpt_path="best", verbose=False)
        results = write_run(run_dir, cfg, variant, corpus, system, trainer, train, logger)
        exit_code = 0
    except DivergedError as e:
        raise DivergedError(
            write_stopped(run_dir, cfg, variant, corpus, trainer, "diverged", str(e), in_sweep)
        ) from None
    except (KeyboardInterrupt, SystemExit) as e:  # Lightning turns Ctrl-C, SIGTERM into exits
        signal = "SIGTERM" if isinstance(e, SIGTERMException) else "Ctrl-C"
        raise RunInterrupted(
            write_stopped(
                run_dir,
                cfg,
                variant,
                corpus,
                trainer,
                "interrupted",
                f"{signal} stopped it",
                in_sweep,
            )
        ) from None
    finally:
        tracking.finish(logger, exit_code)
    console.print(buckets_table(results))
    return results


def write_stopped(
    run_dir: Path,
    cfg: DictConfig,
    variant: str,
    corpus,
    trainer,
    status: str,
    why: str,
    in_sweep: bool,
) -> str:
    """Write `results.json` for a run that stopped early; return the one-line message."""
    ckpt_dir = run_dir / "checkpoints"
    last = ckpt_dir / checkpoints.LAST
    saved = ckpt_dir / checkpoints.INTERRUPTED
    again = (
        f"resume=true hydra.sweep.dir={run_dir.parent}"
        if in_sweep
        else f"resume=true hydra.run.dir={run_dir}"
    )
    if status == "interrupted":
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
        attention=variant,
        dataset=corpus.name,
        seed=cfg.seed,
        status=status,
        error=message,
        train={"epochs": trainer.current_epoch, "steps": trainer.global_step},
        last_checkpoint=str(last) if last.is_file() else None,
    )
    write_results(run_dir, record)
    return message


def check_writable(run_dir: Path) -> None:
    """Fail before training, not after, when outputs cannot be written."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise OSError(
            f"cannot write to the output dir {run_dir} ({e.strerror}); "
            f"set hydra.run.dir to a writable folder"
        ) from None


def write_run(run_dir, cfg, variant, corpus, system, trainer, train, logger) -> dict:
    """Write `results.json`, `hypotheses.tsv`, `sentence_stats.json` and the plots; log
    them to the tracker (the files are `ablate.results`' contract)."""
    out = system.test_outputs
    scores, hyps = out["scores"], out["hypotheses"]
    rows = hypotheses_rows(corpus.test, hyps, system.buckets, detokenize=corpus.detokenize)
    best = trainer.checkpoint_callback.best_model_score
    results = RunResults(
        attention=variant,
        dataset=corpus.name,
        seed=cfg.seed,
        status="complete",
        scores=Scores.from_json(scores, scores["sentence_stats"]),
        valid_bleu=None if best is None else round(float(best), 4),
        test_set=fingerprint([r[0] for r in rows], [r[1] for r in rows]),
        train={
            "epochs": train["epochs"],
            "steps": train["steps"],
            "seconds": train["seconds"],
            "tokens_per_second": round(train["tokens"] / max(train["seconds"], 1e-9), 1),
            "threads": torch.get_num_threads(),
            "peak_rss_mb": peak_rss_mb(),
        },
        decode={"beam_size": system.beam_size, "length_penalty": system.length_penalty},
        data={
            k: corpus.meta[k]
            for k in ("dropped", "drop_reasons", "deduplicated", "missing", "subword")
            if k in corpus.meta
        },
        best_checkpoint=trainer.checkpoint_callback.best_model_path,
    )
    write_hypotheses(run_dir / HYPOTHESES, rows)
    plots = run_dir / "plots"
    images = {
        "test/bleu_by_length_plot": save_figure(
            bleu_by_length_figure(
                {variant: scores["buckets"]}, title=f"{corpus.name}: BLEU by source length"
            ),
            plots / "bleu_by_length.png",
        )
    }
    examples = {}
    for tag, i in zip(("short", "median", "long"), pick_examples(corpus.test), strict=False):
        weights = out["weights"][i]
        if weights is None:  # attention=none has no weights to draw
            continue
        src, hyp = list(corpus.test[i].src), (list(hyps[i]) + ["</s>"])[: weights.shape[0]]
        fig = alignment_figure(weights, src, hyp, title=f"{variant} · {tag} ({len(src)} tokens)")
        images[f"test/alignment/{tag}"] = save_figure(fig, plots / f"alignment_{tag}.png")
        examples[tag] = {
            "index": i,
            "source": src,
            "hypothesis": hyp,
            "weights": weights.round(4).tolist(),
        }
    if examples:  # the raw matrices, so a sweep report can put variants side by side
        write_alignment_examples(run_dir, examples)
    write_results(run_dir, results)
    tracking.log_test(logger, scores["buckets"], images)
    return results.to_json()
