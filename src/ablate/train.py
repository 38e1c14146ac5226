"""`run(cfg)`: one training run, top to bottom — data, model, system, logger, trainer,
fit, test, outputs. Hydra builds the leaves (`instantiate`); this module wires the trunk
by hand, and `ablate.outputs.RunOutputs` writes what the run leaves, however it ends: a
complete run, or one that stopped early (`interrupted` by Ctrl-C or SIGTERM, resumable;
`diverged` at a NaN/inf loss, the last good checkpoint kept).
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.accelerators import CPUAccelerator
from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities.exceptions import SIGTERMException
from torch import nn

from ablate import callbacks, checkpoints, options, tracking
from ablate.buckets import make_buckets
from ablate.callbacks import DivergedError
from ablate.console import buckets_table, console
from ablate.data.corpus import Corpus
from ablate.data.datamodule import Seq2SeqData
from ablate.models.attention import AttentionError
from ablate.models.cpu import speed_up
from ablate.outputs import RunOutputs
from ablate.perf import keep_freed_memory
from ablate.run_files import RESULTS, RunResults, complete_results
from ablate.scoring import Scorer
from ablate.system import Seq2SeqSystem

# Lightning 2.6 on torch 2.13 warns about its own use of a torch pytree class at every
# step of every run; it is not the user's to fix, so keep it off their screen.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped the run after it saved what it had; the message says how
    to continue. A KeyboardInterrupt, so a sweep stops too."""


def run(
    cfg: DictConfig, run_dir: Path, choices: dict[str, str] | None = None, in_sweep: bool = False
) -> RunResults:
    """Train and test one model; write the run dir; return the run's record.

    Args:
        cfg: the composed config (see `conf/config.yaml`).
        run_dir: where outputs go (Hydra's run or job dir).
        choices: the Hydra config-group choices, for names and the tracker.
        in_sweep: a sweep job: `resume=true` without a checkpoint starts afresh.
    """
    run_dir, choices = Path(run_dir), dict(choices or {})
    if (done := complete_results(run_dir)) is not None:
        console.print(f"{run_dir} already holds a complete run ({RESULTS}); skipped")
        return done
    check_writable(run_dir)
    resume_from = checkpoints.resume_path(run_dir, cfg.resume, cfg.ckpt_path, required=not in_sweep)
    set_up(cfg.threads, cfg.seed)

    data = build_data(cfg, choices.get("dataset"))
    corpus = data.corpus
    model = build_model(cfg, data, choices.get("attention"))
    if resume_from:
        checkpoints.check_fits(resume_from, model.config.record(), data.state_dict())
        console.print(checkpoints.resuming(resume_from, run_dir))
    system = build_system(cfg, model, corpus)
    variant = options.option_name("attention", cfg.attention, choices)  # `additive`
    logger = make_logger(cfg, run_dir, f"{corpus.name}-{variant}-s{cfg.seed}", variant, choices)
    outputs = RunOutputs(run_dir, corpus, variant, cfg.seed, model.config, logger, in_sweep)
    trainer = instantiate(cfg.trainer)(
        default_root_dir=str(run_dir),
        logger=logger or False,
        callbacks=instantiate_callbacks(cfg.callbacks, run_dir / "checkpoints"),
    )
    if isinstance(trainer.accelerator, CPUAccelerator):
        speed_up(model)  # the same values, computed faster on a CPU (ablate.models.cpu)
    exit_code = 1
    try:
        trainer.fit(system, datamodule=data, ckpt_path=resume_from)
        trainer.test(system, datamodule=data, ckpt_path="best", verbose=False)
        results = outputs.complete(system, trainer)
        exit_code = 0
    except DivergedError as e:
        raise DivergedError(outputs.stopped(trainer, "diverged", str(e))) from None
    except (KeyboardInterrupt, SystemExit) as e:  # Lightning turns Ctrl-C, SIGTERM into exits
        why = f"{'SIGTERM' if isinstance(e, SIGTERMException) else 'Ctrl-C'} stopped it"
        raise RunInterrupted(outputs.stopped(trainer, "interrupted", why)) from None
    finally:
        tracking.finish(logger, exit_code)
    console.print(buckets_table(results))
    return results


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


def set_up(threads: int | None, seed: int) -> None:
    """Process settings of a run: the allocator, torch's CPU threads, every seed, and
    Lightning's start-up chatter off the screen."""
    keep_freed_memory()
    callbacks.quiet_lightning()
    if threads:
        torch.set_num_threads(threads)
    pl.seed_everything(seed, workers=True, verbose=False)


def build_data(cfg: DictConfig, choice: str | None) -> Seq2SeqData:
    """The `dataset` option's corpus with its vocabularies and loaders (training batches
    of `data.batch_tokens` target tokens where set, else of `data.batch_size` sentences);
    the dataset's settings go with it into checkpoints."""
    corpus = options.build(cfg.dataset, "dataset", choice, Corpus)
    settings = OmegaConf.to_container(cfg.dataset, resolve=True)
    return Seq2SeqData(
        corpus,
        cfg.data.batch_size,
        cfg.data.min_freq,
        cfg.seed,
        dataset=settings,
        batch_tokens=cfg.data.batch_tokens,
    )


def build_scorer(cfg: DictConfig, corpus: Corpus) -> Scorer:
    """What the run scores against: the corpus's valid and test pairs, in the `buckets`
    option's source-length buckets (quantile ones from the test lengths)."""
    lengths = [len(p.src_words) for p in corpus.test]
    return Scorer.from_corpus(
        corpus, make_buckets(**OmegaConf.to_container(cfg.buckets), lengths=lengths)
    )


def build_system(cfg: DictConfig, model: nn.Module, corpus: Corpus) -> Seq2SeqSystem:
    """The Lightning system around `model`: the corpus's scorer, the `optim` group's
    optimiser, schedule and label smoothing, and the `decode` settings."""
    return Seq2SeqSystem(
        model,
        build_scorer(cfg, corpus),
        optimizer=instantiate(cfg.optim.optimizer),
        scheduler=instantiate(cfg.optim.scheduler),
        decode=instantiate(cfg.decode),
        label_smoothing=cfg.optim.label_smoothing,
    )


def build_model(cfg: DictConfig, data: Seq2SeqData, choice: str | None) -> nn.Module:
    """The `model` config's model around the `attention` option, sized by the data's
    vocabularies: Hydra builds the family's settings (`ablate.models.config`), which
    check themselves and `build()` the model. A bad attention option is a one-line error
    naming its file. A Transformer's `model.self_attention` names an option of the same
    group."""
    attention = options.build(cfg.attention, "attention", choice)
    named, more = cfg.model.get("self_attention"), {}
    if isinstance(named, str):  # a Transformer's: an option of the attention group, by name
        more["self_attention"] = options.option("attention", named, "model.self_attention")
    try:  # the model passes hidden to the attention and checks it on a tiny batch
        config = instantiate(cfg.model)(
            src_vocab_size=len(data.src_vocab),
            tgt_vocab_size=len(data.tgt_vocab),
            attention=attention,
            **more,
        )
        return config.build()
    except AttentionError as e:
        raise ValueError(f"{options.option_file('attention', choice)}: {e}") from None


def make_logger(
    cfg: DictConfig, run_dir: Path, name: str, variant: str, choices: dict[str, str]
) -> Logger | None:
    """The `logger` config's tracker for this run (None for `logger=none`), given the
    resolved config with the attention option's name and the Hydra choices."""
    if not cfg.logger:
        return None
    config = {
        **OmegaConf.to_container(cfg, resolve=True),
        "attention": variant,  # the option's name, as in the run name; its settings below
        "attention_config": OmegaConf.to_container(cfg.attention, resolve=True),
        "choices": choices,
    }
    return instantiate(cfg.logger)(save_dir=str(run_dir), name=name, config=config)


def instantiate_callbacks(cfg: DictConfig | None, dirpath: Path) -> list[pl.Callback]:
    """The `callbacks` group's callbacks, in its order (as lightning-hydra-template's
    `instantiate_callbacks`); those declared `_partial_` are given `dirpath`, the run's
    checkpoint dir."""
    built = []
    for conf in (cfg or {}).values():
        if isinstance(conf, DictConfig) and "_target_" in conf:
            callback = instantiate(conf)
            is_partial = isinstance(callback, functools.partial)
            built.append(callback(dirpath=dirpath) if is_partial else callback)
    return built
