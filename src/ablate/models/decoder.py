"""The decoders: how the target RNN state, the context `c_t` and the output meet.

`LuongDecoder` (Luong et al. 2015, §3, Eq. 5–6; `model.decoder=luong`, the default):

    s_t = RNN(s_{t-1}, E y_{t-1})
    c_t = Σ_i α_ti h_i, with the query s_t            (see `ablate.models.attention`)
    h̃_t = tanh(W_c [s_t; c_t]),  p(y_t | …) = softmax(W_o h̃_t)

Without input feeding, teacher forcing runs the RNN over the whole target at once and
computes every attention score in one batched product. With `input_feeding` (§3.3) the
RNN input at step t is `[E y_{t-1}; h̃_{t-1}]` (`h̃_0 = 0`), so that the model knows its
past alignment decisions; a step needs the one before, so teacher forcing loops over t.

`BahdanauDecoder` (Bahdanau et al. 2015, App. A.2.2; `model.decoder=bahdanau`):

    c_t = Σ_i α_ti h_i, with the query s_{t-1}
    s_t = RNN(s_{t-1}, [E y_{t-1}; c_t])
    t_t = tanh(W_c [s_{t-1}; E y_{t-1}; c_t]),  p(y_t | …) = softmax(W_o t_t)

The deep output `t_t` is a tanh layer where the paper has a maxout layer. Teacher forcing
loops over t here too (`c_t` needs `s_{t-1}`).

A decoder's state — what `forward` takes and returns between steps, and what decoding
repeats and reorders (`ablate.models.search`) — is a tensor or a tuple of tensors, all
with the batch on dimension 1: the RNN's `(L, B, H)` (a pair of them for an LSTM), and
with input feeding `h̃_{t-1}` as one more, `(1, B, H)`. `start` makes the first one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ablate.models.attention import FixedContext, build_attention

if TYPE_CHECKING:  # the config checks `decoder` against this module's DECODER_CHOICES
    from ablate.models.config import RNNConfig


def _steps(parts: list[torch.Tensor | None]) -> torch.Tensor | None:
    """Per-step `(B, 1, ·)` tensors joined along time; None where a step had none."""
    return None if parts[0] is None else torch.cat(parts, dim=1)


class Decoder(nn.Module):
    """What every decoder has: the target embedding, the RNN, the attention, the layer
    `W_c` before the output and the output layer `W_o`.

    Args:
        config: the model's settings (`ablate.models.config.RNNConfig`): the target
            vocabulary, `embed`, `hidden`, `layers`, `rnn`, `dropout`, `attention`.
        rnn_input: the size of the RNN's input at a step.
        output_input: the size of `W_c`'s input.
    """

    def __init__(self, config: RNNConfig, rnn_input: int, output_input: int):
        super().__init__()
        c, hidden = config, config.hidden
        self.embedding = nn.Embedding(c.tgt_vocab_size, c.embed, padding_idx=c.pad_id)
        rnn_cls = nn.GRU if c.rnn == "gru" else nn.LSTM
        self.rnn = rnn_cls(
            rnn_input,
            hidden,
            num_layers=c.layers,
            batch_first=True,
            dropout=c.dropout if c.layers > 1 else 0.0,
        )
        self.attention = build_attention(c.attention, hidden)
        self.W_c = nn.Linear(output_input, hidden, bias=False)
        self.W_o = nn.Linear(hidden, c.tgt_vocab_size)
        if c.tie_embeddings:  # (V, H) and (V, E), the same size (RNNConfig checks E = H)
            self.W_o.weight = self.embedding.weight
        self.dropout = nn.Dropout(c.dropout)

    def start(self, state):
        """The decoder's state before the first step, from the RNN's (the bridged
        encoder state)."""
        return state

    def prepare(self, keys: torch.Tensor) -> torch.Tensor:
        """What the score reads of the keys `(B, S, H)`, once per source: the attention's
        `prepare`; the keys themselves for the fixed context, which reads none."""
        if isinstance(self.attention, FixedContext):
            return keys
        return self.attention.prepare(keys)

    def context(self, s, keys, mask, final, prepared):
        """`c_t` for the queries `s` `(B, T, H)` and the weights `(B, T, S)` (None for the
        fixed context, `none`, whose context is `final` `(B, H)` at every step)."""
        if isinstance(self.attention, FixedContext):
            return self.attention(s, final)
        return self.attention(s, keys, mask, prepared=prepared)


class LuongDecoder(Decoder):
    """Attention after the RNN step (Luong et al. 2015, §3), optionally with input
    feeding (§3.3).

    Args:
        config: the model's settings; with `input_feeding`, `h̃_{t-1}` is fed to the RNN
            with `E y_{t-1}`.
    """

    def __init__(self, config: RNNConfig):
        embed, hidden = config.embed, config.hidden
        super().__init__(
            config,
            rnn_input=embed + hidden if config.input_feeding else embed,
            output_input=2 * hidden,
        )
        self.input_feeding = config.input_feeding

    def start(self, state):
        if not self.input_feeding:
            return state
        h = state[0] if isinstance(state, tuple) else state  # (L, B, H)
        feed = h.new_zeros(1, *h.shape[1:])  # h̃_0 = 0, (1, B, H)
        return (*state, feed) if isinstance(state, tuple) else (state, feed)

    def forward(self, y_prev, state, keys, mask, final, prepared=None):
        """Any number of steps at once (T = target length when teacher forcing, 1 when decoding).

        Args:
            y_prev: `(B, T)` previous target tokens.
            state: the decoder state before the first of those steps (see the module).
            keys: encoder states `(B, S, H)`; mask `(B, S)`; final `(B, H)`.
            prepared: `self.prepare(keys)`, kept across decoding steps.

        Returns:
            logits `(B, T, V)`, weights `(B, T, S)` or None, the new decoder state.
        """
        x = self.dropout(self.embedding(y_prev))  # (B, T, E)
        if not self.input_feeding:
            s, state = self.rnn(x, state)  # (B, T, H)
            context, weights = self.context(s, keys, mask, final, prepared)  # (B,T,H), (B,T,S)
            out = torch.tanh(self.W_c(torch.cat([s, context], dim=-1)))  # (B, T, H)
            return self.W_o(self.dropout(out)), weights, state  # (B, T, V)
        prepared = self.prepare(keys) if prepared is None else prepared
        *rnn_state, feed = state
        rnn_state = tuple(rnn_state) if len(rnn_state) > 1 else rnn_state[0]
        outs, weights = [], []
        for t in range(x.shape[1]):
            step_in = torch.cat([x[:, t : t + 1], feed.transpose(0, 1)], dim=-1)  # (B, 1, E+H)
            s, rnn_state = self.rnn(step_in, rnn_state)  # (B, 1, H)
            context, w = self.context(s, keys, mask, final, prepared)  # (B,1,H), (B,1,S)
            out = torch.tanh(self.W_c(torch.cat([s, context], dim=-1)))  # (B, 1, H): h̃_t
            outs.append(out)
            weights.append(w)
            feed = out.transpose(0, 1)  # (1, B, H)
        state = (*rnn_state, feed) if isinstance(rnn_state, tuple) else (rnn_state, feed)
        return self.W_o(self.dropout(torch.cat(outs, dim=1))), _steps(weights), state


class BahdanauDecoder(Decoder):
    """Attention before the RNN step, the context an RNN input (Bahdanau et al. 2015,
    App. A.2.2), and a deep output over `[s_{t-1}; E y_{t-1}; c_t]` (tanh, not maxout).

    Args:
        config: the model's settings; its `input_feeding` is False (`RNNConfig` checks:
            this decoder feeds `c_t` to its RNN already).
    """

    def __init__(self, config: RNNConfig):
        embed, hidden = config.embed, config.hidden
        super().__init__(config, rnn_input=embed + hidden, output_input=2 * hidden + embed)

    def forward(self, y_prev, state, keys, mask, final, prepared=None):
        """As `LuongDecoder.forward`."""
        x = self.dropout(self.embedding(y_prev))  # (B, T, E)
        prepared = self.prepare(keys) if prepared is None else prepared
        outs, weights = [], []
        for t in range(x.shape[1]):
            h = state[0] if isinstance(state, tuple) else state  # (L, B, H)
            s_prev = h[-1][:, None]  # (B, 1, H): the top layer's s_{t-1}, the query
            context, w = self.context(s_prev, keys, mask, final, prepared)  # (B,1,H), (B,1,S)
            x_t = x[:, t : t + 1]  # (B, 1, E)
            _, state = self.rnn(torch.cat([x_t, context], dim=-1), state)
            outs.append(torch.cat([s_prev, x_t, context], dim=-1))  # (B, 1, 2H + E)
            weights.append(w)
        out = torch.tanh(self.W_c(torch.cat(outs, dim=1)))  # (B, T, H): t_t
        return self.W_o(self.dropout(out)), _steps(weights), state  # (B, T, V)


# `model.decoder`'s options: the name → the class.
DECODERS = {"luong": LuongDecoder, "bahdanau": BahdanauDecoder}
DECODER_CHOICES = tuple(DECODERS)
