"""One variant of the throughput benchmark, built and trained as `python -m ablate` does.

`benchmarks/throughput.py` runs each variant in a worker process of its own; this is
what that process holds. A variant is Hydra overrides (`FAMILIES`) on the product's own
`conf/` plus two files of `benchmarks/conf/`: a workload (the data and batch size) and
the model family's sizes, composed with Hydra's compose API (`compose_variant`). From the
composed config it is built as `ablate.train.run` builds a run (`build`): `set_up`
(allocator, threads, seeds), `build_data`, `build_model`, the `Seq2SeqSystem` with the
`optim` group's optimiser, schedule and label smoothing, and `ablate.models.cpu.speed_up`,
as a run on a CPU applies it. It trains with the system's own `training_step` and the
`trainer` group's gradient clipping (`TrainingStep`), the step Lightning takes in a run,
without Lightning's loop around it; `tests/test_benchmark_product.py` checks the model,
its initial weights and the step against `train.run`'s.

Each family has a reference, wrapped in the same system and trained by the same step:
for the RNN, the `additive` variant's model run step by step, as tutorials do
(`benchmarks/reference.py`); for the Transformer, `torch.nn.Transformer` at the same
sizes with the `scaled_dot` variant's embeddings and output layer, decoding by re-running
its decoder over the prefix (`benchmarks/torch_transformer.py`).
"""

from __future__ import annotations

import json
import statistics
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict
from reference import StepwiseRNN, random_batches
from torch import nn
from torch_transformer import TorchTransformer

from ablate import options, train
from ablate.data.datamodule import Seq2SeqData
from ablate.data.vocab import Vocab
from ablate.diagnostics import Probes
from ablate.models import search
from ablate.models.cpu import speed_up
from ablate.perf import keep_freed_memory, peak_rss_mb
from ablate.system import Seq2SeqSystem

BENCH_CONF = Path(__file__).resolve().parent / "conf"
WORKLOADS = ("reverse", "toy_fr")  # benchmarks/conf/workload/<name>.yaml
ATTENTIONS = ("none", "dot", "scaled_dot", "additive", "multiplicative")
REFERENCE = "reference"  # each family's reference, as a worker's variant name


@dataclass(frozen=True)
class Family:
    """A model family's variants (a row's name → its overrides, after the family's
    `benchmarks/conf/family/` file) and its reference: the variant whose model it runs
    and its name in the table."""

    variants: dict[str, list[str]]
    reference_variant: str
    reference: str


FAMILIES = {
    "rnn": Family(
        {
            **{a: [f"attention={a}"] for a in ATTENTIONS},
            "location": ["attention=location"],
            "local_p": ["attention=local_p"],
            "multiplicative+input_feeding": [
                "attention=multiplicative",
                "model.input_feeding=true",
            ],
            "additive+bahdanau": ["attention=additive", "model.decoder=bahdanau"],
        },
        reference_variant="additive",
        reference="additive, stepwise",
    ),
    "transformer": Family(
        {a: [f"attention={a}"] for a in ("scaled_dot", "additive")},
        reference_variant="scaled_dot",
        reference="torch.nn.Transformer",
    ),
}
WARMUP, REPEATS = 5, 3
QUICK_TEST_EVERY = 10  # --quick decodes every 10th test sentence: 200 of 2,000
BEAM_SIZE = 5
REFERENCE_BEAM_REPEATS = 1  # the per-sentence beam search is slow: one timed pass

# The system's `self.log` outside a trainer: Lightning warns and skips it, by design.
warnings.filterwarnings("ignore", message=r".*self\.log\(\)` but the `self\.trainer`.*")


def compose_variant(
    workload: str,
    family: str,
    variant: str,
    threads: int,
    overrides: list[str] = (),
    attention_dim: int | None = None,
) -> tuple[DictConfig, dict[str, str]]:
    """The config `python -m ablate` would run for this variant on this workload, with
    `overrides` last; and Hydra's group choices (`attention: additive`, …).

    Args:
        workload: a name in `WORKLOADS`.
        family: a name in `FAMILIES`.
        variant: a name in that family's variants, or `REFERENCE`.
        threads: torch CPU threads (the config's `threads`).
        overrides: more overrides, e.g. `optim.lr=0.001` or smaller data for a test.
        attention_dim: the score's layer size `attention.dim` where the attention has
            one (additive's A); None = its config's.
    """
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; choose one of {', '.join(WORKLOADS)}")
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    variants = FAMILIES[family].variants
    name = FAMILIES[family].reference_variant if variant == REFERENCE else variant
    if name not in variants:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(variants)}")
    with initialize_config_dir(str(options.CONF), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                f"hydra.searchpath=[file://{BENCH_CONF}]",
                f"+workload={workload}",
                f"+family={family}",
                *variants[name],
                f"threads={threads}",
                *overrides,
            ],
            return_hydra_config=True,
        )
    choices = dict(cfg.hydra.runtime.choices)
    with open_dict(cfg):
        del cfg["hydra"]
    if attention_dim is not None and "dim" in cfg.attention:
        cfg.attention.dim = attention_dim
    return cfg, choices


@dataclass
class Built:
    """A variant as `train.run` builds it: its data, its (CPU-speed) model, its system."""

    data: Seq2SeqData
    model: nn.Module
    system: Seq2SeqSystem


def build(cfg: DictConfig, choices: dict[str, str], test_every: int = 1) -> Built:
    """The data, model and system `train.run(cfg)` builds, in its order (so the seeds
    give the same weights), with the CPU paths swapped in; `test_every` > 1 keeps every
    so many test sentences (decoding only: the vocabularies come from training)."""
    train.set_up(cfg.threads, cfg.seed)
    data = train.build_data(cfg, choices.get("dataset"))
    data.corpus.test = data.corpus.test[::test_every]
    model = train.build_model(cfg, data, choices.get("attention"))
    system = train.build_system(cfg, model, data.corpus)
    speed_up(model)  # what train.run does when the trainer is on a CPU
    return Built(data, model, system)


def diagnostics_every(cfg: DictConfig) -> int | None:
    """The training batches between the run's attention diagnostics samples (the
    `callbacks` group's `diagnostics`), None where the run has none."""
    diagnostics = (cfg.get("callbacks") or {}).get("diagnostics")
    return None if diagnostics is None else diagnostics.every_n_train_batches


class TrainingStep:
    """One optimisation step as Lightning takes it in a run (automatic optimisation):
    the system's `training_step`, recorded by the attention diagnostics where the run's
    `ablate.callbacks.AttentionDiagnostics` samples that step (hooks on, so a
    Transformer's cross-attention is computed explicitly, and the gradient norm at the
    scores), zero the gradients, backward, clip their norm at the `trainer` group's
    `gradient_clip_val`, the optimiser's step, the schedule's step.

    Args:
        system: the system, built by `build`.
        trainer: the `trainer` config (only its clipping settings are read).
        total_steps: the steps the schedule decays over (a run's is its length).
        diagnostics_every: the run's `callbacks.diagnostics.every_n_train_batches`
            (`diagnostics_every(cfg)`), None for a run without the diagnostics.
    """

    def __init__(
        self,
        system: Seq2SeqSystem,
        trainer: DictConfig,
        total_steps: int,
        diagnostics_every: int | None,
    ):
        algorithm = trainer.get("gradient_clip_algorithm") or "norm"
        if algorithm != "norm":
            raise ValueError(f"trainer.gradient_clip_algorithm={algorithm!r}: only norm here")
        self.system, self.clip = system, trainer.get("gradient_clip_val")
        self.params = list(system.model.parameters())  # as configure_optimizers
        self.optimizer = system.optimizer(self.params)
        self.scheduler = (
            None
            if system.scheduler is None
            else system.scheduler(self.optimizer, total_steps=lambda: total_steps)
        )
        self.steps = 0
        self.every, self.probes = diagnostics_every, Probes(system.model)

    def __call__(self, batch: dict) -> torch.Tensor:
        """One step on `batch`; returns its loss (detached)."""
        # The run samples by batch index in its epoch: these steps are one epoch's batches.
        sampled = self.every is not None and self.steps % self.every == 0
        if sampled:
            self.probes.start(batch["tgt_out"].ne(Vocab.pad_id), grad=True)
        try:
            loss = self.system.training_step(batch, self.steps)
        finally:
            self.probes.stop()
        self.optimizer.zero_grad()
        loss.backward()
        if sampled:
            self.probes.end_batch()
        if self.clip:
            nn.utils.clip_grad_norm_(self.params, self.clip)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.steps += 1
        return loss.detach()


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
    out, rates = None, []
    for _ in range(repeats):
        start = time.perf_counter()
        out = decode()
        rates.append(n_sentences / (time.perf_counter() - start))
    return statistics.median(rates), out


class Variant:
    """One variant's model, system and batches, set up and warmed up once in its worker
    process; the driver then asks it for timed training passes, interleaved with the
    other variants', and last for its decoding figures.

    Args:
        workload, family, variant, threads, overrides, attention_dim: as
            `compose_variant`.
        quick: decode every `QUICK_TEST_EVERY`th test sentence only.
        state_dir: where the family's reference variant leaves its final weights and
            outputs for the reference, which decodes with them.
        rounds: timed passes the driver will ask for (the schedule's length).
        train_batches: batches per timed pass.
    """

    def __init__(
        self,
        workload: str,
        family: str,
        variant: str,
        threads: int,
        overrides: list[str],
        attention_dim: int | None,
        quick: bool,
        state_dir: Path,
        rounds: int,
        train_batches: int,
    ):
        self.freed = keep_freed_memory()  # before anything large is allocated
        cfg, choices = compose_variant(workload, family, variant, threads, overrides, attention_dim)
        built = build(cfg, choices, QUICK_TEST_EVERY if quick else 1)
        self.reference, self.family = variant == REFERENCE, FAMILIES[family]
        loader = built.data.train_dataloader()
        if self.reference and family == "rnn":  # the same parameters, run step by step
            built.system.model = StepwiseRNN(built.model)
            loader = random_batches(built.data, "train", cfg.data.batch_size, seed=cfg.seed)
        elif self.reference:  # nn.Transformer from the same initial weights, same batches
            built.system.model = TorchTransformer(built.model)
            built.system.model.copy_from(built.model)
        self.batches = []
        for batch in loader:
            self.batches.append(batch)
            if len(self.batches) == WARMUP + train_batches:
                break
        self.variant, self.cfg, self.built, self.state_dir = variant, cfg, built, state_dir
        total = WARMUP + rounds * train_batches
        self.step = TrainingStep(built.system, cfg.trainer, total, diagnostics_every(cfg))
        built.model.train(), built.system.model.train()
        for batch in self.batches[:WARMUP]:
            self.step(batch)
        pad = built.model.pad_id
        self.tokens = sum(int((b["tgt_out"] != pad).sum()) for b in self.batches[WARMUP:])

    def train_pass(self) -> float:
        """Target tokens per second of one pass of training steps over the timed batches."""
        start = time.perf_counter()
        for batch in self.batches[WARMUP:]:
            self.step(batch)
        return self.tokens / (time.perf_counter() - start)

    def finish(self) -> dict:
        """Decode the test set (greedy and beam 5); the variant's row, training rate aside."""
        data, model, reference = self.built.data, self.built.model, self.reference
        net, length_penalty = self.built.system.model, self.cfg.decode.length_penalty
        model.eval(), net.eval()
        ours = self.family.reference_variant
        state_file, outputs_file = (self.state_dir / f"{ours}{x}" for x in (".pt", ".json"))
        test = data.corpus.test
        if reference:
            # Decode with the weights our variant's run ended with, and the step cap each
            # sentence had there: the same sentences come out, so only the speed differs.
            model.load_state_dict(torch.load(state_file))
            if isinstance(net, TorchTransformer):
                net.copy_from(model)
            caps = json.loads(outputs_file.read_text())["max_len"]
            sentences = [torch.tensor(data.src_vocab.encode(p.src)) for p in test]
            runs = list(zip(sentences, caps, strict=True))
            net.greedy_one(sentences[0], max_len=caps[0])  # warm-up
            net.beam_one(sentences[0], BEAM_SIZE, caps[0], length_penalty)

            def decode():
                return [net.greedy_one(src, cap)[0] for src, cap in runs]

            def decode_beam():
                return [net.beam_one(src, BEAM_SIZE, cap, length_penalty)[0] for src, cap in runs]
        else:
            batches = list(data.test_dataloader())
            caps = [0] * len(test)  # the batched decoder's default cap per sentence
            for b in batches:
                for i in b["index"].tolist():
                    caps[i] = search.max_output_len(b["src"].shape[1])

            def batched(beam_size):
                out = [None] * len(test)
                for b in batches:
                    tokens, _ = search.decode(
                        model, b["src"], b["src_len"], beam_size, length_penalty
                    )
                    for i, row in zip(b["index"].tolist(), tokens.tolist(), strict=True):
                        out[i] = row
                return out

            for beam_size in (1, BEAM_SIZE):  # warm-up
                search.decode(model, batches[0]["src"], batches[0]["src_len"], beam_size)

            def decode():
                return batched(1)

            def decode_beam():
                return batched(BEAM_SIZE)

        greedy_rate, outputs = _time_decoding(decode, len(test), REPEATS)
        beam_repeats = REFERENCE_BEAM_REPEATS if reference else REPEATS
        beam_rate, beam_outputs = _time_decoding(decode_beam, len(test), beam_repeats)
        outputs = [_strip(list(o), model.pad_id) for o in outputs]
        beam_outputs = [_strip(list(o), model.pad_id) for o in beam_outputs]
        extra = {
            "mean_output_tokens": statistics.mean(map(len, outputs)) if outputs else 0.0,
            "mean_beam5_output_tokens": (
                statistics.mean(map(len, beam_outputs)) if beam_outputs else 0.0
            ),
            "keep_freed_memory": self.freed,
            "attention_dim": self.cfg.attention.get("dim"),
            "model": {k: v for k, v in self.cfg.model.items() if not k.startswith("_")},
        }
        if self.variant == ours:
            torch.save(model.state_dict(), state_file)
            outputs_file.write_text(
                json.dumps({"outputs": outputs, "beam5_outputs": beam_outputs, "max_len": caps})
            )
        if reference:
            saved = json.loads(outputs_file.read_text())
            for key, mine in (("greedy", outputs), ("beam5", beam_outputs)):
                theirs = saved["outputs" if key == "greedy" else "beam5_outputs"]
                same = sum(a == b for a, b in zip(theirs, mine, strict=True))
                extra[f"{key}_agreement"] = same / len(test)
        return {
            "attention": ours if reference else self.variant,
            "greedy_sentences_per_s": greedy_rate,
            "beam5_sentences_per_s": beam_rate,
            "peak_rss_mb": peak_rss_mb(),
            "padding_fraction": _padding_fraction(self.batches),
            "_extra": extra,
        }
