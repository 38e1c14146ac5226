"""The RNN encoder–decoder every ablation trains; only the context `c_t` differs.

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

Without those, teacher forcing runs the decoder RNN over the whole target at once and
computes every attention score in one batched product. Decoding (`greedy`,
`beam_search`) lives in `ablate.models.search`. On a CPU a few lines take a faster path
to the same values (`ablate.models.cpu`: the GRUs, dropout); on a GPU the code below
runs as written.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ablate.data.vocab import Vocab
from ablate.models import cpu, search
from ablate.models.attention import AttentionConfig, attention_record
from ablate.models.cpu import Dropout
from ablate.models.decoder import DECODER_CHOICES, DECODERS
from ablate.models.search import check_decoding  # noqa: F401  (imported from here)

RNN_CHOICES = ("gru", "lstm")


def _check_size(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"model.{name} must be a positive integer, got {value!r}")


class Encoder(nn.Module):
    """Embedding + bidirectional RNN; each direction has `hidden // 2` units so that the
    concatenated states have size `hidden`, the decoder's size."""

    def __init__(
        self,
        vocab_size: int,
        embed: int,
        hidden: int,
        layers: int,
        rnn: str,
        dropout: float,
        pad_id: int,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=pad_id)
        rnn_cls = nn.GRU if rnn == "gru" else nn.LSTM
        self.rnn = rnn_cls(
            embed,
            hidden // 2,
            num_layers=layers,
            batch_first=True,
            bidirectional=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.dropout = Dropout(dropout)

    def forward(self, src: torch.Tensor, src_len: torch.Tensor, packed: bool = False):
        """Encode a padded batch.

        Args:
            src: `(B, S)` token ids.
            src_len: `(B,)` true lengths (on CPU or the device).
            packed: run the RNN over a packed batch even where the unpacked path applies
                (the same values; the benchmark's tutorial-style reference uses it).

        Returns:
            states `(B, S, H)` and the final state: `(L, B, H)` for a GRU, a pair of them
            for an LSTM (forward and backward directions concatenated per layer).
        """
        x = self.dropout(self.embedding(src))  # (B, S, E)
        if not packed and isinstance(self.rnn, nn.GRU) and cpu.runs_here(x):
            states, final = cpu.bidirectional_gru(self.rnn, x, src_len.to(x.device), self.training)
        else:
            x_packed = pack_padded_sequence(
                x, src_len.cpu(), batch_first=True, enforce_sorted=False
            )
            out, final = self.rnn(x_packed)
            states, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])

        def merge(h):  # (2L, B, H/2) → (L, B, H): concatenate the two directions per layer
            return torch.cat([h[0::2], h[1::2]], dim=-1)

        final = tuple(merge(h) for h in final) if isinstance(final, tuple) else merge(final)
        return states, final  # (B, S, H)


class Seq2Seq(nn.Module):
    """Encoder–decoder with a choice of attention.

    Args:
        src_vocab_size, tgt_vocab_size: from the data's vocabularies.
        attention: how `c_t` is computed: a built-in option's name (`none`, `dot`,
            `scaled_dot`, `additive`, `multiplicative`), or a factory of an
            `ablate.models.attention.Attention` that takes `hidden` (what a config's
            `_target_` with `_partial_: true` gives); see `AttentionConfig`.
        embed: embedding size `E`.
        hidden: state size `H` (each encoder direction has `H // 2`).
        layers: RNN layers in the encoder and in the decoder.
        rnn: `gru` or `lstm`.
        dropout: dropout on embeddings and on the attentional output.
        decoder: `luong` (attend with `s_t`) or `bahdanau` (attend with `s_{t-1}`, the
            context an RNN input); see `ablate.models.decoder`.
        input_feeding: Luong's input feeding (`decoder="luong"` only): `h̃_{t-1}` is an
            RNN input at step t.
        pad_id, bos_id, eos_id: special token ids of the target vocabulary.
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        attention: AttentionConfig = "additive",
        embed: int = 128,
        hidden: int = 256,
        layers: int = 1,
        rnn: str = "gru",
        dropout: float = 0.1,
        decoder: str = "luong",
        input_feeding: bool = False,
        pad_id: int = Vocab.pad_id,
        bos_id: int = Vocab.bos_id,
        eos_id: int = Vocab.eos_id,
    ):
        super().__init__()
        for name, value in [
            ("embed", embed),
            ("hidden", hidden),
            ("layers", layers),
            ("src_vocab_size", src_vocab_size),
            ("tgt_vocab_size", tgt_vocab_size),
        ]:
            _check_size(name, value)
        if hidden % 2:
            raise ValueError(f"model.hidden must be even (two encoder directions), got {hidden}")
        if rnn not in RNN_CHOICES:
            raise ValueError(f"unknown model.rnn {rnn!r}; choose one of {', '.join(RNN_CHOICES)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"model.dropout must be in [0, 1), got {dropout!r}")
        if decoder not in DECODER_CHOICES:
            raise ValueError(
                f"unknown model.decoder {decoder!r}; choose one of {', '.join(DECODER_CHOICES)}"
            )
        if not isinstance(input_feeding, bool):
            raise ValueError(f"model.input_feeding must be true or false, got {input_feeding!r}")
        # The constructor arguments, so a checkpoint can rebuild this model (translate).
        self.config = dict(
            src_vocab_size=src_vocab_size,
            tgt_vocab_size=tgt_vocab_size,
            attention=attention_record(attention),
            embed=embed,
            hidden=hidden,
            layers=layers,
            rnn=rnn,
            dropout=dropout,
            decoder=decoder,
            input_feeding=input_feeding,
            pad_id=pad_id,
            bos_id=bos_id,
            eos_id=eos_id,
        )
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.encoder = Encoder(src_vocab_size, embed, hidden, layers, rnn, dropout, pad_id)
        self.bridge = nn.Linear(hidden, hidden)
        self.decoder = DECODERS[decoder](
            tgt_vocab_size, embed, hidden, layers, rnn, dropout, pad_id, attention, input_feeding
        )

    def encode(self, src: torch.Tensor, src_len: torch.Tensor, packed: bool = False):
        """Keys `(B, S, H)`, mask `(B, S)`, final state `(B, H)`, the decoder's first state
        (see `ablate.models.decoder`).

        `packed`: see `Encoder.forward`."""
        keys, final = self.encoder(src, src_len, packed)
        mask = src != self.pad_id  # (B, S)
        h = final[0] if isinstance(final, tuple) else final  # (L, B, H)
        init = torch.tanh(self.bridge(h))
        state = (init, torch.zeros_like(init)) if isinstance(final, tuple) else init
        return keys, mask, h[-1], self.decoder.start(state)

    def forward(self, src, src_len, tgt_in):
        """Teacher-forced logits for every target position (at once, but for input
        feeding and the Bahdanau decoder, which take one step at a time).

        Args:
            src: `(B, S)`; src_len: `(B,)`; tgt_in: `(B, T)` = BOS + target[:-1].

        Returns:
            logits `(B, T, V)` and attention weights `(B, T, S)` (None for `none`).
        """
        keys, mask, final, state = self.encode(src, src_len)
        logits, weights, _ = self.decoder(tgt_in, state, keys, mask, final)
        return logits, weights

    def greedy(self, src, src_len, max_len: int | None = None):
        """Batched greedy decoding: `ablate.models.search.greedy`."""
        return search.greedy(self, src, src_len, max_len)

    def beam_search(
        self,
        src,
        src_len,
        beam_size: int = 5,
        max_len: int | None = None,
        length_penalty: float = 1.0,
    ):
        """Batched beam search: `ablate.models.search.beam_search`."""
        return search.beam_search(self, src, src_len, beam_size, max_len, length_penalty)

    def decode(
        self,
        src,
        src_len,
        beam_size: int = 1,
        length_penalty: float = 1.0,
        max_len: int | None = None,
    ):
        """Greedy decoding for `beam_size=1`, beam search otherwise (`search.decode`)."""
        return search.decode(self, src, src_len, beam_size, length_penalty, max_len)
