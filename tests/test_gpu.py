"""GPU paths: run only where CUDA is available, skip cleanly on CPU machines."""

import pytest
import torch

from ablate.train import run

from conftest import TINY, compose

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@cuda
def test_gpu_trainer_runs_in_bf16(tmp_path):
    results = run(compose([*TINY, "trainer=gpu", "logger=none"]), tmp_path / "run", choices={})
    assert results.status == "complete"


@cuda
def test_greedy_on_gpu_matches_cpu():
    from ablate.models.search import greedy

    from models import rnn_model

    model = rnn_model("additive", src_vocab_size=20, tgt_vocab_size=20, embed=16, hidden=16)
    src = torch.randint(4, 20, (5, 9))
    src_len = torch.full((5,), 9)
    cpu_tokens, _ = greedy(model, src, src_len, max_len=12)
    gpu_tokens, _ = greedy(model.cuda(), src.cuda(), src_len.cuda(), max_len=12)
    assert torch.equal(cpu_tokens, gpu_tokens.cpu())
