"""Luong et al. 2015's remaining variants, on the public `Attention` API: `location` and
`local_p` equal their formulas step by step, pass gradcheck, keep padding at exactly 0;
they, input feeding and Bahdanau's decoder train and test in a smoke run; `--help` and
`+experiment=luong` know them. (Teacher forcing vs decoding steps for the step-wise
decoders: tests/test_rnn.py and tests/test_beam.py.)"""

import math
import re
import sys

import pytest
import torch
from omegaconf import OmegaConf
from torch.func import functional_call

from ablate import cli
from ablate.models.attention import AttentionError, build_attention
from ablate.models.luong import LocalPAttention, LocationAttention
from ablate.train import run

from conftest import CONF, TINY, compose

B, T, S, H = 3, 5, 7, 8
WINDOW = 2  # narrower than the sentences, so that the window cuts


def _inputs(seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    query = torch.randn(B, T, H, generator=g, dtype=dtype)
    keys = torch.randn(B, S, H, generator=g, dtype=dtype)
    lengths = torch.tensor([S, 4, 1])
    mask = torch.arange(S)[None, :] < lengths[:, None]  # (B, S)
    return query, keys, mask, torch.randn(B, H, generator=g, dtype=dtype)


def _attention(name, dtype=torch.float32):
    torch.manual_seed(0)
    cls = {"location": LocationAttention, "local_p": LocalPAttention}[name]
    factory = cls if name == "location" else (lambda hidden: cls(hidden, window=WINDOW))
    return build_attention(factory, H).to(dtype)


def _reference_weights(name, att, s, keys, n):
    """The weights of one query `s` (H,) over a sentence's `n` real keys, from the paper."""
    if name == "location":  # Eq. 8
        return torch.softmax(att.W_a.weight[:n] @ s, 0)
    # Eq. 9: p = n σ(v_pᵀ tanh(W_p s)); Eq. 10: the softmax over the window × a Gaussian
    p = n * torch.sigmoid(att.v_p.weight[0] @ torch.tanh(att.W_p.weight @ s))
    scores = torch.stack([s @ (att.W.weight @ keys[i]) for i in range(n)])
    i = torch.arange(n, dtype=s.dtype)
    inside = (i - p).abs() <= WINDOW
    align = torch.zeros(n, dtype=s.dtype)
    align[inside] = torch.softmax(scores[inside], 0)
    sigma = WINDOW / 2
    return align * torch.exp(-((i - p) ** 2) / (2 * sigma**2))


@pytest.mark.parametrize("name", ["location", "local_p"])
def test_weights_and_context_equal_the_formulas_step_by_step(name):
    att = _attention(name, torch.float64)
    query, keys, mask, _ = _inputs(1, torch.float64)
    context, weights = att(query, keys, mask)
    for b in range(B):
        n = int(mask[b].sum())
        for t in range(T):
            alpha = _reference_weights(name, att, query[b, t], keys[b], n)
            torch.testing.assert_close(weights[b, t, :n], alpha)
            torch.testing.assert_close(context[b, t], alpha @ keys[b, :n])
            c_t, w_t = att(query[b : b + 1, t : t + 1], keys[b : b + 1, :n], mask[b : b + 1, :n])
            torch.testing.assert_close(w_t[0, 0], alpha)  # one step, one sentence alone
            torch.testing.assert_close(c_t[0, 0], context[b, t])


def test_location_weights_are_a_distribution_and_exactly_zero_on_padding():
    att = _attention("location")
    query, keys, mask, _ = _inputs(2)
    keys = keys.masked_fill(~mask[..., None], 1e4)  # padding with huge values must not leak
    context, weights = att(query, keys, mask)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, T))
    assert (weights.masked_select(~mask[:, None, :].expand(B, T, S)) == 0).all()
    assert (weights >= 0).all() and context.abs().max() < 1e3


def test_local_p_weights_are_zero_on_padding_and_outside_the_window():
    """Eq. 10 does not renormalise: the in-window softmax sums to 1, the weights (it
    times the Gaussian) to less."""
    att = _attention("local_p")
    query, keys, mask, _ = _inputs(3)
    keys = keys.masked_fill(~mask[..., None], 1e4)
    context, weights = att(query, keys, mask)
    assert (weights.masked_select(~mask[:, None, :].expand(B, T, S)) == 0).all()
    assert context.abs().max() < 1e3
    distance = torch.arange(S) - att.position(query, mask)[..., None]  # (B, T, S)
    inside = distance.abs() <= WINDOW
    assert (weights[~inside] == 0).all() and (weights >= 0).all()
    assert (weights.sum(-1) <= 1).all() and (weights.sum(-1) > 0).all()
    gaussian = torch.exp(-distance.square() / (2 * (WINDOW / 2) ** 2))
    torch.testing.assert_close((weights / gaussian).sum(-1), torch.ones(B, T))
    p = att.position(query, mask)  # in (0, S_b): the sentence's real length
    assert (p > 0).all() and (p < mask.sum(-1)[:, None]).all()


@pytest.mark.parametrize("name", ["location", "local_p"])
def test_gradcheck_in_float64(name):
    """Gradients of the context and the weights for queries, keys and every parameter
    (local_p's W_p and v_p learn through the Gaussian around p_t)."""
    att = _attention(name, torch.float64)
    query, keys, mask, _ = _inputs(4, torch.float64)
    query, keys = query[:2, :3], keys[:2, :5]  # tiny: B=2, T=3, S=5; lengths 5 and 4
    mask = mask[:2, :5]
    names = [n for n, _ in att.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in att.parameters()]

    def f(q, k, *ps):
        return functional_call(att, dict(zip(names, ps, strict=True)), (q, k, mask))

    inputs = (query.requires_grad_(), keys.requires_grad_(), *params)
    assert torch.autograd.gradcheck(f, inputs)


def test_location_names_max_len_when_a_source_is_longer():
    att = build_attention(lambda hidden: LocationAttention(hidden, max_len=4), H)
    query, keys, mask, final = _inputs()
    with pytest.raises(ValueError, match=r"attention\.max_len=4 .* sources of 7 tokens"):
        att(query, keys, mask)


@pytest.mark.parametrize(
    ("cls", "bad"), [(LocationAttention, dict(max_len=0)), (LocalPAttention, dict(window=1.5))]
)
def test_bad_parameters_name_their_key(cls, bad):
    (key,) = bad
    with pytest.raises(AttentionError, match=rf"attention\.{key} must be a positive integer"):
        cls(H, **bad)


@pytest.mark.parametrize(
    "overrides",
    [
        ["model.input_feeding=true"],
        ["model.decoder=bahdanau"],
        ["attention=local_p", "model.input_feeding=true", "model.rnn=lstm"],
    ],
    ids=" ".join,
)
def test_stepwise_decoders_train_and_test_in_a_smoke_run(tmp_path, no_png, overrides):
    """`attention=location` and `attention=local_p` alone: tests/test_run.py, which runs
    every option of every group."""
    cfg = compose([*TINY, "logger=none", *overrides])
    results = run(cfg, tmp_path / "run", choices={})
    assert results.status == "complete" and results.train["steps"] == 2
    assert math.isfinite(results.scores.bleu) and results.scores.alignment is not None


def test_help_lists_the_new_options_and_keys(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["ablate", "--help"])
    with pytest.raises(SystemExit) as exit_:
        cli.entry()
    assert not exit_.value.code
    text = capsys.readouterr().out
    groups = dict(line.split(": ", 1) for line in text.splitlines() if re.match(r"^\w+: ", line))
    assert {"location", "local_p"} <= set(groups["attention"].split(", "))
    assert "luong" in groups["experiment"].split(", ")
    for key in ("decoder: luong", "input_feeding: false"):
        assert key in text


def test_the_luong_experiment_sweeps_four_attentions_with_and_without_input_feeding():
    lines = (CONF / "experiment" / "luong.yaml").read_text().splitlines()
    assert lines[:2] == ["# @package _global_", "# python -m ablate +experiment=luong"]
    assert any("dataset=multi30k dataset.path=" in line for line in lines)
    hydra = OmegaConf.load(CONF / "experiment" / "luong.yaml").hydra
    assert hydra.mode == "MULTIRUN"
    assert dict(hydra.sweeper.params) == {
        "attention": "dot,multiplicative,location,local_p",
        "model.input_feeding": "false,true",
    }
    cfg = compose(["+experiment=luong", "attention=location"])  # one of its jobs
    assert cfg.model.decoder == "luong" and cfg.dataset.max_len <= cfg.attention.max_len
