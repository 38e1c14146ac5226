"""The Transformer: one multi-head attention with `scaled_dot` equals torch's references;
padding and future positions get exactly zero weight; teacher forcing equals decoding
step by step through the decoder-step protocol, for every score in both attentions;
batched decoding equals decoding one sentence alone; greedy equals beam 1 and a batched
beam a per-sentence one, through the shared search; every option trains."""

from functools import partial

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from ablate.models import search
from ablate.models.attention import ATTENTION_CHOICES, Attention
from ablate.models.config import TransformerConfig
from ablate.models.luong import LocalPAttention, LocationAttention
from ablate.models.multihead import MultiHeadAttention, causal_mask
from ablate.models.transformer import Transformer, sinusoid

from conftest import V_SRC, V_TGT
from conftest import token_batch as _batch
from models import transformer_model

pytestmark = pytest.mark.usefixtures(
    "one_thread"
)  # tiny models: a second thread only adds contention


class TemperatureDot(Attention):
    """A user's own score, as README's plugin example: `sᵀh / τ`, τ learned."""

    def __init__(self, hidden: int):
        super().__init__(hidden)
        self.log_tau = nn.Parameter(torch.zeros(()))

    def score(self, query, prepared):
        return torch.bmm(query, prepared.transpose(1, 2)) / self.log_tau.exp()


# Every score the model takes, as the entry point passes it: a built-in name, a user's
# class, Luong's two as the `_partial_` factories of their config files.
OPTIONS = {
    **{name: name for name in ATTENTION_CHOICES},
    "user": TemperatureDot,
    "location": partial(LocationAttention, max_len=32),
    "local_p": partial(LocalPAttention, window=2),
}


# This file's models are float64 (it compares with references at float64's precision).
_model = partial(transformer_model, dtype=torch.float64)


def _step_by_step(model, src, src_len, tgt_in):
    """Logits `(B, T, V)` and weights `(B, T, S)` | None, one protocol step at a time."""
    memory, state = model.start(src, src_len)
    logits, weights = [], []
    for t in range(tgt_in.shape[1]):
        step_logits, w, state = model.step(memory, state, tgt_in[:, t : t + 1])
        logits.append(step_logits)
        weights.append(w)
    return torch.stack(logits, 1), None if weights[0] is None else torch.stack(weights, 1)


@torch.no_grad()
def _greedy(model, src, src_len, max_len=12):
    """A tiny protocol greedy loop: finished sentences leave the batch (`select`,
    `reorder`), as batched search drops them. Returns one token list per sentence."""
    memory, state = model.start(src, src_len)
    out = [[] for _ in range(src.shape[0])]
    live = torch.arange(src.shape[0])
    y = src.new_full((src.shape[0], 1), model.bos_id)
    for _ in range(max_len):
        logits, _, state = model.step(memory, state, y)
        y = logits.argmax(-1, keepdim=True)  # (b, 1)
        for row, token in zip(live.tolist(), y[:, 0].tolist(), strict=True):
            out[row].append(token)
        keep = (y[:, 0] != model.eos_id).nonzero()[:, 0]
        if not keep.numel():
            break
        memory, state = model.select(memory, keep), model.reorder(state, keep)
        live, y = live[keep], y[keep]
    return out


# --- one multi-head attention against torch's ------------------------------------------


def _copy_from(reference: nn.MultiheadAttention, mha: MultiHeadAttention) -> None:
    H = reference.embed_dim
    with torch.no_grad():
        for i, linear in enumerate((mha.W_q, mha.W_k, mha.W_v)):
            linear.weight.copy_(reference.in_proj_weight[i * H : (i + 1) * H])
            linear.bias.copy_(reference.in_proj_bias[i * H : (i + 1) * H])
        mha.W_o.weight.copy_(reference.out_proj.weight)
        mha.W_o.bias.copy_(reference.out_proj.bias)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("fused", [False, True])
def test_scaled_dot_multihead_equals_torch(fused, causal):
    torch.manual_seed(0)
    B, T, S, H, n = 3, 5, 5 if causal else 7, 16, 4
    reference = nn.MultiheadAttention(H, n, batch_first=True).double().eval()
    mha = MultiHeadAttention(H, n, "scaled_dot", fused=fused).double().eval()
    _copy_from(reference, mha)
    x, memory = torch.randn(B, T, H).double(), torch.randn(B, S, H).double()
    kv = x if causal else memory
    mask = torch.arange(S)[None] < torch.tensor([S, 4, 1])[:, None]  # (B, S)
    if causal:  # a decoder's target: no padding mask, the future masked
        expected, expected_w = reference(x, x, x, attn_mask=~causal_mask(T, x.device))
        out, _ = mha(x, mha.keys(x), None, causal=True)
        _, weights = mha(x, mha.keys(x), None, causal=True, need_weights=True)
    else:
        expected, expected_w = reference(x, memory, memory, key_padding_mask=~mask)
        out, _ = mha(x, mha.keys(kv), mask)
        _, weights = mha(x, mha.keys(kv), mask, need_weights=True)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(weights.mean(1), expected_w)  # nn.MultiheadAttention averages

    # F.scaled_dot_product_attention on the same projections, heads apart
    def split(y):
        return y.unflatten(-1, (n, H // n)).transpose(1, 2)

    q, k, v = split(mha.W_q(x)), split(mha.W_k(kv)), split(mha.W_v(kv))
    context = F.scaled_dot_product_attention(
        q, k, v, attn_mask=None if causal else mask[:, None, None, :], is_causal=causal
    )
    torch.testing.assert_close(out, mha.W_o(context.transpose(1, 2).flatten(2)))


@pytest.mark.parametrize("attention", ["scaled_dot", "dot", "user", "local_p"])
def test_future_positions_get_exactly_zero_weight(attention):
    torch.manual_seed(0)
    mha = MultiHeadAttention(16, 4, OPTIONS[attention]).double()
    x = torch.randn(2, 6, 16).double()
    _, weights = mha(x, mha.keys(x), None, causal=True, need_weights=True)  # (B, n, T, T)
    future = ~causal_mask(6, x.device)
    assert (weights[..., future] == 0).all()
    assert (weights[..., ~future] > 0).any()


@pytest.mark.parametrize("attention", ["additive", "multiplicative", "local_p"])
def test_the_causal_path_hands_the_keys_over_once_not_once_per_query(attention):
    # The score sees (B·n, T, d) queries and (B·n, T, ·) keys with a (B·n, T, T) mask:
    # no (B·n·T, T, d) copy of the keys, which the per-row mask contract once needed.
    torch.manual_seed(0)
    B, T, H, n = 2, 6, 16, 4
    mha = MultiHeadAttention(H, n, OPTIONS[attention]).double()
    seen = []
    score = mha.attention.score
    mha.attention.score = lambda q, p: seen.append((q.shape, p.shape)) or score(q, p)
    x = torch.randn(B, T, H).double()
    mha(x, mha.keys(x), None, causal=True)
    ((query, prepared),) = seen
    assert query[:2] == (B * n, T) and prepared[:2] == (B * n, T)


@pytest.mark.parametrize("attention", [o for o in OPTIONS if o != "none"])
def test_padding_gets_exactly_zero_weight(attention):
    model = _model(OPTIONS[attention], align_layer=1)
    src, src_len, tgt_in = _batch()
    _, weights = model(src, src_len, tgt_in)  # (B, T, S)
    _, step_weights = _step_by_step(model, src, src_len, tgt_in)
    padding = (src == 0)[:, None, :].expand_as(weights)
    for w in (weights, step_weights):
        assert (w[padding] == 0).all()
    if attention != "local_p":  # local-p's Gaussian leaves rows summing below 1
        torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights[..., 0]))


# --- teacher forcing, decoding, the protocol -------------------------------------------


@pytest.mark.parametrize(
    "attention, norm, fused",
    [(option, "pre", False) for option in OPTIONS]
    + [("scaled_dot", "pre", True), ("scaled_dot", "post", True), ("additive", "post", False)],
)
def test_teacher_forcing_equals_step_by_step(attention, norm, fused):
    model = _model(OPTIONS[attention], norm=norm, fused=fused, align_layer=1)
    src, src_len, tgt_in = _batch()
    logits, weights = model(src, src_len, tgt_in)
    step_logits, step_weights = _step_by_step(model, src, src_len, tgt_in)
    torch.testing.assert_close(step_logits, logits)
    if attention == "none":
        assert weights is None and step_weights is None
    else:
        torch.testing.assert_close(step_weights, weights)


@pytest.mark.parametrize("self_attention", list(OPTIONS))
def test_every_self_attention_decodes_as_it_trains(self_attention):
    model = _model("dot", self_attention=OPTIONS[self_attention])
    src, src_len, tgt_in = _batch()
    logits, weights = model(src, src_len, tgt_in)
    step_logits, step_weights = _step_by_step(model, src, src_len, tgt_in)
    torch.testing.assert_close(step_logits, logits)
    torch.testing.assert_close(step_weights, weights)


def test_fused_equals_explicit_in_float32():
    explicit = _model(fused=False, dtype=torch.float32)
    fused = _model(fused=True, dtype=torch.float32)
    fused.load_state_dict(explicit.state_dict())
    src, src_len, tgt_in = _batch()
    torch.testing.assert_close(fused(src, src_len, tgt_in), explicit(src, src_len, tgt_in))


# An EOS bias per option that ends some sentences early and not others.
@pytest.mark.parametrize(
    "attention, eos_bias", [("none", 1.0), ("scaled_dot", 3.0), ("additive", 3.0)]
)
def test_a_batch_decodes_as_its_sentences_alone(attention, eos_bias):
    """Padding changes nothing (encoder, cross-attention), and sentences leaving the
    batch (select/reorder) leave the others as they were."""
    model = _model(attention)
    with torch.no_grad():  # larger weights: outputs that differ between sentences
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(3)
        model.W_o.bias[model.eos_id] += eos_bias
    src, src_len, _ = _batch()
    batched = _greedy(model, src, src_len)
    for b in range(src.shape[0]):
        alone = src[b : b + 1, : int(src_len[b])]
        assert _greedy(model, alone, src_len[b : b + 1]) == [batched[b]]
    lengths = [len(h) for h in batched]
    assert min(lengths) < max(lengths) and max(lengths) > 1  # some did leave early


def test_reorder_and_select_move_rows():
    model = _model("additive")
    src, src_len, tgt_in = _batch()
    memory, state = model.start(src, src_len)
    for t in range(3):
        _, _, state = model.step(memory, state, tgt_in[:, t : t + 1])
    rows = torch.tensor([2, 0, 0, 3])
    logits, weights, _ = model.step(memory, state, tgt_in[:, 3:4])
    moved, moved_w, _ = model.step(
        model.select(memory, rows), model.reorder(state, rows), tgt_in[rows, 3:4]
    )
    torch.testing.assert_close(moved, logits[rows])
    torch.testing.assert_close(moved_w, weights[rows])


def test_none_gives_every_position_the_mean_of_the_encoder_outputs():
    model = _model("none")
    src, src_len, _ = _batch()
    memory, _ = model.start(src, src_len)
    cross = model.decoder[0].cross_attention
    x = torch.randn(4, 5, 16).double()
    out, weights = cross(x, memory.cross[0], memory.mask)
    real = memory.mask[..., None].double()  # (B, S, 1)
    mean = (memory.states * real).sum(1) / real.sum(1)  # (B, H): over real tokens only
    expected = cross.W_o(cross.W_v(mean))[:, None, :].expand_as(out)
    assert weights is None
    torch.testing.assert_close(out, expected)
    assert cross.W_q is None and cross.W_k is None  # no cross-attention to speak of


def test_align_layer_chooses_the_weights():
    src, src_len, tgt_in = _batch()
    w0 = _model("dot", align_layer=0)(src, src_len, tgt_in)[1]
    w1 = _model("dot", align_layer=1)(src, src_len, tgt_in)[1]
    last = _model("dot", align_layer=-1)(src, src_len, tgt_in)[1]
    assert not torch.allclose(w0, w1)
    torch.testing.assert_close(last, w1)


def test_sinusoid_is_the_papers():
    pe = sinusoid(torch.arange(50), 16)
    pos, i = 37, 5  # odd index: cos(pos / 10000^(2·2/16))
    assert pe[pos, i].item() == pytest.approx(
        torch.cos(torch.tensor(pos / 10000 ** (4 / 16))).item()
    )
    assert pe[pos, 4].item() == pytest.approx(
        torch.sin(torch.tensor(pos / 10000 ** (4 / 16))).item()
    )


def test_config_rebuilds_the_model():
    """As `ablate.translate` rebuilds a checkpoint's model: its class from `_target_`."""
    from ablate.translate import build_model

    model = _model(OPTIONS["local_p"], self_attention="additive", norm="post")
    rebuilt = build_model(model.config.record()).double().eval()
    assert isinstance(rebuilt, Transformer)
    rebuilt.load_state_dict(model.state_dict())
    src, src_len, tgt_in = _batch()
    torch.testing.assert_close(rebuilt(src, src_len, tgt_in), model(src, src_len, tgt_in))


@pytest.mark.parametrize("attention", ["none", "scaled_dot", "additive", "user"])
def test_greedy_is_one_beam_and_a_batched_beam_is_its_sentences_alone(attention):
    """Through `ablate.models.search`, the search a run decodes with: beam 1 gives
    greedy's tokens and weights, and a batched beam of 3 gives every sentence what the
    plain one-sentence beam of `tests/test_beam.py` gives it."""
    from test_beam import _simple_beam

    model = _model(OPTIONS[attention])
    with torch.no_grad():  # larger weights: outputs that differ between sentences
        for p in model.parameters():
            if p.dim() == 2:
                p.mul_(3)
        model.W_o.bias[model.eos_id] += 3.0
    src, src_len, _ = _batch()
    tokens, weights = search.greedy(model, src, src_len, max_len=12)
    beam_tokens, beam_weights = search.beam_search(model, src, src_len, 1, max_len=12)
    assert torch.equal(beam_tokens, tokens)
    if weights is None:
        assert beam_weights is None
    else:
        torch.testing.assert_close(beam_weights, weights)
    tokens, _ = search.beam_search(model, src, src_len, beam_size=3, max_len=12)
    lengths = set()
    for b in range(src.shape[0]):
        expected = _simple_beam(model, src[b, : int(src_len[b])], 3, 12, 1.0)
        assert tokens[b].tolist() == expected + [model.pad_id] * (tokens.shape[1] - len(expected))
        lengths.add(len(expected))
    assert len(lengths) > 1  # sentences left the batch at different steps


# --- every option trains; bad settings ---------------------------------------------------


@pytest.mark.parametrize("where", ["attention", "self_attention"])
@pytest.mark.parametrize("option", list(OPTIONS))
def test_every_option_takes_a_training_step(option, where):
    kwargs = {where: OPTIONS[option]} | ({"attention": "dot"} if where == "self_attention" else {})
    model = _model(dtype=torch.float32, dropout=0.1, **kwargs).train()
    src, src_len, tgt_in = _batch()
    logits, _ = model(src, src_len, tgt_in)
    loss = F.cross_entropy(logits.flatten(0, 1), tgt_in.roll(-1, 1).flatten(), ignore_index=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    optimizer.step()
    assert torch.isfinite(model(src, src_len, tgt_in)[0]).all()


def test_the_config_builds_it():
    """`model=transformer` as the entry point builds it: sizes from the data, attention
    from the top level, a self-attention option by name."""
    from hydra.utils import instantiate

    from ablate import options

    from conftest import compose

    cfg = compose(["model=transformer", "attention=additive", "model.self_attention=dot"])
    attention = options.build(cfg.attention, "attention", "additive")
    config = instantiate(cfg.model)(src_vocab_size=V_SRC, tgt_vocab_size=V_TGT, attention=attention)
    assert isinstance(config, TransformerConfig)
    model = config.build()
    assert isinstance(model, Transformer) and model.config is config
    record = config.record()
    assert record["attention"]["_target_"] == "ablate.models.attention.AdditiveAttention"
    assert record["self_attention"] == "dot"
    src, src_len, tgt_in = _batch()
    assert model(src, src_len, tgt_in)[0].shape == (4, 7, V_TGT)
