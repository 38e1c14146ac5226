"""The files a run leaves (ablate.run_files, written through ablate.outputs) and the
package's layering."""

import ast
import json
import sys
from pathlib import Path

import pytest

from ablate.outputs import record_failure
from ablate.run_files import (
    RunResults,
    complete_results,
    fingerprint,
    read_hypotheses,
    read_results,
    write_hypotheses,
    write_results,
)
from ablate.scores import (
    AlignmentScore,
    AttentionBucket,
    AttentionEpoch,
    AttentionStats,
    BucketScore,
    FrequencyBand,
    JumpBand,
    Scores,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "ablate"


def test_results_round_trip_and_unknown_keys_are_kept(tmp_path):
    r = RunResults(
        attention="dot",
        dataset="toy_fr",
        seed=0,
        model={"family": "rnn", "hidden": 8, "attention": "dot"},
        status="complete",
        scores=Scores(
            bleu=91.5,
            chrf=95.0,
            exact_match=80.0,
            signature={"bleu": "tok:none"},
            buckets=(BucketScore("01-10", 1, 10, 3, 91.5, 90.0, 93.0, 95.0, 80.0),),
            alignment=AlignmentScore(0.9, 0.1, 0.5),
            alignment_by_jump=(JumpBand("0-2", 5, 1.0), JumpBand("10+", 0, None)),
            rare_words=(FrequencyBand("1-5", 1, 5, 2, 0.5),),
            attention_stats=AttentionStats(
                queries=9,
                score_std=1.5,
                entropy=0.4,
                max_weight=0.8,
                saturated=0.25,
                score_grad_norm=0.01,
                buckets=(AttentionBucket("01-10", 1, 10, 3, 9, 1.5, 0.4, 0.8, 0.25),),
                history=(AttentionEpoch(1, 1.0, 0.9, 0.5, 0.0, 0.02),),
            ),
            sentence_stats={"rare_words": {"labels": ["1-5"], "hits": [[1]], "totals": [[2]]}},
        ),
        valid_bleu=92.0,
        train={"epochs": 3},
        extra={"from_a_newer_version": 1},
    )
    write_results(tmp_path, r)
    data = json.loads((tmp_path / "results.json").read_text())
    assert "error" not in data and data["from_a_newer_version"] == 1  # None fields left out
    assert data["bleu"] == 91.5 and data["buckets"][0]["label"] == "01-10"  # the file's layout
    assert list(data)[:9] == ["attention", "dataset", "seed", "model", "status", "bleu"] + [
        "chrf",
        "exact_match",
        "valid_bleu",
    ]
    assert read_results(tmp_path, sentences=True) == r
    assert complete_results(tmp_path) == read_results(tmp_path)  # without per-sentence counts
    bare = RunResults(attention="none", dataset="x", seed=0, status="complete")
    assert bare.to_json()["alignment"] is None  # a complete run states every score key
    with pytest.raises(ValueError, match="status"):
        RunResults(attention="dot", dataset="x", seed=0, status="done")


def test_results_written_before_the_model_was_recorded_still_read(tmp_path):
    """An older results.json has no `model`: the record reads it as None, states it as
    null once rewritten (a complete run states every key), and the sweep report reads it."""
    from ablate.report.read import Run, read_job

    old = {"attention": "dot", "dataset": "toy_fr", "seed": 0, "status": "complete"}
    old |= {"bleu": 10.0, "chrf": 20.0, "exact_match": 0.0, "signature": {}, "buckets": []}
    (tmp_path / "results.json").write_text(json.dumps(old))
    record = read_results(tmp_path)
    assert record.model is None and record.extra == {}
    assert record.to_json()["model"] is None
    run = read_job(tmp_path)
    assert isinstance(run, Run) and run.results.model is None


def test_a_failed_job_keeps_what_it_wrote(tmp_path):
    write_results(
        tmp_path,
        RunResults(
            attention="dot",
            dataset="toy_fr",
            seed=1,
            status="diverged",
            error="NaN",
            train={"steps": 5},
        ),
    )
    record_failure(tmp_path, "the job failed", ["attention=dot", "seed=1"])
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["status"] == "diverged" and data["train"] == {"steps": 5}
    assert data["error"] == "the job failed" and data["overrides"] == ["attention=dot", "seed=1"]
    assert complete_results(tmp_path) is None
    empty = tmp_path / "never_started"
    empty.mkdir()
    record_failure(empty, "boom", [])
    assert json.loads((empty / "results.json").read_text()) == {
        "status": "failed",
        "error": "boom",
        "overrides": [],
    }


def test_hypotheses_writer_and_reader_share_one_header(tmp_path):
    path = tmp_path / "hypotheses.tsv"
    write_hypotheses(path, [("a\tb", "A B", "", "01-10"), ("c", "C\nD", "C", "11-20")])
    table = read_hypotheses(path)
    assert table == {
        "source": ["a b", "c"],
        "reference": ["A B", "C D"],
        "hypothesis": ["", "C"],
        "bucket": ["01-10", "11-20"],
    }
    assert fingerprint(table["source"], table["reference"]) != fingerprint(["c"], ["C D"])


def _imports(path: Path) -> set[str]:
    """Modules imported at run time (not under `if TYPE_CHECKING:`), in functions too;
    a relative import (`from ._impl import X`) as the absolute name it stands for."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            # `from . import x` imports the module base.x (or a name of base)
            names = [node.module] if node.module else [a.name for a in node.names]
            out |= {f"{base}.{n}" for n in names}
    return out


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_the_import_graph_has_no_cycle():
    """Across every package under src/: ablate and the Hydra plugin (hydra_plugins), whose
    sweeper imports ablate and which ablate's command line registers."""
    modules = {_module(p): p for p in SRC.parent.rglob("*.py")}
    assert {m.split(".")[0] for m in modules} >= {"ablate", "hydra_plugins"}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for imp in _imports(path):
            # `from ablate.data import subword` imports ablate.data.subword
            while imp and imp not in modules:
                imp = imp.rpartition(".")[0]
            if imp and imp != name and not name.startswith(imp + "."):
                deps.add(imp)
        graph[name] = deps
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                raise AssertionError(" -> ".join([*stack, node, dep]))
            if dep not in state:
                visit(dep, [*stack, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])


def test_frameworks_stay_at_the_edges():
    stdlib = set(sys.stdlib_module_names)
    # The on-disk records: the standard library (and each other) only.
    for path in (SRC / "run_files.py", SRC / "atomic.py", SRC / "scores.py"):
        imports = {m for m in _imports(path) if m not in ("ablate.atomic", "ablate.scores")}
        assert {m.split(".")[0] for m in imports} <= stdlib | {"__future__"}, path
    for path in SRC.glob("data/*.py"):  # the data layer writes through atomic, not results
        assert "ablate.run_files" not in _imports(path), path
    for path in [
        *SRC.glob("data/*.py"),
        *SRC.glob("models/*.py"),
        SRC / "metrics.py",
        *SRC.glob("report/*.py"),
    ]:
        if path.name == "datamodule.py":  # a LightningDataModule by design
            continue
        roots = {m.split(".")[0] for m in _imports(path)}
        assert not roots & {"hydra", "omegaconf", "wandb", "pytorch_lightning"}, path


def test_checkpoints_from_before_attention_components_still_load(tmp_path):
    import torch

    from ablate.checkpoints import read
    from ablate.translate import build_model

    old = {
        "embed": 8,
        "hidden": 8,
        "layers": 1,
        "rnn": "gru",
        "dropout": 0.0,
        "attention": "additive",
        "attention_dim": 4,
    }
    path = tmp_path / "old.ckpt"
    vocab = {"itos": ["<pad>", "<unk>", "<s>", "</s>"]}
    torch.save({"ablate": {"model": old, "src_vocab": vocab, "tgt_vocab": vocab}}, path)
    model = read(path)["ablate"]["model"]
    assert "attention_dim" not in model and model["attention"]["dim"] == 4
    assert (model["decoder"], model["input_feeding"]) == ("luong", False)
    net = build_model({**model, "src_vocab_size": 10, "tgt_vocab_size": 10})
    assert net.decoder.attention.W_h.weight.shape == (4, 8)  # A = 4, as trained


def test_resuming_with_another_decoder_is_refused(tmp_path):
    import torch

    from ablate.checkpoints import CheckpointError, check_fits

    saved = {
        "embed": 8,
        "hidden": 8,
        "layers": 1,
        "rnn": "gru",
        "attention": "dot",
        "decoder": "luong",
        "input_feeding": False,
    }
    path = tmp_path / "last.ckpt"
    data = {"src_vocab": {"itos": []}, "tgt_vocab": {"itos": []}}
    torch.save({"ablate": {"model": saved, **data}}, path)  # the older layout
    check_fits(path, saved, data)
    with pytest.raises(CheckpointError, match="model.decoder=luong, this run has model.decoder"):
        check_fits(path, {**saved, "decoder": "bahdanau"}, data)
    with pytest.raises(CheckpointError, match="model.input_feeding"):
        check_fits(path, {**saved, "input_feeding": True}, data)


def test_only_the_results_module_names_the_results_file():
    """`RunResults.from_json` (through `read_results`) is the one reader of
    `results.json`: no other module holds the file's name in its code (prose in
    docstrings and comments may name it; a string literal in code may not)."""

    def literals(path: Path) -> list[str]:
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        return [
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
        ]

    naming = [
        p
        for p in SRC.rglob("*.py")
        if p != SRC / "run_files.py" and any("results.json" in x for x in literals(p))
    ]
    assert naming == []
