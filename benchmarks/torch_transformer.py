"""The usual way with PyTorch's own Transformer: `torch.nn.Transformer`, decoding by
re-running the decoder over the whole prefix at every step.

`benchmarks/throughput.py` measures `ablate.models.transformer.Transformer` against this,
at the same sizes (d_model, heads, layers, feed-forward, dropout, norm). It is the
encoder–decoder of PyTorch's translation tutorial ("Language Translation with
nn.Transformer"):

- training runs `nn.Transformer` (its own layers: `nn.MultiheadAttention`, which also
  drops out attention weights, and a feed-forward with an inner dropout) with a causal
  target mask and the source and target padding masks;
- greedy decoding translates one sentence at a time and, at every step, runs the
  decoder over the whole prefix so far (no cache of earlier positions' keys and
  values), keeping the last position's logits;
- beam search too, one sentence at a time with its beams' prefixes as one batch, ranked
  in Python as `search.beam_search` ranks them.

`TorchTransformer` shares the model's embeddings (`√H · E + PE`, dropped out) and output
layer; `copy_from` loads the model's layers into `nn.Transformer`'s, so that, with
`scaled_dot` in every attention, both compute the same logits and translations
(`tests/test_benchmark_transformer.py` checks it); only the speed differs.

Notation: `H` = d_model, `V` the target vocabulary.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from ablate.models.multihead import MultiHeadAttention
from ablate.models.transformer import Transformer, sinusoid

# nn.Transformer's encoder notes, at every build, that pre-norm layers take no nested
# tensors (its inference fast path); a fact of the reference, not a fault.
warnings.filterwarnings("ignore", message=r"enable_nested_tensor is True")


class TorchTransformer(nn.Module):
    """`nn.Transformer` at a `Transformer`'s sizes, with its embeddings and output layer.

    Args:
        model: the model whose sizes it takes and whose embeddings, embedding dropout
            and output layer it shares (their parameters are the model's).
    """

    def __init__(self, model: Transformer):
        super().__init__()
        c = model.config
        self.pad_id, self.bos_id, self.eos_id = model.pad_id, model.bos_id, model.eos_id
        self.d_model = model.d_model
        self.src_embedding, self.tgt_embedding = model.src_embedding, model.tgt_embedding
        self.dropout, self.W_o = model.dropout, model.W_o
        self.transformer = nn.Transformer(
            c.d_model,
            c.heads,
            c.layers,
            c.layers,
            c.ff,
            c.dropout,
            batch_first=True,
            norm_first=c.norm == "pre",
        )
        if c.norm == "post":  # the paper's stack ends in its last layer's norm
            self.transformer.encoder.norm = self.transformer.decoder.norm = None

    def embed(self, embedding: nn.Embedding, tokens: torch.Tensor) -> torch.Tensor:
        """`√H · E[tokens] + PE`, dropped out; `(B, L)` → `(B, L, H)`."""
        pe = sinusoid(torch.arange(tokens.shape[1], device=tokens.device), self.d_model)
        return self.dropout(embedding(tokens) * math.sqrt(self.d_model) + pe)

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """The encoder's output `(B, S, H)` of `src` `(B, S)`."""
        return self.transformer.encoder(
            self.embed(self.src_embedding, src), src_key_padding_mask=src == self.pad_id
        )

    def decode(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        src_pad: torch.Tensor,
        tgt_pad: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits `(B, T, V)` of every position of `tgt` `(B, T)`, causal; `src_pad`
        `(B, S)` and `tgt_pad` `(B, T)` are True on padding (a prefix being decoded has
        none)."""
        T = tgt.shape[1]
        causal = nn.Transformer.generate_square_subsequent_mask(T, device=tgt.device)
        x = self.transformer.decoder(
            self.embed(self.tgt_embedding, tgt),
            memory,
            tgt_mask=causal,
            tgt_is_causal=True,
            tgt_key_padding_mask=tgt_pad,
            memory_key_padding_mask=src_pad,
        )
        return self.W_o(x)

    def forward(self, src, src_len, tgt_in, need_weights: bool = True):
        """Teacher-forced logits `(B, T, V)`, with the tutorial's masks, and no weights
        whatever `need_weights` says (`nn.Transformer` keeps none); `src_len` is implied
        by the padding."""
        memory = self.encode(src)
        return self.decode(tgt_in, memory, src == self.pad_id, tgt_in == self.pad_id), None

    @torch.no_grad()
    def copy_from(self, model: Transformer) -> None:
        """Load `model`'s layers (scaled dot product attention in each) into these."""
        pairs = [
            (mine, theirs, ("self_attn",))
            for mine, theirs in zip(self.transformer.encoder.layers, model.encoder, strict=True)
        ] + [
            (mine, theirs, ("self_attn", "multihead_attn"))
            for mine, theirs in zip(self.transformer.decoder.layers, model.decoder, strict=True)
        ]
        for mine, theirs, attentions in pairs:
            names = ("self_attention", "cross_attention")[: len(attentions)]
            for name, attn in zip(names, attentions, strict=True):
                _copy_attention(getattr(mine, attn), getattr(theirs, name))
            mine.linear1.load_state_dict(theirs.feed_forward[0].state_dict())
            mine.linear2.load_state_dict(theirs.feed_forward[2].state_dict())
            for i, r in enumerate((theirs.r1, theirs.r2, getattr(theirs, "r3", None)), 1):
                if r is not None:
                    getattr(mine, f"norm{i}").load_state_dict(r.norm.state_dict())
        for stack, norm in (
            (self.transformer.encoder, model.encoder_norm),
            (self.transformer.decoder, model.decoder_norm),
        ):
            if stack.norm is not None:
                stack.norm.load_state_dict(norm.state_dict())

    @torch.no_grad()
    def greedy_one(self, src: torch.Tensor, max_len: int) -> tuple[list[int], None]:
        """Greedy decoding of one sentence `(S,)` (no padding), the decoder re-run over
        the prefix at every step; the output ids, EOS not included, and no weights (as
        `reference.StepwiseRNN.greedy_one`)."""
        src = src[None]  # (1, S)
        memory, src_pad = self.encode(src), src == self.pad_id
        ys = src.new_full((1, 1), self.bos_id)  # (1, t)
        for _ in range(max_len):
            token = int(self.decode(ys, memory, src_pad)[0, -1].argmax())
            if token == self.eos_id:
                break
            ys = torch.cat([ys, ys.new_full((1, 1), token)], dim=1)
        return ys[0, 1:].tolist(), None

    @torch.no_grad()
    def beam_one(
        self, src: torch.Tensor, beam_size: int, max_len: int, length_penalty: float = 1.0
    ) -> tuple[list[int], None]:
        """Beam search over one sentence `(S,)`, the decoder re-run over every beam's
        prefix at every step (the beams as one batch); the search of
        `search.beam_search` (see `reference.StepwiseRNN.beam_one`). Returns as
        `greedy_one`."""
        K = beam_size
        src = src[None]  # (1, S)
        memory, src_pad = self.encode(src), src == self.pad_id
        beams = [(memory.new_zeros(()), [])]  # (log-prob sum, ids)
        ended = []  # (normalised score, ids)
        for t in range(max_len):
            ys = src.new_tensor([[self.bos_id, *ids] for _, ids in beams])  # (k, t + 1)
            k = ys.shape[0]
            logits = self.decode(ys, memory.expand(k, -1, -1), src_pad.expand(k, -1))
            log_probs = torch.log_softmax(logits[:, -1], dim=-1)  # (k, V)
            top, tokens = log_probs.topk(min(2 * K, log_probs.shape[1]), dim=-1)
            candidates = [
                (beams[b][0] + lp, token, b)
                for b in range(k)
                for lp, token in zip(top[b], tokens[b].tolist(), strict=True)
            ]
            candidates.sort(key=lambda cand: -float(cand[0]))
            next_beams = []
            for rank, (score, token, b) in enumerate(candidates[: 2 * K]):
                if token == self.eos_id:
                    if rank < K:
                        ended.append((score / (t + 1) ** length_penalty, beams[b][1]))
                elif len(next_beams) < K:
                    next_beams.append((score, beams[b][1] + [token]))
            beams = next_beams
            if len(ended) >= K:
                break
        return (max(ended, key=lambda e: float(e[0]))[1] if ended else beams[0][1]), None


def _copy_attention(mine: nn.MultiheadAttention, theirs: MultiHeadAttention) -> None:
    """`nn.MultiheadAttention`'s packed input projection from W_q, W_k, W_v; its output
    projection from W_o (heads split the same way: head j takes features j·d…(j+1)·d)."""
    q, k, v = theirs.W_q, theirs.W_k, theirs.W_v
    mine.in_proj_weight.copy_(torch.cat([q.weight, k.weight, v.weight]))
    mine.in_proj_bias.copy_(torch.cat([q.bias, k.bias, v.bias]))
    mine.out_proj.load_state_dict(theirs.W_o.state_dict())
