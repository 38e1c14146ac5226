"""The benchmark's Transformer reference (`benchmarks/torch_transformer.py`,
`torch.nn.Transformer` with the model's embeddings and output layer) computes what
`ablate.models.transformer.Transformer` computes once the model's weights are copied in:
the same teacher-forced logits, the same greedy and beam translations, so
`benchmarks/throughput.py` compares speed only. Correctness only; no timings here."""

import sys
from pathlib import Path

import pytest
import torch

from ablate.models.search import beam_search, greedy

from models import transformer_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from torch_transformer import TorchTransformer  # noqa: E402

V_SRC, V_TGT, EOS = 20, 25, 3

pytestmark = pytest.mark.usefixtures("one_thread")


def _pair(norm="pre", fused=True, dropout=0.1):
    """A float64 model with scaled dot product attention everywhere, and its reference
    with the model's weights copied in."""
    model = transformer_model(
        "scaled_dot",
        ff=24,
        dropout=dropout,
        norm=norm,
        fused=fused,
        eval=False,
        dtype=torch.float64,
    )
    reference = TorchTransformer(model).double()
    reference.copy_from(model)
    return model.eval(), reference.eval()


def _batch(B=6, S=9, T=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    src_len = torch.tensor([S, 5, 1, 7, 3, 8][:B])
    src = torch.randint(4, V_SRC, (B, S), generator=g)
    src = src.masked_fill(torch.arange(S)[None] >= src_len[:, None], 0)
    tgt_len = torch.tensor([T, 2, 4, 1, 6, 3][:B])
    tgt_in = torch.randint(4, V_TGT, (B, T), generator=g)
    tgt_in = tgt_in.masked_fill(torch.arange(T)[None] >= tgt_len[:, None], 0)
    tgt_in[:, 0] = 2
    return src, src_len, tgt_in


@pytest.mark.parametrize("fused", [False, True], ids=["explicit", "fused"])
@pytest.mark.parametrize("norm", ["pre", "post"])
def test_copied_weights_give_the_same_logits(norm, fused):
    model, reference = _pair(norm, fused)
    src, src_len, tgt_in = _batch()
    ours, _ = model(src, src_len, tgt_in)
    theirs, weights = reference(src, src_len, tgt_in)
    real = tgt_in != 0  # the reference masks target padding as the tutorial does
    torch.testing.assert_close(theirs[real], ours[real])
    assert weights is None


def test_it_shares_the_embeddings_and_output_layer_and_nothing_else():
    model, reference = _pair()
    shared = {
        id(p) for m in (model.src_embedding, model.tgt_embedding, model.W_o) for p in m.parameters()
    }
    layers = {id(p) for m in (*model.encoder, *model.decoder) for p in m.parameters()}
    mine = {id(p) for p in reference.parameters()}
    assert shared <= mine and not layers & mine
    assert {id(p) for p in reference.transformer.parameters()} == mine - shared


def _end_some_sentences_early(model, src, src_len, max_len):
    """Raise the EOS bias until some sentences end before others (never golden numbers:
    the smallest bias on a grid at which the output lengths differ)."""
    for bias in torch.linspace(-2.0, 2.0, 81).tolist():
        with torch.no_grad():
            model.W_o.bias[EOS] = bias
        tokens, _ = greedy(model, src, src_len, max_len=max_len)
        if len(set((tokens != model.pad_id).sum(1).tolist())) > 1:
            return
    raise AssertionError("no EOS bias on the grid makes sentences end at different steps")


@pytest.mark.parametrize("fused", [False, True], ids=["explicit", "fused"])
def test_greedy_one_sentence_at_a_time_equals_batched(fused):
    model, reference = _pair(fused=fused)
    src, src_len, _ = _batch(seed=1)
    _end_some_sentences_early(model, src, src_len, max_len=12)
    tokens, _ = greedy(model, src, src_len, max_len=12)
    for b in range(src.shape[0]):
        one, weights = reference.greedy_one(src[b, : int(src_len[b])], max_len=12)
        assert one == [t for t in tokens[b].tolist() if t != model.pad_id] and weights is None


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_beam_one_sentence_at_a_time_equals_batched(length_penalty):
    model, reference = _pair()
    src, src_len, _ = _batch(seed=2)
    _end_some_sentences_early(model, src, src_len, max_len=12)
    tokens, _ = beam_search(model, src, src_len, 5, 12, length_penalty)
    for b in range(src.shape[0]):
        one, _ = reference.beam_one(src[b, : int(src_len[b])], 5, 12, length_penalty)
        assert one == [t for t in tokens[b].tolist() if t != model.pad_id]
