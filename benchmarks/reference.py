"""The tutorial way: a Python loop over target positions, one sentence at a time.

`benchmarks/throughput.py` measures `ablate.models.rnn.RNNEncoderDecoder` against this. It is
the implementation most seq2seq-with-attention tutorials show (Bahdanau et al. 2015,
§3.1, written as a loop over `t`):

- training calls the decoder RNN once per target position (`T = 1` per call) and
  computes the attention of that single step, so the Python loop runs `T` times per
  batch instead of once;
- greedy decoding translates one sentence at a time, each a loop over steps;
- beam search too, with the beams of the sentence in a Python list, each advanced by
  its own decoder step, and the candidates ranked in Python;
- batches are drawn uniformly at random, with no grouping by length
  (`random_batches`), so a batch is as long as its longest sentence;
- the encoder runs its bidirectional RNN over a packed batch (`pack_padded_sequence`),
  as tutorials that handle variable lengths do, and the decoder PyTorch's own RNN:
  `Encoder.forward` and `nn.GRU.forward` even where `ablate.models.cpu.speed_up` swapped
  in the unpacked encoder and the hand-written GRU of ours, so they do not change the
  reference's speed (the rest of the CPU paths, dropout and the additive score, it
  shares).

`StepwiseRNN` wraps an `RNNEncoderDecoder` and reuses its encoder, bridge, embeddings, RNN,
attention and output layers: the same parameters, so its logits, greedy and beam
outputs equal the batched model's (`tests/test_benchmark_reference.py` checks them);
only the speed differs.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler

from ablate.data.datamodule import Seq2SeqData, collate
from ablate.models.attention import FixedContext
from ablate.models.rnn import Encoder, RNNEncoderDecoder
from ablate.models.search import max_output_len


class StepwiseRNN(nn.Module):
    """An `RNNEncoderDecoder` run step by step.

    Args:
        model: the batched model whose modules (and so parameters) are reused.
    """

    def __init__(self, model: RNNEncoderDecoder):
        super().__init__()
        self.model = model
        self.weighted = not isinstance(model.decoder.attention, FixedContext)  # has weights

    def encode(self, src: torch.Tensor, src_len: torch.Tensor):
        """`RNNEncoderDecoder.start` as tutorials write it: the RNN over a packed batch.

        Returns:
            keys `(B, S, H)`, mask `(B, S)`, the final state `(B, H)` and the decoder's
            first state.
        """
        m = self.model
        keys, final = Encoder.forward(m.encoder, src, src_len)  # packed, also after speed_up
        h = final[0] if isinstance(final, tuple) else final  # (L, B, H)
        init = torch.tanh(m.bridge(h))
        state = (init, torch.zeros_like(init)) if isinstance(final, tuple) else init
        return keys, src != m.pad_id, h[-1], state

    def step(self, y_prev, state, keys, mask, final):
        """One decoder step, as a tutorial writes it.

        Args:
            y_prev: `(B, 1)` the previous target token.
            state: the decoder RNN state before this step.
            keys: encoder states `(B, S, H)`; mask `(B, S)`; final `(B, H)`.

        Returns:
            logits `(B, V)`, weights `(B, S)` or None, the new RNN state.
        """
        dec = self.model.decoder
        x = dec.dropout(dec.embedding(y_prev))  # (B, 1, E)
        rnn = nn.GRU if isinstance(dec.rnn, nn.GRU) else nn.LSTM  # PyTorch's, as tutorials
        s, state = rnn.forward(dec.rnn, x, state)  # (B, 1, H)
        if self.weighted:
            context, weights = dec.attention(s, keys, mask)  # (B, 1, H), (B, 1, S)
        else:  # none: the final state at every step
            context, weights = dec.attention(s, final)
        out = torch.tanh(dec.W_c(torch.cat([s, context], dim=-1)))  # (B, 1, H)
        logits = dec.W_o(dec.dropout(out))[:, 0]  # (B, V)
        return logits, None if weights is None else weights[:, 0], state

    def forward(self, src, src_len, tgt_in, need_weights: bool = True):
        """Teacher-forced logits, one target position per decoder call (the weights are
        returned either way: `need_weights` is the model contract's, which the
        tutorial's model has no use for).

        Args:
            src: `(B, S)`; src_len: `(B,)`; tgt_in: `(B, T)` = BOS + target[:-1].

        Returns:
            logits `(B, T, V)` and attention weights `(B, T, S)` (None for `none`).
        """
        keys, mask, final, state = self.encode(src, src_len)
        all_logits, all_weights = [], []
        for t in range(tgt_in.shape[1]):
            logits, weights, state = self.step(tgt_in[:, t : t + 1], state, keys, mask, final)
            all_logits.append(logits)
            all_weights.append(weights)
        logits = torch.stack(all_logits, dim=1)  # (B, T, V)
        if not self.weighted:
            return logits, None
        return logits, torch.stack(all_weights, dim=1)  # (B, T, S)

    @torch.no_grad()
    def greedy_one(self, src: torch.Tensor, max_len: int) -> tuple[list[int], torch.Tensor | None]:
        """Greedy decoding of one sentence.

        Args:
            src: `(S,)` token ids of one sentence, no padding.
            max_len: most output tokens.

        Returns:
            the output ids (EOS not included) and weights `(T, S)` (None for `none`).
        """
        m = self.model
        src = src[None]  # (1, S)
        keys, mask, final, state = self.encode(src, torch.tensor([src.shape[1]]))
        y = src.new_full((1, 1), m.bos_id)
        tokens, weights = [], []
        for _ in range(max_len):
            logits, w, state = self.step(y, state, keys, mask, final)
            token = int(logits[0].argmax())
            if token == m.eos_id:
                break
            tokens.append(token)
            weights.append(w)
            y = src.new_full((1, 1), token)
        if not self.weighted:
            return tokens, None
        return tokens, torch.cat(weights) if weights else keys.new_zeros((0, src.shape[1]))

    @torch.no_grad()
    def beam_one(
        self, src: torch.Tensor, beam_size: int, max_len: int, length_penalty: float = 1.0
    ) -> tuple[list[int], torch.Tensor | None]:
        """Beam search over one sentence, as tutorials write it.

        The search of `search.beam_search`: every beam proposes its `2K` best next
        tokens; of the `2K` best candidates, an EOS among the first K ends a hypothesis
        (scored `log-prob sum / length**length_penalty`, the length counting the EOS),
        the first K others are the next beams; done when K have ended or at `max_len`,
        then the best ended hypothesis, or the best beam if none ended.

        Args:
            src: `(S,)` token ids of one sentence, no padding.
            beam_size: K.
            max_len: most output tokens.
            length_penalty: the exponent of the length normalisation (0 = none).

        Returns:
            the output ids (EOS not included) and weights `(T, S)` (None for `none`).
        """
        m, K = self.model, beam_size
        src = src[None]  # (1, S)
        keys, mask, final, state = self.encode(src, torch.tensor([src.shape[1]]))
        beams = [(keys.new_zeros(()), [], [], state)]  # (log-prob sum, ids, weights, state)
        ended = []  # (normalised score, ids, weights)
        for t in range(max_len):
            candidates = []
            for k, (score, ids, _, state) in enumerate(beams):
                y = src.new_full((1, 1), ids[-1] if ids else m.bos_id)
                logits, w, state = self.step(y, state, keys, mask, final)
                log_probs = torch.log_softmax(logits[0], dim=-1)  # (V,)
                top, ids = log_probs.topk(min(2 * K, log_probs.shape[0]))
                for lp, token in zip(top, ids.tolist(), strict=True):
                    candidates.append((score + lp, token, k, w, state))
            candidates.sort(key=lambda cand: -float(cand[0]))
            next_beams = []
            for rank, (score, token, k, w, state) in enumerate(candidates[: 2 * K]):
                _, ids, weights, _ = beams[k]
                if token == m.eos_id:
                    if rank < K:
                        ended.append((score / (t + 1) ** length_penalty, ids, weights))
                elif len(next_beams) < K:
                    next_beams.append((score, ids + [token], weights + [w], state))
            beams = next_beams
            if len(ended) >= K:
                break
        if ended:
            _, ids, weights = max(ended, key=lambda e: float(e[0]))
        else:
            _, ids, weights, _ = beams[0]
        if not self.weighted:
            return ids, None
        return ids, torch.cat(weights) if weights else keys.new_zeros((0, src.shape[1]))

    def _pad(self, outputs, src):
        """`(B, T)` ids padded with `pad_id` and `(B, T, S)` weights from per-sentence ones."""
        B, S = src.shape
        T = max((len(tokens) for tokens, _ in outputs), default=0)
        tokens = src.new_full((B, T), self.model.pad_id)
        weights = src.new_zeros((B, T, S), dtype=torch.float) if self.weighted else None
        for b, (toks, w) in enumerate(outputs):
            tokens[b, : len(toks)] = torch.tensor(toks, dtype=tokens.dtype)
            if weights is not None:
                weights[b, : len(toks), : w.shape[1]] = w
        return tokens, weights

    @torch.no_grad()
    def greedy(self, src, src_len, max_len: int | None = None):
        """Greedy decoding, one sentence after another; same interface as `search.greedy`.

        Args:
            src: `(B, S)`; src_len: `(B,)`.
            max_len: most output tokens; default `max_output_len(S)`.

        Returns:
            tokens `(B, T)` (EOS not included, padded with `pad_id`) and weights
            `(B, T, S)` (None for `none`).
        """
        max_len = max_len or max_output_len(src.shape[1])
        return self._pad(
            [self.greedy_one(src[b, : int(src_len[b])], max_len) for b in range(src.shape[0])],
            src,
        )

    @torch.no_grad()
    def beam_search(
        self,
        src,
        src_len,
        beam_size: int = 5,
        max_len: int | None = None,
        length_penalty: float = 1.0,
    ):
        """Beam search, one sentence after another; as `search.beam_search`."""
        max_len = max_len or max_output_len(src.shape[1])
        outputs = [
            self.beam_one(src[b, : int(src_len[b])], beam_size, max_len, length_penalty)
            for b in range(src.shape[0])
        ]
        return self._pad(outputs, src)


def random_batches(
    data: Seq2SeqData, split: str = "train", batch_size: int = 64, seed: int = 0
) -> DataLoader:
    """Uniformly shuffled batches of a split, padded to their longest sentence.

    Args:
        data: the vocabularies and splits (the same ones the batched model sees).
        split: `train`, `valid` or `test`.
        batch_size: sentences per batch.
        seed: seeds the shuffle.

    Returns:
        a loader of the same dicts as `Seq2SeqData`'s loaders (see `collate`).
    """
    pairs = data.split(split)
    return DataLoader(
        list(range(len(pairs))),
        batch_size=batch_size,
        sampler=RandomSampler(pairs, generator=torch.Generator().manual_seed(seed)),
        collate_fn=lambda idx: collate(
            [pairs[i] for i in idx], idx, data.src_vocab, data.tgt_vocab
        ),
    )
