"""Multi-head attention with a choice of score (Vaswani et al. 2017, §3.2.2).

    MultiHead(Q, K, V) = Concat(head_1, …, head_n) W^O,
    head_j = Attention(Q W_j^Q, K W_j^K, V W_j^V)

Each head's `Attention` is the configured `ablate.models.attention.Attention` class at
`hidden = d = H / n`, the same base class the RNN family uses (mask → softmax → reweight
→ weighted sum): `scaled_dot` is Vaswani's Eq. 1, and `dot`, `additive`,
`multiplicative`, Luong's `location` and `local_p` and a user's own class work unchanged
(`location` scores at most `max_len` keys: the longest source, or in self-attention the
longest target).
The heads are folded into the batch, `(B·n, T, d)`, so one `Attention` module per
attention layer serves all its heads: a score with parameters (additive's `W_s`, `W_h`,
`v`; multiplicative's `W`) shares them across the heads of its layer.

`none` (`FixedContext`) gives every query the mean of the values over the keys it may
see (the real tokens; for causal self-attention, the earlier positions): a fixed vector
per sentence in the cross-attention's place, the Transformer's fixed-context baseline.
It has no query or key projections.

A causal query at position t sees the keys 0..t: the mask `Attention` takes broadcasts to
`(B·n, T, S)`, so the causal path hands it `real keys (B·n, 1, S) & (i ≤ t) (1, T, T)` and
the keys once — the computation a decoding step makes with the cached keys 0..t,
whatever the score function.

Where the score is exactly `ScaledDotAttention`, no weights are asked for and no hook is
attached to the attention's `inspect` (`ablate.models.attention.inspected`: something
reads the scores), `fused` computes the same values (up to rounding) with torch's fused
kernel, `torch.nn.functional.scaled_dot_product_attention`.

Notation: `H` the model size (d_model), `n` heads, `d = H / n`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from ablate.models.attention import (
    AttentionConfig,
    FixedContext,
    ScaledDotAttention,
    build_attention,
    inspected,
)


class Keys(NamedTuple):
    """The keys and values of one attention layer, heads apart, computed once per source
    (cross-attention) or once per position (a decoder's self-attention cache).

    `k` and `prepared` are None for `none`, which reads the values alone."""

    k: torch.Tensor | None  # (B, n, S, d)
    v: torch.Tensor  # (B, n, S, d)
    prepared: torch.Tensor | None  # (B, n, S, ·): attention.prepare of the keys

    def rows(self, rows: torch.Tensor) -> Keys:
        """These keys at batch rows `rows` `(b',)`."""
        return Keys(*(None if x is None else x.index_select(0, rows) for x in self))

    def append(self, new: Keys) -> Keys:
        """These keys followed by `new`'s along the positions (a decoding step's)."""
        return Keys(
            *(
                None if x is None else torch.cat([x, y], dim=2)
                for x, y in zip(self, new, strict=True)
            )
        )


def causal_mask(T: int, device: torch.device) -> torch.Tensor:
    """`(T, T)` bool, True where query t may see key i: `i ≤ t`."""
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


class MultiHeadAttention(nn.Module):
    """Multi-head attention whose heads score with the configured `Attention`.

    Args:
        hidden: the model size `H`.
        heads: `n`; `H` must be divisible by it.
        attention: the score (`ablate.models.attention.AttentionConfig`), built at
            `hidden = H / n`; one module for all heads.
        fused: compute `scaled_dot` with torch's fused kernel where no weights are asked
            for (the same values up to rounding).
    """

    def __init__(self, hidden: int, heads: int, attention: AttentionConfig, fused: bool = True):
        super().__init__()
        self.heads, self.d = heads, hidden // heads
        self.attention = build_attention(attention, self.d)
        self.none = isinstance(self.attention, FixedContext)
        self.fused = fused and type(self.attention) is ScaledDotAttention
        self.W_q = None if self.none else nn.Linear(hidden, hidden)
        self.W_k = None if self.none else nn.Linear(hidden, hidden)
        self.W_v = nn.Linear(hidden, hidden)
        self.W_o = nn.Linear(hidden, hidden)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """`(B, L, H)` → `(B, n, L, d)`."""
        return x.unflatten(-1, (self.heads, self.d)).transpose(1, 2)

    def keys(self, x: torch.Tensor) -> Keys:
        """The projected keys and values of `x` `(B, S, H)`, and the keys as the score
        prepares them (once per source, not per query)."""
        v = self._split(self.W_v(x))  # (B, n, S, d)
        if self.none:
            return Keys(None, v, None)
        k = self._split(self.W_k(x))  # (B, n, S, d)
        prepared = self.attention.prepare(k.flatten(0, 1))  # (B·n, S, ·)
        return Keys(k, v, prepared.unflatten(0, k.shape[:2]))

    def forward(
        self,
        x: torch.Tensor,
        keys: Keys,
        mask: torch.Tensor | None,
        causal: bool = False,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend from the queries `x` to `keys`.

        Args:
            x: `(B, T, H)`, the states the queries are projected from.
            keys: `keys(…)` of the attended states, `S` positions.
            mask: `(B, S)` bool, True on real keys; None for all real.
            causal: query t sees the keys 0..t only (then `T = S`; padding at the end of
                a target needs no mask, since a real position never sees it).
            need_weights: return the weights (the explicit path).

        Returns:
            `(B, T, H)` and, if asked for, the weights `(B, n, T, S)` (None for `none`).
        """
        B, T, _ = x.shape
        n, S = self.heads, keys.v.shape[2]
        if self.none:
            return self.W_o(self._mean(keys.v, mask, causal, T)), None
        q = self._split(self.W_q(x))  # (B, n, T, d)
        # The fused kernel forms no explicit scores: not where a hook reads them.
        if self.fused and not need_weights and not inspected(self.attention):
            context = F.scaled_dot_product_attention(
                q,
                keys.k,
                keys.v,
                attn_mask=None if causal or mask is None else mask[:, None, None, :],
                is_causal=causal,
            )  # (B, n, T, d)
            return self.W_o(context.transpose(1, 2).flatten(2)), None
        q, k, v = q.flatten(0, 1), keys.k.flatten(0, 1), keys.v.flatten(0, 1)  # (B·n, ·, d)
        prepared = keys.prepared.flatten(0, 1)  # (B·n, S, ·)
        see = self._visible(mask, B, S, T, causal, x.device)  # (B·n | 1, T | 1, S)
        context, weights = self.attention(q, k, see, prepared=prepared, values=v)
        context = context.reshape(B, n, T, self.d).transpose(1, 2).flatten(2)  # (B, T, H)
        return self.W_o(context), weights.reshape(B, n, T, S) if need_weights else None

    def _visible(
        self, mask: torch.Tensor | None, B: int, S: int, T: int, causal: bool, device
    ) -> torch.Tensor:
        """Which keys each head's query sees, broadcastable to `(B·n, T, S)`: the real
        keys `(B·n, 1, S)` and, causally, `i ≤ t` `(1, T, S)` — one bool per query and
        key at most, never a copy of the keys per query."""
        rows = (
            torch.ones(1, 1, S, dtype=torch.bool, device=device)
            if mask is None
            else mask.repeat_interleave(self.heads, dim=0)[:, None, :]
        )
        return rows & causal_mask(T, device)[None] if causal else rows

    def _mean(
        self, v: torch.Tensor, mask: torch.Tensor | None, causal: bool, T: int
    ) -> torch.Tensor:
        """`none`'s context (`FixedContext`): the mean of the values over the keys each
        query sees; `(B, T, H)` before `W_o`."""
        B, n, S, d = v.shape
        real = (
            v.new_ones(B, 1, S, 1) if mask is None else mask[:, None, :, None].to(v.dtype)
        )  # (B, 1, S, 1)
        if causal:  # position t: the mean of the positions 0..t (T = S)
            seen = real.cumsum(2).clamp_min(1)
            fixed = (v * real).cumsum(2) / seen  # (B, n, T, d)
        else:
            fixed = (v * real).sum(2) / real.sum(2).clamp_min(1)  # (B, n, d)
        query = v.new_empty(B * n, T, 0)  # only its shape is read
        context, _ = self.attention(query, fixed.flatten(0, 1))  # (B·n, T, d)
        return context.reshape(B, n, T, d).transpose(1, 2).flatten(2)
