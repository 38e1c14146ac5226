"""Beam search: one beam is greedy decoding exactly, the batched search equals a plain
per-sentence loop and an exhaustive search, and its weights are those of teacher forcing;
so too for the decoders that carry more than the RNN state (input feeding) or attend
before the RNN step (Bahdanau's). Search drives the model through the decoder-step
protocol alone, and `search` and `rnn` import neither each other."""

import ast
import copy
import functools
import itertools
import math
from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from ablate.models import rnn, search
from ablate.models.attention import ATTENTION_CHOICES
from ablate.models.cpu import speed_up
from ablate.models.protocol import StepDecoder
from ablate.models.search import beam_search, check_decoding, decode, greedy

from models import rnn_model

V_SRC, V_TGT = 20, 12
# This file's models: E = 8, H = 16 (what the beam examples below were chosen at).
SIZES = dict(src_vocab_size=V_SRC, embed=8, hidden=16)
PAD, BOS, EOS = 0, 2, 3
# The decoders that teacher-force one step at a time, as `RNNConfig` keyword arguments.
STEPWISE = {"input_feeding": dict(input_feeding=True), "bahdanau": dict(decoder="bahdanau")}


pytestmark = pytest.mark.usefixtures("one_thread")


def _readable(model):
    """Never PAD, UNK or BOS (30 nats down), so an output's length is its count of
    non-pad tokens."""
    with torch.no_grad():
        model.decoder.W_o.bias[[PAD, 1, BOS]] = -30.0
    return model.eval()


def _model(attention, rnn="gru", eos_bias=0.0, tgt_vocab=V_TGT):
    """An untrained tiny model."""
    model = rnn_model(attention, tgt_vocab_size=tgt_vocab, rnn=rnn, eval=False, **SIZES)
    with torch.no_grad():
        model.decoder.W_o.bias[EOS] += eos_bias
    return _readable(model)


@functools.cache
def _trained_once(attention, rnn, decoder=()):
    settings = SIZES | dict(decoder)
    model = rnn_model(attention, tgt_vocab_size=V_TGT, rnn=rnn, eval=False, **settings)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    g = torch.Generator().manual_seed(0)
    for _ in range(40):
        src_len = torch.randint(1, 9, (32,), generator=g)
        positions = torch.arange(9)[None]  # (1, S + 1)
        src = torch.randint(4, V_SRC, (32, 9), generator=g)
        tgt = torch.where(positions < src_len[:, None], 4 + src % (V_TGT - 4), PAD)
        tgt[torch.arange(32), src_len] = EOS
        src = src[:, :8].masked_fill(positions[:, :8] >= src_len[:, None], PAD)
        tgt_in = torch.cat([torch.full((32, 1), BOS), tgt[:, :-1]], 1)
        logits, _ = model(src, src_len, tgt_in)
        loss = F.cross_entropy(logits.flatten(0, 1), tgt.flatten(), ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return _readable(model)


def _trained(attention, rnn="gru", **decoder):
    """A tiny model trained for a few steps to copy a map of its source, so that its
    sentences end at different steps as real outputs do (a fresh copy per call)."""
    return copy.deepcopy(_trained_once(attention, rnn, tuple(sorted(decoder.items()))))


def _batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    src_len = torch.tensor([9, 5, 1, 7, 3, 8, 2, 6])
    src = torch.randint(4, V_SRC, (8, 9), generator=g)
    return src.masked_fill(torch.arange(9)[None] >= src_len[:, None], PAD), src_len


def _lengths(tokens):
    return (tokens != PAD).sum(1).tolist()


def _log_prob(model, src, seq):
    """log p(seq + EOS | src) by teacher forcing one unpadded sentence `src` `(S,)`."""
    tgt_in = torch.tensor([[BOS, *seq]])
    logits, _ = model(src[None], torch.tensor([len(src)]), tgt_in)  # (1, T, V)
    logp = torch.log_softmax(logits[0], -1)  # (T, V)
    return float(logp[torch.arange(len(seq) + 1), torch.tensor([*seq, EOS])].sum())


@torch.no_grad()
def _simple_beam(model, src, K, max_len, length_penalty):
    """The search of `search.beam_search` written plainly: one sentence, a list of beams,
    one protocol step per beam, every candidate in a Python list."""
    memory, state = model.start(src[None], torch.tensor([len(src)]))
    beams = [(torch.tensor(0.0), [], state)]  # (log-prob sum, tokens, decoder state)
    ended = []  # (normalised score, tokens)
    for t in range(max_len):
        candidates = []
        for score, tokens, state in beams:
            y = torch.tensor([[tokens[-1] if tokens else BOS]])
            logits, _, state = model.step(memory, state, y)
            logp = torch.log_softmax(logits[0], -1)  # (V,)
            candidates += [(score + logp[v], tokens, v, state) for v in range(len(logp))]
        candidates.sort(key=lambda cand: -cand[0])  # stable: ties keep beam, then id order
        beams = []
        for r, (score, tokens, v, state) in enumerate(candidates[: 2 * K]):
            if v == EOS:
                if r < K:
                    ended.append((score / (t + 1) ** length_penalty, tokens))
            elif len(beams) < K:
                beams.append((score, tokens + [v], state))
        if len(ended) >= K:
            break
    if ended:
        return max(ended, key=lambda e: e[0])[1]
    return beams[0][1]


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "speed_up"])
@pytest.mark.parametrize("rnn", ["gru", pytest.param("lstm", marks=pytest.mark.slow)])
@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
def test_one_beam_is_greedy_exactly(attention, rnn, fast):  # the LSTM's: the slow tier
    """On the plain model and on the CPU paths a run decodes with (`speed_up`)."""
    src, src_len = _batch()
    model = _trained(attention, rnn)
    if fast:
        speed_up(model)
    # Sentences end at different steps (so finished ones are dropped mid-way), and with
    # a cap of 4 some stop at the cap.
    assert len(set(_lengths(greedy(model, src, src_len)[0]))) > 2
    for max_len in [None, 4]:
        tokens, weights = greedy(model, src, src_len, max_len)
        beam_tokens, beam_weights = beam_search(model, src, src_len, 1, max_len)
        assert torch.equal(beam_tokens, tokens)
        if attention == "none":
            assert weights is None and beam_weights is None
        else:
            assert torch.equal(beam_weights, weights)
    # An untrained model too: it tends to repeat one word up to the cap.
    model = speed_up(_model(attention, rnn)) if fast else _model(attention, rnn)
    tokens, weights = greedy(model, src, src_len)
    beam_tokens, beam_weights = beam_search(model, src, src_len, 1)
    assert torch.equal(beam_tokens, tokens)
    assert attention == "none" or torch.equal(beam_weights, weights)


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("decoder", STEPWISE)
def test_stepwise_greedy_is_one_beam_and_the_argmax_of_teacher_forcing(decoder, rnn):
    """Batched greedy decoding (rows dropped as they end, the decoder state with them)
    emits, sentence by sentence, the argmax of the teacher-forced logits on its own
    prefix, with the teacher-forced weights; one beam emits the same."""
    src, src_len = _batch()
    model = _trained("multiplicative", rnn, **STEPWISE[decoder])
    tokens, weights = greedy(model, src, src_len, max_len=12)
    lengths = _lengths(tokens)
    assert len(set(lengths)) > 2
    beam_tokens, beam_weights = beam_search(model, src, src_len, 1, max_len=12)
    assert torch.equal(beam_tokens, tokens) and torch.equal(beam_weights, weights)
    for b, length in enumerate(lengths):
        n = int(src_len[b])
        tgt_in = torch.tensor([[BOS, *tokens[b, :length].tolist()]])
        logits, forced = model(src[b : b + 1, :n], src_len[b : b + 1], tgt_in)
        expected = tokens[b, :length].tolist() + ([EOS] if length < 12 else [])
        assert logits[0].argmax(-1).tolist()[: len(expected)] == expected
        torch.testing.assert_close(
            weights[b, :length, :n], forced[0, :length], rtol=1e-4, atol=1e-5
        )


@pytest.mark.parametrize("decoder", STEPWISE)
def test_stepwise_batched_beam_equals_per_sentence_loop(decoder):
    """Beams reorder the whole decoder state (with input feeding, `h̃_{t-1}` too)."""
    src, src_len = _batch(seed=2)
    model = _trained("dot", "lstm" if decoder == "bahdanau" else "gru", **STEPWISE[decoder])
    tokens, _ = beam_search(model, src, src_len, beam_size=3, max_len=12)
    for b in range(src.shape[0]):
        expected = _simple_beam(model, src[b, : int(src_len[b])], 3, 12, 1.0)
        assert tokens[b].tolist() == expected + [PAD] * (tokens.shape[1] - len(expected))
    assert len(set(_lengths(tokens))) > 1


@pytest.mark.parametrize("tied", [(4, 5), (6, 9), (10, 11)])
def test_one_beam_breaks_ties_like_greedy(tied):
    model = _model("dot")
    with torch.no_grad():
        model.decoder.W_o.weight.zero_()
        model.decoder.W_o.bias[4:] = 0.0
        model.decoder.W_o.bias[list(tied)] = 1.0  # exactly equal logits: argmax takes the first
    src, src_len = _batch()
    tokens, _ = greedy(model, src, src_len, max_len=5)
    assert (tokens == tied[0]).all()
    assert torch.equal(beam_search(model, src, src_len, 1, max_len=5)[0], tokens)


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
@pytest.mark.parametrize("attention", ATTENTION_CHOICES)
def test_batched_beam_equals_per_sentence_loop(attention, length_penalty):
    src, src_len = _batch(seed=2)
    model = _trained(attention, "lstm" if attention == "dot" else "gru")
    tokens, _ = beam_search(
        model, src, src_len, beam_size=3, max_len=12, length_penalty=length_penalty
    )
    for b in range(src.shape[0]):
        expected = _simple_beam(model, src[b, : int(src_len[b])], 3, 12, length_penalty)
        assert tokens[b].tolist() == expected + [PAD] * (tokens.shape[1] - len(expected))
    assert len(set(_lengths(tokens))) > 1


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
@pytest.mark.parametrize("attention", [a for a in ATTENTION_CHOICES if a != "none"])
def test_beam_weights_are_teacher_forced_weights(attention, rnn):
    src, src_len = _batch()
    model = _trained(attention, rnn)
    tokens, weights = beam_search(model, src, src_len, beam_size=4)
    for b, length in enumerate(_lengths(tokens)):
        n = int(src_len[b])
        tgt_in = torch.cat([torch.tensor([BOS]), tokens[b, :length]])[None]
        _, forced = model(src[b : b + 1, :n], src_len[b : b + 1], tgt_in)  # (1, T+1, n)
        torch.testing.assert_close(
            weights[b, :length, :n], forced[0, :length], rtol=1e-5, atol=1e-5
        )
        assert (weights[b, length:] == 0).all() and (weights[b, :, n:] == 0).all()


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_wide_beam_finds_the_best_sentence(length_penalty):
    # Words 4 and 5 only (the specials are 30 nats down) and 4 steps: 15 sentences end
    # in EOS, and 24 beams keep every one of them. The search must return the best under
    # its score, found by enumeration; with no length normalisation that is the sentence
    # of highest probability, so at least as probable as greedy's whenever greedy ended.
    model = _model("additive", tgt_vocab=6, eos_bias=0.3)
    src, src_len = _batch(seed=3)
    tokens, _ = beam_search(
        model, src, src_len, beam_size=24, max_len=4, length_penalty=length_penalty
    )
    greedy_tokens, _ = greedy(model, src, src_len, max_len=4)
    compared = 0
    for b in range(src.shape[0]):
        s = src[b, : int(src_len[b])]
        sentences = [list(w) for n in range(4) for w in itertools.product([4, 5], repeat=n)]
        scores = [_log_prob(model, s, seq) / (len(seq) + 1) ** length_penalty for seq in sentences]
        best = sentences[max(range(len(sentences)), key=scores.__getitem__)]
        found = tokens[b, : _lengths(tokens[b : b + 1])[0]].tolist()
        assert found == best
        g = greedy_tokens[b, : _lengths(greedy_tokens[b : b + 1])[0]].tolist()
        if length_penalty == 0.0 and len(g) < 4:  # greedy ended: compare probabilities
            assert _log_prob(model, s, found) >= _log_prob(model, s, g) - 1e-6
            compared += 1
    assert length_penalty or compared


def test_a_sentence_decodes_the_same_alone_or_in_any_batch():
    src, src_len = _batch(seed=4)
    model = _trained("multiplicative")
    tokens, _ = beam_search(model, src, src_len, beam_size=5)
    perm = torch.randperm(src.shape[0], generator=torch.Generator().manual_seed(0))
    shuffled, _ = beam_search(model, src[perm], src_len[perm], beam_size=5)
    for b in range(src.shape[0]):
        n = int(src_len[b])
        alone, _ = beam_search(
            model,
            src[b : b + 1, :n],
            src_len[b : b + 1],
            beam_size=5,
            max_len=2 * src.shape[1] + 10,
        )  # the batch's cap
        length = alone.shape[1]
        assert tokens[b, :length].tolist() == alone[0].tolist()
        assert (tokens[b, length:] == PAD).all()
    assert torch.equal(shuffled[torch.argsort(perm)][:, : tokens.shape[1]], tokens)


def test_beam_stops_when_every_sentence_ends():
    model = _model("dot", eos_bias=100.0)  # EOS always first
    src, src_len = _batch()
    tokens, weights = beam_search(model, src, src_len, beam_size=3)
    assert tokens.shape == (8, 0) and weights.shape == (8, 0, 9)


def test_decode_is_greedy_for_one_beam_and_beam_search_otherwise():
    model = _trained("scaled_dot")
    src, src_len = _batch()
    assert torch.equal(decode(model, src, src_len)[0], greedy(model, src, src_len)[0])
    assert torch.equal(
        decode(model, src, src_len, beam_size=3, length_penalty=0.5)[0],
        beam_search(model, src, src_len, 3, length_penalty=0.5)[0],
    )


@pytest.mark.parametrize(
    "bad",
    [
        dict(beam_size=0),
        dict(beam_size=-2),
        dict(beam_size=2.0),
        dict(beam_size=True),
        dict(length_penalty=-0.5),
        dict(length_penalty=math.nan),
    ],
)
def test_bad_decoding_settings_raise_value_error(bad):
    """Checked once where a run starts (the system, translate), not at every search."""
    settings = dict(beam_size=2, length_penalty=1.0) | bad
    with pytest.raises(ValueError, match=f"decode\\.{next(iter(bad))}"):
        check_decoding(**settings)


def _imports(module) -> set[str]:
    """The modules a source file imports (every `import` and `from … import`)."""
    tree = ast.parse(Path(module.__file__).read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return names


def test_search_knows_the_protocol_alone_and_rnn_does_not_import_search():
    """The layering: decoding depends on the decoder-step protocol, not on a model class;
    a model family does not import decoding."""
    ours = {n for n in _imports(search) if n.startswith("ablate")}
    assert ours <= {"ablate.models.protocol", "ablate.models.protocol.StepDecoder"}, ours
    assert {n.split(".")[0] for n in _imports(search)} <= {"__future__", "torch", "ablate"}
    assert not any("search" in n for n in _imports(rnn))
    source = Path(search.__file__).read_text()
    for reach in (".decoder", ".attention", ".W_o", ".encoder", "prepare("):
        assert reach not in source, reach
    assert isinstance(_model("dot"), StepDecoder)
