"""Luong et al. 2015's other two attention variants, written on `Attention` alone.

- `LocationAttention` (`attention=location`; §3.1, Eq. 8): `a_t = softmax(W_a s_t)`, the
  scores from the decoder state alone, one per source position: where to look, not
  what is there.
- `LocalPAttention` (`attention=local_p`; §3.2, Eq. 9–10): a predicted source position
  `p_t = S · σ(v_pᵀ tanh(W_p s_t))`, the general score's softmax over the window
  `[p_t − D, p_t + D]`, times a Gaussian `exp(−(i − p_t)² / 2σ²)` with `σ = D / 2`.

Neither is in `ablate.models.attention.BUILT_IN`: like a user's own class, each is named
by its config file's `_target_` (`conf/attention/location.yaml`, `local_p.yaml`) and
uses only the public hooks, `score`, `prepare` and `reweight`: the proof that they
suffice. Source positions are counted from 0, as the tensors index them.
"""

from __future__ import annotations

import torch
from torch import nn

from ablate.models.attention import Attention, AttentionError


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AttentionError(f"attention.{name} must be a positive integer, got {value!r}")


class LocationAttention(Attention):
    """`a_t = softmax(W_a s_t)` (Luong et al. 2015, §3.1, Eq. 8).

    `W_a` maps the state to one score per source position, `max_len` of them; a batch of
    `S`-token sources uses the first `S` (padding is masked as for every score). Rows of
    positions beyond the longest training source are never trained.

    Args:
        hidden: size `H` of the states.
        max_len: the most source tokens a sentence may have (rows of `W_a`); a batch
            with longer sources raises `ValueError`.
    """

    def __init__(self, hidden: int, max_len: int = 256):
        super().__init__(hidden)
        _check_positive("max_len", max_len)
        self.max_len = max_len
        self.W_a = nn.Linear(hidden, max_len, bias=False)

    def score(self, query, prepared):
        S = prepared.shape[1]
        if self.max_len < S:
            raise ValueError(
                f"attention=location scores at most attention.max_len={self.max_len} source "
                f"positions, but a batch has sources of {S} tokens; set attention.max_len to "
                f"at least the longest source"
            )
        return nn.functional.linear(query, self.W_a.weight[:S])  # (B, T, H)·(H, S) → (B, T, S)


class LocalPAttention(Attention):
    """Local attention with a predicted position (Luong et al. 2015, §3.2, "local-p").

        p_t = S_b · σ(v_pᵀ tanh(W_p s_t))                          (Eq. 9)
        a_t(i) = align_t(i) · exp(−(i − p_t)² / 2σ²),  σ = D / 2    (Eq. 10)

    `S_b` is each sentence's real source length, so `p_t ∈ (0, S_b)`. `align_t` is the
    softmax of the general score `sᵀ W h` over the real positions in the window
    `|i − p_t| ≤ D` (0 outside it). As in Eq. 10 the Gaussian is not renormalised: a row
    of weights sums to less than 1 and the context shrinks where the window is spread.
    `p_t` is learned through the Gaussian (the window's edges pass no gradient).

    Args:
        hidden: size `H` of the states.
        window: `D`, the window's half-width in source positions (Luong: 10).
    """

    def __init__(self, hidden: int, window: int = 10):
        super().__init__(hidden)
        _check_positive("window", window)
        self.window = window
        self.W = nn.Linear(hidden, hidden, bias=False)  # the general score's W
        self.W_p = nn.Linear(hidden, hidden, bias=False)
        self.v_p = nn.Linear(hidden, 1, bias=False)

    def prepare(self, keys):
        return self.W(keys)  # (B, S, H), once per batch

    def score(self, query, prepared):
        return torch.bmm(query, prepared.transpose(1, 2))  # (B, T, S)

    def position(self, query: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`p_t`, `(B, T)`, for decoder states `(B, T, H)` and the mask `(B, S)` or
        `(B, T | 1, S)` (the source length: the keys each query sees)."""
        mask = mask[:, None, :] if mask.dim() == 2 else mask
        length = mask.sum(-1).to(query.dtype)  # (B, T | 1)
        return length * torch.sigmoid(self.v_p(torch.tanh(self.W_p(query))))[..., 0]

    def reweight(self, weights, query, mask):
        distance = (
            torch.arange(mask.shape[-1], device=query.device, dtype=query.dtype)
            - self.position(query, mask)[..., None]
        )  # (B, T, S): i − p_t
        # The softmax over the window is the full softmax renormalised over it; a window
        # whose weights all underflow gives zeros, not 0/0.
        align = weights.masked_fill(distance.abs() > self.window, 0.0)
        align = align / align.sum(-1, keepdim=True).clamp_min(torch.finfo(align.dtype).tiny)
        sigma = self.window / 2
        return align * torch.exp(-distance.square() / (2 * sigma**2))  # (B, T, S)
