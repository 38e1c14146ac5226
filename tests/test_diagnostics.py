"""The attention diagnostics (`ablate.diagnostics`): each statistic against a hand
computation on a tiny batch with padding in source and target, the gradient norm against
`torch.autograd.grad`, probes that change no value, a split's statistics pooled from its
sentences, and every attention option's run reporting them (null for `none`)."""

import json
import math
import statistics
import time
from functools import partial

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from ablate.buckets import make_buckets
from ablate.callbacks import AttentionDiagnostics
from ablate.data.vocab import Vocab
from ablate.diagnostics import Probes, sentence_sums
from ablate.models import search
from ablate.models.attention import DotAttention
from ablate.models.cpu import speed_up
from ablate.models.luong import LocalPAttention, LocationAttention
from ablate.scores import ATTENTION_SUMS, SATURATED, AttentionStats
from ablate.scoring import attention_summary
from ablate.train import run

from conftest import CONF, TINY, compose, tiny
from models import rnn_model
from wandb_files import summary

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: a second thread only waits

PAD = Vocab.pad_id
B, T, S, H, V = 3, 4, 5, 8, 12
SRC_LEN, TGT_LEN = [5, 2, 3], [4, 2, 1]  # padding in both, a one-token target too


def _padded(seed=0, sharp=4.0):
    """Masked dot scores and weights of a tiny batch, and its source and target masks."""
    g = torch.Generator().manual_seed(seed)
    query = sharp * torch.randn(B, T, H, generator=g)  # sharp: some queries saturate
    keys = torch.randn(B, S, H, generator=g)
    src_mask = torch.arange(S)[None] < torch.tensor(SRC_LEN)[:, None]  # (B, S)
    tgt_mask = torch.arange(T)[None] < torch.tensor(TGT_LEN)[:, None]  # (B, T)
    scores, weights = DotAttention(H).align(query, keys, src_mask)
    return scores, weights, src_mask, tgt_mask


def _by_hand(scores, weights, src_mask, tgt_mask) -> list[list[float]]:
    """`ATTENTION_SUMS` per sentence, one query at a time in plain Python."""
    rows = []
    for b in range(scores.shape[0]):
        queries = std = entropy = top = saturated = 0.0
        for t in range(scores.shape[1]):
            if not tgt_mask[b, t]:
                continue
            real = [float(scores[b, t, i]) for i in range(scores.shape[2]) if src_mask[b, i]]
            w = [float(x) for x in weights[b, t]]
            queries += 1
            std += statistics.pstdev(real)
            entropy -= sum(x * math.log(x) for x in w if x > 0)
            top += max(w)
            saturated += max(w) >= SATURATED
        rows.append([queries, std, entropy, top, saturated])
    return rows


def test_each_statistic_is_its_hand_computation():
    scores, weights, src_mask, tgt_mask = _padded()
    expected = _by_hand(scores, weights, src_mask, tgt_mask)
    assert len(ATTENTION_SUMS) == 5
    got = sentence_sums(scores, weights, tgt_mask)
    torch.testing.assert_close(got, torch.tensor(expected), rtol=1e-5, atol=1e-5)
    saturated = sum(r[4] for r in expected)
    assert 0 < saturated < sum(r[0] for r in expected)  # the batch tests both sides
    assert got[:, 0].tolist() == TGT_LEN  # target padding is no query


def test_heads_are_more_queries():
    scores, weights, _, tgt_mask = _padded()
    half = scores / 2  # a second head: still −inf on padding
    both = sentence_sums(
        torch.stack([scores, half], 1), torch.stack([weights, half.softmax(-1)], 1), tgt_mask
    )
    one = sentence_sums(scores, weights, tgt_mask) + sentence_sums(half, half.softmax(-1), tgt_mask)
    torch.testing.assert_close(both, one)


# The decoders (one pass, or a step at a time) × score functions (the CPU path of
# additive included), each teacher-forced on a padded batch.
MODELS = {
    "luong-dot": dict(attention="dot"),
    "luong-additive": dict(attention="additive"),
    "input_feeding-multiplicative": dict(attention="multiplicative", input_feeding=True),
    "bahdanau-scaled_dot": dict(attention="scaled_dot", decoder="bahdanau"),
    "bahdanau-additive": dict(attention="additive", decoder="bahdanau"),
    "location": dict(attention=partial(LocationAttention, max_len=8)),
    "local_p-input_feeding": dict(attention=partial(LocalPAttention, window=2), input_feeding=True),
}


def _model(settings) -> nn.Module:
    sizes = dict(src_vocab_size=V, tgt_vocab_size=V, embed=6, hidden=H)
    model = rnn_model(**sizes, eval=False, **settings)
    return speed_up(model)  # the CPU paths too (additive's own score backward)


def _batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    src_len, tgt_len = torch.tensor(SRC_LEN), torch.tensor(TGT_LEN)
    src = torch.randint(4, V, (B, S), generator=g).masked_fill(
        torch.arange(S)[None] >= src_len[:, None], PAD
    )
    tgt = torch.randint(4, V, (B, T), generator=g)
    real = torch.arange(T)[None] < tgt_len[:, None]  # (B, T)
    tgt_out = tgt.masked_fill(~real, PAD)
    tgt_in = torch.cat([torch.full((B, 1), Vocab.bos_id), tgt_out[:, :-1]], 1)
    return src, src_len, tgt_in, tgt_out, real


def _loss(model, batch):
    src, src_len, tgt_in, tgt_out, _ = batch
    logits, _ = model(src, src_len, tgt_in)
    return nn.functional.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD)


def _capture(model) -> tuple[list, list]:
    """What `align` passes through its hook point, in call order: a forward hook of its
    own, beside no probe."""
    scores, weights = [], []

    def keep(module, args, output):
        scores.append(output[0])
        weights.append(output[1])

    model.decoder.attention.inspect.register_forward_hook(keep)
    return scores, weights


@pytest.mark.parametrize("name", MODELS)
def test_the_gradient_norm_is_autograds(name):
    model, batch = _model(MODELS[name]), _batch()
    real_queries = batch[-1]
    probes = Probes(model)
    with probes.recording(real_queries, grad=True):
        loss = _loss(model, batch)
    loss.backward()
    probes.end_batch()
    pooled, layers = probes.grad_norms()
    assert probes.grad_norms() == (None, {"decoder.attention": None})  # taken, so reset

    seen, _ = _capture(model)  # the same pass again, the scores kept for autograd
    grads = torch.autograd.grad(_loss(model, batch), seen)
    offset, squares = 0, 0.0
    for s, g in zip(seen, grads, strict=True):
        queries = real_queries[:, offset : offset + s.shape[1], None]  # (B, T', 1)
        real = torch.isfinite(s) & queries
        assert torch.where(real, 0.0, g).abs().max() == 0  # no gradient off the real positions
        squares += float(g[real].square().sum())
        offset += s.shape[1]
    assert offset == T
    assert pooled == pytest.approx(math.sqrt(squares), rel=1e-5)
    assert layers == {"decoder.attention": pytest.approx(pooled)}
    assert pooled > 0


def test_an_epochs_gradient_norm_is_the_mean_over_its_batches():
    def trained(probes: Probes, seed: int) -> Probes:
        batch = _batch(seed)
        with probes.recording(batch[-1], grad=True):
            loss = _loss(probes.model, batch)
        loss.backward()
        probes.end_batch()
        return probes

    def probes() -> Probes:  # a model of its own (no step is taken: the same weights)
        model = _model(MODELS["luong-dot"])
        p = Probes(model)
        p.model = model
        return p

    alone = [trained(probes(), seed).grad_norms()[0] for seed in (1, 2)]
    running = trained(probes(), 1)
    resumed = probes()
    resumed.load_state_dict(json.loads(json.dumps(running.state_dict())))  # a checkpoint
    for p in (running, resumed):
        assert trained(p, 2).grad_norms()[0] == pytest.approx(sum(alone) / 2, rel=1e-6)
    assert alone[0] != pytest.approx(alone[1])


@pytest.mark.parametrize("name", MODELS)
def test_recording_reads_the_teacher_forced_pass_and_changes_nothing(name):
    model, batch = _model(MODELS[name]), _batch()
    src, src_len, tgt_in, _, real_queries = batch
    model.eval()
    with torch.no_grad():
        plain, _ = model(src, src_len, tgt_in)
        probes = Probes(model)
        with probes.recording(real_queries):
            recorded, _ = model(src, src_len, tgt_in)
        sums = probes.sums()["decoder.attention"]
        seen, weights = _capture(model)
        model(src, src_len, tgt_in)
    assert torch.equal(plain, recorded)
    expected = sentence_sums(torch.cat(seen, 1), torch.cat(weights, 1), real_queries)
    torch.testing.assert_close(sums, expected)
    assert sums[:, 0].tolist() == TGT_LEN


def test_decoding_is_not_recorded():
    model, (src, src_len, *_) = _model(MODELS["luong-dot"]), _batch()
    probes = Probes(model)
    with torch.no_grad():
        search.decode(model.eval(), src, src_len)
    assert probes.sums() == {}


def test_no_attention_has_no_probe_reading():
    model, batch = _model(dict(attention="none")), _batch()
    probes = Probes(model)
    with torch.no_grad(), probes.recording(batch[-1]):
        _loss(model, batch)
    assert probes.sums() == {}


def test_a_module_called_beyond_the_targets_is_refused():
    model, batch = _model(MODELS["luong-dot"]), _batch()
    probes = Probes(model)
    with (
        torch.no_grad(),
        probes.recording(batch[-1][:, :2]),
        pytest.raises(ValueError, match="beyond"),
    ):
        _loss(model, batch)


def test_a_splits_statistics_pool_its_sentences_by_bucket_and_layer():
    sums = np.array([[3, 1.5, 3.0, 1.5, 0], [1, 2.0, 0.0, 1.0, 1], [2, 1.0, 1.0, 1.8, 1]])
    buckets = make_buckets("edges", edges=[1, 11, 21])
    stats = attention_summary({"decoder.attention": sums}, [5, 15, 8], buckets)
    assert (stats.queries, stats.layer, stats.layers) == (6, None, ())
    assert stats.score_std == pytest.approx(4.5 / 6) and stats.saturated == pytest.approx(2 / 6)
    short, middle, empty = stats.buckets
    assert (short.n, short.queries, short.max_weight) == (2, 5, pytest.approx(3.3 / 5))
    assert (middle.n, middle.entropy) == (1, 0.0)
    assert (empty.n, empty.queries, empty.score_std) == (0, 0, None)
    two = attention_summary({"enc": sums, "dec": 2 * sums}, [5, 15, 8], buckets)
    assert [x.layer for x in two.layers] == ["enc", "dec"]
    assert two.queries == 18 and two.score_std == pytest.approx(3 * 4.5 / 18)
    assert two.named("dec").score_std == pytest.approx(9.0 / 12)
    assert AttentionStats.from_json(json.loads(json.dumps(two.to_json()))) == two


# --------------------------------------------------------------------------- in a run

OPTIONS = sorted(p.stem for p in (CONF / "attention").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("option", OPTIONS)
def test_every_attention_option_reports_its_statistics(tmp_path, option):
    """The five statistics in `results.json` and `val/attn/*` in the W&B run's history,
    per epoch; `null` and no keys for `none`."""
    run_dir = tmp_path / "run"
    cfg = compose([*TINY, "trainer.max_epochs=2", "logger=wandb", f"attention={option}"])
    run(cfg, run_dir, choices={"attention": option})
    saved = json.loads((run_dir / "results.json").read_text())["attention_stats"]
    # W&B's service writes the offline file after the run returns: wait for its exit record.
    for _ in range(60):
        info = summary(run_dir)
        if info["exit_code"] is not None:
            break
        time.sleep(0.5)
    keys = info["history_keys"]
    logged = {k for k in keys if "/attn/" in k}
    if option == "none":
        assert saved is None and not logged
        return
    for field in ("score_std", "entropy", "max_weight", "saturated", "score_grad_norm"):
        assert math.isfinite(saved[field]), field
        assert [math.isfinite(h[field]) for h in saved["history"]] == [True, True], field
    assert [h["epoch"] for h in saved["history"]] == [1, 2]
    assert sum(b["queries"] for b in saved["buckets"]) == saved["queries"] > 0
    for stage in ("val", "test"):
        for field in ("score_std", "entropy", "max_weight", "saturated"):
            assert f"{stage}/attn/{field}" in keys, (stage, field)
    assert "train/attn/score_grad_norm" in keys


# --------------------------------------------------------------------------- the callback


def _callback_batch(seed=1) -> dict:
    src, src_len, tgt_in, tgt_out, _ = _batch(seed)
    return dict(src=src, src_len=src_len, tgt_in=tgt_in, tgt_out=tgt_out, index=torch.arange(B))


def _train_batch(diagnostics, system, batch_idx, seed=1):
    """One training batch as Lightning runs it around the system's step."""
    batch = _callback_batch(seed)
    diagnostics.on_train_batch_start(None, system, batch, batch_idx)
    src, src_len, tgt_in, tgt_out, _ = _batch(seed)
    _loss(system.model, (src, src_len, tgt_in, tgt_out, None)).backward()
    diagnostics.on_train_batch_end(None, system, None, batch, batch_idx)


def test_the_callback_records_what_the_probes_record_on_the_batches_it_samples():
    model = _model(MODELS["luong-dot"])
    system = nn.Module()
    system.model = model
    diagnostics = AttentionDiagnostics(every_n_train_batches=2)
    diagnostics.setup(None, system, "fit")
    probes = Probes(model)
    with probes.recording(_batch()[-1], grad=True):
        loss = _loss(model, _batch())
    loss.backward()
    probes.end_batch()
    for batch_idx in (0, 1):  # the second not sampled: nothing added, no hook left on
        _train_batch(diagnostics, system, batch_idx)
        assert not model.decoder.attention.inspect._forward_hooks
    assert diagnostics.grad_norms() == probes.grad_norms()

    batch = _callback_batch()
    diagnostics.on_validation_epoch_start(None, system)
    diagnostics.on_validation_batch_start(None, system, batch, 0)
    with torch.no_grad():
        _loss(model, _batch())  # the teacher-forced pass: recorded
        search.decode(model.eval(), batch["src"], batch["src_len"])  # decoding: not
    diagnostics.on_validation_batch_end(None, system, None, batch, 0)
    with torch.no_grad(), probes.recording(_batch()[-1]):
        _loss(model, _batch())
    expected = probes.sums()["decoder.attention"].tolist()
    assert diagnostics.sentences == {"decoder.attention": dict(enumerate(expected))}


def test_the_callbacks_running_means_resume_from_its_state_and_the_older_layout():
    def diagnostics() -> tuple[AttentionDiagnostics, nn.Module]:
        system = nn.Module()
        system.model = _model(MODELS["luong-dot"])  # no step is taken: the same weights
        d = AttentionDiagnostics()
        d.setup(None, system, "fit")
        return d, system

    def trained(d, system, seed):
        _train_batch(d, system, 0, seed)
        return d

    alone = [trained(*diagnostics(), seed).grad_norms()[0] for seed in (1, 2)]
    running, system = diagnostics()
    trained(running, system, 1)
    state = json.loads(json.dumps(running.state_dict()))
    from_state, from_old = diagnostics(), diagnostics()
    from_state[0].on_load_checkpoint(None, None, {"callbacks": {"AttentionDiagnostics": state}})
    from_state[0].load_state_dict(state)  # Lightning's order: the hook, then the state
    from_old[0].on_load_checkpoint(None, None, {"attention_stats": {"running": state}})
    for d, s in [(running, system), from_state, from_old]:
        assert trained(d, s, 2).grad_norms()[0] == pytest.approx(sum(alone) / 2, rel=1e-6)


@pytest.mark.parametrize("value", [0, -1, 1.5, True, None])
def test_every_n_train_batches_must_be_a_positive_integer(value):
    with pytest.raises(ValueError, match="every_n_train_batches"):
        AttentionDiagnostics(every_n_train_batches=value)


class CrossAttentionPaths(pl.Callback):
    """Per training batch, the path each cross-attention layer took: `explicit` (through
    its `Attention` module) or `fused` (a `scaled_dot_product_attention` call inside it);
    class attributes, read after the run."""

    batches: list[dict[str, str]] = []
    paths: dict[str, str] = {}
    current: str | None = None  # the cross-attention whose forward is running

    def setup(self, trainer, pl_module, stage):
        if stage != "fit":
            return
        cls = CrossAttentionPaths
        for name, m in pl_module.model.named_modules():
            if name.endswith("cross_attention"):
                m.register_forward_pre_hook(lambda *_, n=name: setattr(cls, "current", n))
                m.register_forward_hook(lambda *_: setattr(cls, "current", None))
                m.attention.register_forward_hook(lambda *_, n=name: cls.took(n, "explicit"))

    @classmethod
    def took(cls, name: str | None, path: str) -> None:
        if name is not None:
            cls.paths[name] = path

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        CrossAttentionPaths.paths = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        # A copy: the validation after the epoch's last batch runs through the same hooks.
        CrossAttentionPaths.batches.append(dict(CrossAttentionPaths.paths))


def test_unsampled_training_batches_take_the_fused_kernel(tmp_path, monkeypatch):
    """`every_n_train_batches=2`: the Transformer's `scaled_dot` cross-attention is
    explicit on training batches 0 and 2 (hooked, for the gradient norm) and fused on 1
    and 3, in every layer (the alignment layer's too: training asks the teacher-forced
    pass for no weights), and the run still reports the gradient norm."""
    kernel = torch.nn.functional.scaled_dot_product_attention

    def spy(*args, **kwargs):
        CrossAttentionPaths.took(CrossAttentionPaths.current, "fused")
        return kernel(*args, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    monkeypatch.setattr(CrossAttentionPaths, "batches", [])
    settings = [o for o in tiny("transformer") if not o.startswith("+trainer.limit_train")]
    cfg = compose(
        [
            *settings,
            "model=transformer",
            "attention=scaled_dot",
            "model.layers=2",
            "model.align_layer=-1",
            "+trainer.limit_train_batches=4",
            "logger=none",
            "callbacks.diagnostics.every_n_train_batches=2",
            f"+callbacks.paths._target_={__name__}.CrossAttentionPaths",
        ]
    )
    run(cfg, tmp_path / "run", choices={"attention": "scaled_dot"})
    first, last = "decoder.0.cross_attention", "decoder.1.cross_attention"
    sampled = {first: "explicit", last: "explicit"}
    unsampled = {first: "fused", last: "fused"}
    assert CrossAttentionPaths.batches == [sampled, unsampled, sampled, unsampled]
    saved = json.loads((tmp_path / "run" / "results.json").read_text())["attention_stats"]
    assert math.isfinite(saved["score_grad_norm"]) and saved["score_grad_norm"] > 0
