"""The real-data training recipe (issue 25): the `inverse_sqrt` schedule with its
`optim.warmup`, token-budget batches (`data.batch_tokens`) and gradient accumulation
(`trainer.accumulate_grad_batches`): their values against their definitions, their
refusals, and a fast run of each through `train.run`."""

import functools
import math
import random

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from ablate import optim, translate
from ablate.buckets import make_buckets
from ablate.data.corpus import Pair
from ablate.data.datamodule import TokenBatches, collate
from ablate.data.vocab import Vocab
from ablate.models.cpu import speed_up
from ablate.models.transformer import Transformer
from ablate.scoring import Scorer
from ablate.system import Seq2SeqSystem
from ablate.train import build_data, run

from conftest import TINY, V_SRC, V_TGT, compose, tiny
from models import rnn_model, transformer_model


def rates(scheduler_fn, steps: int, lr: float = 2.0) -> list[float]:
    """The rate of each of the first `steps` optimiser steps under `scheduler_fn`."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = scheduler_fn(opt, lambda: steps)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return out


@pytest.mark.parametrize("warmup", [1, 4, 10])
def test_inverse_sqrt_warms_up_linearly_then_decays_as_one_over_root_step(warmup):
    lr, steps = 2.0, 4 * warmup + 5
    got = rates(optim.schedule("inverse_sqrt", warmup), steps, lr)
    for n, rate in enumerate(got, start=1):  # optimiser step n, counted from 1
        assert rate == pytest.approx(lr * min(n / warmup, math.sqrt(warmup / n)))
    assert got[0] == pytest.approx(lr / warmup)  # from ~0, but no step at a zero rate
    assert max(got) == pytest.approx(lr) and got.index(max(got)) == warmup - 1
    assert got[4 * warmup - 1] == pytest.approx(lr / 2)  # 1/√step: 4× the steps, half the rate


def test_the_inverse_sqrt_step_count_survives_a_checkpoint():
    schedule = optim.schedule("inverse_sqrt", 4)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = schedule(opt, lambda: 0)
    for _ in range(6):
        opt.step()
        scheduler.step()
    saved = scheduler.state_dict(), opt.state_dict()  # what Lightning's checkpoint holds
    opt2 = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    resumed = schedule(opt2, lambda: 0)
    resumed.load_state_dict(saved[0])
    opt2.load_state_dict(saved[1])
    for _ in range(3):
        assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
        for o, s in ((opt, scheduler), (opt2, resumed)):
            o.step()
            s.step()
    assert opt2.param_groups[0]["lr"] == pytest.approx(math.sqrt(4 / 10))  # step 10


@pytest.mark.parametrize(
    ("name", "warmup", "message"),
    [
        ("inverse_sqrt", -1, r"optim\.warmup must be a non-negative integer .*got -1"),
        ("inverse_sqrt", 1.5, r"optim\.warmup must be a non-negative integer .*got 1\.5"),
        ("inverse_sqrt", "abc", r"optim\.warmup must be a non-negative integer .*got 'abc'"),
        ("inverse_sqrt", True, r"optim\.warmup must be a non-negative integer .*got True"),
        ("inverse_sqrt", 0, r"optim\.schedule=inverse_sqrt needs optim\.warmup > 0 .*got 0"),
        ("cosine", 100, r"optim\.warmup=100 has no effect with optim\.schedule=cosine"),
        ("constant", 100, r"optim\.warmup=100 has no effect with optim\.schedule=constant"),
    ],
)
def test_a_warmup_the_schedule_cannot_use_is_refused_naming_the_key(name, warmup, message):
    with pytest.raises(ValueError, match=message):
        optim.schedule(name, warmup)


def test_the_schedules_without_a_warmup_are_unchanged_by_the_key():
    assert optim.schedule("constant", 0) is None
    assert optim.schedule("cosine", 0) is optim.cosine


def lengths(n: int = 1500, seed: int = 0) -> list[int]:
    """Target lengths (with `</s>`) as real text has them: mostly short, a long tail."""
    rng = random.Random(seed)
    return [min(2 + int(rng.expovariate(1 / 12)), 120) for _ in range(n)]


@pytest.mark.parametrize("budget", [1, 50, 400, 4096])
def test_token_batches_cover_every_sentence_once_within_the_budget(budget):
    lens = lengths()
    sampler = TokenBatches(lens, budget, seed=0)
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)  # the same count every epoch
        assert sorted(i for b in batches for i in b) == list(range(len(lens)))
        for b in batches:
            tokens = len(b) * max(lens[i] for i in b)  # the padded target
            assert tokens <= budget or len(b) == 1  # over it only alone


def test_token_batches_are_full_and_padded_little():
    lens, budget = lengths(), 400
    batches = list(TokenBatches(lens, budget, seed=0))
    padded = sum(len(b) * max(lens[i] for i in b) for b in batches)
    assert padded <= 1.05 * sum(lens)  # sorted by length: few padding tokens
    # Greedy cuts in length order: no batch could also take the next batch's shortest.
    ordered = sorted(batches, key=lambda b: (max(lens[i] for i in b), min(lens[i] for i in b)))
    for b, c in zip(ordered, ordered[1:], strict=False):
        assert (len(b) + 1) * min(lens[i] for i in c) > budget


def test_token_batch_order_depends_only_on_seed_and_epoch():
    lens = lengths()
    a, b = TokenBatches(lens, 300, seed=3), TokenBatches(lens, 300, seed=3)
    a.set_epoch(2)
    list(b)  # b has made a pass already: its own history must not matter
    b.set_epoch(2)
    epoch2 = list(a)
    assert epoch2 == list(b)
    b.set_epoch(3)
    epoch3 = list(b)
    assert epoch3 != epoch2
    # What an epoch changes: which equal-length sentences share a batch, and the order.
    assert {frozenset(x) for x in epoch3} != {frozenset(x) for x in epoch2}
    assert list(TokenBatches(lens, 300, seed=4, epoch_fn=lambda: 2)) != epoch2
    assert list(TokenBatches(lens, 300, seed=3, epoch_fn=lambda: 2)) == epoch2


@pytest.mark.parametrize("budget", [0, -5, 2.5, "abc", True])
def test_a_bad_token_budget_is_refused_naming_the_key(budget):
    with pytest.raises(ValueError, match=r"data\.batch_tokens must be a positive integer"):
        TokenBatches([3, 4], budget)


def test_batch_tokens_makes_the_runs_training_batches_and_only_those():
    data = build_data(compose([*TINY, "data.batch_tokens=40"]), None)
    train, valid = data.loader("train", shuffle=True), data.val_dataloader()
    assert isinstance(train.batch_sampler, TokenBatches)
    batches = list(train)
    assert sum(len(b["index"]) for b in batches) == len(data.corpus.train)
    assert all(b["tgt_out"].numel() <= 40 or len(b["index"]) == 1 for b in batches)
    assert [len(b["index"]) for b in valid][0] == 16  # data.batch_size sentences still
    with pytest.raises(ValueError, match=r"data\.batch_tokens must be a positive integer"):
        build_data(compose([*TINY, "data.batch_tokens=0"]), None)  # before any training


WORDS = ["a", "b", "c", "d"]


def updated(batches: list[dict], accumulate: int) -> tuple[Seq2SeqSystem, pl.Trainer]:
    """A tiny model (no dropout), its SGD steps over `batches` in a real Trainer."""
    vocab = Vocab.build([WORDS])
    model = rnn_model(
        "dot", src_vocab_size=len(vocab), tgt_vocab_size=len(vocab), embed=4, hidden=4, eval=False
    )
    pair = Pair(("a", "b"), ("b", "c"))
    scorer = Scorer([pair], [pair], make_buckets("edges", edges=[1]))
    system = Seq2SeqSystem(model, scorer, functools.partial(torch.optim.SGD, lr=0.5))
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=1,
        accumulate_grad_batches=accumulate,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(system, train_dataloaders=DataLoader(batches, batch_size=None))
    return system, trainer


def test_two_accumulated_batches_make_the_update_of_one_twice_their_size(one_thread):
    rng = random.Random(0)
    vocab = Vocab.build([WORDS])
    pairs = [
        Pair(tuple(rng.choices(WORDS, k=3)), tuple(rng.choices(WORDS, k=4))) for _ in range(8)
    ]  # one length: each half's mean loss weighs its tokens as the whole batch's does

    def batch(part):
        return collate([pairs[i] for i in part], list(part), vocab, vocab)

    halves, whole = [batch(range(4)), batch(range(4, 8))], [batch(range(8))]
    accumulated, trainer = updated(halves, accumulate=2)
    one, _ = updated(whole, accumulate=1)
    two_steps, _ = updated(halves, accumulate=1)
    assert trainer.global_step == 1  # train.steps counts optimiser steps
    assert int(accumulated.train_tokens) == 8 * 5  # every batch's tokens, once: 4 + </s>
    a, b, c = (dict(s.model.named_parameters()) for s in (accumulated, one, two_steps))
    start = dict(updated([], accumulate=1)[0].model.named_parameters())  # no step at all
    for name in a:
        assert torch.allclose(a[name], b[name], atol=1e-6), name
    assert any(not torch.equal(a[n], start[n]) for n in a)  # a step happened
    assert any(not torch.allclose(a[n], c[n], atol=1e-6) for n in a)  # not two steps


RUNS = {
    "inverse_sqrt": (["optim.schedule=inverse_sqrt", "optim.warmup=3"], 2),
    "batch_tokens": (["data.batch_tokens=64"], 2),
    "accumulate": (["trainer.accumulate_grad_batches=2"], 1),  # 2 batches, 1 step
}


@pytest.mark.parametrize(("overrides", "steps"), RUNS.values(), ids=RUNS.keys())
def test_each_recipe_option_runs_one_fast_step(tmp_path, no_png, overrides, steps):
    results = run(compose([*TINY, "logger=none", *overrides]), tmp_path / "run")
    assert results.status == "complete"
    assert results.train["steps"] == steps


def test_the_whole_recipe_trains_a_transformer(tmp_path, no_png):
    overrides = [o for options, _ in RUNS.values() for o in options]
    cfg = compose([*tiny("transformer"), "model=transformer", "logger=none", *overrides])
    results = run(cfg, tmp_path / "run")
    assert results.status == "complete" and results.train["steps"] == 1


# --- model.tie_embeddings (Press & Wolf 2017) -------------------------------------------


def _output_and_embedding(model):
    """The output layer and the target embedding of either family's model."""
    if isinstance(model, Transformer):
        return model.W_o, model.tgt_embedding
    return model.decoder.W_o, model.decoder.embedding


TIED = {
    "rnn": lambda **kw: rnn_model(embed=12, hidden=12, **kw),
    "transformer": lambda **kw: transformer_model(**kw),
}


@pytest.mark.parametrize("family", TIED)
def test_tied_embeddings_are_one_matrix_that_both_ends_train(family):
    tied, untied = TIED[family](tie_embeddings=True), TIED[family](tie_embeddings=False)
    out, emb = _output_and_embedding(tied)
    assert out.weight is emb.weight
    n = sum(p.numel() for p in tied.parameters())
    assert n == sum(p.numel() for p in untied.parameters()) - emb.weight.numel()
    # The gradient of the one matrix is its embedding's plus its output layer's.
    src = torch.randint(4, V_SRC, (3, 5))
    tgt = torch.randint(4, V_TGT, (3, 4))
    lengths = torch.tensor([5, 4, 3])
    tied.train()
    logits = tied(src, lengths, tgt, need_weights=False)[0]
    logits.sum().backward()
    assert emb.weight.grad is not None and emb.weight.grad[4:].abs().sum() > 0
    # What the output layer alone contributes: every row of the vocabulary, not only
    # the rows of the tokens fed in.
    fed = set(tgt.flatten().tolist()) | {tied.bos_id}
    unfed = [i for i in range(4, V_TGT) if i not in fed]
    assert unfed and emb.weight.grad[unfed].abs().sum(dim=1).min() > 0


@pytest.mark.parametrize("family", TIED)
def test_tied_embeddings_survive_speed_up_and_a_checkpoint(family):
    model = speed_up(TIED[family](tie_embeddings=True))
    out, emb = _output_and_embedding(model)
    assert out.weight is emb.weight
    rebuilt = translate.build_model(model.config.record())
    rebuilt.load_state_dict(model.state_dict())
    out2, emb2 = _output_and_embedding(rebuilt)
    assert out2.weight is emb2.weight and torch.equal(emb2.weight, emb.weight)


def test_rnn_tied_embeddings_need_embed_equal_to_hidden():
    with pytest.raises(ValueError) as e:
        rnn_model(embed=16, hidden=12, tie_embeddings=True)
    assert str(e.value) == (
        "model.tie_embeddings=true makes the output layer's weights (model.hidden=12 wide) "
        "the target embedding (model.embed=16 wide): set model.embed=12, or "
        "model.tie_embeddings=false"
    )


@pytest.mark.parametrize("model", ["default", "transformer"])
def test_a_run_with_tied_embeddings_trains_and_its_checkpoint_translates(tmp_path, no_png, model):
    cfg = compose([*tiny(model), f"model={model}", "model.tie_embeddings=true", "logger=none"])
    results = run(cfg, tmp_path / "run")
    assert results.status == "complete" and results.model["tie_embeddings"] is True
    translator = translate.load(tmp_path / "run" / "checkpoints" / "last.ckpt")
    out, emb = _output_and_embedding(translator.model)
    assert out.weight is emb.weight


# --- conf/recipe/: each family's recipe for real text -----------------------------------

MULTI30K_RECIPES = {
    "default": {
        "model.embed": 256,
        "model.hidden": 256,
        "model.dropout": 0.3,
        "data.batch_size": 64,
        "data.batch_tokens": None,
        "optim.schedule": "cosine",
        "optim.lr": 0.002,
        "optim.label_smoothing": 0.1,
    },
    "big": {"model.embed": 256, "model.hidden": 512, "model.dropout": 0.3},
    "transformer": {
        "model.d_model": 256,
        "model.layers": 3,
        "model.tie_embeddings": True,
        "data.batch_tokens": 2048,
        "optim.schedule": "inverse_sqrt",
        "optim.warmup": 1000,
        "optim.label_smoothing": 0.1,
    },
}


def _at(cfg, dotted):
    from omegaconf import OmegaConf

    return OmegaConf.select(cfg, dotted)


@pytest.mark.parametrize("model", MULTI30K_RECIPES)
@pytest.mark.parametrize("how", ["+experiment=multi30k", "dataset=multi30k"])
def test_multi30k_runs_each_family_with_its_own_recipe(model, how):
    """`conf/recipe/multi30k_<model>.yaml`, picked from the dataset and model options,
    whether the experiment or the dataset option chose Multi30k; the command line wins."""
    cfg = compose([how, f"model={model}"])
    for key, value in MULTI30K_RECIPES[model].items():
        assert _at(cfg, key) == value, key
    assert (
        _at(compose([how, f"model={model}", "optim.label_smoothing=0.2"]), "optim.label_smoothing")
        == 0.2
    )
    # No other dataset has a recipe: toy_fr keeps the family's defaults.
    assert _at(compose([f"model={model}"]), "optim.label_smoothing") == 0.0


def test_the_multi30k_experiment_names_no_setting_of_one_family():
    """The experiment sets nothing a family lacks, so `model=transformer` runs it (the
    check that stops `model.hidden` with `model=transformer` lets it through)."""
    from ablate.cli import check_model_settings

    for model in MULTI30K_RECIPES:
        assert check_model_settings(["+experiment=multi30k", f"model={model}"]) is None
