"""Training and decoding throughput of every attention option and decoder, against the tutorial way.

    python benchmarks/throughput.py [--workload reverse|toy_fr|all] [--json PATH]
                                    [--threads 2] [--rounds 5] [--attention-dim A] [--quick]

A benchmark, not a test: it prints a Rich table per workload and, with `--json`, writes
the numbers. Workloads (fixed, so figures compare across versions):

- `reverse`: `synthetic("reverse", …)`, 30 symbols, sources of 5–50 tokens;
- `toy_fr`: the English → French-like grammar, sources of 1–64 words;

both with 20,000 training and 2,000 test pairs, seed 0. The model is the product's
`Seq2Seq(embed=128, hidden=256, layers=1, rnn="gru", dropout=0.1)` with the additive tanh
layer A = 64 of `conf/attention/additive.yaml` (`--attention-dim 256` for A = H): a
one-layer bidirectional GRU encoder and a GRU decoder, trained with Adam (lr 1e-3) on batches of
64 sentences from `Seq2SeqData.train_dataloader()` (length-grouped).

Variants: the five built-in attention options (`none`, `dot`, `scaled_dot`, `additive`,
`multiplicative`), Luong's `location` and `local_p` (`ablate.models.luong`, with the
parameters of their config files: `max_len` 256, `window` 10), and the decoders that
teacher-force one step at a time, each with the score its paper pairs it with:
`multiplicative+input_feeding` (Luong's general score, `model.input_feeding=true`) and
`additive+bahdanau` (`model.decoder=bahdanau`). A row's `attention` is the variant's name.

What is measured, per variant:

- `train_tokens_per_s`: target tokens (non-pad in `tgt_out`) per second of full training
  steps: forward, cross-entropy ignoring padding, backward, `clip_grad_norm_(1.0)`,
  Adam step. The batches are collated beforehand (collation is not timed); a warm-up of
  5 batches, then the same 40 batches (`--quick`: 8) timed once per round, 5 rounds
  (`--rounds`); the median. The rounds interleave the variants: every variant's process
  is set up first, then each round times one pass of each variant in turn (the order
  turning by one each round), so that the machine's slow minutes (other tenants, on
  shared cores) fall on every variant alike rather than on whichever ran then.
- `greedy_sentences_per_s`: `search.greedy` in eval mode over the 2,000 test sentences in
  the length-sorted batches of 64 of `Seq2SeqData.test_dataloader()` (`--quick`: every
  10th test sentence, 200), after that training; median of 3 passes.
- `beam5_sentences_per_s`: `search.beam_search(beam_size=5, length_penalty=1.0)` on the
  same test batches as greedy, with the same step cap; median of 3 passes.
- `peak_rss_mb`: peak resident memory (`ru_maxrss`) of the process that ran the variant.
  Every variant runs in its own Python process, so the number is that variant's own
  peak (torch and the data included), not a running maximum over variants.
- `padding_fraction`: `1 − real tokens / (batch size × padded length)` over the training
  batches used (warm-up and timed), source and target together.

The reference (`benchmarks/reference.py`) is the same model, with the same parameters,
run as tutorials do: the decoder called once per target position with the attention of
that step, batches drawn at random without grouping by length, and greedy decoding one
sentence at a time. It is measured with `additive` attention (Bahdanau's, what
tutorials use) and the same protocol: the same initial weights, training batches from its
own random order; it then decodes with the weights our `additive` run ended with, and with the
step cap each sentence had in our batched run (`2 S + 10`, `S` the longest source of its
test batch), so both decoders produce the same sentences (the agreement is printed) and
the greedy ratio compares implementations, not models. Its beam search
(`StepwiseSeq2Seq.beam_one`) is the same search, one sentence at a time with its beams
in a Python list, one decoder step per beam; it is timed over one pass only (it is the
slowest part of the benchmark by far), and its agreement with our beam-5 output is
printed too. The models are trained for only
`5 + rounds × 40` batches, so many sentences run to that cap; the mean output length of each
variant is printed, since greedy speed depends on it.

`ratios` holds, per variant, ours / reference training tokens/s, greedy and
beam-5 sentences/s (the reference is always the additive one), and the option's training cost
over `none`: `tokens/s of none / tokens/s of the option − 1`, in percent. Both training
figures are the median over rounds of each round's own ratio; `rounds` keeps every
round's tokens/s per variant. The greedy ratio of
a variant other than `additive` divides by the additive reference's speed although that
option's model emits sentences of other lengths: read it with the printed mean lengths
(and so for beam 5).

Every process calls `ablate.perf.keep_freed_memory()` first, as `ablate.train.run` does.

JSON (`--json PATH`): one object per workload,
`{"workload", "threads", "results": [{"attention", "train_tokens_per_s",
"greedy_sentences_per_s", "beam5_sentences_per_s", "peak_rss_mb", "padding_fraction"},
…], "reference": {same keys}, "ratios": {"train_tokens_per_s_vs_reference": {option: x},
"greedy_sentences_per_s_vs_reference": {option: x}, "beam5_sentences_per_s_vs_reference":
{option: x}, "train_cost_vs_none_pct": {option: %}}, "rounds": {"train_tokens_per_s":
{variant: [per round]}}}`.
With `--workload all` the file holds a list of those objects, `reverse` first.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ablate.perf import keep_freed_memory, peak_rss_mb

WORKLOADS = ("reverse", "toy_fr")
ATTENTIONS = ("none", "dot", "scaled_dot", "additive", "multiplicative")
# Every variant: its attention option and the decoder settings (`Seq2Seq` keywords).
VARIANTS = {
    **{a: (a, {}) for a in ATTENTIONS},
    "location": ("location", {}),
    "local_p": ("local_p", {}),
    "multiplicative+input_feeding": ("multiplicative", {"input_feeding": True}),
    "additive+bahdanau": ("additive", {"decoder": "bahdanau"}),
}
REFERENCE_ATTENTION = "additive"
MODEL = dict(embed=128, hidden=256, layers=1, rnn="gru", dropout=0.1)
ATTENTION_DIM = 64  # the additive tanh layer A, as conf/attention/additive.yaml
BATCH_SIZE, LR, CLIP, SEED = 64, 1e-3, 1.0, 0
WARMUP, REPEATS, ROUNDS = 5, 3, 5
TRAIN_BATCHES, QUICK_TRAIN_BATCHES = 40, 8
QUICK_GREEDY_EVERY = 10  # --quick decodes every 10th test sentence: 200 of 2,000
BEAM_SIZE, LENGTH_PENALTY = 5, 1.0
REFERENCE_BEAM_REPEATS = 1  # the per-sentence beam search is slow: one timed pass


def load_corpus(workload: str):
    """The fixed corpus of a workload."""
    from ablate.data import datasets

    if workload == "reverse":
        return datasets.synthetic(
            "reverse",
            train_size=20000,
            valid_size=10,
            test_size=2000,
            min_len=5,
            max_len=50,
            vocab_size=30,
            seed=SEED,
        )
    if workload == "toy_fr":
        return datasets.toy_fr(
            train_size=20000, valid_size=10, test_size=2000, min_len=1, max_len=64, seed=SEED
        )
    raise ValueError(f"unknown workload {workload!r}; choose one of {', '.join(WORKLOADS)}")


# --------------------------------------------------------------------------- one variant
# Runs in a fresh process (`--worker`), so that peak RSS and the allocator's state belong
# to this variant alone.


def _padding_fraction(batches: list[dict]) -> float:
    real = sum(int(b["src_len"].sum()) + int((b["tgt_out"] != 0).sum()) for b in batches)
    total = sum(b["src"].numel() + b["tgt_out"].numel() for b in batches)
    return 1.0 - real / total


def _strip(tokens: list[int], pad_id: int) -> list[int]:
    while tokens and tokens[-1] == pad_id:
        tokens.pop()
    return tokens


def _time_decoding(decode, n_sentences: int, repeats: int) -> tuple[float, list]:
    """Median sentences per second of `decode()` (one full pass) and its last output."""
    decode_out = None
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        decode_out = decode()
        rates.append(n_sentences / (time.perf_counter() - start))
    return statistics.median(rates), decode_out


class Variant:
    """One variant's model, optimizer and batches, set up and warmed up once in its worker
    process; the driver then asks it for timed training passes, interleaved with the
    other variants' (see `run_workload`), and finally for its decoding figures."""

    def __init__(
        self,
        workload: str,
        variant: str,
        threads: int,
        quick: bool,
        state_dir: Path,
        train_batches: int,
        attention_dim: int = ATTENTION_DIM,
    ):
        """`variant` is a name in `VARIANTS` or `reference`."""
        self.freed = keep_freed_memory()
        import torch
        from reference import StepwiseSeq2Seq, random_batches

        from ablate.data.datamodule import Seq2SeqData
        from ablate.models.attention import AdditiveAttention
        from ablate.models.cpu import speed_up
        from ablate.models.luong import LocalPAttention, LocationAttention
        from ablate.models.seq2seq import Seq2Seq

        torch.set_num_threads(threads)
        corpus = load_corpus(workload)
        if quick:
            corpus.test = corpus.test[::QUICK_GREEDY_EVERY]
        data = Seq2SeqData(corpus, batch_size=BATCH_SIZE, seed=SEED)
        reference = variant == "reference"
        attention, decoder = VARIANTS[REFERENCE_ATTENTION if reference else variant]
        factories = {
            "additive": functools.partial(AdditiveAttention, dim=attention_dim),
            "location": LocationAttention,
            "local_p": LocalPAttention,
        }
        torch.manual_seed(SEED)
        model = Seq2Seq(
            len(data.src_vocab),
            len(data.tgt_vocab),
            attention=factories.get(attention, attention),
            **MODEL,
            **decoder,
            pad_id=data.src_vocab.pad_id,
            bos_id=data.tgt_vocab.bos_id,
            eos_id=data.tgt_vocab.eos_id,
        )
        speed_up(model)  # as the product does on a CPU
        net = StepwiseSeq2Seq(model) if reference else model
        loader = (
            random_batches(data, "train", BATCH_SIZE, seed=SEED)
            if reference
            else data.train_dataloader()
        )
        batches = []
        for batch in loader:
            batches.append(batch)
            if len(batches) == WARMUP + train_batches:
                break
        self.variant, self.reference = variant, reference
        self.attention = attention if reference else variant  # the row's name
        self.corpus, self.data, self.model, self.net = corpus, data, model, net
        self.state_dir, self.batches = state_dir, batches
        self.params = list(model.parameters())
        self.optimizer = torch.optim.Adam(self.params, lr=LR)
        model.train()
        for batch in batches[:WARMUP]:
            self._step(batch)
        self.tokens = sum(int((b["tgt_out"] != model.pad_id).sum()) for b in batches[WARMUP:])

    def _step(self, batch: dict) -> None:
        """One full training step (see the module docstring)."""
        import torch
        from torch.nn import functional as F

        logits, _ = self.net(batch["src"], batch["src_len"], batch["tgt_in"])  # (B, T, V)
        loss = F.cross_entropy(
            logits.flatten(0, 1), batch["tgt_out"].flatten(), ignore_index=self.model.pad_id
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, CLIP)
        self.optimizer.step()

    def train_pass(self) -> float:
        """Target tokens per second of one pass of training steps over the timed batches."""
        start = time.perf_counter()
        for batch in self.batches[WARMUP:]:
            self._step(batch)
        return self.tokens / (time.perf_counter() - start)

    def finish(self) -> dict:
        """Decode the test set (greedy and beam 5); the variant's row, training rate aside."""
        import torch

        corpus, data, model, net = self.corpus, self.data, self.model, self.net
        reference, state_dir = self.reference, self.state_dir
        model.eval()
        state_file = state_dir / f"{REFERENCE_ATTENTION}.pt"
        outputs_file = state_dir / f"{REFERENCE_ATTENTION}-outputs.json"
        n_test = len(corpus.test)
        if reference:
            # Decode with the weights our additive run ended with, and the step cap each
            # sentence had there: the same sentences come out, so only the speed differs.
            model.load_state_dict(torch.load(state_file))
            caps = json.loads(outputs_file.read_text())["max_len"]
            sentences = [torch.tensor(data.src_vocab.encode(p.src)) for p in corpus.test]
            net.greedy_one(sentences[0], max_len=caps[0])  # warm-up
            net.beam_one(sentences[0], BEAM_SIZE, caps[0], LENGTH_PENALTY)

            def decode():
                return [
                    net.greedy_one(src, cap)[0] for src, cap in zip(sentences, caps, strict=True)
                ]

            def decode_beam():
                return [
                    net.beam_one(src, BEAM_SIZE, cap, LENGTH_PENALTY)[0]
                    for src, cap in zip(sentences, caps, strict=True)
                ]
        else:
            test_batches = list(data.test_dataloader())
            from ablate.models.search import beam_search, greedy, max_output_len

            caps = [0] * n_test  # the batched decoder's default cap per sentence
            for b in test_batches:
                for i in b["index"].tolist():
                    caps[i] = max_output_len(b["src"].shape[1])
            greedy(model, test_batches[0]["src"], test_batches[0]["src_len"])  # warm-up
            beam_search(
                model,
                test_batches[0]["src"],
                test_batches[0]["src_len"],
                BEAM_SIZE,
                length_penalty=LENGTH_PENALTY,
            )

            def batched(search):
                out = [None] * n_test
                for b in test_batches:
                    tokens, _ = search(b["src"], b["src_len"])
                    for i, row in zip(b["index"].tolist(), tokens.tolist(), strict=True):
                        out[i] = row
                return out

            def decode():
                return batched(functools.partial(greedy, model))

            def decode_beam():
                return batched(
                    lambda src, src_len: beam_search(
                        model, src, src_len, BEAM_SIZE, length_penalty=LENGTH_PENALTY
                    )
                )

        greedy_rate, outputs = _time_decoding(decode, n_test, REPEATS)
        beam_rate, beam_outputs = _time_decoding(
            decode_beam, n_test, REFERENCE_BEAM_REPEATS if reference else REPEATS
        )
        outputs = [_strip(list(o), model.pad_id) for o in outputs]
        beam_outputs = [_strip(list(o), model.pad_id) for o in beam_outputs]
        extra = {
            "mean_output_tokens": statistics.mean(len(o) for o in outputs) if outputs else 0.0,
            "mean_beam5_output_tokens": (
                statistics.mean(len(o) for o in beam_outputs) if beam_outputs else 0.0
            ),
            "keep_freed_memory": self.freed,
        }
        if self.variant == REFERENCE_ATTENTION:
            torch.save(model.state_dict(), state_file)
            outputs_file.write_text(
                json.dumps({"outputs": outputs, "beam5_outputs": beam_outputs, "max_len": caps})
            )
        if reference:
            ours = json.loads(outputs_file.read_text())
            extra["greedy_agreement"] = (
                sum(a == b for a, b in zip(ours["outputs"], outputs, strict=True)) / n_test
            )
            beam_pairs = zip(ours["beam5_outputs"], beam_outputs, strict=True)
            extra["beam5_agreement"] = sum(a == b for a, b in beam_pairs) / n_test

        return {
            "attention": self.attention,
            "greedy_sentences_per_s": greedy_rate,
            "beam5_sentences_per_s": beam_rate,
            "peak_rss_mb": peak_rss_mb(),
            "padding_fraction": _padding_fraction(self.batches),
            "_extra": extra,
        }


# --------------------------------------------------------------------------- the driver


class Worker:
    """A variant in its own Python process, driven over its stdin and stdout: one JSON
    line per answer (`{"ready": true}` once set up, a rate per `train`, the row at
    `finish`)."""

    def __init__(self, workload: str, variant: str, args, state_dir: Path):
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            variant,
            "--workload",
            workload,
            "--threads",
            str(args.threads),
            "--state-dir",
            str(state_dir),
            "--batches",
            str(args.batches),
        ]
        if args.quick:
            cmd.append("--quick")
        cmd += ["--attention-dim", str(args.attention_dim)]
        self.variant = variant
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self._answer()  # set up and warmed up

    def _answer(self) -> dict:
        for line in self.process.stdout:
            if line.startswith("{"):
                return json.loads(line)
        code = self.process.wait()
        raise RuntimeError(f"the {self.variant} worker exited ({code}); its error is above")

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        return self._answer()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def serve(variant: Variant) -> None:
    """The worker's side of `Worker`."""
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() == "train":
            print(json.dumps({"rate": variant.train_pass()}), flush=True)
        elif line.strip() == "finish":
            print(json.dumps(variant.finish()), flush=True)
            return


def ratios(results: list[dict], reference: dict, rounds: dict) -> dict:
    """Ours / reference per option, and each option's training cost over `none` (in %).

    The training ratios are medians over rounds of each round's own ratio (the variants
    of a round run minutes apart at most), so drift in the machine's speed over the run
    cancels; the decoding ratios divide the figures of the table.
    """
    by = {r["attention"]: r for r in results}
    train = rounds["train_tokens_per_s"]

    def per_round(f, a: str) -> float:
        return statistics.median(
            f(x, y, z) for x, y, z in zip(train[a], train["reference"], train["none"], strict=True)
        )

    return {
        "train_tokens_per_s_vs_reference": {
            a: per_round(lambda x, ref, none: x / ref, a) for a in by
        },
        "greedy_sentences_per_s_vs_reference": {
            a: r["greedy_sentences_per_s"] / reference["greedy_sentences_per_s"]
            for a, r in by.items()
        },
        "beam5_sentences_per_s_vs_reference": {
            a: r["beam5_sentences_per_s"] / reference["beam5_sentences_per_s"]
            for a, r in by.items()
        },
        "train_cost_vs_none_pct": {
            a: per_round(lambda x, ref, none: 100.0 * (none / x - 1.0), a) for a in by
        },
    }


def run_workload(workload: str, args, console) -> tuple[dict, dict]:
    """Every variant of one workload, each in its own process; the JSON object and extras.

    All the variants' processes are set up first (one after another), then timed in
    rounds: each round gives every variant one training pass, in an order that turns
    round by round, so a slow minute on the machine hits every variant alike. Decoding
    comes last, one variant at a time.
    """
    variants = (*VARIANTS, "reference")
    train = {v: [] for v in variants}
    rows, extras = {}, {}
    with tempfile.TemporaryDirectory(prefix="ablate-bench-") as tmp:
        workers = []
        try:
            for variant in variants:
                start = time.perf_counter()
                workers.append(Worker(workload, variant, args, Path(tmp)))
                console.log(f"{workload}/{variant}: set up in {time.perf_counter() - start:.0f} s")
            for r in range(args.rounds):
                shift = r % len(workers)
                for worker in workers[shift:] + workers[:shift]:
                    train[worker.variant].append(worker.ask("train")["rate"])
                console.log(
                    f"{workload} round {r + 1}/{args.rounds}: "
                    + ", ".join(f"{v} {train[v][-1]:,.0f}" for v in variants)
                    + " tok/s"
                )
            # The reference comes after `additive`: it decodes with that run's final weights.
            for worker in workers:
                start = time.perf_counter()
                row = worker.ask("finish")
                extras[worker.variant] = row.pop("_extra")
                row["train_tokens_per_s"] = statistics.median(train[worker.variant])
                rows[worker.variant] = row
                console.log(
                    f"{workload}/{worker.variant}: decoded in {time.perf_counter() - start:.0f} s"
                )
        finally:
            for worker in workers:
                worker.close()
    keys = (
        "attention",
        "train_tokens_per_s",
        "greedy_sentences_per_s",
        "beam5_sentences_per_s",
        "peak_rss_mb",
        "padding_fraction",
    )
    results = [{k: rows[a][k] for k in keys} for a in VARIANTS]
    reference = {k: rows["reference"][k] for k in keys}
    rounds = {"train_tokens_per_s": train}
    report = {
        "workload": workload,
        "threads": args.threads,
        "attention_dim": args.attention_dim,
        "results": results,
        "reference": reference,
        "ratios": ratios(results, reference, rounds),
        "rounds": rounds,
    }
    return report, extras


def print_report(report: dict, extras: dict, console) -> None:
    from rich.table import Table

    r = report["ratios"]
    table = Table(
        title=f"{report['workload']}: throughput by attention and decoder "
        f"(batch {BATCH_SIZE}, {report['threads']} threads)"
    )
    for col in (
        "attention",
        "train tok/s",
        "×ref",
        "cost vs none",
        "greedy sent/s",
        "×ref",
        "beam5 sent/s",
        "×ref",
        "peak RSS MB",
        "padding %",
    ):
        table.add_column(col, justify="left" if col == "attention" else "right", no_wrap=True)
    for row in report["results"]:
        a = row["attention"]
        table.add_row(
            a,
            f"{row['train_tokens_per_s']:,.0f}",
            f"{r['train_tokens_per_s_vs_reference'][a]:.2f}",
            f"{r['train_cost_vs_none_pct'][a]:+.0f}%",
            f"{row['greedy_sentences_per_s']:,.1f}",
            f"{r['greedy_sentences_per_s_vs_reference'][a]:.2f}",
            f"{row['beam5_sentences_per_s']:,.1f}",
            f"{r['beam5_sentences_per_s_vs_reference'][a]:.2f}",
            f"{row['peak_rss_mb']:,.0f}",
            f"{100 * row['padding_fraction']:.1f}",
        )
    ref = report["reference"]
    table.add_section()
    table.add_row(
        f"reference: {ref['attention']}, stepwise",
        f"{ref['train_tokens_per_s']:,.0f}",
        "1.00",
        "",
        f"{ref['greedy_sentences_per_s']:,.1f}",
        "1.00",
        f"{ref['beam5_sentences_per_s']:,.1f}",
        "1.00",
        f"{ref['peak_rss_mb']:,.0f}",
        f"{100 * ref['padding_fraction']:.1f}",
    )
    console.print(table)
    for what, mean_key, agreement_key in (
        ("greedy", "mean_output_tokens", "greedy_agreement"),
        ("beam-5", "mean_beam5_output_tokens", "beam5_agreement"),
    ):
        lengths = ", ".join(f"{a} {e[mean_key]:.1f}" for a, e in extras.items() if a != "reference")
        agreement = 100 * extras["reference"][agreement_key]
        console.print(
            f"  {what} output tokens per sentence (mean): {lengths}; the reference's output "
            f"is identical to {REFERENCE_ATTENTION}'s on {agreement:.1f}% of sentences."
        )
    console.print(
        f"  beam 5: length_penalty {LENGTH_PENALTY}; the reference's beam search is timed "
        f"over {REFERENCE_BEAM_REPEATS} pass."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", choices=(*WORKLOADS, "all"), default="reverse")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_TRAIN_BATCHES} timed training batches, "
        f"{2000 // QUICK_GREEDY_EVERY} test sentences",
    )
    parser.add_argument(
        "--batches",
        type=int,
        default=None,
        help=f"timed training batches (default {TRAIN_BATCHES}, --quick {QUICK_TRAIN_BATCHES})",
    )
    parser.add_argument(
        "--attention-dim",
        type=int,
        default=ATTENTION_DIM,
        help=f"the additive score's tanh layer A (default {ATTENTION_DIM}, as "
        f"conf/attention/additive.yaml; {MODEL['hidden']} = hidden)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=ROUNDS,
        help=f"timed training passes per variant, interleaved across variants (default {ROUNDS})",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    if args.batches is None:
        args.batches = QUICK_TRAIN_BATCHES if args.quick else TRAIN_BATCHES
    if args.batches < 1:
        parser.error(f"--batches must be >= 1, got {args.batches}")
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    if args.attention_dim < 1:
        parser.error(f"--attention-dim must be >= 1, got {args.attention_dim}")

    if args.worker:
        serve(
            Variant(
                args.workload,
                args.worker,
                args.threads,
                args.quick,
                args.state_dir,
                args.batches,
                args.attention_dim,
            )
        )
        return 0

    import torch
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 160)  # the table is 150 wide
    console.print(
        f"torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} CPUs "
        f"({platform.processor() or platform.machine()}), Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f} at start; every variant in its own process, "
        f"each calling ablate.perf.keep_freed_memory() first (as the product does); "
        f"{WARMUP} warm-up + {args.batches} timed training batches, {args.rounds} rounds "
        f"interleaving the variants (median)" + (", --quick" if args.quick else "")
    )
    workloads = WORKLOADS if args.workload == "all" else (args.workload,)
    reports, freed = [], []
    for workload in workloads:
        report, extras = run_workload(workload, args, console)
        print_report(report, extras, console)
        reports.append(report)
        freed += [e["keep_freed_memory"] for e in extras.values()]
    if not all(freed):
        console.print("  note: keep_freed_memory() had no effect here (not glibc?)")
    console.print(
        f"  load average {os.getloadavg()[0]:.2f} at the end (other processes "
        f"on the machine make the numbers noisy)"
    )
    if args.json:
        payload = reports if args.workload == "all" else reports[0]
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        console.print(f"  wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
