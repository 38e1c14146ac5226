"""The CPU paths (`ablate.models.cpu`): `speed_up` swaps them into a built model in place,
keeping every parameter and the state dict, once; and each computes what the plain code
it replaces computes — the unpacked GRU encoder, the hand-written GRU, the blocked
sigmoid-form additive score, the whole model's logits, weights, gradients and decoded
outputs (float64 where rounding would hide a difference), and dropout's distribution."""

import copy
import functools
import math
import subprocess
import sys

import pytest
import torch
from torch import nn

from ablate.models import cpu
from ablate.models.attention import ATTENTION_CHOICES, AdditiveAttention, build_attention
from ablate.models.luong import LocalPAttention, LocationAttention
from ablate.models.rnn import Encoder
from ablate.models.search import beam_search, greedy

from conftest import token_batch as _batch
from models import rnn_model, transformer_model

DECODERS = {
    "luong": {},
    "input_feeding": dict(input_feeding=True),
    "bahdanau": dict(decoder="bahdanau"),
}
ATTENTIONS = [*ATTENTION_CHOICES, LocationAttention, LocalPAttention]

pytestmark = pytest.mark.usefixtures("one_thread")


def _name(attention):
    return attention if isinstance(attention, str) else attention.__name__


# This file's models train (dropout draws), over two RNN layers (the GRU paths between them).
TRAINING = dict(layers=2, eval=False)


def _pair(attention, rnn="gru", dtype=torch.float64, **decoder):
    """A plain model and a sped-up copy of it (the same parameter values)."""
    plain = rnn_model(attention, rnn=rnn, **TRAINING, **decoder).to(dtype)
    return plain, cpu.speed_up(copy.deepcopy(plain))


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("decoder", DECODERS)
def test_speed_up_swaps_classes_in_place_keeps_the_state_dict_and_is_idempotent(decoder, rnn):
    model = rnn_model("additive", rnn=rnn, dropout=0.1, **TRAINING, **DECODERS[decoder])
    params = dict(model.named_parameters())
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert cpu.speed_up(model) is model
    assert dict(model.named_parameters()) == params  # the same tensors, by identity
    assert model.state_dict().keys() == state.keys()
    assert all(torch.equal(model.state_dict()[k], v) for k, v in state.items())
    gru = rnn == "gru"
    assert type(model.encoder) is (cpu.UnpackedGRUEncoder if gru else Encoder)
    assert type(model.encoder.rnn) is (nn.GRU if gru else nn.LSTM)  # bidirectional: as is
    assert type(model.decoder.rnn) is (cpu.GRU if gru else nn.LSTM)
    assert type(model.decoder.attention) is cpu.SigmoidAdditiveAttention
    assert type(model.encoder.dropout) is type(model.decoder.dropout) is cpu.Dropout
    classes = [type(m) for m in model.modules()]
    cpu.speed_up(model)
    assert [type(m) for m in model.modules()] == classes
    # A checkpoint of either loads into the other.
    plain = rnn_model("additive", rnn=rnn, dropout=0.1, **TRAINING, **DECODERS[decoder])
    plain.load_state_dict(model.state_dict())
    model.load_state_dict(plain.state_dict())


@pytest.mark.slow  # a real Python process
def test_importing_the_transformer_leaves_the_cpu_paths_out():
    code = "import sys, ablate.models.transformer; print('ablate.models.cpu' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_speed_up_gives_the_transformer_the_cpu_dropout():
    """The Transformer's dropout is `nn.Dropout`; on a CPU it draws what a Transformer
    built with `cpu.Dropout` (the layout before) draws, as the RNN's does."""
    model = transformer_model(dropout=0.1)
    dropouts = {name: m for name, m in model.named_modules() if isinstance(m, nn.Dropout)}
    # The embeddings' and every sublayer's: 2 per encoder layer, 3 per decoder layer.
    assert len(dropouts) == 1 + 2 * 2 + 3 * 2
    assert {type(m) for m in dropouts.values()} == {nn.Dropout}
    built = copy.deepcopy(model)
    for name, m in dropouts.items():
        parent, _, attr = name.rpartition(".")
        setattr(built.get_submodule(parent), attr, cpu.Dropout(m.p))
    cpu.speed_up(model)
    assert {type(m) for m in dropouts.values()} == {cpu.Dropout}
    src, src_len, tgt_in = _batch()[:3]
    outputs = []
    for m in (model, cpu.speed_up(built)):
        torch.manual_seed(1)
        outputs.append(m.train()(src, src_len, tgt_in)[0])
    assert torch.equal(*outputs)
    assert not torch.equal(outputs[0], model.eval()(src, src_len, tgt_in)[0])  # it drew


def test_speed_up_leaves_a_users_subclass_alone():
    class Mine(AdditiveAttention):
        def score(self, query, prepared):
            return super().score(query, prepared) * 2

    model = cpu.speed_up(rnn_model(functools.partial(Mine, dim=5), **TRAINING))
    assert type(model.decoder.attention) is Mine


@pytest.mark.parametrize("decoder", DECODERS)
@pytest.mark.parametrize("attention", ATTENTIONS, ids=_name)
def test_sped_up_model_equals_the_plain_one_with_gradients(attention, decoder):
    """Teacher-forced logits and weights, and every parameter's gradient, in float64."""
    plain, fast = _pair(attention, **DECODERS[decoder])
    src, src_len, tgt_in = _batch()
    g = torch.Generator().manual_seed(1)
    results = []
    for model in (plain, fast):
        model.train()  # dropout is 0: the CPU GRU path is the one of training
        logits, weights = model(src, src_len, tgt_in)
        up = torch.randn(logits.shape, dtype=logits.dtype, generator=g.manual_seed(1))
        loss = (logits * up).sum() + (0 if weights is None else weights.square().sum())
        grads = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
        results.append((logits, weights, grads))
    (logits, weights, grads), (fast_logits, fast_weights, fast_grads) = results
    torch.testing.assert_close(fast_logits, logits, rtol=1e-10, atol=1e-12)
    if weights is None:
        assert fast_weights is None
    else:
        torch.testing.assert_close(fast_weights, weights, rtol=1e-10, atol=1e-12)
    for name, a, b in zip(dict(plain.named_parameters()), fast_grads, grads, strict=True):
        assert (a is None) == (b is None), name
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12, msg=name)


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
def test_sped_up_model_decodes_what_the_plain_one_decodes(attention, rnn):
    plain, fast = _pair(attention, rnn)
    src, src_len, _ = _batch(seed=2)
    for search in (greedy, functools.partial(beam_search, beam_size=3)):
        tokens, weights = search(plain.eval(), src, src_len, max_len=10)
        fast_tokens, fast_weights = search(fast.eval(), src, src_len, max_len=10)
        assert torch.equal(fast_tokens, tokens)
        if weights is None:
            assert fast_weights is None
        else:
            torch.testing.assert_close(fast_weights, weights, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layers", [1, 3])
def test_unpacked_gru_encoder_equals_the_packed_nn_gru(layers):
    """States on real tokens, final states and every gradient, sources of length 1 to S."""
    plain = rnn_model("additive", layers=layers, eval=False).encoder
    fast = cpu.speed_up(copy.deepcopy(plain))
    assert type(fast) is cpu.UnpackedGRUEncoder
    src, src_len, _ = _batch(seed=3)
    real = (src != 0)[..., None]
    upstream = torch.randn(
        src.shape[0], src.shape[1], 12, generator=torch.Generator().manual_seed(4)
    )
    results = []
    for encoder in (fast, plain):
        states, final = encoder(src, src_len)
        loss = (states * real * upstream).sum() + final.square().sum()
        results.append(
            (states * real, final, torch.autograd.grad(loss, list(encoder.parameters())))
        )
    (ours, our_final, our_grads), (ref, ref_final, ref_grads) = results
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(our_final, ref_final, rtol=1e-5, atol=1e-6)
    assert our_final.shape == (layers, src.shape[0], 12)
    for g, r in zip(our_grads, ref_grads, strict=True):
        torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("grad", [True, False])
def test_the_cpu_gru_is_nn_gru(grad):
    """With gradients through the hand-written layer (tests/test_gru.py holds it to
    `nn.GRU` in detail), without them `nn.GRU` itself."""
    torch.manual_seed(0)
    plain = nn.GRU(5, 6, num_layers=2, batch_first=True).double()
    fast = cpu.speed_up(copy.deepcopy(plain))
    assert type(fast) is cpu.GRU
    x, h0 = torch.randn(3, 4, 5, dtype=torch.double), torch.randn(2, 3, 6, dtype=torch.double)
    with torch.set_grad_enabled(grad):
        for a, b in zip(fast(x, h0), plain(x, h0), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
            assert a.requires_grad == grad


def test_sigmoid_additive_attention_equals_the_tanh_form_with_gradients():
    torch.manual_seed(0)
    plain = build_attention(functools.partial(AdditiveAttention, dim=5), 8).double()
    fast = cpu.speed_up(copy.deepcopy(plain))
    assert type(fast) is cpu.SigmoidAdditiveAttention
    g = torch.Generator().manual_seed(1)
    query = torch.randn(3, 4, 8, dtype=torch.double, generator=g)
    keys = torch.randn(3, 7, 8, dtype=torch.double, generator=g)
    upstream = torch.randn(3, 4, 7, dtype=torch.double, generator=g)
    results = []
    for att in (fast, plain):
        q, k = query.clone().requires_grad_(), keys.clone().requires_grad_()
        scores = att.score(q, att.prepare(k))  # (B, T, S)
        results.append([scores, *torch.autograd.grad(scores, [q, k, *att.parameters()], upstream)])
    for a, b in zip(*results, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("rows", [1, 2, 4, 5, 100])
def test_blocked_additive_score_equals_autograd_on_the_whole_tensor(rows):
    """`AdditiveScore` builds σ a block of query steps at a time and recomputes it in
    backward; any block size gives the one-line sigmoid form's scores and gradients."""
    B, T, S, A = 3, 5, 7, 8
    g = torch.Generator().manual_seed(6)
    q, k, v = (
        torch.randn(*shape, dtype=torch.double, generator=g).requires_grad_()
        for shape in [(B, T, A), (B, S, A), (A,)]
    )
    ours = cpu.AdditiveScore.apply(q, k, v, rows)
    whole = torch.matmul(torch.sigmoid(q[:, :, None] + k[:, None]), 2 * v) - v.sum()
    torch.testing.assert_close(ours, whole, rtol=1e-12, atol=1e-12)
    upstream = torch.randn(B, T, S, dtype=torch.double, generator=g)
    for a, b in zip(
        torch.autograd.grad(ours, [q, k, v], upstream),
        torch.autograd.grad(whole, [q, k, v], upstream),
        strict=True,
    ):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_dropout_keeps_1_minus_p_scaled_and_is_the_identity_in_eval(p):
    drop = cpu.Dropout(p)
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
    assert cpu.Dropout(0.0)(x) is x
