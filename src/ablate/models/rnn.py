"""The RNN family: the encoder–decoder every ablation trains; only the context `c_t`
differs. (`ablate.models.seq2seq.Seq2Seq`, its old path, is the same class.)

Encoder: embedding + bidirectional GRU/LSTM over packed sequences (Bahdanau et al.
2015, §3.2) → states `h_1..h_S`, which are both keys and values, and a final state
that initialises the decoder.

Decoder (`ablate.models.decoder`): Luong et al. 2015's by default (§3, Eq. 5–6, without
input feeding, so that teacher forcing needs no loop over time):

    s_t = RNN(s_{t-1}, y_{t-1})
    c_t = Σ_i α_ti h_i                  (see `ablate.models.attention`)
    output_t = W_o tanh(W_c [s_t; c_t])

or with Luong's input feeding (§3.3), or Bahdanau et al. 2015's (App. A.2.2), both of
which teacher-force one step at a time.

Without those, teacher forcing (`forward`) runs the decoder RNN over the whole target at
once and computes every attention score in one batched product.

`RNNEncoderDecoder` is a `ablate.models.protocol.StepDecoder`, which is all that decoding
(`ablate.models.search`) knows of it:

- `start` encodes: the memory is a `Memory` — the encoder states `keys` `(B, S, H)`,
  the source `mask` `(B, S)`, the top layer's `final` state `(B, H)` (the fixed context
  of `attention=none`) and `prepared`, `attention.prepare(keys)`, computed once, not at
  every step; the state is the decoder's (`ablate.models.decoder`): the RNN's
  `(L, B, H)` (a pair for an LSTM), with input feeding `h̃_{t-1}` `(1, B, H)` too.
- `step` is one decoder step (`T = 1`) on that memory and state;
- `reorder` takes the state's rows on its batch dimension (1), `select` the memory's on
  its (0).

The settings are an `ablate.models.config.RNNConfig`, checked before a layer is built.

This file computes as the papers write, on every device. On a CPU,
`ablate.models.cpu.speed_up(model)` swaps faster code for the same values into the
built model (the entry point calls it when a run is on a CPU).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ablate.models.config import RNNConfig
from ablate.models.decoder import DECODERS


class Encoder(nn.Module):
    """Embedding + bidirectional RNN; each direction has `hidden // 2` units so that the
    concatenated states have size `hidden`, the decoder's size; the source vocabulary,
    `embed`, `layers`, `rnn` and `dropout` from the model's `config`."""

    def __init__(self, config: RNNConfig):
        super().__init__()
        c = config
        self.embedding = nn.Embedding(c.src_vocab_size, c.embed, padding_idx=c.pad_id)
        rnn_cls = nn.GRU if c.rnn == "gru" else nn.LSTM
        self.rnn = rnn_cls(
            c.embed,
            c.hidden // 2,
            num_layers=c.layers,
            batch_first=True,
            bidirectional=True,
            dropout=c.dropout if c.layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, src: torch.Tensor, src_len: torch.Tensor):
        """Encode a padded batch.

        Args:
            src: `(B, S)` token ids.
            src_len: `(B,)` true lengths (on CPU or the device).

        Returns:
            states `(B, S, H)` and the final state: `(L, B, H)` for a GRU, a pair of them
            for an LSTM (forward and backward directions concatenated per layer).
        """
        x = self.dropout(self.embedding(src))  # (B, S, E)
        x_packed = pack_padded_sequence(x, src_len.cpu(), batch_first=True, enforce_sorted=False)
        out, final = self.rnn(x_packed)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        return states, merge_directions(final)  # (B, S, H)


def merge_directions(final):
    """A bidirectional RNN's final state `(2L, B, H/2)` (a pair of them for an LSTM) as
    `(L, B, H)`: the two directions of each layer concatenated."""
    if isinstance(final, tuple):
        return tuple(merge_directions(h) for h in final)
    return torch.cat([final[0::2], final[1::2]], dim=-1)


class Memory(NamedTuple):
    """What every decoder step reads about its sentences (the protocol's memory), one row
    per hypothesis; the decoder's arguments after the state, in its order."""

    keys: torch.Tensor  # (B, S, H) encoder states, also the values
    mask: torch.Tensor  # (B, S) True on real source tokens
    final: torch.Tensor  # (B, H) the encoder's top layer final state
    prepared: torch.Tensor  # (B, S, ·) attention.prepare(keys), kept across steps


class RNNEncoderDecoder(nn.Module):
    """The RNN encoder–decoder, with a choice of attention.

    Args:
        config: its settings, checked (`ablate.models.config.RNNConfig`); kept as
            `self.config`, whose `record()` a checkpoint stores to rebuild the model
            (`ablate.translate`).
    """

    config_class = RNNConfig  # what a checkpoint's settings are read into

    def __init__(self, config: RNNConfig):
        super().__init__()
        self.config = config
        self.pad_id, self.bos_id, self.eos_id = config.pad_id, config.bos_id, config.eos_id
        self.vocab_size = config.tgt_vocab_size
        self.encoder = Encoder(config)
        self.bridge = nn.Linear(config.hidden, config.hidden)
        self.decoder = DECODERS[config.decoder](config)

    def start(self, src: torch.Tensor, src_len: torch.Tensor) -> tuple[Memory, object]:
        """Encode `src` `(B, S)` of lengths `src_len` `(B,)`: the `Memory` and the decoder's
        first state (the bridged final encoder state, `tanh(W_b h_final)`; see
        `ablate.models.decoder`)."""
        keys, final = self.encoder(src, src_len)  # (B, S, H)
        h = final[0] if isinstance(final, tuple) else final  # (L, B, H)
        init = torch.tanh(self.bridge(h))
        state = (init, torch.zeros_like(init)) if isinstance(final, tuple) else init
        prepared = self.decoder.prepare(keys)  # once, not at every step
        memory = Memory(keys, src != self.pad_id, h[-1], prepared)
        return memory, self.decoder.start(state)

    def step(self, memory: Memory, state, y_prev: torch.Tensor):
        """One decoder step for every row: `y_prev` `(b, 1)`.

        Returns:
            logits `(b, V)`, weights `(b, S)` (None for `none`), the next state.
        """
        logits, weights, state = self.decoder(y_prev, state, *memory)  # (b, 1, V), (b, 1, S)
        return logits[:, 0], None if weights is None else weights[:, 0], state

    def reorder(self, state, rows: torch.Tensor):
        """The decoder state at rows `rows` `(b',)` of its batch dimension (1)."""
        if isinstance(state, tuple):
            return tuple(h.index_select(1, rows) for h in state)
        return state.index_select(1, rows)

    def select(self, memory: Memory, rows: torch.Tensor) -> Memory:
        """The memory at rows `rows` `(b',)`."""
        return Memory(*(x.index_select(0, rows) for x in memory))

    def forward(self, src, src_len, tgt_in, need_weights: bool = True):
        """Teacher-forced logits for every target position (at once, but for input
        feeding and the Bahdanau decoder, which take one step at a time).

        Args:
            src: `(B, S)`; src_len: `(B,)`; tgt_in: `(B, T)` = BOS + target[:-1].
            need_weights: return the weights (the decoder computes them either way: its
                context is their weighted sum).

        Returns:
            logits `(B, T, V)` and attention weights `(B, T, S)` (None for `none`, or
            without `need_weights`).
        """
        memory, state = self.start(src, src_len)
        logits, weights, _ = self.decoder(tgt_in, state, *memory)
        return logits, weights if need_weights else None
