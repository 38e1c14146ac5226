"""Training and decoding throughput of every attention option and decoder, against the tutorial way.

    python benchmarks/throughput.py [--workload reverse|toy_fr|all] [--json PATH] [--quick]
                                    [--family rnn|transformer|all] [--threads 2]
                                    [--rounds 5] [--attention-dim A] [OVERRIDE ...]

It prints a Rich table per workload and, with `--json`, writes the numbers. It measures
the product: every variant is composed from ablate's `conf/` with Hydra's compose API,
built as `python -m ablate` builds a run and trained with the system's own training step
(`benchmarks/variant.py`); nothing of the model, optimiser or clipping is restated here.
`OVERRIDE`s (`optim.lr=0.001`, `model.rnn=lstm`) apply to every variant, after the
workload's.

Workloads (`benchmarks/conf/workload/`, fixed so figures compare across versions):
`reverse` (30 symbols, sources of 5–50 tokens) and `toy_fr` (the English → French-like
grammar, 1–64 words), each 20,000 training and 2,000 test pairs, data seed 0, batches of
64. Families (`benchmarks/conf/family/`, a table each; `variant.FAMILIES`):

- `rnn`, at embedding 128, hidden 256: the five built-in attention options (`none`,
  `dot`, `scaled_dot`, `additive`, `multiplicative`), Luong's `location` and `local_p`,
  and the decoders that teacher-force one step at a time, each with the score its paper
  pairs it with: `multiplicative+input_feeding` and `additive+bahdanau`;
- `transformer` (`model=transformer`), at d_model 128, 4 heads, 2 + 2 layers,
  feed-forward 512: the cross-attention's score `scaled_dot` and `additive`.

A row's `attention` is the variant's name.

What is measured, per variant:

- `train_tokens_per_s`: target tokens (non-pad in `tgt_out`) per second of full training
  steps (`variant.TrainingStep`). The batches are collated beforehand (not timed); a
  warm-up of 5 batches, then the same 40 batches (`--quick`: 8) timed once per round,
  5 rounds (`--rounds`); the median. The rounds interleave the variants: every variant's
  process is set up first, then each round times one pass of each variant in turn (the
  order turning by one each round), so the machine's slow minutes (other tenants, on
  shared cores) fall on every variant alike rather than on whichever ran then.
- `greedy_sentences_per_s`: `search.decode` (beam 1) in eval mode over the 2,000 test
  sentences in the length-sorted batches of `Seq2SeqData.test_dataloader()` (`--quick`:
  every 10th, 200), after that training; median of 3 passes.
- `beam5_sentences_per_s`: the same with beam 5 and the config's `decode.length_penalty`.
- `peak_rss_mb`: peak resident memory (`ru_maxrss`) of the variant's own process (torch
  and the data included), not a running maximum over variants.
- `padding_fraction`: `1 − real tokens / (batch size × padded length)` over the training
  batches used, source and target together.

Each family has a reference, measured in the same run, trained by the same step. The
RNN's (`benchmarks/reference.py`) is the `additive` variant's model, with the same
parameters, run as tutorials do: the decoder called once per target position,
batches drawn at random without grouping by length, greedy and beam decoding one
sentence at a time (its beams in a Python list). It is trained by the same step from the
same initial weights, then decodes with the weights our `additive` run ended with, and
with the step cap each sentence had in our batched run, so both produce the same
sentences (the agreement is printed) and the decoding ratios compare implementations,
not models. Its beam search is timed over one pass only (the slowest part by far). The
Transformer's (`benchmarks/torch_transformer.py`) is `torch.nn.Transformer` at the same
sizes with the `scaled_dot` variant's embeddings and output layer, from the same initial
weights, on the same batches; it decodes one sentence at a time, re-running its decoder
over the whole prefix at every step (PyTorch's tutorial), with our final weights copied
in. The models are trained for only `5 + rounds × 40` batches, so many sentences run to
the cap; each variant's mean output length is printed: decoding speed depends on it.

`ratios` holds, per variant, ours / its family's reference training tokens/s, greedy and
beam-5 sentences/s, and (where the family has `none`) the option's training cost over
it: `tokens/s of none / tokens/s of the option − 1`, in percent. Both training figures
are the median over rounds of each round's own ratio; `rounds` keeps every round's
tokens/s per variant. A decoding ratio of a variant other than the reference's
divides by its speed although that model emits sentences of other lengths: read it with
the printed mean lengths.

JSON (`--json PATH`): one object per workload,
`{"workload", "threads", "overrides", "model", "attention_dim", "results": [{"attention",
"train_tokens_per_s", "greedy_sentences_per_s", "beam5_sentences_per_s", "peak_rss_mb",
"padding_fraction"}, …], "reference": {same keys}, "ratios":
{"train_tokens_per_s_vs_reference": {option: x}, "greedy_sentences_per_s_vs_reference":
{option: x}, "beam5_sentences_per_s_vs_reference": {option: x}, "train_cost_vs_none_pct":
{option: %}}, "rounds": {"train_tokens_per_s": {variant: [per round]}}}`. With
`--workload all` the file holds a list of those objects, `reverse` first. The
Transformer's table is under `"transformer"`: `{"model", "results", "reference", "ratios",
"rounds"}`, as the RNN's (which, with `--family transformer`, is absent).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from variant import BEAM_SIZE, FAMILIES, REFERENCE, REFERENCE_BEAM_REPEATS, WORKLOADS, Variant
from worker import Worker, command, serve

ROUNDS, TRAIN_BATCHES, QUICK_TRAIN_BATCHES = 5, 40, 8
KEYS = (
    "attention",
    "train_tokens_per_s",
    "greedy_sentences_per_s",
    "beam5_sentences_per_s",
    "peak_rss_mb",
    "padding_fraction",
)


def ratios(results: list[dict], reference: dict, rounds: dict) -> dict:
    """Ours / reference per option, and each option's training cost over `none` (in %)
    where there is a `none`.

    The training ratios are medians over rounds of each round's own ratio (the variants
    of a round run minutes apart at most), so drift in the machine's speed over the run
    cancels; the decoding ratios divide the figures of the table.
    """
    by = {r["attention"]: r for r in results}
    train = rounds["train_tokens_per_s"]

    def per_round(f, a: str, over: str) -> float:
        return statistics.median(f(x, y) for x, y in zip(train[a], train[over], strict=True))

    out = {
        "train_tokens_per_s_vs_reference": {
            a: per_round(lambda x, ref: x / ref, a, REFERENCE) for a in by
        },
        **{
            f"{m}_sentences_per_s_vs_reference": {
                a: r[f"{m}_sentences_per_s"] / reference[f"{m}_sentences_per_s"]
                for a, r in by.items()
            }
            for m in ("greedy", "beam5")
        },
    }
    if "none" in train:
        out["train_cost_vs_none_pct"] = {
            a: per_round(lambda x, none: 100.0 * (none / x - 1.0), a, "none") for a in by
        }
    return out


def run_family(workload: str, family: str, args, console) -> tuple[dict, dict]:
    """Every variant of one family on one workload, each in its own process, and the
    family's reference; the family's JSON object and the variants' extras.

    All the processes are set up first (one after another), then timed in rounds: each
    round gives every variant one training pass, in an order that turns round by round,
    so a slow minute on the machine hits every variant alike. Decoding comes last, one
    variant at a time, the reference after the variant whose final weights it decodes with.
    """
    variants = (*FAMILIES[family].variants, REFERENCE)
    train = {v: [] for v in variants}
    rows, extras, where = {}, {}, f"{workload}/{family}"
    with tempfile.TemporaryDirectory(prefix="ablate-bench-") as tmp:
        options = [
            *("--workload", workload, "--family", family, "--state-dir", tmp),
            *("--threads", str(args.threads), "--batches", str(args.batches)),
            *("--rounds", str(args.rounds), *(["--quick"] if args.quick else [])),
            *(["--attention-dim", str(args.attention_dim)] if args.attention_dim else []),
            *args.overrides,
        ]
        workers = []
        try:
            for variant in variants:
                start = time.perf_counter()
                workers.append(Worker(command(__file__, variant, options), variant))
                console.log(f"{where}/{variant}: set up in {time.perf_counter() - start:.0f} s")
            for r in range(args.rounds):
                shift = r % len(workers)
                for worker in workers[shift:] + workers[:shift]:
                    train[worker.variant].append(worker.ask("train")["rate"])
                console.log(
                    f"{where} round {r + 1}/{args.rounds}: "
                    + ", ".join(f"{v} {train[v][-1]:,.0f}" for v in variants)
                    + " tok/s"
                )
            for worker in workers:
                start = time.perf_counter()
                row = worker.ask("finish")
                extras[worker.variant] = row.pop("_extra")
                rows[worker.variant] = {
                    **row,
                    "train_tokens_per_s": statistics.median(train[worker.variant]),
                }
                console.log(
                    f"{where}/{worker.variant}: decoded in {time.perf_counter() - start:.0f} s"
                )
        finally:
            for worker in workers:
                worker.close()
    results = [{k: rows[a][k] for k in KEYS} for a in FAMILIES[family].variants]
    reference = {k: rows[REFERENCE][k] for k in KEYS}
    rounds = {"train_tokens_per_s": train}
    report = {
        "model": extras[REFERENCE]["model"],
        "attention_dim": extras[REFERENCE]["attention_dim"],  # additive's A, the RNN's
        "results": results,
        "reference": reference,
        "ratios": ratios(results, reference, rounds),
        "rounds": rounds,
    }
    return report, extras


def print_report(workload: str, family: str, report: dict, extras: dict, console) -> None:
    from rich.table import Table

    r, m = report["ratios"], report["model"]
    sizes = (
        f"embed {m['embed']}, hidden {m['hidden']}, additive A = {report['attention_dim']}"
        if family == "rnn"
        else f"d_model {m['d_model']}, {m['heads']} heads, {m['layers']} + {m['layers']} "
        f"layers, ff {m['ff']}"
    )
    table = Table(title=f"{workload}: {family} throughput by attention ({sizes})")
    cost = "train_cost_vs_none_pct" in r
    columns = ["attention", "train tok/s", "×ref", *(["cost vs none"] if cost else [])]
    columns += ["greedy sent/s", "×ref", "beam5 sent/s", "×ref", "peak RSS MB", "padding %"]
    for col in columns:
        table.add_column(col, justify="left" if col == "attention" else "right", no_wrap=True)

    def cells(row: dict, name: str, a: str | None) -> list[str]:
        def x(key):
            return "1.00" if a is None else f"{r[key][a]:.2f}"

        return [
            name,
            f"{row['train_tokens_per_s']:,.0f}",
            x("train_tokens_per_s_vs_reference"),
            *([f"{r['train_cost_vs_none_pct'][a]:+.0f}%" if a else ""] if cost else []),
            f"{row['greedy_sentences_per_s']:,.1f}",
            x("greedy_sentences_per_s_vs_reference"),
            f"{row['beam5_sentences_per_s']:,.1f}",
            x("beam5_sentences_per_s_vs_reference"),
            f"{row['peak_rss_mb']:,.0f}",
            f"{100 * row['padding_fraction']:.1f}",
        ]

    for row in report["results"]:
        table.add_row(*cells(row, row["attention"], row["attention"]))
    table.add_section()
    table.add_row(*cells(report["reference"], f"reference: {FAMILIES[family].reference}", None))
    console.print(table)
    for what, mean_key, agreement_key in (
        ("greedy", "mean_output_tokens", "greedy_agreement"),
        ("beam-5", "mean_beam5_output_tokens", "beam5_agreement"),
    ):
        lengths = ", ".join(f"{a} {e[mean_key]:.1f}" for a, e in extras.items() if a != REFERENCE)
        agreement = 100 * extras[REFERENCE][agreement_key]
        console.print(
            f"  {what} output tokens per sentence (mean): {lengths}; the reference's output "
            f"is identical to {report['reference']['attention']}'s on {agreement:.1f}% of "
            f"sentences."
        )
    console.print(
        f"  beam {BEAM_SIZE}: the reference's beam search is timed over "
        f"{REFERENCE_BEAM_REPEATS} pass."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workload", choices=(*WORKLOADS, "all"), default="reverse")
    parser.add_argument("--family", choices=(*FAMILIES, "all"), default="all")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_TRAIN_BATCHES} timed training batches, every 10th test sentence",
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
        default=None,
        help="the additive score's tanh layer A (default: conf/attention/additive.yaml's)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=ROUNDS,
        help=f"timed training passes per variant, interleaved across variants (default {ROUNDS})",
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for every variant")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--state-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_intermixed_args(argv)
    if args.batches is None:
        args.batches = QUICK_TRAIN_BATCHES if args.quick else TRAIN_BATCHES
    for name in ("threads", "batches", "rounds", "attention_dim"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")

    if args.worker:
        serve(
            Variant(
                args.workload,
                args.family,
                args.worker,
                args.threads,
                args.overrides,
                args.attention_dim,
                args.quick,
                args.state_dir,
                args.rounds,
                args.batches,
            )
        )
        return 0

    import torch
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 160)  # the table is 150 wide
    extra = f" with {' '.join(args.overrides)}" if args.overrides else ""
    console.print(
        f"torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} CPUs "
        f"({platform.processor() or platform.machine()}), Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f} at start; every variant in its own process, "
        f"built from conf/ as a run is{extra}; "
        f"5 warm-up + {args.batches} timed training batches, {args.rounds} rounds "
        f"interleaving the variants (median)" + (", --quick" if args.quick else "")
    )
    workloads = WORKLOADS if args.workload == "all" else (args.workload,)
    families = FAMILIES if args.family == "all" else (args.family,)
    reports, freed = [], []
    for workload in workloads:
        report = {"workload": workload, "threads": args.threads, "overrides": args.overrides}
        for family in families:
            family_report, extras = run_family(workload, family, args, console)
            print_report(workload, family, family_report, extras, console)
            if family == "rnn":
                report.update(family_report)
            else:
                report[family] = family_report
            freed += [e["keep_freed_memory"] for e in extras.values()]
        reports.append(report)
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
