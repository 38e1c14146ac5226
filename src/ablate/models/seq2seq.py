"""The RNN encoder–decoder every ablation trains; only the context `c_t` differs.

Encoder: embedding + bidirectional GRU/LSTM over packed sequences (Bahdanau et al.
2015, §3.2) → states `h_1..h_S`, which are both keys and values, and a final state
that initialises the decoder. A GRU on a CPU computes the same without packing, which
is faster there (`Encoder._unpacked_gru`), and trains through `ablate.models.gru`'s
hand-written backward pass (encoder and decoder).

Decoder (Luong et al. 2015, §3, Eq. 5–6, without input feeding so that teacher forcing
needs no loop over time):

    s_t = RNN(s_{t-1}, y_{t-1})
    c_t = Σ_i α_ti h_i                  (see `ablate.models.attention`)
    output_t = W_o tanh(W_c [s_t; c_t])

Teacher forcing runs the decoder RNN over the whole target at once and computes every
attention score in one batched product. Decoding (`decode`) is greedy or beam search,
both batched, and both drop finished sentences from the work as they end:

- `greedy` takes the most likely token at every step;
- `beam_search` (Sutskever et al. 2014, §3.2) keeps the K best prefixes of every
  sentence, advancing all sentences × beams in one decoder call per step. A hypothesis
  ends when it emits EOS, scored `log p(y | x) / |y|^α` (`|y|` counts the EOS,
  α = `length_penalty`, 0 = no normalisation; fairseq's `--lenpen`, of which Wu et al.
  2016, §7, use a smoothed variant); a sentence is done when K of its hypotheses have
  ended, or at the step cap. With K = 1 it computes exactly what `greedy` computes.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ablate.models.attention import build_attention
from ablate.models.gru import gru, gru_layer

RNN_CHOICES = ("gru", "lstm")


def _check_size(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ValueError(f"model.{name} must be a positive integer, got {value!r}")


def check_decoding(beam_size: int, length_penalty: float) -> None:
    """Raise ValueError unless `decode.beam_size` and `decode.length_penalty` are valid."""
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"decode.beam_size must be a positive integer, got {beam_size!r}")
    if (
        isinstance(length_penalty, bool)
        or not isinstance(length_penalty, (int, float))
        or not length_penalty >= 0
    ):
        raise ValueError(
            f"decode.length_penalty must be a number >= 0 (0 = no length "
            f"normalisation), got {length_penalty!r}"
        )


class Dropout(nn.Dropout):
    """`nn.Dropout` that draws its mask with `rand_like` on a CPU.

    The same distribution: each unit kept with probability 1 − p and scaled by
    1 / (1 − p). ATen's CPU `bernoulli_` is slow (forward + backward for 460k floats:
    2.97 ms, against 1.86 ms this way, on the 2-core machine), and the model's three
    dropouts were 7% of a CPU training step. Elsewhere it is `nn.Dropout` itself.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or x.device.type != "cpu":
            return super().forward(x)
        keep = torch.rand_like(x) >= self.p
        return x * keep.to(x.dtype).mul_(1.0 / (1.0 - self.p))


def _repeat_rows(x: torch.Tensor, k: int, dim: int = 0) -> torch.Tensor:
    """Every entry along `dim` repeated `k` times in a row (`x0 x0 x1 x1 …` for k = 2).

    For k = 1 this is `x` itself (a view, same strides), so that beam search with one
    beam feeds the decoder exactly the tensors greedy decoding feeds it.
    """
    shape = x.shape
    x = x.unsqueeze(dim + 1).expand(*shape[: dim + 1], k, *shape[dim + 1 :])
    return x.reshape(*shape[:dim], -1, *shape[dim + 1 :])


def _index_state(state, rows: torch.Tensor):
    """The RNN state `(L, B, H)` (a pair of them for an LSTM) at batch rows `rows`."""
    if isinstance(state, tuple):
        return tuple(h.index_select(1, rows) for h in state)
    return state.index_select(1, rows)


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
        if not packed and isinstance(self.rnn, nn.GRU) and x.device.type == "cpu":
            states, final = self._unpacked_gru(x, src_len.to(x.device))
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

    def _unpacked_gru(self, x: torch.Tensor, lengths: torch.Tensor):
        """What `self.rnn` computes on the packed batch, without packing (GRU, CPU).

        On a CPU a packed RNN projects its input one step at a time, and its backward
        pass zero-fills a whole-batch gradient at every step; unpacked, the input
        projection is one matrix product. Both directions run forwards: the backward
        one over each sentence reversed within its length (padding stays at the end),
        so neither reads padding before a real token. A GRU's state is its output, so
        the final state of each direction is its output at the sentence's last token.
        Batches are grouped by length, so the padding this computes over is small.

        Returns:
            states `(B, S, H)` (meaningless on padding) and the final states `(2L, B, H/2)`
            in `nn.GRU`'s order.
        """
        rnn = self.rnn
        B, S, _ = x.shape
        position = torch.arange(S, device=x.device)[None, :]  # (1, S)
        last = (lengths - 1)[:, None]  # (B, 1)
        flip = torch.where(position <= last, last - position, position)  # (B, S), its own inverse
        h0 = x.new_zeros(B, rnn.hidden_size)
        finals = []
        for layer in range(rnn.num_layers):
            if layer:
                x = nn.functional.dropout(x, rnn.dropout, self.training)
            outputs = []
            for reverse in (False, True):
                inputs = _gather_steps(x, flip) if reverse else x
                out, _ = gru_layer(rnn, layer, inputs, h0, reverse)
                finals.append(_gather_steps(out, last)[:, 0])  # (B, H/2)
                outputs.append(_gather_steps(out, flip) if reverse else out)
            x = torch.cat(outputs, dim=-1)  # (B, S, H)
        return x, torch.stack(finals)


def _gather_steps(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`x[b, index[b, i]]` for `x` `(B, S, D)` and `index` `(B, N)`: `(B, N, D)`."""
    return x.gather(1, index[:, :, None].expand(-1, -1, x.shape[-1]))


class Decoder(nn.Module):
    """Luong-style decoder: RNN over the previous target word, then attention."""

    def __init__(
        self,
        vocab_size: int,
        embed: int,
        hidden: int,
        layers: int,
        rnn: str,
        dropout: float,
        pad_id: int,
        attention: str,
        attention_dim: int | None,
    ):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=pad_id)
        rnn_cls = nn.GRU if rnn == "gru" else nn.LSTM
        self.rnn = rnn_cls(
            embed,
            hidden,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.attention = build_attention(attention, hidden, attention_dim)
        self.W_c = nn.Linear(2 * hidden, hidden, bias=False)
        self.W_o = nn.Linear(hidden, vocab_size)
        self.dropout = Dropout(dropout)

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
        if isinstance(self.rnn, nn.GRU) and x.device.type == "cpu" and torch.is_grad_enabled():
            # nn.GRU's values; its forward + backward is faster this way on a CPU (decoding,
            # one step at a time without gradients, is not).
            s, state = gru(self.rnn, x, state)  # (B, T, H)
        else:
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

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        attention: str = "additive",
        embed: int = 128,
        hidden: int = 256,
        layers: int = 1,
        rnn: str = "gru",
        dropout: float = 0.1,
        attention_dim: int | None = None,
        pad_id: int = 0,
        bos_id: int = 2,
        eos_id: int = 3,
    ):
        super().__init__()
        for name, value in [
            ("embed", embed),
            ("hidden", hidden),
            ("layers", layers),
            ("src_vocab_size", src_vocab_size),
            ("tgt_vocab_size", tgt_vocab_size),
            ("attention_dim", attention_dim or hidden),
        ]:
            _check_size(name, value)
        if hidden % 2:
            raise ValueError(f"model.hidden must be even (two encoder directions), got {hidden}")
        if rnn not in RNN_CHOICES:
            raise ValueError(f"unknown model.rnn {rnn!r}; choose one of {', '.join(RNN_CHOICES)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"model.dropout must be in [0, 1), got {dropout!r}")
        self.attention = attention
        # The constructor arguments, so a checkpoint can rebuild this model (translate).
        self.config = dict(
            src_vocab_size=src_vocab_size,
            tgt_vocab_size=tgt_vocab_size,
            attention=attention,
            embed=embed,
            hidden=hidden,
            layers=layers,
            rnn=rnn,
            dropout=dropout,
            attention_dim=attention_dim,
            pad_id=pad_id,
            bos_id=bos_id,
            eos_id=eos_id,
        )
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.encoder = Encoder(src_vocab_size, embed, hidden, layers, rnn, dropout, pad_id)
        self.bridge = nn.Linear(hidden, hidden)
        self.decoder = Decoder(
            tgt_vocab_size, embed, hidden, layers, rnn, dropout, pad_id, attention, attention_dim
        )

    def encode(self, src: torch.Tensor, src_len: torch.Tensor, packed: bool = False):
        """Keys `(B, S, H)`, mask `(B, S)`, final state `(B, H)`, the decoder's first state.

        `packed`: see `Encoder.forward`."""
        keys, final = self.encoder(src, src_len, packed)
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
                active, y, keys, mask, final, prepared = (
                    active[keep],
                    y[keep],
                    keys[keep],
                    mask[keep],
                    final[keep],
                    prepared[keep],
                )
                state = (
                    tuple(h[:, keep] for h in state) if isinstance(state, tuple) else state[:, keep]
                )
        T = int(lengths.max()) if B else 0
        positions = torch.arange(max_len, device=src.device)[None, :]
        tokens = tokens.masked_fill(positions >= lengths[:, None], self.pad_id)[:, :T]
        if weights is not None:
            weights = weights.masked_fill((positions >= lengths[:, None])[..., None], 0.0)
            weights = weights[:, :T]
        return tokens, weights

    @torch.no_grad()
    def beam_search(
        self,
        src,
        src_len,
        beam_size: int = 5,
        max_len: int | None = None,
        length_penalty: float = 1.0,
    ):
        """Batched beam search: one decoder call per step for every beam of every sentence.

        At each step every live beam proposes its `2K` most likely next tokens; of the
        `2K` best (beam score + log-probability) per sentence, an EOS among the first K
        ends that hypothesis, and the first K others become the new beams (with `2K`
        there are always K: each beam proposes one EOS at most). An ended hypothesis is
        scored `sum of log-probs / length**length_penalty`, its length counting the EOS.
        A sentence is done once K hypotheses have ended (the common rule: under length
        normalisation a live beam's final score has no cheap bound, so none earlier) and
        is then dropped from the work; at `max_len` the best ended hypothesis is chosen,
        or the best live one where none ended. Ties go to the lower token id (as long as
        fewer than `2K` tokens tie), then the earlier beam, so with `beam_size=1` the
        result equals `greedy`'s exactly.

        Args:
            src: `(B, S)`; src_len: `(B,)`.
            beam_size: K, the hypotheses kept per sentence.
            max_len: most output tokens; default `2 S + 10`.
            length_penalty: the exponent α of the length normalisation (0 = none).

        Returns:
            tokens `(B, T)` of the chosen hypotheses (EOS not included, padded with
            `pad_id`) and their weights `(B, T, S)` (None for `none`), as `greedy`.
        """
        check_decoding(beam_size, length_penalty)
        B, S = src.shape
        K, V = beam_size, self.decoder.W_o.out_features
        device = src.device
        max_len = max_len or 2 * S + 10
        n = min(2 * K, V)  # candidates per beam
        c = 2 * K  # candidates per sentence (K·n >= 2K since V >= 2)
        keys, mask, final, state = self.encode(src, src_len)
        prepared = self.decoder.attention.prepare(keys)  # once, not at every step
        # Rows are sentence-major, (B·K, …). The beams of a sentence share its keys, mask,
        # final state and `prepared`, so reordering beams never moves those: only dropping
        # a finished sentence does.
        keys, mask, final, prepared = (_repeat_rows(x, K) for x in (keys, mask, final, prepared))
        state = (
            tuple(_repeat_rows(h, K, 1) for h in state)
            if isinstance(state, tuple)
            else _repeat_rows(state, K, 1)
        )
        score = keys.new_full((B, K), float("-inf"))  # (B, K) log-prob sum of each beam
        score[:, 0] = 0.0  # the K beams start as one: only the first may extend
        y = src.new_full((B * K, 1), self.bos_id)
        live = torch.arange(B, device=device)  # sentences still decoding
        # Back-pointers rather than every beam's history copied at every step: beam k
        # after step t is token_at[:, t, k] appended to beam parent_at[:, t, k] after
        # step t - 1, and weights_at[:, t, j] are the weights row j computed at step t.
        token_at = src.new_full((B, max_len, K), self.pad_id)
        parent_at = src.new_zeros((B, max_len, K))
        weights_at = None if self.attention == "none" else keys.new_zeros((B, max_len, K, S))
        # Only the best ended hypothesis per sentence is kept, and how many ended.
        best = keys.new_full((B,), float("-inf"))  # its normalised score
        best_len = src.new_full((B,), max_len)  # its length without EOS
        best_beam = src.new_zeros((B,))  # the beam after step best_len - 1 it extends
        ended = src.new_zeros((B,))
        rank = torch.arange(c, device=device)
        for t in range(max_len):
            logits, w, state = self.decoder(y, state, keys, mask, final, prepared)
            logits = logits[:, 0]  # (b·K, V)
            b = live.numel()
            top, token = logits.topk(n)  # (b·K, n)
            # topk orders tied logits arbitrarily; greedy's argmax takes the lower id.
            token, perm = token.sort()
            top, perm = top.gather(1, perm).sort(descending=True, stable=True)
            token = token.gather(1, perm)
            # The top logits minus logsumexp: their log-probabilities, in the same order
            # as the logits (a full log_softmax could round near-ties into ties).
            logp = top - logits.logsumexp(-1, keepdim=True)  # (b·K, n)
            cand = (score[:, :, None] + logp.view(b, K, n)).view(b, K * n)
            # Stable: equal scores keep beam order, then the order above.
            cand, order = cand.sort(descending=True, stable=True)
            cand, order = cand[:, :c], order[:, :c]  # (b, 2K)
            parent = torch.div(order, n, rounding_mode="floor")  # (b, 2K) beam extended
            token = token.view(b, K * n).gather(1, order)  # (b, 2K)
            eos = token == self.eos_id
            ends = eos & (rank < K) & (cand > float("-inf"))
            if ends.any():
                norm = (cand / (t + 1) ** length_penalty).masked_fill(~ends, float("-inf"))
                norm, r = norm.max(1)  # (b,) the best hypothesis ending now
                better = norm > best[live]
                won = live[better]
                best[won] = norm[better]
                best_len[won] = t
                best_beam[won] = parent.gather(1, r[:, None])[better, 0]
                ended[live] += ends.sum(1)
            # The first K candidates that are not EOS go on (ascending rank).
            pick = torch.where(eos, -1, c - rank).topk(K).indices  # (b, K)
            score, parent, token = (
                cand.gather(1, pick),
                parent.gather(1, pick),
                token.gather(1, pick),
            )
            token_at[live, t] = token
            parent_at[live, t] = parent
            if weights_at is not None:
                weights_at[live, t] = w.view(b, K, S)
            rows = torch.arange(b, device=device)[:, None] * K + parent  # (b, K) rows extended
            y = token.reshape(b * K, 1)
            done = ended[live] >= K
            if done.any():
                keep = ~done
                if not keep.any():
                    break
                # Drop finished sentences so later steps only pay for the live ones.
                live, score, rows, y = (
                    live[keep],
                    score[keep],
                    rows[keep],
                    y.view(b, K)[keep].view(-1, 1),
                )
                keep_rows = keep.repeat_interleave(K)
                keys, mask, final, prepared = (
                    keys[keep_rows],
                    mask[keep_rows],
                    final[keep_rows],
                    prepared[keep_rows],
                )
            state = _index_state(state, rows.flatten())
        # Sentences where no hypothesis ended keep best_len = max_len and best_beam = 0:
        # the best live beam (beams stay sorted by score).
        T = int(best_len.max()) if B else 0
        tokens = src.new_full((B, T), self.pad_id)
        weights = None if weights_at is None else keys.new_zeros((B, T, S))
        batch, beam = torch.arange(B, device=device), best_beam
        for t in range(T - 1, -1, -1):  # follow the back-pointers
            on = t < best_len  # (B,) whose hypothesis has a token at step t
            tokens[:, t] = torch.where(on, token_at[batch, t, beam], self.pad_id)
            parent = parent_at[batch, t, beam]
            if weights is not None:
                weights[on, t] = weights_at[batch, t, parent][on]
            beam = torch.where(on, parent, beam)
        return tokens, weights

    def decode(
        self,
        src,
        src_len,
        beam_size: int = 1,
        length_penalty: float = 1.0,
        max_len: int | None = None,
    ):
        """Greedy decoding for `beam_size=1`, beam search otherwise; arguments and return
        values as `beam_search`."""
        check_decoding(beam_size, length_penalty)
        if beam_size == 1:
            return self.greedy(src, src_len, max_len)
        return self.beam_search(src, src_len, beam_size, max_len, length_penalty)
