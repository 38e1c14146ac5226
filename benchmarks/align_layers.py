"""Which decoder layer's cross-attention is a Transformer's alignment: AER per layer.

    python benchmarks/align_layers.py outputs/runs/<date>/<time> [more run dirs ...]

For each finished `model=transformer` run dir, rebuilds the run from its composed config
(`.hydra/config.yaml`) as `ablate.train.run` does, loads its best checkpoint, and tests it
once per decoder layer with `model.align_layer` set to that layer (heads averaged), on the
run's own test set and gold alignments. Prints alignment accuracy and AER per layer; the
test BLEU does not depend on the layer and is printed once as a check against the run's
`results.json`. `conf/model/transformer.yaml`'s `align_layer` default was chosen this way.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("WANDB_MODE", "offline")

import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from ablate.callbacks import quiet_lightning  # noqa: E402
from ablate.run_files import read_results  # noqa: E402
from ablate.train import build_data, build_model, build_system  # noqa: E402


def layer_scores(run_dir: Path) -> tuple[float, float, list[tuple[float, float]]]:
    """`(recorded test BLEU, re-tested BLEU, [(alignment accuracy, AER) per layer])`."""
    cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    if "layers" not in cfg.model:
        raise SystemExit(f"error: {run_dir} is not a model=transformer run")
    recorded = read_results(run_dir)
    ckpt = Path(recorded.best_checkpoint or run_dir / "checkpoints" / "last.ckpt")
    quiet_lightning()
    torch.set_num_threads(cfg.threads or torch.get_num_threads())
    pl.seed_everything(cfg.seed, verbose=False)
    data = build_data(cfg, None)
    model = build_model(cfg, data, None)
    system = build_system(cfg, model, data.corpus)
    state = torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"]
    system.load_state_dict(state)
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False)
    found, bleu = [], None
    for layer in range(cfg.model.layers):
        model.align_layer = layer
        trainer.test(system, datamodule=data, verbose=False)
        scores = system.test_outputs.scores
        bleu = scores.bleu
        a = scores.alignment
        found.append((a.accuracy, a.aer) if a else (float("nan"), float("nan")))
    return recorded.scores.bleu, bleu, found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="finished model=transformer run dirs")
    args = parser.parse_args(argv)
    console = Console(width=150)
    table = Table(title="alignment from each decoder layer's cross-attention (heads averaged)")
    for col in ("run", "attention", "seed", "test BLEU (recorded / re-tested)"):
        table.add_column(col)
    rows, most = [], 0
    for run_dir in args.runs:
        recorded, retested, layers = layer_scores(run_dir)
        cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
        name = read_results(run_dir).attention
        rows.append((run_dir, name, cfg.seed, f"{recorded:.2f} / {retested:.2f}", layers))
        most = max(most, len(layers))
    for i in range(most):
        table.add_column(f"layer {i}: acc / AER", justify="right")
    for run_dir, name, seed, bleu, layers in rows:
        cells = [f"{acc:.3f} / {aer:.3f}" for acc, aer in layers]
        table.add_row(str(run_dir), str(name), str(seed), bleu, *cells)
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
