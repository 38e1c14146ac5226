"""Every option of every config group composes and runs one fast training step, a run
leaves the files docs/design.md promises, and a checkpoint knows the data it was
trained on."""

import json

import pytest
from omegaconf import OmegaConf

from ablate.checkpoints import CheckpointError
from ablate.run_files import read_results
from ablate.train import run

from conftest import (
    CONF,
    OLD_CHECKPOINT,
    TINY,
    compose,
    tiny,
    write_multi30k,
    write_parallel,
)

# Every option file of every group but trainer=gpu (tests/test_gpu.py, where there is one).
GROUPS = {
    group: sorted(
        p.stem for p in (CONF / group).glob("*.yaml") if (group, p.stem) != ("trainer", "gpu")
    )
    for group in (
        "attention",
        "dataset",
        "buckets",
        "model",
        "trainer",
        "optim",
        "callbacks",
        "logger",
    )
}
DEFAULTS = {  # conf/config.yaml's defaults list: group -> option
    k: v
    for d in OmegaConf.to_container(OmegaConf.load(CONF / "config.yaml").defaults)
    if isinstance(d, dict)
    for k, v in d.items()
}
# The smoke runs log nowhere unless the logger is what they test: logger=none stands in for
# the default. The default of each group is the one run `defaults`, not six copies of it,
# and an option that another test already runs on the tiny settings is not run twice.
SMOKE_DEFAULTS = {**DEFAULTS, "logger": "none"}
RUN_ELSEWHERE = {
    ("logger", "wandb"): "tests/test_wandb.py, which reads back what W&B stored",
    ("logger", "csv"): "test_run_dir_contract",
    ("attention", "none"): "test_no_attention_has_no_alignment",
}
OPTIONS = [("defaults", "")] + [
    (g, o)
    for g, opts in GROUPS.items()
    for o in opts
    if SMOKE_DEFAULTS[g] != o and (g, o) not in RUN_ELSEWHERE
]
# Every smoke run builds its figures; these render them to PNG as well (the rest run with
# `no_png`: rendering is most of a tiny run's time, and tests/test_plots.py renders every
# figure kind, "$5"-style tokens included): the default run, and the real-text run's BPE
# pieces and umlauts. test_run_dir_contract and tests/test_wandb.py render theirs too.
RENDERED = (("defaults", ""), ("dataset", "multi30k"))


def _run(tmp_path, overrides):
    cfg = compose([*TINY, *overrides])
    return run(cfg, tmp_path / "run", choices={})


def _overrides(tmp_path, group, option):
    # Real-text readers take their sizes from the files, so the tiny sizes don't apply.
    from_files = option in ("parallel", "multi30k")
    sizes = tiny(option if group == "model" else "default")  # a model option's own sizes
    base = [o for o in sizes if not (from_files and o.startswith("dataset."))]
    extra = [] if group == "defaults" else [f"{group}={option}"]
    if group != "logger":
        extra.append("logger=none")
    if option == "parallel":
        extra.append(f"dataset.path={write_parallel(tmp_path / 'corpus')}")
    if option == "multi30k":  # a tiny fake copy in the release's .gz layout, in BPE pieces
        extra.append(f"dataset.path={write_multi30k(tmp_path / 'multi30k')}")
    return base + extra


def test_the_groups_hold_every_option_and_the_defaults():
    assert all(DEFAULTS[g] in opts for g, opts in GROUPS.items()), DEFAULTS
    assert set(RUN_ELSEWHERE) <= {(g, o) for g, opts in GROUPS.items() for o in opts}
    assert len(GROUPS["attention"]) >= 5 and len(GROUPS["dataset"]) >= 6


@pytest.mark.parametrize(
    ("group", "option"), OPTIONS, ids=[f"{g}={o}" if o else g for g, o in OPTIONS]
)
def test_every_option_runs_one_fast_step(tmp_path, request, group, option):
    if (group, option) not in RENDERED:
        request.getfixturevalue("no_png")
    cfg = compose(_overrides(tmp_path, group, option))
    results = run(cfg, tmp_path / "run", choices={} if group == "defaults" else {group: option})
    assert results.status == "complete"
    assert results.train["steps"] == 2
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert saved["bleu"] == results.scores.bleu
    # Every attention option's run measures its attention (tests/test_diagnostics.py).
    stats = saved["attention_stats"]
    assert stats["queries"] > 0 and stats["score_grad_norm"] > 0
    assert [h["epoch"] for h in stats["history"]] == [1]


def test_run_dir_contract(tmp_path):
    results = _run(tmp_path, ["attention=additive", "logger=csv"])
    d = tmp_path / "run"
    saved = json.loads((d / "results.json").read_text())
    for key in (
        "attention",
        "dataset",
        "seed",
        "model",
        "bleu",
        "chrf",
        "exact_match",
        "buckets",
        "alignment",
        "rare_words",
        "attention_stats",
        "train",
        "status",
    ):
        assert key in saved, key
    assert saved == json.loads(json.dumps(results.to_json()))
    # The model's family and its settings, TINY's sizes among them.
    assert saved["model"]["family"] == "rnn" and saved["model"]["hidden"] == 8
    assert saved["model"]["attention"]["_target_"] == "ablate.models.attention.AdditiveAttention"
    assert read_results(d, sentences=True) == results  # the one reader gives the record back
    assert [b["label"] for b in saved["buckets"]] == [
        "01-10",
        "11-20",
        "21-30",
        "31-40",
        "41-50",
        "51-60",
        "61+",
    ]
    assert set(saved["alignment"]) == {"accuracy", "aer", "entropy"}
    assert [b["label"] for b in saved["rare_words"]][-4:] == ["1-5", "6-20", "21-100", ">100"]
    assert set(saved["train"]) == {
        "epochs",
        "steps",
        "seconds",
        "tokens_per_second",
        "threads",
        "peak_rss_mb",
    }
    # torch alone takes some 300 MB; a tiny run stays far below the 2 GB a job may use
    assert 100 < saved["train"]["peak_rss_mb"] < 2048
    lines = (d / "hypotheses.tsv").read_text().splitlines()
    assert lines[0].split("\t") == ["source", "reference", "hypothesis", "bucket"]
    assert len(lines) == 1 + 24
    assert (d / "plots" / "bleu_by_length.png").stat().st_size > 0
    assert sorted(p.name for p in (d / "plots").glob("alignment_*.png")) == [
        "alignment_long.png",
        "alignment_median.png",
        "alignment_short.png",
    ]
    assert (d / "checkpoints" / "last.ckpt").exists()
    assert (d / "csv" / "metrics.csv").exists()  # the logger=csv smoke run


def test_no_attention_has_no_alignment(tmp_path, no_png):
    results = _run(tmp_path, ["attention=none", "logger=none"])
    assert results.scores.alignment is None and results.scores.alignment_by_jump is None
    assert results.scores.attention_stats is None
    saved = json.loads((tmp_path / "run" / "results.json").read_text())
    assert "attention_stats" in saved and saved["attention_stats"] is None
    assert not list((tmp_path / "run" / "plots").glob("alignment_*.png"))


def test_a_subword_run_scores_words_and_translate_reads_its_pieces(tmp_path, no_png):
    import sacrebleu

    from ablate.translate import load, translate

    corpus = write_multi30k(tmp_path / "multi30k")
    cfg = compose(
        [o for o in TINY if not o.startswith("dataset.")]
        + [
            "dataset=multi30k",
            f"dataset.path={corpus}",
            "buckets=fine",
            "logger=none",
            "decode.beam_size=3",
        ]
    )
    results = run(cfg, tmp_path / "run", choices={})
    assert results.decode == {"beam_size": 3, "length_penalty": 1.0}
    assert results.data["subword"]["model"] == "bpe"
    rows = [
        line.split("\t")
        for line in (tmp_path / "run" / "hypotheses.tsv").read_text().splitlines()[1:]
    ]
    assert not any("▁" in r[1] or "▁" in r[2] for r in rows)  # text, not pieces
    # BLEU on the detokenised text, as sacrebleu computes it from the same strings.
    expected = sacrebleu.corpus_bleu([r[2] for r in rows], [[r[1] for r in rows]])
    assert results.scores.bleu == pytest.approx(expected.score)
    # Buckets count source words (whitespace), not pieces.
    assert sum(b.n for b in results.scores.buckets) == len(rows)
    for r in rows:
        words = len(r[0].split())
        lo, hi = (int(x) for x in r[3].split("-")) if "-" in r[3] else (int(r[3][:-1]), 10**9)
        assert lo <= words <= hi
    translator = load(tmp_path / "run" / "checkpoints" / "last.ckpt")
    src, out, _ = translate(translator, "Ein Mann fährt Fahrrad.", beam_size=2)
    assert "".join(src).replace("▁", "") == "EinMannfährtFahrrad."
    assert isinstance(translator.text(out), str)


def test_validation_on_the_first_batches_only_scores_those(tmp_path, no_png):
    """`trainer.limit_val_batches` validates on a part of the split: val/bleu is of the
    sentences decoded (it crashed looking up the others)."""
    results = run(
        compose(
            [
                *TINY,
                "logger=csv",
                "data.batch_size=4",  # 16 valid: 4 batches
                "+trainer.limit_val_batches=1",
            ]
        ),
        tmp_path,
    )
    assert results.status == "complete"
    metrics = (tmp_path / "csv" / "metrics.csv").read_text().splitlines()
    column = metrics[0].split(",").index("val/bleu")
    assert any(row.split(",")[column] for row in metrics[1:])  # logged, from one batch


def test_a_checkpoint_resumes_only_on_the_data_it_was_trained_on(
    tmp_path, reverse_ckpt, recwarn, no_png
):
    copy = compose([*TINY, "logger=none", "dataset=copy", f"ckpt_path={reverse_ckpt}"])
    # The vocabularies agree (the same 30 symbols); the data's identity does not.
    both = r"dataset reverse \(dataset.task=reverse; splits \w+\); this run has dataset copy"
    with pytest.raises(CheckpointError, match=f"trained on other data, {both}"):
        run(copy, tmp_path / "copy")
    assert not (tmp_path / "copy" / "results.json").exists()
    again = compose(
        [
            *TINY,
            "logger=none",
            "dataset=reverse",
            "trainer.max_epochs=2",
            f"ckpt_path={reverse_ckpt}",
        ]
    )  # the same data, into another run dir: it continues, and says how the best is chosen
    results = run(again, tmp_path / "again")
    assert results.status == "complete" and results.train["epochs"] == 2
    assert results.best_checkpoint.startswith(str(tmp_path / "again"))
    assert not [w for w in recwarn if "dirpath has changed" in str(w.message)]


def test_a_checkpoint_of_the_older_layout_fits_its_data(tmp_path):
    """Its vocabularies sit in `checkpoint["ablate"]` and it has no data identity: the
    vocabularies are checked against the run's."""
    from ablate.checkpoints import check_fits, read
    from ablate.data.corpus import Corpus
    from ablate.data.datamodule import Seq2SeqData
    from ablate.options import build

    def data(overrides):
        cfg = compose([*TINY, *overrides])
        return Seq2SeqData(build(cfg.dataset, "dataset", None, Corpus)).state_dict()

    model = read(OLD_CHECKPOINT)["ablate"]["model"]
    check_fits(OLD_CHECKPOINT, model, data([]))  # the TINY toy_fr it was trained on
    with pytest.raises(CheckpointError, match="another src vocabulary"):
        check_fits(OLD_CHECKPOINT, model, data(["dataset.seed=7"]))
