"""The attention modules: batched scores equal a per-step loop, weights are a proper
distribution over real source tokens, and `none` is a fixed context."""

import math

import pytest
import torch

from ablate.models.attention import ATTENTION_CHOICES, Attention, FixedContext, build_attention

SCORES = [a for a in ATTENTION_CHOICES if a != "none"]
B, T, S, H = 3, 5, 7, 8


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    query = torch.randn(B, T, H, generator=g)
    keys = torch.randn(B, S, H, generator=g)
    lengths = torch.tensor([S, 4, 1])
    mask = torch.arange(S)[None, :] < lengths[:, None]  # (B, S)
    final = torch.randn(B, H, generator=g)
    return query, keys, mask, final


def _reference_score(name, att, s, h):
    """One query vector s (H,) against one key h (H,), straight from the formulas."""
    if name == "dot":
        return s @ h
    if name == "scaled_dot":
        return s @ h / math.sqrt(H)
    if name == "multiplicative":
        return s @ (att.W.weight @ h)
    if name == "additive":
        return att.v.weight[0] @ torch.tanh(att.W_s.weight @ s + att.W_h.weight @ h + att.W_h.bias)
    raise AssertionError(name)


@pytest.mark.parametrize("name", SCORES)
def test_batched_equals_per_step_loop(name):
    torch.manual_seed(0)
    att = build_attention(name, H)
    query, keys, mask, final = _inputs()
    context, weights = att(query, keys, mask)
    for b in range(B):
        n = int(mask[b].sum())
        for t in range(T):
            scores = torch.stack(
                [_reference_score(name, att, query[b, t], keys[b, i]) for i in range(n)]
            )
            alpha = torch.softmax(scores, dim=0)
            c = (alpha[:, None] * keys[b, :n]).sum(0)
            torch.testing.assert_close(weights[b, t, :n], alpha, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(context[b, t], c, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", SCORES)
def test_scores_and_their_gradients_equal_the_formulas(name):
    """`score` itself (not only the softmax of it) is the formula, and so are its
    gradients. (The CPU form of additive's: tests/test_cpu.py.)"""
    torch.manual_seed(0)
    att = build_attention(name, H).double()
    query, keys, _, _ = _inputs(4)
    query, keys = query.double().requires_grad_(), keys.double().requires_grad_()
    ours = att.score(query, att.prepare(keys))  # (B, T, S)
    formula = torch.stack(
        [
            torch.stack(
                [
                    torch.stack(
                        [_reference_score(name, att, query[b, t], keys[b, i]) for i in range(S)]
                    )
                    for t in range(T)
                ]
            )
            for b in range(B)
        ]
    )
    torch.testing.assert_close(ours, formula, rtol=1e-10, atol=1e-12)
    upstream = torch.randn(B, T, S, dtype=torch.double, generator=torch.Generator().manual_seed(5))
    inputs = [query, keys, *att.parameters()]
    for g, r in zip(
        torch.autograd.grad(ours, inputs, upstream),
        torch.autograd.grad(formula, inputs, upstream),
        strict=True,
    ):
        torch.testing.assert_close(g, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", SCORES)
def test_one_step_at_a_time_equals_all_steps(name):
    att = build_attention(name, H)
    query, keys, mask, _ = _inputs(1)
    context, weights = att(query, keys, mask)
    for t in range(T):
        c_t, w_t = att(query[:, t : t + 1], keys, mask)
        torch.testing.assert_close(c_t[:, 0], context[:, t])
        torch.testing.assert_close(w_t[:, 0], weights[:, t])


@pytest.mark.parametrize("name", SCORES)
def test_weights_are_a_distribution_and_exactly_zero_on_padding(name):
    att = build_attention(name, H)
    query, keys, mask, _ = _inputs(2)
    keys = keys.masked_fill(~mask[..., None], 1e4)  # padding with huge values must not leak
    _, weights = att(query, keys, mask)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, T))
    assert (weights.masked_select(~mask[:, None, :].expand(B, T, S)) == 0).all()
    assert (weights >= 0).all()


def test_none_gives_the_same_context_at_every_step():
    att = build_attention("none", H)
    assert isinstance(att, FixedContext) and not isinstance(att, Attention)  # compares nothing
    query, _, _, final = _inputs(3)
    context, weights = att(query, final)
    assert weights is None
    assert context.shape == (B, T, H)
    for t in range(T):
        torch.testing.assert_close(context[:, t], final)


@pytest.mark.parametrize("name", SCORES)
def test_a_mask_per_query_equals_the_same_queries_one_by_one(name):
    # The contract's mask broadcasts to (B, T, S): a (B, T, S) mask (here each query its
    # own random prefix of the keys) gives, per query, what that query alone with a
    # (B, S) mask gives.
    torch.manual_seed(0)
    att = build_attention(name, H)
    query, keys, mask, _ = _inputs(5)
    g = torch.Generator().manual_seed(5)
    upto = torch.randint(1, S + 1, (B, T), generator=g)  # (B, T)
    per_query = (torch.arange(S)[None, None, :] < upto[..., None]) & mask[:, None, :]
    per_query[..., 0] = True  # every query sees a key
    context, weights = att(query, keys, per_query)
    for t in range(T):
        c_t, w_t = att(query[:, t : t + 1], keys, per_query[:, t])
        torch.testing.assert_close(c_t[:, 0], context[:, t])
        torch.testing.assert_close(w_t[:, 0], weights[:, t])
    assert (weights.masked_select(~per_query) == 0).all()


def test_unknown_attention_names_the_valid_choices():
    with pytest.raises(ValueError, match="additive.*multiplicative|choose one of"):
        build_attention("cosine", H)
