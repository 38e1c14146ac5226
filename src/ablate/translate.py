"""`python -m ablate.translate ckpt=PATH "the black cat sat on the mat" [png=FILE]`

Loads a checkpoint of a run (`checkpoints/best-*.ckpt` or `last.ckpt`), translates one
sentence greedily and prints the attention matrix as a coloured table — the lecture's
"The cat sat on the mat" picture for the model you trained; `png=FILE` also saves it as
an image. The checkpoint is loaded with `weights_only=True`: no code runs from it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from rich.table import Table

from ablate import checkpoints
from ablate.console import console
from ablate.data.vocab import Vocab
from ablate.models.seq2seq import Seq2Seq
from ablate.outputs import save_figure
from ablate.plots import alignment_figure

USAGE = 'usage: python -m ablate.translate ckpt=PATH "a source sentence" [png=FILE]'


def load(path: str | Path) -> tuple[Seq2Seq, Vocab, Vocab]:
    """The model and vocabularies saved in an ablate checkpoint."""
    ckpt = checkpoints.read(path)
    meta = ckpt["ablate"]
    model = Seq2Seq(**meta["model"])
    state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as e:  # weights of another size than the settings saved with them
        detail = str(e).strip().splitlines()[-1].strip()[:120]
        raise checkpoints.CheckpointError(
            f"{path}: its weights do not fit its model settings ({detail}); use a "
            f"checkpoint written by an ablate run") from None
    return model.eval(), Vocab.from_state_dict(meta["src_vocab"]), \
        Vocab.from_state_dict(meta["tgt_vocab"])


def translate(model: Seq2Seq, src_vocab: Vocab, tgt_vocab: Vocab, sentence: str):
    """Greedy translation of one whitespace-tokenised sentence.

    Returns:
        source tokens, output tokens, and the weights `(T, S)` (one row per output token)
        as a numpy array, None for `attention=none`.
    """
    src = sentence.lower().split()
    if not src:
        raise ValueError("nothing to translate: give a sentence")
    tokens, weights = model.greedy(torch.tensor([src_vocab.encode(src)]),
                                   torch.tensor([len(src)]))
    out = tgt_vocab.decode(tokens[0].tolist())
    return src, out, None if weights is None else weights[0, : len(out)].numpy()


def matrix_table(src, out, weights) -> Table:
    """Rows = output words, columns = source words, each cell shaded by its weight."""
    table = Table(show_lines=False, title="attention weights (row: output word)")
    table.add_column("")
    for s in src:
        table.add_column(s, justify="right")
    for t, word in enumerate(out):
        cells = []
        for w in weights[t]:
            level = int(round(float(w) * 255))
            style = f"on rgb({level},{level // 3},0)" if level > 25 else ""
            cells.append(f"[{style}]{w:.2f}[/]" if style else f"{w:.2f}")
        table.add_row(word, *cells)
    return table


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    opts = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in args
            if a.split("=", 1)[0] in ("ckpt", "png") and "=" in a}
    words = [a for a in args if a.split("=", 1)[0] not in ("ckpt", "png")]
    if "ckpt" not in opts or not words:
        console.print(USAGE)
        return 2
    try:
        model, src_vocab, tgt_vocab = load(opts["ckpt"])
        src, out, weights = translate(model, src_vocab, tgt_vocab, " ".join(words))
    except (OSError, ValueError, RuntimeError) as e:
        console.print(f"[bold red]error:[/bold red] {e}", soft_wrap=True)
        return 1
    unknown = [w for w in src if w not in src_vocab.stoi]
    if unknown:
        console.print(f"unknown source words (read as <unk>): {', '.join(unknown)}")
    console.print(" ".join(out))
    if weights is None:
        console.print("attention=none: one fixed context for every word, no weights to show")
        return 0
    console.print(matrix_table(src, out, weights))
    if "png" in opts:
        fig = alignment_figure(weights, src, out, title=" ".join(src))
        console.print(f"saved {save_figure(fig, Path(opts['png']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
