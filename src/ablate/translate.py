"""`python -m ablate.translate ckpt=PATH "the black cat sat on the mat" [png=FILE]`

Loads a checkpoint of a run (`checkpoints/best-*.ckpt` or `last.ckpt`), translates one
sentence (greedily, or with `beam=K`) and prints the attention matrix as a coloured
table — the lecture's "The cat sat on the mat" picture for the model you trained;
`png=FILE` also saves it as an image. The checkpoint is loaded with `weights_only=True`:
no code runs from it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from pathlib import Path

import torch
from rich.table import Table
from torch import nn

from ablate import checkpoints
from ablate.console import console
from ablate.data.subword import Subword
from ablate.data.vocab import Vocab
from ablate.models import search
from ablate.models.cpu import speed_up
from ablate.outputs import save_figure
from ablate.plots import alignment_figure

USAGE = 'usage: python -m ablate.translate ckpt=PATH "a source sentence" [png=FILE] [beam=K]'


class Translator:
    """A trained model with what it needs to read and write text: vocabularies, and the
    subword models when the run used them (`dataset.subword`)."""

    def __init__(
        self,
        model: nn.Module,
        src_vocab: Vocab,
        tgt_vocab: Vocab,
        src_subword: Subword | None = None,
        tgt_subword: Subword | None = None,
    ):
        self.model, self.src_vocab, self.tgt_vocab = model, src_vocab, tgt_vocab
        self.src_subword, self.tgt_subword = src_subword, tgt_subword
        # toy_fr and the symbol tasks have lower-case vocabularies; real text keeps case.
        self.lowercase = src_subword is None and not any(t != t.lower() for t in src_vocab.itos)

    def tokens(self, sentence: str) -> list[str]:
        """The model's source tokens for `sentence`: subword pieces, or words."""
        if self.src_subword is not None:
            return self.src_subword.encode(sentence)
        return (sentence.lower() if self.lowercase else sentence).split()

    def text(self, tokens: list[str]) -> str:
        return self.tgt_subword.decode(tokens) if self.tgt_subword else " ".join(tokens)


def load(path: str | Path) -> Translator:
    """The model, vocabularies and subword models saved in an ablate checkpoint (of
    either layout: `ablate.checkpoints.data_state`)."""
    ckpt = checkpoints.read(path)
    model = speed_up(build_model(ckpt["ablate"]["model"]))  # translate runs on a CPU
    state = {k.removeprefix("model."): v for k, v in ckpt["state_dict"].items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as e:  # weights of another size than the settings saved with them
        detail = str(e).strip().splitlines()[-1].strip()[:120]
        raise checkpoints.CheckpointError(
            f"{path}: its weights do not fit its model settings ({detail}); use a "
            f"checkpoint written by an ablate run"
        ) from None
    data = checkpoints.data_state(ckpt)
    subword = data["subword"]
    return Translator(
        model.eval(),
        Vocab.from_state_dict(data["src_vocab"]),
        Vocab.from_state_dict(data["tgt_vocab"]),
        *(Subword.from_state_dict(subword[k]) if subword.get(k) else None for k in ("src", "tgt")),
    )


def build_model(settings: Mapping) -> nn.Module:
    """The model a checkpoint's settings describe, untrained: its class (`_target_`, the
    `RNNEncoderDecoder` or the `Transformer`; `checkpoints.upgrade_model_settings` fills
    it in for checkpoints that name none) around its `config_class` of the other settings
    (`ablate.models.config`: the settings' stored form)."""
    settings = dict(settings)
    target = str(settings.pop("_target_", checkpoints.RNN))
    module, _, name = target.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as e:
        raise checkpoints.CheckpointError(
            f"the checkpoint's model class {target!r} cannot be imported ({e})"
        ) from None
    return cls(cls.config_class.from_record(settings))


def translate(translator: Translator, sentence: str, beam_size: int = 1):
    """Translate one sentence.

    Returns:
        source tokens, output tokens, and the weights `(T, S)` (one row per output token)
        as a numpy array, None for `attention=none`.
    """
    src = translator.tokens(sentence)
    if not src:
        raise ValueError("nothing to translate: give a sentence")
    search.check_decoding(beam_size, 1.0)
    tokens, weights = search.decode(
        translator.model,
        torch.tensor([translator.src_vocab.encode(src)]),
        torch.tensor([len(src)]),
        beam_size=beam_size,
    )
    out = translator.tgt_vocab.decode(tokens[0].tolist())
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
    keys = ("ckpt", "png", "beam")
    opts = {
        a.split("=", 1)[0]: a.split("=", 1)[1]
        for a in args
        if a.split("=", 1)[0] in keys and "=" in a
    }
    words = [a for a in args if a.split("=", 1)[0] not in keys]
    if "ckpt" not in opts or not words:
        console.print(USAGE)
        return 2
    try:
        beam = int(opts.get("beam", 1))
        translator = load(opts["ckpt"])
        src, out, weights = translate(translator, " ".join(words), beam_size=beam)
    except (OSError, ValueError, RuntimeError) as e:
        console.print(f"[bold red]error:[/bold red] {e}", soft_wrap=True)
        return 1
    unknown = [w for w in src if w not in translator.src_vocab.stoi]
    if unknown:
        console.print(f"unknown source tokens (read as <unk>): {', '.join(unknown)}")
    console.print(translator.text(out))
    if weights is None:
        console.print("attention=none: one fixed context for every word, no weights to show")
        return 0
    console.print(matrix_table(src, out, weights))
    if "png" in opts:
        fig = alignment_figure(weights, src, out, title=" ".join(words))
        console.print(f"saved {save_figure(fig, Path(opts['png']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
