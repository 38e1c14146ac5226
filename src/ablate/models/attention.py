"""Attention: how the decoder builds its context vector `c_t` from the encoder states.

Every variant follows the lecture's recipe, written once in `Attention.forward`:
compare the decoder state `s_t` (query) with every encoder state `h_i` (keys), mask
padding, softmax the scores into weights `α_ti`, and take the weighted sum of the
encoder states (values): `c_t = Σ_i α_ti h_i`. Subclasses define only the score:

- `dot`            `score(s, h) = sᵀh`                     Luong et al. 2015, §3.1 (dot)
- `scaled_dot`     `score(s, h) = sᵀh / √d`                Vaswani et al. 2017, Eq. 1
- `additive`       `score(s, h) = vᵀ tanh(W_s s + W_h h)`  Bahdanau et al. 2015, App. A.1.2
- `multiplicative` `score(s, h) = sᵀ W h`                  Luong et al. 2015, §3.1 (general)

`none` is the ablation baseline (Cho et al. 2014): `c_t` is the same fixed vector, the
final encoder state, at every step; it has no weights.

All variants take every query step at once: queries `(B, T, H)`, keys `(B, S, H)`,
scores `(B, T, S)`. A single decoding step is the case `T = 1`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ablate.models import cpu

ATTENTION_CHOICES = ("none", "dot", "scaled_dot", "additive", "multiplicative")


class Attention(nn.Module):
    """Base class: mask → softmax → weighted sum. Subclasses implement `score`, and
    `prepare` where part of the score depends on the keys alone."""

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

    def forward(
        self,
        query: torch.Tensor,
        keys: torch.Tensor,
        mask: torch.Tensor,
        final: torch.Tensor | None = None,
        prepared: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Context vectors for every query step.

        Args:
            query: decoder states `(B, T, H)`.
            keys: encoder states `(B, S, H)`, also the values.
            mask: `(B, S)` bool, True on real source tokens.
            final: the final encoder state `(B, H)`; unused here (see `NoAttention`).
            prepared: `prepare(keys)` if the caller kept it; computed here otherwise.

        Returns:
            context `(B, T, H)` and weights `(B, T, S)` (exactly 0 on padding).
        """
        prepared = self.prepare(keys) if prepared is None else prepared
        scores = self.score(query, prepared)  # (B, T, S)
        scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)  # (B, T, S)
        context = torch.bmm(weights, keys)  # (B, T, S)·(B, S, H) → (B, T, H)
        return context, weights


class NoAttention(Attention):
    """The fixed-context baseline: `c_t = h_final` for every t (Cho et al. 2014)."""

    def forward(self, query, keys, mask, final=None, prepared=None):
        if final is None:
            raise ValueError("attention=none needs the final encoder state")
        B, T, _ = query.shape
        return final[:, None, :].expand(B, T, final.shape[-1]), None


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
        super().__init__()
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
        dim: size `A` of the tanh layer (Bahdanau's n'); it sets the cost, since the
            score builds a `(B, T, S, A)` tensor.
    """

    def __init__(self, hidden: int, dim: int | None = None):
        super().__init__()
        dim = dim or hidden
        self.W_s = nn.Linear(hidden, dim, bias=False)
        self.W_h = nn.Linear(hidden, dim, bias=True)
        self.v = nn.Linear(dim, 1, bias=False)

    def prepare(self, keys):
        return 2 * self.W_h(keys)  # (B, S, A), doubled for the sigmoid form in `score`

    def score(self, query, prepared):
        # vᵀ tanh(a) = 2 vᵀ σ(2a) − Σv exactly, since tanh(a) = 2σ(2a) − 1. The sigmoid
        # form is the speed: the (B, T, S, A) tensor is the score's one large op, and
        # ATen's CPU tanh kernel is much slower than its sigmoid (no slower on a GPU).
        q = 2 * self.W_s(query)  # (B, T, A)
        v = self.v.weight[0]  # (A,)
        if cpu.runs_here(query):
            return cpu.additive_score(q, prepared, v)
        z = (q[:, :, None, :] + prepared[:, None, :, :]).sigmoid_()  # (B, T, S, A)
        return torch.matmul(z, 2 * v) - v.sum()  # (B, T, S)


def build_attention(attention: str, hidden: int, dim: int | None = None) -> Attention:
    """The attention module for a config choice.

    Args:
        attention: one of `ATTENTION_CHOICES`.
        hidden: size `H` of the decoder and encoder states.
        dim: the additive score's tanh layer size (default `H`); unused by the others.
    """
    if attention == "none":
        return NoAttention()
    if attention == "dot":
        return DotAttention()
    if attention == "scaled_dot":
        return ScaledDotAttention()
    if attention == "additive":
        return AdditiveAttention(hidden, dim)
    if attention == "multiplicative":
        return MultiplicativeAttention(hidden)
    raise ValueError(
        f"unknown attention {attention!r}; choose one of {', '.join(ATTENTION_CHOICES)}"
    )
