"""Attention: how the decoder builds its context vector `c_t` from the encoder states.

Every variant follows the lecture's recipe, written once in `Attention.forward`:
compare the decoder state `s_t` (query) with every encoder state `h_i` (keys), mask
padding, softmax the scores into weights `α_ti`, and take the weighted sum of the
encoder states (values): `c_t = Σ_i α_ti h_i`. Subclasses define only the score:

- `dot`            `score(s, h) = sᵀh`                     Luong et al. 2015, §3.1 (dot)
- `scaled_dot`     `score(s, h) = sᵀh / √d`                Vaswani et al. 2017, Eq. 1
- `additive`       `score(s, h) = vᵀ tanh(W_s s + W_h h)`  Bahdanau et al. 2015, App. A.1.2
- `multiplicative` `score(s, h) = sᵀ W h`                  Luong et al. 2015, §3.1 (general)

Luong's two other variants, `location` (scores from `s_t` alone) and `local_p` (a
window around a predicted source position), live in `ablate.models.luong`, written on
this API alone, as a user's own class would be.

`none` is the ablation baseline (Cho et al. 2014): `c_t` is the same fixed vector, the
final encoder state, at every step; it has no weights, and is its own module
(`FixedContext`), not an `Attention`.

All variants take every query step at once: queries `(B, T, H)`, keys `(B, S, H)`,
scores `(B, T, S)`, and a mask that broadcasts to `(B, T, S)` (the RNN's `(B, S)` source
padding; a Transformer's causal `(B·n, T, T)`). A single decoding step is the case
`T = 1`. Both families use this one contract.

`Attention` is the extension point, and the built-ins use nothing else: a new score
function is a subclass that defines `score` (and `prepare` if part of it depends on the
keys alone, `reweight` if the normalised weights are reshaped, as Luong's local-p
attention does), constructed as `cls(hidden=H, **its parameters)`. A config option is a
YAML file naming the class (`_target_`) and its parameters, with `_partial_: true` so
that the model passes `hidden`, the size its family's config gives (`RNNConfig.hidden`;
`TransformerConfig.d_model / heads`, a head's size); a user's own class lives in their
package and their option in their `--config-dir` (README, "Your own ablation").

`align` passes its masked scores and weights through `Attention.inspect`, an identity
submodule (`Inspect`): the hook point where `register_forward_hook` reads them (the
attention diagnostics, `ablate.diagnostics`, attach there) without the model knowing who
reads. A caller that could compute the context without explicit scores (a fused kernel)
asks `inspected(module)` first: with a hook attached, the scores must exist.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import torch
from torch import nn

# What a family's config takes as `attention` (`RNNConfig`, `TransformerConfig`, whose
# `self_attention` too): a built-in option's name, a factory that
# `factory(hidden=H)` makes an `Attention` of (a class, or Hydra's `_partial_` of one),
# or the plain record `{"_target_": "pkg.Class", **parameters}` a checkpoint keeps.
AttentionConfig = str | Mapping[str, Any] | Callable[..., "Attention"]


class AttentionError(ValueError):
    """An attention class or config that does not fit the `Attention` contract; the
    message says what and how to fix it (the entry point adds the config file)."""


class Attention(nn.Module):
    """Base class: mask → softmax → reweight → weighted sum. Subclasses implement `score`,
    `prepare` where part of the score depends on the keys alone, and `reweight` where
    the softmax-normalised weights are changed before the sum (by default they are not).

    Args:
        hidden: size `H` of the queries and keys the score compares, given by the model
            from its family's config: `RNNConfig.hidden` (the decoder and encoder
            states), or a head's size `TransformerConfig.d_model / heads`.

    Attributes:
        inspect: the hook point of `align`'s masked scores and weights (`Inspect`).
    """

    def __init__(self, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.inspect = Inspect()

    def prepare(self, keys: torch.Tensor) -> torch.Tensor:
        """The keys as `score` consumes them, computed once per source batch: decoding
        calls `score` at every step, and a key projection need not be redone each time.

        Args:
            keys: encoder states `(B, S, H)`.
        """
        return keys

    def score(self, query: torch.Tensor, prepared: torch.Tensor) -> torch.Tensor:
        """Unnormalised scores.

        Args:
            query: decoder states `(B, T, H)`.
            prepared: `prepare(keys)`, `(B, S, ·)`.

        Returns:
            `(B, T, S)` scores.
        """
        raise NotImplementedError

    def reweight(
        self, weights: torch.Tensor, query: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """The weights the context sums with, from the softmax-normalised ones: by default
        these themselves. A subclass may scale them by a prior over source positions
        (Luong et al. 2015, Eq. 10); it must keep padding at exactly 0, and the weights
        then need not sum to 1.

        Args:
            weights: softmax of the masked scores, `(B, T, S)`, 0 where masked.
            query: decoder states `(B, T, H)`.
            mask: `(B, 1, S)` or `(B, T, S)` bool, True where a query may see a key
                (`align`'s, made 3-D).

        Returns:
            `(B, T, S)` weights.
        """
        return weights

    def align(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        mask: torch.Tensor,
        prepared: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The alignment model (Bahdanau et al. 2015, §3.1): masked scores and weights.

        Args:
            query: decoder states `(B, T, H)`.
            keys: encoder states `(B, S, H)`.
            mask: bool, True where a query may see a key: `(B, S)` (the real source
                tokens, the same for every query) or anything that broadcasts to
                `(B, T, S)` (a causal self-attention's `(B, T, T)`, with no copy of the
                keys per query). Every query must see at least one key.
            prepared: `prepare(keys)` if the caller kept it; computed here otherwise.

        Returns:
            scores `(B, T, S)` before the softmax (`-inf` where masked) and weights
            `(B, T, S)` (exactly 0 where masked; each row sums to 1 unless `reweight`
            changes that).
        """
        prepared = self.prepare(keys) if prepared is None else prepared
        scores = self.score(query, prepared)  # (B, T, S)
        if scores.shape != (*query.shape[:2], keys.shape[1]):
            raise AttentionError(
                f"{_name(type(self))}.score returned shape {tuple(scores.shape)} for queries "
                f"{tuple(query.shape)} and keys {tuple(keys.shape)}; it must return one score "
                f"per query step and key, (B, T, S) = {(*query.shape[:2], keys.shape[1])}"
            )
        mask = mask[:, None, :] if mask.dim() == 2 else mask  # (B | 1, T | 1, S)
        scores = scores.masked_fill(~mask, float("-inf"))
        weights = self.reweight(torch.softmax(scores, dim=-1), query, mask)  # (B, T, S)
        # Through the hook point only when hooked: a module call per decoding step costs.
        return self.inspect(scores, weights) if inspected(self) else (scores, weights)

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        mask: torch.Tensor,
        prepared: torch.Tensor | None = None,
        values: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Context vectors for every query step.

        Args:
            query: decoder states `(B, T, H)`.
            keys: encoder states `(B, S, H)`.
            mask: as `align`'s: `(B, S)`, or broadcastable to `(B, T, S)`.
            prepared: `prepare(keys)` if the caller kept it; computed here otherwise.
            values: what the weights sum, `(B, S, H_v)`; default the keys (the RNN
                family's encoder states are both; a Transformer projects its own).

        Returns:
            context `(B, T, H_v)` and weights `(B, T, S)` (as `align`'s).
        """
        _, weights = self.align(query, keys, mask, prepared)
        values = keys if values is None else values
        context = torch.bmm(weights, values)  # (B, T, S)·(B, S, H_v) → (B, T, H_v)
        return context, weights


class Inspect(nn.Module):
    """The identity on `align`'s `(scores, weights)`, there to be hooked: a forward hook
    registered on it (`Attention.inspect.register_forward_hook`) sees every call's masked
    scores `(B, T, S)` (−inf where masked) and weights, the very tensors the loss depends
    on, so a tensor hook on the scores sees their gradient. It has no parameters, so a
    model's state dict is the same with or without it."""

    def forward(
        self, scores: torch.Tensor, weights: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return scores, weights


def inspected(module: Attention) -> bool:
    """Whether a forward hook is attached to `module.inspect`: then whoever computes
    `module`'s context must call `align` (its explicit scores), not a fused kernel that
    forms none."""
    return bool(module.inspect._forward_hooks or module.inspect._forward_pre_hooks)


class FixedContext(nn.Module):
    """The fixed-context baseline (`none`; Cho et al. 2014): every step's context is one
    vector per sentence, whatever the query — the RNN's final encoder state, or in a
    Transformer the mean of the values a query may see. It is not an `Attention`: it
    compares nothing with nothing and has no weights, so it has no `score`, `prepare` or
    mask.

    Args:
        hidden: the size `H` of the context (what a config's `_partial_` passes).
    """

    def __init__(self, hidden: int):
        super().__init__()
        self.hidden = hidden

    def forward(self, query: torch.Tensor, fixed: torch.Tensor) -> tuple[torch.Tensor, None]:
        """The context of every query step.

        Args:
            query: `(B, T, ·)`; only its B and T are read.
            fixed: the vector `(B, H)` of each sentence, or `(B, T, H)` one per step (a
                causal mean).

        Returns:
            context `(B, T, H)` and no weights.
        """
        if fixed.dim() == 2:
            fixed = fixed[:, None, :].expand(query.shape[0], query.shape[1], fixed.shape[-1])
        return fixed, None


# The old name: a `_target_` in a user's config may still name it.
NoAttention = FixedContext


class DotAttention(Attention):
    """`sᵀh` (Luong et al. 2015, §3.1, "dot")."""

    def score(self, query, prepared):
        return torch.bmm(query, prepared.transpose(1, 2))  # (B, T, H)·(B, H, S) → (B, T, S)


class ScaledDotAttention(Attention):
    """`sᵀh / √d` (Vaswani et al. 2017, Eq. 1): keeps softmax out of saturation as d grows."""

    def score(self, query, prepared):
        return torch.bmm(query, prepared.transpose(1, 2)) / math.sqrt(query.shape[-1])


class MultiplicativeAttention(Attention):
    """`sᵀ W h` (Luong et al. 2015, §3.1, "general")."""

    def __init__(self, hidden: int):
        super().__init__(hidden)
        self.W = nn.Linear(hidden, hidden, bias=False)

    def prepare(self, keys):
        # Project the keys, not the queries: once per batch, while queries come per step.
        return self.W(keys)  # (B, S, H)

    def score(self, query, prepared):
        return torch.bmm(query, prepared.transpose(1, 2))  # (B, T, S)


class AdditiveAttention(Attention):
    """`vᵀ tanh(W_s s + W_h h)` (Bahdanau et al. 2015, App. A.1.2).

    Args:
        hidden: size `H` of the states.
        dim: size `A` of the tanh layer (Bahdanau's n'; default `H`); it sets the cost,
            since the score builds a `(B, T, S, A)` tensor.
    """

    def __init__(self, hidden: int, dim: int | None = None):
        super().__init__(hidden)
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 1):
            raise AttentionError(f"attention.dim must be a positive integer or null, got {dim!r}")
        dim = dim or hidden
        self.W_s = nn.Linear(hidden, dim, bias=False)
        self.W_h = nn.Linear(hidden, dim, bias=True)
        self.v = nn.Linear(dim, 1, bias=False)

    def prepare(self, keys):
        return self.W_h(keys)  # (B, S, A): W_h h + b, once per batch

    def score(self, query, prepared):
        # tanh in place: the sum is the one (B, T, S, A) tensor, kept for backward.
        z = (self.W_s(query)[:, :, None, :] + prepared[:, None, :, :]).tanh_()  # (B, T, S, A)
        return self.v(z)[..., 0]  # (B, T, S)


# The score functions a family's config takes by name (`RNNConfig(attention="…")`);
# conf/attention/ names these classes, and Luong's location and local_p
# (`ablate.models.luong`), which, like a user's own, are given as a class or a `_target_`
# record.
BUILT_IN = {
    "none": FixedContext,
    "dot": DotAttention,
    "scaled_dot": ScaledDotAttention,
    "additive": AdditiveAttention,
    "multiplicative": MultiplicativeAttention,
}
ATTENTION_CHOICES = tuple(BUILT_IN)


def build_attention(attention: AttentionConfig, hidden: int) -> Attention | FixedContext:
    """The attention module, checked against the `Attention` contract on a tiny batch
    (`none`: the `FixedContext`).

    Args:
        attention: a name in `ATTENTION_CHOICES`, a factory (`factory(hidden=H)`), or a
            `{"_target_": "pkg.Class", **parameters}` record (see `AttentionConfig`).
        hidden: size `H` of the queries and keys (see `Attention`).

    Raises:
        AttentionError: an unknown name, a class that is not an `Attention`, a
            constructor or `score` that fails or returns the wrong shapes.
    """
    factory = _factory(attention)
    try:
        module = factory(hidden=hidden)
    except AttentionError:
        raise
    except (TypeError, ValueError) as e:
        raise AttentionError(
            f"{_name(factory)}(hidden={hidden}, …) failed: {e}; an Attention's constructor "
            f"takes hidden (the query and key size, given by the model) and its config's parameters"
        ) from None
    if isinstance(module, FixedContext):
        return module  # compares nothing: no score to check
    if not isinstance(module, Attention):
        raise AttentionError(
            f"{_name(factory)} is not an ablate.models.attention.Attention subclass; derive "
            f"it from Attention and define score(query, prepared) -> (B, T, S) scores"
        )
    _check_shapes(module, hidden)
    return module


def attention_record(attention: AttentionConfig) -> str | dict[str, Any]:
    """The plain record of `attention` a checkpoint keeps and `build_attention` takes
    back: a built-in name as it is, a factory as `{"_target_": "pkg.Class", **parameters}`."""
    if isinstance(attention, str):
        return attention
    if isinstance(attention, Mapping):
        return dict(attention)
    func, keywords = attention, {}
    if isinstance(attention, partial):
        if attention.args:
            raise AttentionError(
                f"{_name(attention.func)}: give an attention's parameters by name, not position"
            )
        func, keywords = attention.func, dict(attention.keywords)
    return {"_target_": _name(func), **keywords}


def _factory(attention: AttentionConfig) -> Callable[..., Attention]:
    if isinstance(attention, str):
        if attention not in BUILT_IN:
            raise AttentionError(
                f"unknown attention {attention!r}; choose one of {', '.join(ATTENTION_CHOICES)}"
            )
        return BUILT_IN[attention]
    if isinstance(attention, Mapping):
        record = dict(attention)
        target = str(record.pop("_target_", ""))
        module, _, name = target.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError, ValueError) as e:
            raise AttentionError(
                f"cannot import the attention class {target!r} ({e}); install its package "
                f"or put it on PYTHONPATH"
            ) from None
        return partial(cls, **record)
    return attention


def _check_shapes(module: Attention, hidden: int) -> None:
    """Run `module` on a tiny batch (no randomness drawn: the model's initial weights
    stay those of its seed) and check what it returns."""
    B, T, S = 1, 2, 3
    query, keys = torch.zeros(B, T, hidden), torch.zeros(B, S, hidden)
    mask = torch.ones(B, S, dtype=torch.bool)
    training = module.training
    try:
        with torch.no_grad():
            context, weights = module.eval()(query, keys, mask)
    except AttentionError:
        raise
    except (RuntimeError, TypeError, ValueError, NotImplementedError) as e:
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise AttentionError(
            f"{_name(type(module))} fails on queries (B, T, H) = {(B, T, hidden)} and keys "
            f"(B, S, H) = {(B, S, hidden)}: {detail}; score(query, prepared) must return "
            f"(B, T, S) scores"
        ) from None
    finally:
        module.train(training)
    if tuple(context.shape) != (B, T, hidden) or (
        weights is not None and tuple(weights.shape) != (B, T, S)
    ):
        got = None if weights is None else tuple(weights.shape)
        raise AttentionError(
            f"{_name(type(module))} returns a context of shape {tuple(context.shape)} and "
            f"weights {got}; they must be (B, T, H) = {(B, T, hidden)} and (B, T, S) = "
            f"{(B, T, S)} (or None)"
        )


def _name(obj) -> str:
    """`module.Class` of a class or a partial of one."""
    obj = obj.func if isinstance(obj, partial) else obj
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"
