"""Both families keep the decoder-step protocol (`ablate.models.protocol.StepDecoder`)
that search drives: what a step returns and its shapes, weights that are a distribution
over the real source tokens, steps that equal the teacher-forced pass, and `reorder` /
`select` that move rows as indexing would."""

import pytest
import torch

from ablate.models.protocol import StepDecoder

from conftest import V_TGT
from conftest import token_batch as _batch
from models import rnn_model, transformer_model

# Each family and the decoders that step differently (float64: steps and the batched pass
# must agree to rounding).
MODELS = {
    "rnn-luong": lambda a: rnn_model(a, layers=2).double(),
    "rnn-lstm-input-feeding": lambda a: rnn_model(a, rnn="lstm", input_feeding=True).double(),
    "rnn-bahdanau": lambda a: rnn_model(a, decoder="bahdanau").double(),
    "transformer": lambda a: transformer_model(a, dtype=torch.float64),
}


def _steps(model, memory, state, tgt_in):
    """Every step's logits `(B, T, V)` and weights `(B, T, S)` (None without), fed the
    teacher's tokens, and the last state."""
    logits, weights = [], []
    for t in range(tgt_in.shape[1]):
        step_logits, step_weights, state = model.step(memory, state, tgt_in[:, t : t + 1])
        logits.append(step_logits)
        weights.append(step_weights)
    if weights[0] is None:
        assert all(w is None for w in weights)
        return torch.stack(logits, 1), None, state
    return torch.stack(logits, 1), torch.stack(weights, 1), state


@pytest.mark.parametrize("attention", ["dot", "additive", "none"])
@pytest.mark.parametrize("family", MODELS)
def test_steps_equal_the_teacher_forced_pass_with_masked_distributions(family, attention):
    model = MODELS[family](attention)
    assert isinstance(model, StepDecoder)
    config = model.config
    assert (model.pad_id, model.bos_id, model.eos_id) == (
        config.pad_id,
        config.bos_id,
        config.eos_id,
    )
    assert model.vocab_size == config.tgt_vocab_size == V_TGT
    src, src_len, tgt_in = _batch()
    B, S = src.shape
    with torch.no_grad():
        forced, forced_weights = model(src, src_len, tgt_in)
        logits, weights, _ = _steps(model, *model.start(src, src_len), tgt_in)
    assert logits.shape == (B, tgt_in.shape[1], V_TGT)
    torch.testing.assert_close(logits, forced, rtol=1e-9, atol=1e-10)
    assert (weights is None) == (attention == "none") == (forced_weights is None)
    if weights is None:
        return
    torch.testing.assert_close(weights, forced_weights, rtol=1e-9, atol=1e-10)
    padding = (src == model.pad_id)[:, None, :].expand_as(weights)  # (B, T, S)
    assert (weights[padding] == 0).all()  # exactly: the mask, not a small number
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, tgt_in.shape[1]).double())


@pytest.mark.parametrize("family", MODELS)
def test_reorder_and_select_move_rows_as_indexing_does(family):
    """After two steps, the rows `[2, 0, 0, 3]` (a repeated and a dropped one, as beams
    give) step as those rows of the whole batch do."""
    model = MODELS[family]("dot")
    src, src_len, tgt_in = _batch()
    rows = torch.tensor([2, 0, 0, 3])
    with torch.no_grad():
        memory, state = model.start(src, src_len)
        _, _, state = _steps(model, memory, state, tgt_in[:, :2])
        logits, weights, _ = model.step(memory, state, tgt_in[:, 2:3])
        moved = model.step(
            model.select(memory, rows), model.reorder(state, rows), tgt_in[rows, 2:3]
        )
    torch.testing.assert_close(moved[0], logits[rows], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(moved[1], weights[rows], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("family", MODELS)
def test_a_pass_without_weights_gives_the_same_logits_and_no_weights(family):
    """`need_weights=False` (training: the loss reads no weights, so the Transformer's
    alignment layer may take the fused kernel) changes nothing but the weights."""
    model = MODELS[family]("scaled_dot")
    src, src_len, tgt_in = _batch()
    with torch.no_grad():
        logits, weights = model(src, src_len, tgt_in)
        bare, none = model(src, src_len, tgt_in, need_weights=False)
    assert weights is not None and none is None
    torch.testing.assert_close(bare, logits, rtol=1e-9, atol=1e-10)
