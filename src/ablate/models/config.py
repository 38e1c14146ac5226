"""The model families' settings as typed records, each checked once (nanoGPT's
`GPTConfig`: a dataclass the model takes).

`RNNConfig` is `ablate.models.rnn.RNNEncoderDecoder`'s, `TransformerConfig` is
`ablate.models.transformer.Transformer`'s. A field is the `model` config key of the same
name (`conf/model/default.yaml`, `transformer.yaml`), the model's attribute and its
checkpoint key (STYLE 5); the sizes that follow from the data (`src_vocab_size`,
`tgt_vocab_size`, the special token ids) and the `attention` option are given by the
entry point. A bad value fails in `__post_init__` with one line naming the key and what it
must be, which the CLI prints as it is.

Hydra builds a config (`_target_` with `_partial_: true`; the entry point adds the data's
sizes), and `build()` makes its model. A family is a config naming its model class in
`model`, and a model class that takes the config and names it in `config_class` (what a
checkpoint's settings are read into); a user's own lives in their package, beside a
`model/` YAML file whose `_target_` is their config.

The stored form (`record`), what a checkpoint keeps under `checkpoint["ablate"]["model"]`,
is the constructor arguments before these configs: flat settings, the attention as
`ablate.models.attention.attention_record`, and the model class as `_target_` but for the
RNN (settings without one are the RNN's, every model before the Transformer). Older
checkpoints therefore load unchanged (`from_record`), and older code reads newer ones.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any, ClassVar

from torch import nn

from ablate.data.vocab import Vocab
from ablate.models.attention import AttentionConfig, attention_record
from ablate.models.decoder import DECODER_CHOICES

RNN_CHOICES = ("gru", "lstm")
NORM_CHOICES = ("pre", "post")
# What a size, a flag or a probability must be, as the one-line errors say it.
_POSITIVE = "must be a positive integer"


def check_size(name: str, value: Any) -> None:
    """`model.NAME` must be an int ≥ 1; `True` is not a size, though Python calls it 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"model.{name} {_POSITIVE}, got {value!r}")


def check_flag(name: str, value: Any) -> None:
    """`model.NAME` must be a bool (YAML's `true`/`false`), not a truthy string."""
    if not isinstance(value, bool):
        raise ValueError(f"model.{name} must be true or false, got {value!r}")


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    """`model.NAME` must be one of `choices`."""
    if value not in choices:
        raise ValueError(f"unknown model.{name} {value!r}; choose one of {', '.join(choices)}")


def check_dropout(value: Any) -> None:
    """`model.dropout` must be a probability in [0, 1) (1 would drop every unit)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"model.dropout must be in [0, 1), got {value!r}")


class ModelConfig:
    """What every family's config has beyond its fields: its family's name, its model
    class, the stored form, the `results.json` entry and the model it builds."""

    family: ClassVar[str]  # results.json's `model.family`
    model: ClassVar[str]  # the model class, `package.module.Class`
    _ATTENTION_KEYS: ClassVar[tuple[str, ...]] = ("attention",)

    def record(self) -> dict[str, Any]:
        """The plain settings a checkpoint stores (see the module docstring); the
        attention options as `attention_record`s."""
        settings = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key in self._ATTENTION_KEYS:
            settings[key] = attention_record(settings[key])
        return settings

    def results(self) -> dict[str, Any]:
        """`results.json`'s `model`: `{"family": …, **settings}`, the settings as
        `record` gives them (the class is the family)."""
        settings = self.record()
        settings.pop("_target_", None)
        return {"family": self.family, **settings}

    @classmethod
    def from_record(cls, settings: Mapping[str, Any]) -> ModelConfig:
        """The config of stored settings (`record`'s form, `_target_` left out); a
        setting that an older checkpoint lacks takes its default."""
        return cls(**{k: v for k, v in settings.items() if k != "_target_"})

    def build(self) -> nn.Module:
        """The untrained model of these settings: `model`'s class around this config."""
        module, _, name = self.model.rpartition(".")
        return getattr(importlib.import_module(module), name)(self)


@dataclass(frozen=True, kw_only=True)
class RNNConfig(ModelConfig):
    """The RNN encoder–decoder's settings (`model=default`, `model=big`).

    Args:
        src_vocab_size, tgt_vocab_size: from the data's vocabularies.
        attention: how `c_t` is computed: a built-in option's name (`none`, `dot`,
            `scaled_dot`, `additive`, `multiplicative`), or a factory of an
            `ablate.models.attention.Attention` that takes `hidden` (what a config's
            `_target_` with `_partial_: true` gives); see `AttentionConfig`.
        embed: embedding size `E`.
        hidden: state size `H` (each encoder direction has `H // 2`), so even.
        layers: RNN layers in the encoder and in the decoder.
        rnn: `gru` or `lstm`.
        dropout: dropout on embeddings and on the attentional output.
        decoder: `luong` (attend with `s_t`) or `bahdanau` (attend with `s_{t-1}`, the
            context an RNN input); see `ablate.models.decoder`.
        input_feeding: Luong's input feeding (`decoder="luong"` only): `h̃_{t-1}` is an
            RNN input at step t.
        tie_embeddings: the output layer's weights are the target embedding (Press &
            Wolf 2017), which needs `embed == hidden` (the output layer reads `h̃_t`).
        pad_id, bos_id, eos_id: special token ids of the target vocabulary.
    """

    family: ClassVar[str] = "rnn"
    model: ClassVar[str] = "ablate.models.rnn.RNNEncoderDecoder"

    src_vocab_size: int
    tgt_vocab_size: int
    attention: AttentionConfig = "additive"
    embed: int = 128
    hidden: int = 256
    layers: int = 1
    rnn: str = "gru"
    dropout: float = 0.1
    decoder: str = "luong"
    input_feeding: bool = False
    tie_embeddings: bool = False
    pad_id: int = Vocab.pad_id
    bos_id: int = Vocab.bos_id
    eos_id: int = Vocab.eos_id

    def __post_init__(self):
        for name in ("embed", "hidden", "layers", "src_vocab_size", "tgt_vocab_size"):
            check_size(name, getattr(self, name))
        if self.hidden % 2:
            raise ValueError(
                f"model.hidden must be even (two encoder directions), got {self.hidden}"
            )
        check_choice("rnn", self.rnn, RNN_CHOICES)
        check_dropout(self.dropout)
        check_choice("decoder", self.decoder, DECODER_CHOICES)
        check_flag("input_feeding", self.input_feeding)
        if self.input_feeding and self.decoder != "luong":
            raise ValueError(
                f"model.input_feeding=true is for model.decoder=luong; model.decoder="
                f"{self.decoder} feeds the context c_t to its RNN already"
            )
        check_flag("tie_embeddings", self.tie_embeddings)
        if self.tie_embeddings and self.embed != self.hidden:
            raise ValueError(
                f"model.tie_embeddings=true makes the output layer's weights (model.hidden="
                f"{self.hidden} wide) the target embedding (model.embed={self.embed} wide): "
                f"set model.embed={self.hidden}, or model.tie_embeddings=false"
            )


@dataclass(frozen=True, kw_only=True)
class TransformerConfig(ModelConfig):
    """The Transformer's settings (`model=transformer`).

    Args:
        src_vocab_size, tgt_vocab_size: from the data's vocabularies.
        attention: the cross-attention's score, as `RNNConfig`'s; `none` is the
            fixed-context baseline.
        d_model: `H`, the size of every layer's input and output.
        heads: attention heads per layer; `d_model` must be divisible by it.
        layers: encoder layers, and decoder layers.
        ff: inner size of the feed-forward sublayers.
        dropout: on the embeddings and every sublayer's output.
        norm: `pre` (layer norm before each sublayer) or `post` (the paper's, after
            each residual sum).
        align_layer: the decoder layer (0 = the first, -1 = the last) whose
            cross-attention, heads averaged, the model returns as the alignment; the
            last gives the lowest AER on toy_fr (README).
        self_attention: the self-attention's score, taking the same options.
        fused: `scaled_dot` through torch's fused kernel where no weights are needed.
        tie_embeddings: the output layer's weights are the target embedding (Press &
            Wolf 2017; Vaswani et al. 2017 §3.4).
        pad_id, bos_id, eos_id: special token ids of the target vocabulary.
    """

    family: ClassVar[str] = "transformer"
    model: ClassVar[str] = "ablate.models.transformer.Transformer"
    _ATTENTION_KEYS: ClassVar[tuple[str, ...]] = ("attention", "self_attention")

    src_vocab_size: int
    tgt_vocab_size: int
    attention: AttentionConfig = "scaled_dot"
    d_model: int = 64
    heads: int = 4
    layers: int = 2
    ff: int = 256
    dropout: float = 0.1
    norm: str = "pre"
    align_layer: int = -1
    self_attention: AttentionConfig = "scaled_dot"
    fused: bool = True
    tie_embeddings: bool = False
    pad_id: int = Vocab.pad_id
    bos_id: int = Vocab.bos_id
    eos_id: int = Vocab.eos_id

    def __post_init__(self):
        for name in ("src_vocab_size", "tgt_vocab_size", "d_model", "heads", "layers", "ff"):
            check_size(name, getattr(self, name))
        if self.d_model % self.heads:
            raise ValueError(
                f"model.d_model={self.d_model} must be divisible by model.heads={self.heads} "
                f"(each head attends at d_model / heads)"
            )
        check_dropout(self.dropout)
        check_choice("norm", self.norm, NORM_CHOICES)
        layer, layers = self.align_layer, self.layers
        if isinstance(layer, bool) or not isinstance(layer, int) or not -layers <= layer < layers:
            raise ValueError(
                f"model.align_layer must be a decoder layer, 0 to {self.layers - 1} or -1 for "
                f"the last (model.layers={self.layers}), got {self.align_layer!r}"
            )
        check_flag("fused", self.fused)
        check_flag("tie_embeddings", self.tie_embeddings)

    def record(self) -> dict[str, Any]:
        """As `ModelConfig.record`, the class first as `_target_` (the RNN's has none)."""
        return {"_target_": self.model, **super().record()}
