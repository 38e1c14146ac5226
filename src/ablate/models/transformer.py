"""The Transformer encoder–decoder (Vaswani et al. 2017, §3); only the cross-attention's
score differs between the ablation's variants.

    x_0 = √H · E[token] + PE(position)                       (§3.4, §3.5)
    encoder layer:  self-attention, feed-forward              (§3.1)
    decoder layer:  causal self-attention, cross-attention to the encoder's output,
                    feed-forward
    feed-forward:   W_2 max(0, W_1 x + b_1) + b_2             (§3.3, Eq. 2)

Each sublayer `f` sits in a residual with layer norm: `x + Dropout(f(LN(x)))` (pre-norm,
`norm="pre"`, the default: steadier without a learning-rate warm-up; Xiong et al.
2020), or the paper's `LN(x + Dropout(f(x)))` (`norm="post"`, §5.4). Pre-norm stacks
end in a layer norm. Dropout also applies to the embeddings plus positions; it is
`nn.Dropout`, for which `ablate.models.cpu.speed_up` swaps in its faster CPU draw.

Every attention is an `ablate.models.multihead.MultiHeadAttention` whose heads score
with an `ablate.models.attention.Attention` at `hidden = H / heads`: `attention` sets the
cross-attention's score (the ablation axis, as in the RNN family), `self_attention` that
of the encoder's and decoder's self-attention (default `scaled_dot`). One `Attention`
module per attention layer serves all its heads, folded into the batch (a score's
parameters are shared by them). With `attention="none"` there is no cross-attention:
each decoder layer gets the mean of the encoder's outputs over the real tokens (through
the value and output projections) at every position, one fixed vector per sentence —
the fixed-context baseline.

Decoding follows `ablate.models.protocol.StepDecoder`: the memory holds the encoder's
output, its mask and every decoder layer's cross-attention keys and values (prepared
once); the state holds every decoder layer's self-attention keys and values of the
positions so far, so a step computes its own position only. `self_attention`'s
`prepare` must act on each key alone (the built-ins do), since a step prepares only the
key it adds.

The settings are an `ablate.models.config.TransformerConfig`, checked before a layer is
built. Notation: `H` = d_model, `V` the target vocabulary.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from ablate.models.config import TransformerConfig
from ablate.models.multihead import Keys, MultiHeadAttention


def sinusoid(positions: torch.Tensor, hidden: int) -> torch.Tensor:
    """`PE(pos, 2i) = sin(pos / 10000^(2i/H))`, `PE(pos, 2i+1) = cos(…)` (§3.5).

    Args:
        positions: `(L,)` integer positions.
        hidden: `H`.

    Returns:
        `(L, H)` float32.
    """
    i = torch.arange(hidden, device=positions.device)
    rate = torch.pow(10000.0, -(2 * (i // 2)).float() / hidden)  # (H,)
    angle = positions.float()[:, None] * rate  # (L, H)
    return torch.where(i % 2 == 0, angle.sin(), angle.cos())


class Memory(NamedTuple):
    """What every decoding step reads about its sentences (`StepDecoder`'s memory)."""

    states: torch.Tensor  # (B, S, H) the encoder's output
    mask: torch.Tensor  # (B, S) True on real source tokens
    cross: tuple[Keys, ...]  # each decoder layer's cross-attention keys and values


class State(NamedTuple):
    """What a decoding step changes: the position it decodes and each decoder layer's
    self-attention keys and values of the positions before it."""

    position: int
    cache: tuple[Keys, ...] | None  # None before the first step


class Residual(nn.Module):
    """A sublayer's residual and layer norm, pre- or post-norm (see the module docstring)."""

    def __init__(self, hidden: int, dropout: float, norm: str):
        super().__init__()
        self.norm, self.pre = nn.LayerNorm(hidden), norm == "pre"
        self.dropout = nn.Dropout(dropout)

    def input(self, x: torch.Tensor) -> torch.Tensor:
        """What the sublayer reads."""
        return self.norm(x) if self.pre else x

    def output(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The layer's stream after the sublayer's output `y`."""
        x = x + self.dropout(y)
        return x if self.pre else self.norm(x)


class FeedForward(nn.Sequential):
    """`W_2 max(0, W_1 x + b_1) + b_2` (§3.3, Eq. 2)."""

    def __init__(self, hidden: int, ff: int):
        super().__init__(nn.Linear(hidden, ff), nn.ReLU(), nn.Linear(ff, hidden))


class EncoderLayer(nn.Module):
    """Self-attention (scored by `config.self_attention`) and feed-forward, each in its
    `Residual` (§3.1); sizes from the model's `config`."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        c = config
        self.self_attention = MultiHeadAttention(c.d_model, c.heads, c.self_attention, c.fused)
        self.feed_forward = FeedForward(c.d_model, c.ff)
        self.r1, self.r2 = (Residual(c.d_model, c.dropout, c.norm) for _ in range(2))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`(B, S, H)` → `(B, S, H)`; `mask` `(B, S)`."""
        h = self.r1.input(x)
        x = self.r1.output(x, self.self_attention(h, self.self_attention.keys(h), mask)[0])
        return self.r2.output(x, self.feed_forward(self.r2.input(x)))


class DecoderLayer(nn.Module):
    """Causal self-attention (`config.self_attention`), cross-attention (`config.attention`)
    and feed-forward, each in its `Residual` (§3.1); sizes from the model's `config`."""

    def __init__(self, config: TransformerConfig):
        super().__init__()
        c, hidden = config, config.d_model
        self.self_attention = MultiHeadAttention(hidden, c.heads, c.self_attention, c.fused)
        self.cross_attention = MultiHeadAttention(hidden, c.heads, c.attention, c.fused)
        self.feed_forward = FeedForward(hidden, c.ff)
        self.r1, self.r2, self.r3 = (Residual(hidden, c.dropout, c.norm) for _ in range(3))

    def forward(
        self,
        x: torch.Tensor,
        cross: Keys,
        mask: torch.Tensor,
        cache: Keys | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, Keys]:
        """Teacher forcing over all positions, causal (`cache` None), or one step after
        the positions in `cache`.

        Args:
            x: `(B, T, H)`; one position (`T = 1`) for a step.
            cross: this layer's cross-attention keys of the encoder's output.
            mask: `(B, S)` source mask.
            cache: the self-attention keys of the earlier positions, for a step.
            need_weights: return the cross-attention weights.

        Returns:
            `(B, T, H)`, cross-attention weights `(B, n, T, S)` or None, and the
            self-attention keys up to this position.
        """
        h = self.r1.input(x)
        keys = self.self_attention.keys(h)
        if cache is None:
            y, _ = self.self_attention(h, keys, None, causal=True)
        else:
            keys = cache.append(keys)
            y, _ = self.self_attention(h, keys, None)
        x = self.r1.output(x, y)
        y, weights = self.cross_attention(self.r2.input(x), cross, mask, need_weights=need_weights)
        x = self.r2.output(x, y)
        return self.r3.output(x, self.feed_forward(self.r3.input(x))), weights, keys


class Transformer(nn.Module):
    """Transformer encoder–decoder with a choice of cross-attention score.

    Args:
        config: its settings, checked (`ablate.models.config.TransformerConfig`); kept as
            `self.config`, whose `record()` a checkpoint stores to rebuild the model
            (`ablate.translate`).
    """

    config_class = TransformerConfig  # what a checkpoint's settings are read into

    def __init__(self, config: TransformerConfig):
        super().__init__()
        c = config
        self.config = config
        self.pad_id, self.bos_id, self.eos_id = c.pad_id, c.bos_id, c.eos_id
        self.vocab_size, self.d_model = c.tgt_vocab_size, c.d_model
        self.align_layer = c.align_layer % c.layers  # -1: the last
        self.src_embedding = nn.Embedding(c.src_vocab_size, c.d_model, padding_idx=c.pad_id)
        self.tgt_embedding = nn.Embedding(c.tgt_vocab_size, c.d_model, padding_idx=c.pad_id)
        for e in (self.src_embedding, self.tgt_embedding):
            # N(0, 1/H), so that √H · E has unit scale next to the positions (fairseq's).
            nn.init.normal_(e.weight, std=c.d_model**-0.5)
            nn.init.zeros_(e.weight[c.pad_id])
        self.dropout = nn.Dropout(c.dropout)
        self.encoder = nn.ModuleList(EncoderLayer(c) for _ in range(c.layers))
        self.decoder = nn.ModuleList(DecoderLayer(c) for _ in range(c.layers))
        # A pre-norm stack's output has not been normalised by its last layer.
        self.encoder_norm = nn.LayerNorm(c.d_model) if c.norm == "pre" else nn.Identity()
        self.decoder_norm = nn.LayerNorm(c.d_model) if c.norm == "pre" else nn.Identity()
        self.W_o = nn.Linear(c.d_model, c.tgt_vocab_size)
        if c.tie_embeddings:  # one (V, H) matrix: the target embedding and the output layer
            self.W_o.weight = self.tgt_embedding.weight

    def _embed(self, embedding: nn.Embedding, tokens: torch.Tensor, start: int = 0):
        """`√H · E[tokens] + PE`, dropped out; `(B, L)` → `(B, L, H)` at positions
        `start…start + L − 1`."""
        positions = torch.arange(start, start + tokens.shape[1], device=tokens.device)
        pe = sinusoid(positions, self.d_model).to(embedding.weight.dtype)  # (L, H)
        return self.dropout(embedding(tokens) * math.sqrt(self.d_model) + pe)

    def encode(self, src: torch.Tensor, src_len: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder's output `(B, S, H)` and the source mask `(B, S)`; `src_len` is
        implied by the padding (kept for the families' common signature)."""
        mask = src != self.pad_id  # (B, S)
        x = self._embed(self.src_embedding, src)
        for layer in self.encoder:
            x = layer(x, mask)
        return self.encoder_norm(x), mask

    def forward(
        self,
        src: torch.Tensor,
        src_len: torch.Tensor,
        tgt_in: torch.Tensor,
        need_weights: bool = True,
    ):
        """Teacher-forced logits for every target position, all at once.

        Args:
            src: `(B, S)`; src_len: `(B,)`; tgt_in: `(B, T)` = BOS + target[:-1].
            need_weights: return the alignment layer's weights; False (training, whose
                loss does not read them) lets that layer take the fused kernel too.

        Returns:
            logits `(B, T, V)` and the `align_layer`'s cross-attention weights, heads
            averaged, `(B, T, S)` (None for `none`, or without `need_weights`).
        """
        memory, _ = self.start(src, src_len)
        x = self._embed(self.tgt_embedding, tgt_in)
        weights = None
        for i, layer in enumerate(self.decoder):
            wanted = need_weights and i == self.align_layer
            x, w, _ = layer(x, memory.cross[i], memory.mask, need_weights=wanted)
            weights = w if w is not None else weights
        logits = self.W_o(self.decoder_norm(x))  # (B, T, V)
        return logits, None if weights is None else weights.mean(1)

    # --- ablate.models.protocol.StepDecoder ---------------------------------------------

    def start(self, src: torch.Tensor, src_len: torch.Tensor) -> tuple[Memory, State]:
        """Encode once: the memory, with every decoder layer's cross-attention keys, and
        the state before the first step."""
        states, mask = self.encode(src, src_len)
        cross = tuple(layer.cross_attention.keys(states) for layer in self.decoder)
        return Memory(states, mask, cross), State(0, None)

    def step(self, memory: Memory, state: State, y_prev: torch.Tensor):
        """One output position for every row; `y_prev` `(b, 1)`.

        Returns:
            logits `(b, V)`, the `align_layer`'s weights `(b, S)` (None for `none`), and
            the state with this position's self-attention keys added.
        """
        x = self._embed(self.tgt_embedding, y_prev, start=state.position)  # (b, 1, H)
        weights, cache = None, []
        for i, layer in enumerate(self.decoder):
            # The first step has no earlier positions: causal over its own one.
            past = None if state.cache is None else state.cache[i]
            x, w, keys = layer(
                x, memory.cross[i], memory.mask, cache=past, need_weights=i == self.align_layer
            )
            weights = w if w is not None else weights
            cache.append(keys)
        logits = self.W_o(self.decoder_norm(x))[:, 0]  # (b, V)
        weights = None if weights is None else weights.mean(1)[:, 0]  # (b, S)
        return logits, weights, State(state.position + 1, tuple(cache))

    def reorder(self, state: State, rows: torch.Tensor) -> State:
        if state.cache is None:
            return state
        return State(state.position, tuple(keys.rows(rows) for keys in state.cache))

    def select(self, memory: Memory, rows: torch.Tensor) -> Memory:
        return Memory(
            memory.states.index_select(0, rows),
            memory.mask.index_select(0, rows),
            tuple(keys.rows(rows) for keys in memory.cross),
        )
