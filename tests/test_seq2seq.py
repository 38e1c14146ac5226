"""The encoder–decoder: teacher forcing over all steps equals a step-by-step loop (the
decoders that train a step at a time too: input feeding, Bahdanau's), batched greedy
decoding (which drops finished rows) equals decoding one sentence alone, and the unpacked
GRU encoder equals `nn.GRU` over a packed batch."""

import math

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ablate.models.attention import ATTENTION_CHOICES
from ablate.models.luong import LocalPAttention, LocationAttention
from ablate.models.search import greedy
from ablate.models.seq2seq import Dropout, Seq2Seq

V_SRC, V_TGT = 20, 25
# The decoders that teacher-force one step at a time, as `Seq2Seq` keyword arguments.
STEPWISE = {"input_feeding": dict(input_feeding=True), "bahdanau": dict(decoder="bahdanau")}
STEPWISE_ATTENTIONS = ["none", "dot", "additive", LocationAttention, LocalPAttention]


def _batch(B=4, S=9, T=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    src_len = torch.tensor([S, 5, 1, 7][:B])
    src = torch.randint(4, V_SRC, (B, S), generator=g)
    src = src.masked_fill(torch.arange(S)[None] >= src_len[:, None], 0)
    tgt_in = torch.randint(4, V_TGT, (B, T), generator=g)
    tgt_in[:, 0] = 2
    return src, src_len, tgt_in


def _model(attention, rnn="gru", layers=1, **decoder):
    torch.manual_seed(0)
    return Seq2Seq(
        V_SRC,
        V_TGT,
        attention=attention,
        embed=16,
        hidden=12,
        layers=layers,
        rnn=rnn,
        dropout=0.0,
        **decoder,
    ).eval()


def _name(attention):
    return attention if isinstance(attention, str) else attention.__name__


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
def test_teacher_forcing_equals_step_by_step(attention, rnn):
    model = _model(attention, rnn, layers=2)
    src, src_len, tgt_in = _batch()
    logits, weights = model(src, src_len, tgt_in)
    memory, state = model.start(src, src_len)
    for t in range(tgt_in.shape[1]):
        step_logits, step_w, state = model.step(memory, state, tgt_in[:, t : t + 1])
        torch.testing.assert_close(step_logits, logits[:, t], rtol=1e-4, atol=1e-5)
        if weights is not None:
            torch.testing.assert_close(step_w, weights[:, t], rtol=1e-4, atol=1e-5)
    assert (weights is None) == (attention == "none")


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("attention", STEPWISE_ATTENTIONS, ids=_name)
@pytest.mark.parametrize("decoder", STEPWISE)
def test_stepwise_teacher_forcing_equals_decoding_steps(decoder, attention, rnn):
    """Training's logits (with gradients: the CPU GRU path) are those of decoding steps
    (without: nn.GRU), each fed the state the last returned, the attentional vector
    `h̃_{t-1}` included with input feeding."""
    model = _model(attention, rnn, layers=2, **STEPWISE[decoder])
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


@pytest.mark.parametrize("layers", [1, 3])
def test_unpacked_gru_encoder_equals_packed_nn_gru(layers):
    """States on real tokens, final states and every gradient, sources of length 1 to S."""
    model = _model("additive", layers=layers)
    encoder = model.encoder
    src, src_len, _ = _batch(seed=3)
    real = (src != 0)[..., None]
    g = torch.Generator().manual_seed(4)
    upstream = torch.randn(src.shape[0], src.shape[1], 12, generator=g)
    results = []
    for packed in (False, True):
        encoder.zero_grad()
        if packed:  # what the encoder computed before it stopped packing (LSTM still does)
            x = encoder.embedding(src)
            out, h = encoder.rnn(
                pack_padded_sequence(x, src_len, batch_first=True, enforce_sorted=False)
            )
            states, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
            final = torch.cat([h[0::2], h[1::2]], dim=-1)
        else:
            states, final = encoder(src, src_len)
        ((states * real * upstream).sum() + final.square().sum()).backward()
        results.append((states * real, final, [p.grad.clone() for p in encoder.parameters()]))
    (ours, our_final, our_grads), (ref, ref_final, ref_grads) = results
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(our_final, ref_final, rtol=1e-5, atol=1e-6)
    assert our_final.shape == (layers, src.shape[0], 12)
    for g, r in zip(our_grads, ref_grads, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_dropout_keeps_1_minus_p_scaled_and_is_the_identity_in_eval(p):
    drop = Dropout(p)
    x = torch.rand(1000, 1000) + 0.5  # no zeros of its own
    x.requires_grad_(True)
    torch.manual_seed(0)
    y = drop(x)
    kept = y != 0
    # 1e6 Bernoulli(1 - p) draws: the kept share is within 5 standard deviations
    assert abs(kept.float().mean().item() - (1 - p)) < 5 * math.sqrt(p * (1 - p) / 1e6)
    torch.testing.assert_close(y[kept], x[kept] / (1 - p))
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / (1 - p))
    torch.manual_seed(0)
    assert torch.equal(drop(x), y)  # seeded: the same mask
    drop.eval()
    assert drop(x) is x
    assert Dropout(0.0)(x) is x


@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
def test_batched_greedy_equals_one_sentence_at_a_time(attention):
    model = _model(attention)
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
    model = _model("dot")
    with torch.no_grad():
        model.decoder.W_o.bias[3] = 100.0  # EOS always wins
    src, src_len, _ = _batch()
    tokens, weights = greedy(model, src, src_len)
    assert tokens.shape[1] == 0 and weights.shape[1] == 0


@pytest.mark.parametrize(
    "bad",
    [dict(hidden=0), dict(embed=-1), dict(hidden=7), dict(rnn="transformer"), dict(dropout=1.0)],
)
def test_bad_sizes_raise_value_error(bad):
    kwargs = dict(embed=8, hidden=8, rnn="gru", dropout=0.0) | bad
    with pytest.raises(ValueError, match="model\\."):
        Seq2Seq(V_SRC, V_TGT, attention="dot", **kwargs)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (dict(decoder="transformer"), "unknown model.decoder 'transformer'; choose one of luong"),
        (dict(input_feeding="yes"), "model.input_feeding must be true or false, got 'yes'"),
        (dict(decoder="bahdanau", input_feeding=True), "model.input_feeding=true is for"),
    ],
)
def test_bad_decoder_settings_raise_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        Seq2Seq(V_SRC, V_TGT, attention="dot", embed=8, hidden=8, **bad)


@pytest.mark.parametrize("decoder", STEPWISE)
def test_the_decoder_settings_rebuild_the_model_from_its_config(decoder):
    """`Seq2Seq.config` (what a checkpoint keeps for `translate`) holds the decoder."""
    model = _model("dot", **STEPWISE[decoder])
    assert {k: model.config[k] for k in STEPWISE[decoder]} == STEPWISE[decoder]
    again = Seq2Seq(**model.config).eval()
    again.load_state_dict(model.state_dict())
    src, src_len, tgt_in = _batch()
    torch.testing.assert_close(again(src, src_len, tgt_in)[0], model(src, src_len, tgt_in)[0])
