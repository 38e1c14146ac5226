"""The RNN encoder–decoder every ablation trains; only the context `c_t` differs.

Encoder: embedding + bidirectional GRU/LSTM over packed sequences (Bahdanau et al.
2015, §3.2) → states `h_1..h_S`, which are both keys and values, and a final state
that initialises the decoder.

Decoder (Luong et al. 2015, §3, Eq. 5–6, without input feeding so that teacher forcing
needs no loop over time):

    s_t = RNN(s_{t-1}, y_{t-1})
    c_t = Σ_i α_ti h_i                  (see `ablate.models.attention`)
    output_t = W_o tanh(W_c [s_t; c_t])

Teacher forcing runs the decoder RNN over the whole target at once and computes every
attention score in one batched product. Greedy decoding is batched and drops finished
sentences from the work as they end.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ablate.models.attention import build_attention

RNN_CHOICES = ("gru", "lstm")


def _check_size(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"model.{name} must be a positive integer, got {value!r}")


class Encoder(nn.Module):
    """Embedding + bidirectional RNN; each direction has `hidden // 2` units so that the
    concatenated states have size `hidden`, the decoder's size."""

    def __init__(self, vocab_size: int, embed: int, hidden: int, layers: int, rnn: str,
                 dropout: float, pad_id: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=pad_id)
        rnn_cls = nn.GRU if rnn == "gru" else nn.LSTM
        self.rnn = rnn_cls(embed, hidden // 2, num_layers=layers, batch_first=True,
                           bidirectional=True, dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)

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
        packed = pack_padded_sequence(x, src_len.cpu(), batch_first=True, enforce_sorted=False)
        out, final = self.rnn(packed)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])

        def merge(h):  # (2L, B, H/2) → (L, B, H): concatenate the two directions per layer
            return torch.cat([h[0::2], h[1::2]], dim=-1)

        final = tuple(merge(h) for h in final) if isinstance(final, tuple) else merge(final)
        return states, final  # (B, S, H)


class Decoder(nn.Module):
    """Luong-style decoder: RNN over the previous target word, then attention."""

    def __init__(self, vocab_size: int, embed: int, hidden: int, layers: int, rnn: str,
                 dropout: float, pad_id: int, attention: str, attention_dim: int | None):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=pad_id)
        rnn_cls = nn.GRU if rnn == "gru" else nn.LSTM
        self.rnn = rnn_cls(embed, hidden, num_layers=layers, batch_first=True,
                           dropout=dropout if layers > 1 else 0.0)
        self.attention = build_attention(attention, hidden, attention_dim)
        self.W_c = nn.Linear(2 * hidden, hidden, bias=False)
        self.W_o = nn.Linear(hidden, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, y_prev, state, keys, mask, final, prepared=None):
        """Any number of steps at once (T = target length when teacher forcing, 1 when decoding).

        Args:
            y_prev: `(B, T)` previous target tokens.
            state: the RNN state before the first of those steps.
            keys: encoder states `(B, S, H)`; mask `(B, S)`; final `(B, H)`.
            prepared: `self.attention.prepare(keys)`, kept across decoding steps.

        Returns:
            logits `(B, T, V)`, weights `(B, T, S)` or None, the new RNN state.
        """
        x = self.dropout(self.embedding(y_prev))  # (B, T, E)
        s, state = self.rnn(x, state)  # (B, T, H)
        context, weights = self.attention(s, keys, mask, final, prepared)  # (B,T,H), (B,T,S)
        out = torch.tanh(self.W_c(torch.cat([s, context], dim=-1)))  # (B, T, H)
        return self.W_o(self.dropout(out)), weights, state  # (B, T, V)


class Seq2Seq(nn.Module):
    """Encoder–decoder with a choice of attention.

    Args:
        src_vocab_size, tgt_vocab_size: from the data's vocabularies.
        attention: `none`, `dot`, `scaled_dot`, `additive` or `multiplicative`.
        embed: embedding size `E`.
        hidden: state size `H` (each encoder direction has `H // 2`).
        layers: RNN layers in the encoder and in the decoder.
        rnn: `gru` or `lstm`.
        dropout: dropout on embeddings and on the attentional output.
        attention_dim: size of the additive score's tanh layer (default `hidden`).
        pad_id, bos_id, eos_id: special token ids of the target vocabulary.
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, attention: str = "additive",
                 embed: int = 128, hidden: int = 256, layers: int = 1, rnn: str = "gru",
                 dropout: float = 0.1, attention_dim: int | None = None, pad_id: int = 0,
                 bos_id: int = 2, eos_id: int = 3):
        super().__init__()
        for name, value in [("embed", embed), ("hidden", hidden), ("layers", layers),
                            ("src_vocab_size", src_vocab_size),
                            ("tgt_vocab_size", tgt_vocab_size),
                            ("attention_dim", attention_dim or hidden)]:
            _check_size(name, value)
        if hidden % 2:
            raise ValueError(f"model.hidden must be even (two encoder directions), got {hidden}")
        if rnn not in RNN_CHOICES:
            raise ValueError(f"unknown model.rnn {rnn!r}; choose one of {', '.join(RNN_CHOICES)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"model.dropout must be in [0, 1), got {dropout!r}")
        self.attention = attention
        # The constructor arguments, so a checkpoint can rebuild this model (translate).
        self.config = dict(src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size,
                           attention=attention, embed=embed, hidden=hidden, layers=layers,
                           rnn=rnn, dropout=dropout, attention_dim=attention_dim, pad_id=pad_id,
                           bos_id=bos_id, eos_id=eos_id)
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.encoder = Encoder(src_vocab_size, embed, hidden, layers, rnn, dropout, pad_id)
        self.bridge = nn.Linear(hidden, hidden)
        self.decoder = Decoder(tgt_vocab_size, embed, hidden, layers, rnn, dropout, pad_id,
                               attention, attention_dim)

    def encode(self, src: torch.Tensor, src_len: torch.Tensor):
        """Keys `(B, S, H)`, mask `(B, S)`, final state `(B, H)`, the decoder's first state."""
        keys, final = self.encoder(src, src_len)
        mask = src != self.pad_id  # (B, S)
        h = final[0] if isinstance(final, tuple) else final  # (L, B, H)
        init = torch.tanh(self.bridge(h))
        state = (init, torch.zeros_like(init)) if isinstance(final, tuple) else init
        return keys, mask, h[-1], state

    def forward(self, src, src_len, tgt_in):
        """Teacher-forced logits for every target position at once.

        Args:
            src: `(B, S)`; src_len: `(B,)`; tgt_in: `(B, T)` = BOS + target[:-1].

        Returns:
            logits `(B, T, V)` and attention weights `(B, T, S)` (None for `none`).
        """
        keys, mask, final, state = self.encode(src, src_len)
        logits, weights, _ = self.decoder(tgt_in, state, keys, mask, final)
        return logits, weights

    @torch.no_grad()
    def greedy(self, src, src_len, max_len: int | None = None):
        """Batched greedy decoding.

        Args:
            src: `(B, S)`; src_len: `(B,)`.
            max_len: most output tokens; default `2 S + 10`.

        Returns:
            tokens `(B, T)` (EOS not included, padded with `pad_id`) and weights
            `(B, T, S)` (None for `none`).
        """
        B, S = src.shape
        max_len = max_len or 2 * S + 10
        keys, mask, final, state = self.encode(src, src_len)
        prepared = self.decoder.attention.prepare(keys)  # once, not at every step
        tokens = src.new_full((B, max_len), self.pad_id)
        weights = keys.new_zeros((B, max_len, S)) if self.attention != "none" else None
        lengths = src.new_full((B,), max_len)
        active = torch.arange(B, device=src.device)  # rows still decoding
        y = src.new_full((B, 1), self.bos_id)
        for t in range(max_len):
            logits, w, state = self.decoder(y, state, keys, mask, final, prepared)
            y = logits.argmax(-1)  # (b, 1)
            tokens[active, t] = y[:, 0]
            if weights is not None:
                weights[active, t] = w[:, 0]
            done = y[:, 0] == self.eos_id
            if done.any():
                lengths[active[done]] = t
                keep = ~done
                if not keep.any():
                    break
                # Drop finished sentences so later steps only pay for the live ones.
                active, y, keys, mask, final, prepared = active[keep], y[keep], keys[keep], \
                    mask[keep], final[keep], prepared[keep]
                state = tuple(h[:, keep] for h in state) if isinstance(state, tuple) \
                    else state[:, keep]
        T = int(lengths.max()) if B else 0
        positions = torch.arange(max_len, device=src.device)[None, :]
        tokens = tokens.masked_fill(positions >= lengths[:, None], self.pad_id)[:, :T]
        if weights is not None:
            weights = weights.masked_fill((positions >= lengths[:, None])[..., None], 0.0)
            weights = weights[:, :T]
        return tokens, weights
