"""Checkpoints: what a run resumes from, whether a checkpoint fits the run, and the one a
stopped run leaves behind.

A run keeps `checkpoints/last.ckpt` (end of the last finished epoch: weights, optimizer,
schedule, epoch, RNG state; the data order follows from `seed + epoch`) and the best by
`val/bleu`. `resume=true` continues from `last.ckpt`, so a run killed mid-epoch repeats
that epoch and ends exactly where the uninterrupted run would. Ctrl-C or SIGTERM also
writes `checkpoints/interrupted.ckpt` (the weights at the moment of the stop, loadable
by `ablate.translate`). Checkpoints are read with `weights_only=True`: no code runs
from them.

Beyond Lightning's own state, every checkpoint carries `checkpoint["ablate"]` (`extras`):
the model settings that `ablate.translate` rebuilds the model from, and the counters and
RNG state that `resume` continues with (`restore`). The vocabularies, subword models and
the data's identity are the datamodule's state (`Seq2SeqData.state_dict`), which Lightning
stores under the datamodule's class name; checkpoints written before that kept the
vocabularies and subword models in `checkpoint["ablate"]`, and `data_state` reads both.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.exceptions import SIGTERMException

from ablate.data.datamodule import Seq2SeqData, mismatch

LAST = "last.ckpt"
INTERRUPTED = "interrupted.ckpt"
# The model settings a checkpoint's weights depend on (dropout does not change shapes):
# the family (`_target_`), the RNN's sizes and the Transformer's.
SHAPE_KEYS = (
    "_target_",
    "attention",
    "embed",
    "hidden",
    "layers",
    "rnn",
    "decoder",
    "input_feeding",
    "d_model",
    "heads",
    "ff",
    "norm",
    "self_attention",
)
# The family of a checkpoint that records none: every model before the Transformer.
RNN = "ablate.models.rnn.RNNEncoderDecoder"
# The RNN's class path before `models/seq2seq.py` became `models/rnn.py` (still importable).
RNN_BEFORE = "ablate.models.seq2seq.Seq2Seq"


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable or does not fit the run; the message says why."""


def rng_state() -> dict:
    """The random-number state training draws from (dropout, data-loader seeds)."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping) -> None:
    """Go back to a state `rng_state` returned."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def extras(model_config: Mapping, train_tokens: int, train_seconds: float) -> dict:
    """`checkpoint["ablate"]`: the model settings `ablate.translate` rebuilds the model
    from, and what `resume` needs beyond Lightning's own state to continue exactly (the
    training counters and the RNG state now).

    Args:
        model_config: the model's settings in their stored form (`config.record()`,
            `ablate.models.config`): flat settings, and the class as `_target_` where it
            is not the RNN (`upgrade_model_settings`).
        train_tokens: target tokens trained on so far.
        train_seconds: training time so far, earlier sessions included.
    """
    return {
        "model": dict(model_config),
        "train_tokens": int(train_tokens),
        "train_seconds": float(train_seconds),
        "rng": rng_state(),
    }


def restore(checkpoint: Mapping) -> tuple[int, float]:
    """Go back to the RNG state saved with `extras` in `checkpoint`, and return its
    training counters `(train_tokens, train_seconds)` (zero for a checkpoint without)."""
    meta = checkpoint.get("ablate", {})
    if "rng" in meta:
        set_rng_state(meta["rng"])
    return meta.get("train_tokens", 0), meta.get("train_seconds", 0.0)


def read(path: str | Path) -> dict:
    """A checkpoint's content, loaded safely; `CheckpointError` when it is not one of ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint not found: {path} (runs keep theirs in <run dir>/checkpoints/)"
        )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint ({reason[:120]})") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt.get("ablate", {}) or not data_state(ckpt):
        raise CheckpointError(
            f"{path} is not an ablate checkpoint (no vocabularies or model settings in it)"
        )
    ckpt["ablate"]["model"] = upgrade_model_settings(ckpt["ablate"]["model"])
    return ckpt


def data_state(checkpoint: Mapping) -> dict | None:
    """The data a checkpoint was trained on: `Seq2SeqData.state_dict()`'s `src_vocab`,
    `tgt_vocab`, `subword` (`{"src", "tgt"}`, None for word tokens) and `data` (the
    identity; None in checkpoints written before it was kept), from either layout; None
    when the checkpoint has no vocabularies."""
    state = checkpoint.get(Seq2SeqData.__qualname__)
    if state is None:  # the older layout: the vocabularies in the ablate extras
        state = checkpoint.get("ablate", {})
    if "src_vocab" not in state or "tgt_vocab" not in state:
        return None
    return {
        "src_vocab": state["src_vocab"],
        "tgt_vocab": state["tgt_vocab"],
        "subword": state.get("subword") or {"src": None, "tgt": None},
        "data": state.get("data"),
    }


def upgrade_model_settings(model: Mapping) -> dict:
    """Model settings of a checkpoint in today's form. A Transformer records its class
    as `_target_`; settings without one are the RNN's (`RNN`), the one family before it.
    Before attention options were components, the additive layer's size was
    `model.attention_dim` and the attention a name; now the size is the option's own
    `dim`. Before `model.decoder` and `model.input_feeding`, every RNN was Luong's decoder
    without input feeding. Settings naming the RNN's class by its old path
    (`RNN_BEFORE`) are the RNN's, in its form (no `_target_`)."""
    model = dict(model)
    if model.get("_target_") == RNN_BEFORE:
        del model["_target_"]
    if model.get("_target_", RNN) != RNN:
        return model
    model.setdefault("decoder", "luong")  # the one decoder before model.decoder existed
    model.setdefault("input_feeding", False)
    if "attention_dim" in model:
        dim = model.pop("attention_dim")
        if model.get("attention") == "additive":
            model["attention"] = {
                "_target_": "ablate.models.attention.AdditiveAttention",
                "dim": dim,
            }
    return model


def resume_path(run_dir: Path, resume: bool, ckpt_path: str | None, required: bool) -> Path | None:
    """The checkpoint `trainer.fit` continues from, or None to start from scratch.

    Args:
        run_dir: the run's dir; `resume` looks for `run_dir/checkpoints/last.ckpt`.
        resume: the `resume` config value.
        ckpt_path: an explicit checkpoint (`ckpt_path=`), which wins over `resume`.
        required: whether `resume` without a checkpoint is an error (a single run) or a
            fresh start (a sweep job that had not reached the end of its first epoch).
    """
    if ckpt_path:
        path = Path(ckpt_path).expanduser()
        if not path.is_file():
            raise CheckpointError(
                f"ckpt_path={ckpt_path}: no such file; give the path of a "
                f"run's checkpoints/last.ckpt"
            )
        return path
    if not resume:
        return None
    path = run_dir / "checkpoints" / LAST
    if path.is_file():
        return path
    if required:
        raise CheckpointError(
            f"resume=true but {path} does not exist (the run ended no "
            f"epoch); set hydra.run.dir to the run dir to resume, or drop "
            f"resume=true"
        )
    return None


def resuming(path: Path, run_dir: Path) -> str:
    """The line a resumed run prints. A checkpoint from another run's dir continues that
    training here: Lightning then keeps the best checkpoint's path but not its score, so
    the best (what the test uses) is chosen among the epochs trained in this run, as the
    line says (Lightning's own warning about a changed dirpath is filtered:
    `ablate.callbacks.quiet_lightning`)."""
    here = Path(run_dir) / "checkpoints"
    if Path(path).resolve().parent == here.resolve():
        return f"resuming from {path}"
    return (
        f"resuming from {path}, another run's checkpoint: the test uses the best of the "
        f"epochs trained here ({here})"
    )


def check_fits(path: Path, model_config: Mapping, data: Mapping) -> None:
    """Raise `CheckpointError` unless the checkpoint at `path` was trained with this
    model size, these vocabularies and this data.

    Args:
        path: the checkpoint.
        model_config: the run's model's settings in their stored form (`config.record()`).
        data: the run's `Seq2SeqData.state_dict()`.
    """
    ckpt = read(path)
    # Settings that name no class are the RNN's.
    saved = {"_target_": RNN, **ckpt["ablate"]["model"]}
    model_config = {"_target_": RNN, **upgrade_model_settings(model_config)}
    for key in SHAPE_KEYS:
        if saved.get(key) != model_config.get(key):
            name = {"attention": key, "_target_": "the model class"}.get(key, f"model.{key}")
            raise CheckpointError(
                f"{path} was trained with {name}={saved.get(key)}, this run "
                f"has {name}={model_config.get(key)}; use the checkpoint's "
                f"settings, or start a new run without resume/ckpt_path"
            )
    if problem := mismatch(data_state(ckpt), data):
        raise CheckpointError(f"{path} {problem}")


class SaveOnStop(pl.Callback):
    """On Ctrl-C or SIGTERM, save `interrupted.ckpt` before Lightning tears down."""

    def __init__(self, dirpath: Path):
        self.path = Path(dirpath) / INTERRUPTED

    def on_exception(self, trainer, pl_module, exception):
        if isinstance(exception, (KeyboardInterrupt, SIGTERMException)):
            trainer.save_checkpoint(self.path)
