"""The encoder–decoder: teacher forcing over all steps equals stepping through the
decoder-step protocol (the decoders that train a step at a time too: input feeding,
Bahdanau's), and batched greedy decoding (which drops finished rows) equals decoding one
sentence alone. (The CPU paths against this plain code: tests/test_cpu.py.)"""

import pytest
import torch

from ablate.models.attention import ATTENTION_CHOICES
from ablate.models.config import RNNConfig
from ablate.models.cpu import speed_up
from ablate.models.luong import LocalPAttention, LocationAttention
from ablate.models.rnn import RNNEncoderDecoder
from ablate.models.search import greedy

from conftest import token_batch as _batch
from models import rnn_model

# The decoders that teacher-force one step at a time, as `RNNConfig` keyword arguments.
STEPWISE = {"input_feeding": dict(input_feeding=True), "bahdanau": dict(decoder="bahdanau")}
STEPWISE_ATTENTIONS = ["none", "dot", "additive", LocationAttention, LocalPAttention]


def _name(attention):
    return attention if isinstance(attention, str) else attention.__name__


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "speed_up"])
@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
def test_teacher_forcing_equals_step_by_step(attention, rnn, fast):
    model = rnn_model(attention, rnn=rnn, layers=2)
    if fast:
        speed_up(model)
    src, src_len, tgt_in = _batch()
    logits, weights = model(src, src_len, tgt_in)
    memory, state = model.start(src, src_len)
    for t in range(tgt_in.shape[1]):
        step_logits, step_w, state = model.step(memory, state, tgt_in[:, t : t + 1])
        torch.testing.assert_close(step_logits, logits[:, t], rtol=1e-4, atol=1e-5)
        if weights is not None:
            torch.testing.assert_close(step_w, weights[:, t], rtol=1e-4, atol=1e-5)
    assert (weights is None) == (attention == "none")


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "speed_up"])
@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("attention", STEPWISE_ATTENTIONS, ids=_name)
@pytest.mark.parametrize("decoder", STEPWISE)
def test_stepwise_teacher_forcing_equals_decoding_steps(decoder, attention, rnn, fast):
    """Training's logits (with gradients) are those of decoding steps (without), each fed
    the state the last returned, the attentional vector `h̃_{t-1}` included with input
    feeding; on the plain model and on the sped-up one (the CPU GRU path trains)."""
    model = rnn_model(attention, rnn=rnn, layers=2, **STEPWISE[decoder])
    if fast:
        speed_up(model)
    src, src_len, tgt_in = _batch()
    logits, weights = model(src, src_len, tgt_in)
    assert logits.requires_grad
    with torch.no_grad():
        memory, state = model.start(src, src_len)
        for t in range(tgt_in.shape[1]):
            step_logits, step_w, state = model.step(memory, state, tgt_in[:, t : t + 1])
            torch.testing.assert_close(step_logits, logits[:, t], rtol=1e-4, atol=1e-5)
            if weights is not None:
                torch.testing.assert_close(step_w, weights[:, t], rtol=1e-4, atol=1e-5)
    assert (weights is None) == (attention == "none")


@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
def test_batched_greedy_equals_one_sentence_at_a_time(attention):
    model = rnn_model(attention)
    src, src_len, _ = _batch(seed=1)
    # Make some sentences end early so finished rows get dropped mid-decoding.
    with torch.no_grad():
        model.decoder.W_o.bias[3] = 2.0
    tokens, weights = greedy(model, src, src_len, max_len=12)
    for b in range(src.shape[0]):
        n = int(src_len[b])
        one, w1 = greedy(model, src[b : b + 1, :n], src_len[b : b + 1], max_len=12)
        L = one.shape[1]
        assert tokens[b, :L].tolist() == one[0].tolist()
        assert (tokens[b, L:] == 0).all()
        if weights is not None:
            torch.testing.assert_close(weights[b, :L, :n], w1[0], rtol=1e-4, atol=1e-5)
            assert (weights[b, :, n:] == 0).all()


def test_greedy_stops_when_all_sentences_end():
    model = rnn_model("dot")
    with torch.no_grad():
        model.decoder.W_o.bias[3] = 100.0  # EOS always wins
    src, src_len, _ = _batch()
    tokens, weights = greedy(model, src, src_len)
    assert tokens.shape[1] == 0 and weights.shape[1] == 0


@pytest.mark.parametrize("decoder", STEPWISE)
def test_the_decoder_settings_rebuild_the_model_from_its_config(decoder):
    """`RNNEncoderDecoder.config.record()` (what a checkpoint keeps for `translate`) holds the
    decoder, and rebuilds the same model."""
    model = rnn_model("dot", **STEPWISE[decoder])
    record = model.config.record()
    assert {k: record[k] for k in STEPWISE[decoder]} == STEPWISE[decoder]
    again = RNNEncoderDecoder(RNNConfig.from_record(record)).eval()
    again.load_state_dict(model.state_dict())
    src, src_len, tgt_in = _batch()
    torch.testing.assert_close(again(src, src_len, tgt_in)[0], model(src, src_len, tgt_in)[0])
