"""`python -m ablate.translate`: a real checkpoint from a tiny run, read back safely."""

import torch
from torch import nn

from ablate.data.vocab import SPECIALS
from ablate.train import run
from ablate.translate import load, main, translate

from conftest import OLD_CHECKPOINT, TINY, compose


def never_ends(translator):
    """Steer the output layer off the special tokens, so greedy decoding writes a word at
    every step until its length limit: an output that is never empty (a model trained for
    two steps may well say </s> first)."""
    out_layer = [
        m
        for m in translator.model.modules()
        if isinstance(m, nn.Linear) and m.out_features == len(translator.tgt_vocab)
    ][-1]
    with torch.no_grad():
        out_layer.bias[: len(SPECIALS)] = -1e4
    return translator


def test_translate_prints_the_matrix_and_saves_a_png(tmp_path, capsys, no_png):
    run(compose([*TINY, "logger=none", "attention=additive"]), tmp_path / "run", choices={})
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    src, out, weights = translate(never_ends(load(ckpt)), "the cat sat on the mat")
    assert src == ["the", "cat", "sat", "on", "the", "mat"]
    assert len(out) > 0 and weights.shape == (len(out), len(src))
    assert (weights >= 0).all() and abs(weights.sum(1) - 1).max() < 1e-5
    png = tmp_path / "cat.png"
    assert main([f"ckpt={ckpt}", "the", "cat", "sat", "on", "the", "mat", f"png={png}"]) == 0
    printed = capsys.readouterr().out
    assert "attention weights" in printed and "mat" in printed
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_translate_without_attention_has_no_matrix(tmp_path, capsys, no_png):
    run(compose([*TINY, "logger=none", "attention=none"]), tmp_path / "run", choices={})
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert main([f"ckpt={ckpt}", "the cat"]) == 0
    assert "no weights" in capsys.readouterr().out


def test_translate_rejects_missing_and_foreign_checkpoints(tmp_path, capsys):
    assert main([f"ckpt={tmp_path / 'nope.ckpt'}", "the cat"]) == 1
    torch.save({"state_dict": {}}, tmp_path / "other.ckpt")
    assert main([f"ckpt={tmp_path / 'other.ckpt'}", "the cat"]) == 1
    out = capsys.readouterr().out
    assert "checkpoint not found" in out and "not an ablate checkpoint" in out
    assert main(["the cat"]) == 2


def test_a_checkpoint_of_the_older_layout_still_translates(capsys):
    old = torch.load(OLD_CHECKPOINT, weights_only=True)
    assert "src_vocab" in old["ablate"] and "Seq2SeqData" not in old  # the layout it has
    src, out, weights = translate(never_ends(load(OLD_CHECKPOINT)), "the cat sat on the mat")
    assert src == ["the", "cat", "sat", "on", "the", "mat"]
    assert len(out) > 0 and weights.shape == (len(out), len(src))
    assert main([f"ckpt={OLD_CHECKPOINT}", "the", "cat"]) == 0
    assert "attention weights" in capsys.readouterr().out
