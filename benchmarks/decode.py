"""Greedy against beam search on a trained run: test BLEU and sentences/s of each beam size.

    python benchmarks/decode.py RUN_DIR [--beams 1 5] [--batch 64] [--threads 2]

A benchmark, not a test. It rebuilds the run's test split from `RUN_DIR/.hydra/config.yaml`
(the same dataset settings and subword models, from the cache), loads the run's best
checkpoint (`results.json` → `best_checkpoint`, else `checkpoints/last.ckpt`), decodes the
test split in length-sorted batches with each beam size, and prints per beam size the
test BLEU (sacrebleu on detokenised text, as a run scores it), its per-bucket BLEU, the
decoding speed (median of 3 passes) and the ratio against the first beam size (greedy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from rich.table import Table

from ablate.buckets import make_buckets
from ablate.console import console
from ablate.models import search
from ablate.run_files import read_results
from ablate.scoring import score
from ablate.translate import load


def batches(pairs, vocab, size: int):
    """Length-sorted batches of `(indices, src, src_len)`."""
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i].src))
    for start in range(0, len(order), size):
        idx = order[start : start + size]
        ids = [vocab.encode(pairs[i].src) for i in idx]
        src = torch.zeros(len(ids), max(map(len, ids)), dtype=torch.long)
        for b, s in enumerate(ids):
            src[b, : len(s)] = torch.tensor(s)
        yield idx, src, torch.tensor([len(s) for s in ids])


def decode_all(translator, pairs, beam: int, size: int) -> tuple[list, float]:
    """Every test hypothesis with beam size `beam`, and the seconds it took."""
    hyps = [None] * len(pairs)
    start = time.perf_counter()
    for idx, src, src_len in batches(pairs, translator.src_vocab, size):
        tokens, _ = search.decode(translator.model, src, src_len, beam_size=beam)
        for b, i in enumerate(idx):
            hyps[i] = translator.tgt_vocab.decode(tokens[b].tolist())
    return hyps, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    cfg = OmegaConf.load(args.run_dir / ".hydra" / "config.yaml")
    corpus = instantiate(cfg.dataset)
    results = read_results(args.run_dir)
    ckpt = results.best_checkpoint or args.run_dir / "checkpoints" / "last.ckpt"
    translator = load(ckpt)
    buckets = make_buckets(
        **OmegaConf.to_container(cfg.buckets), lengths=[len(p.src_words) for p in corpus.test]
    )
    rows = []
    for beam in args.beams:
        times, hyps = [], None
        for _ in range(args.passes):
            hyps, seconds = decode_all(translator, corpus.test, beam, args.batch)
            times.append(seconds)
        scores = score(
            corpus.test,
            hyps,
            buckets,
            tokenize=corpus.tokenize,
            detokenize=corpus.detokenize,
            n_bootstrap=0,
        )
        rows.append(
            {
                "beam": beam,
                "bleu": scores.bleu,
                "sentences_per_s": len(corpus.test) / statistics.median(times),
                "buckets": {b.label: b.bleu for b in scores.buckets if b.n},
                "mean_length": statistics.mean(len(h) for h in hyps),
            }
        )
    table = Table(
        title=f"{args.run_dir} · {corpus.name} · attention={results.attention} · "
        f"{len(corpus.test)} test sentences, batch {args.batch}, "
        f"{args.threads} threads"
    )
    for col in ("beam", "BLEU", "sent/s", "× first", "mean tokens", *rows[0]["buckets"]):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r["beam"]),
            f"{r['bleu']:.2f}",
            f"{r['sentences_per_s']:.1f}",
            f"{r['sentences_per_s'] / rows[0]['sentences_per_s']:.2f}",
            f"{r['mean_length']:.1f}",
            *(f"{v:.1f}" for v in r["buckets"].values()),
        )
    console.print(table)
    console.print_json(json.dumps(rows))


if __name__ == "__main__":
    main()
