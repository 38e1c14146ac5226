"""The benchmark's reference (`benchmarks/reference.py`) computes what `RNNEncoderDecoder` computes:
the same teacher-forced logits and the same greedy and beam outputs, so
`benchmarks/throughput.py` compares speed only. Correctness only; no timings here."""

import sys
from pathlib import Path

import pytest
import torch

from ablate.data.corpus import Corpus, Pair
from ablate.data.datamodule import Seq2SeqData
from ablate.models.attention import ATTENTION_CHOICES
from ablate.models.cpu import speed_up
from ablate.models.search import beam_search, greedy

from models import rnn_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from reference import StepwiseRNN, random_batches  # noqa: E402

V_SRC, V_TGT = 20, 25


pytestmark = pytest.mark.usefixtures("one_thread")


def _batch(B=5, S=9, T=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    src_len = torch.tensor([S, 5, 1, 7, 3][:B])
    src = torch.randint(4, V_SRC, (B, S), generator=g)
    src = src.masked_fill(torch.arange(S)[None] >= src_len[:, None], 0)
    tgt_in = torch.randint(4, V_TGT, (B, T), generator=g)
    tgt_in[:, 0] = 2
    return src, src_len, tgt_in


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "speed_up"])
@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
def test_stepwise_logits_equal_batched(attention, rnn, fast):
    """Also where the benchmark builds both with `speed_up` (the reference keeps the
    packed encoder and PyTorch's RNN)."""
    model = speed_up(rnn_model(attention, rnn=rnn)) if fast else rnn_model(attention, rnn=rnn)
    reference = StepwiseRNN(model)
    assert {id(p) for p in reference.parameters()} == {id(p) for p in model.parameters()}
    src, src_len, tgt_in = _batch()
    logits, weights = model(src, src_len, tgt_in)
    ref_logits, ref_weights = reference(src, src_len, tgt_in)
    torch.testing.assert_close(ref_logits, logits, rtol=1e-4, atol=1e-5)
    if attention == "none":
        assert weights is None and ref_weights is None
    else:
        torch.testing.assert_close(ref_weights, weights, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "speed_up"])
@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
def test_stepwise_gradients_equal_batched(attention, fast):
    model = speed_up(rnn_model(attention)) if fast else rnn_model(attention)
    src, src_len, tgt_in = _batch(seed=2)
    grads = []
    for net in (model, StepwiseRNN(model)):
        model.zero_grad()
        net(src, src_len, tgt_in)[0].square().mean().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for ours, ref in zip(*grads, strict=True):
        torch.testing.assert_close(ref, ours, rtol=1e-4, atol=1e-6)


def _end_some_sentences_early(model, src, src_len, max_len):
    """Raise the EOS bias until some sentences end before others (never golden numbers:
    the smallest bias on a grid at which the output lengths differ)."""
    for bias in torch.linspace(-1.0, 1.0, 41).tolist():
        with torch.no_grad():
            model.decoder.W_o.bias[3] = bias
        tokens, _ = greedy(model, src, src_len, max_len=max_len)
        if len(set((tokens != model.pad_id).sum(1).tolist())) > 1:
            return
    raise AssertionError("no EOS bias on the grid makes sentences end at different steps")


@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
def test_one_sentence_at_a_time_greedy_equals_batched(attention):
    model = rnn_model(attention)
    g = torch.Generator().manual_seed(1)
    src_len = torch.tensor([9, 5, 1, 7, 3, 8, 2, 6])
    src = torch.randint(4, V_SRC, (8, 9), generator=g)
    src = src.masked_fill(torch.arange(9)[None] >= src_len[:, None], 0)
    # Finished rows are dropped from batched decoding mid-way: the case to check.
    _end_some_sentences_early(model, src, src_len, max_len=12)
    tokens, weights = greedy(model, src, src_len, max_len=12)
    reference = StepwiseRNN(model)
    ref_tokens, ref_weights = reference.greedy(src, src_len, max_len=12)
    assert ref_tokens.tolist() == tokens.tolist()
    for b in range(src.shape[0]):
        n = int(src_len[b])
        one, w1 = reference.greedy_one(src[b, :n], max_len=12)
        assert one == tokens[b, : len(one)].tolist()
        assert (tokens[b, len(one) :] == model.pad_id).all()
        if weights is not None:
            torch.testing.assert_close(w1, weights[b, : len(one), :n], rtol=1e-4, atol=1e-5)
    if weights is None:
        assert ref_weights is None
    else:
        torch.testing.assert_close(ref_weights, weights, rtol=1e-4, atol=1e-5)


def _varied_batch(model):
    g = torch.Generator().manual_seed(1)
    src_len = torch.tensor([9, 5, 1, 7, 3, 8, 2, 6])
    src = torch.randint(4, V_SRC, (8, 9), generator=g)
    src = src.masked_fill(torch.arange(9)[None] >= src_len[:, None], 0)
    _end_some_sentences_early(model, src, src_len, max_len=12)
    return src, src_len


@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
def test_one_sentence_at_a_time_beam_of_one_equals_greedy(attention):
    model = rnn_model(attention)
    src, src_len = _varied_batch(model)
    tokens, weights = greedy(model, src, src_len, max_len=12)
    ref_tokens, ref_weights = StepwiseRNN(model).beam_search(src, src_len, 1, max_len=12)
    assert ref_tokens.tolist() == tokens.tolist()
    if weights is None:
        assert ref_weights is None
    else:
        torch.testing.assert_close(ref_weights, weights, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "length_penalty",
    [1.0, pytest.param(0.0, marks=pytest.mark.slow)],  # 0.0: the slow tier
)
@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
def test_one_sentence_at_a_time_beam_equals_batched(attention, length_penalty):
    model = rnn_model(attention, rnn="lstm" if attention == "additive" else "gru")
    src, src_len = _varied_batch(model)
    tokens, weights = beam_search(model, src, src_len, 5, 12, length_penalty)
    reference = StepwiseRNN(model)
    ref_tokens, ref_weights = reference.beam_search(src, src_len, 5, 12, length_penalty)
    assert ref_tokens.tolist() == tokens.tolist()
    if weights is None:
        assert ref_weights is None
    else:
        torch.testing.assert_close(ref_weights, weights, rtol=1e-4, atol=1e-5)
    one, _ = reference.beam_one(src[2, :1], 5, 12, length_penalty)  # the 1-token source
    assert one == tokens[2, : len(one)].tolist()


def test_random_batches_cover_the_split_unsorted():
    pairs = [Pair(tuple("abcdefgh"[: 1 + i % 8]), tuple("xyz"[: 1 + i % 3])) for i in range(40)]
    data = Seq2SeqData(Corpus("tiny", pairs, pairs[:2], pairs[:2]), batch_size=8)
    batches = list(random_batches(data, batch_size=8, seed=0))
    index = torch.cat([b["index"] for b in batches])
    assert sorted(index.tolist()) == list(range(40))
    assert index.tolist() != list(range(40))
    for b in batches:
        assert b["src"].shape[1] == int(b["src_len"].max())
