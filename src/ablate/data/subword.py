"""Subword vocabularies for real text, trained with SentencePiece (Kudo & Richardson 2018).

`model: bpe` is byte-pair encoding (Sennrich, Haddow & Birch 2016, "Neural Machine
Translation of Rare Words with Subword Units", §3.2): start from characters and merge the
most frequent adjacent pair until the vocabulary has `vocab_size` entries. `model: unigram`
is Kudo 2018's unigram language model ("Subword Regularization", §3.2): prune a large
seed vocabulary by the likelihood each piece adds. Either way a rare word is spelled with
a few frequent pieces instead of becoming `<unk>`, and `▁` marks where a word starts, so
`decode(encode(text)) == text` for normalised text whose characters were seen in training.

Models are trained in-process on the training split only, with one thread and no input
sampling so that the same sentences and settings give the same model byte for byte, and
cached under the cache dir by a hash of both (written atomically).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import sentencepiece as spm

from ablate.atomic import atomic_write_bytes
from ablate.console import console

MODELS = ("bpe", "unigram")
KEYS = ("model", "vocab_size", "joint")

# Fixed trainer options: part of every cache key, so changing one retrains.
TRAINER_OPTIONS = {
    "character_coverage": 1.0,  # every training character is a piece: no <unk> in training
    "normalization_rule_name": "identity",  # `normalize` below is the one normalisation
    "hard_vocab_limit": False,  # a small corpus gets fewer pieces instead of an error
    "bos_id": -1,
    "eos_id": -1,  # <s> and </s> belong to ablate's Vocab, not to the pieces
    "input_sentence_size": 0,
    "shuffle_input_sentence": False,  # all sentences, in order
    "num_threads": 1,  # the model bytes record the thread count: fix it for the cache key
    "minloglevel": 2,  # no training log on the terminal
}


def normalize(text: str) -> str:
    """Unicode NFC and single spaces: the form `Pair.src_text`/`tgt_text` hold."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True)
class SubwordSettings:
    """The `dataset.subword` config.

    Args:
        model: `bpe`, `unigram`, or None for whitespace words.
        vocab_size: pieces per model (an upper bound: a small corpus may get fewer).
        joint: one model trained on source and target text together, shared by both
            sides (related languages share many pieces); else one model per side.
    """

    model: str | None = None
    vocab_size: int = 8000
    joint: bool = False

    @classmethod
    def from_config(cls, subword: Mapping | None) -> SubwordSettings:
        """Check a `dataset.subword` mapping (None = words).

        Raises:
            ValueError: naming the bad `dataset.subword.<key>` and the valid values.
        """
        if subword is None:
            return cls()
        if not isinstance(subword, Mapping):
            raise ValueError(
                f"dataset.subword must be a mapping like {{model: bpe, "
                f"vocab_size: 8000}} or null, got {subword!r}"
            )
        unknown = sorted(set(subword) - set(KEYS))
        if unknown:
            raise ValueError(
                f"unknown key dataset.subword.{unknown[0]}; the keys are {', '.join(KEYS)}"
            )
        settings = cls(**dict(subword))
        if settings.model is not None and settings.model not in MODELS:
            raise ValueError(
                f"unknown dataset.subword.model {settings.model!r}; choose one of "
                f"{', '.join(MODELS)}, or null for whitespace words"
            )
        size = settings.vocab_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 8:
            raise ValueError(f"dataset.subword.vocab_size must be an integer >= 8, got {size!r}")
        if not isinstance(settings.joint, bool):
            raise ValueError(f"dataset.subword.joint must be true or false, got {settings.joint!r}")
        return settings


class Subword:
    """A trained SentencePiece model: text ↔ pieces.

    Args:
        model_proto: the serialised model (what `state_dict` stores in a checkpoint).
    """

    def __init__(self, model_proto: bytes):
        self.model_proto = bytes(model_proto)
        self._sp = spm.SentencePieceProcessor(model_proto=self.model_proto)

    def __len__(self) -> int:
        return self._sp.get_piece_size()

    def encode(self, text: str) -> list[str]:
        """Pieces of `normalize(text)`, e.g. `['▁Ein', '▁Hund', '▁läuft', '.']`."""
        return self._sp.encode(normalize(text), out_type=str)

    def encode_batch(self, texts: Sequence[str]) -> list[list[str]]:
        """`encode` of every text, in one call."""
        return self._sp.encode([normalize(t) for t in texts], out_type=str)

    def decode(self, pieces: Sequence[str]) -> str:
        """Pieces → text; the inverse of `encode` on normalised text."""
        return self._sp.decode_pieces(list(pieces))

    def state_dict(self) -> dict:
        """`{"model_proto": bytes}`: loadable with `torch.load(..., weights_only=True)`."""
        return {"model_proto": self.model_proto}

    @classmethod
    def from_state_dict(cls, state: Mapping) -> Subword:
        return cls(state["model_proto"])


def cache_key(sentences: Sequence[str], model: str, vocab_size: int) -> str:
    """A hash of the training sentences, the settings and the trainer."""
    h = hashlib.sha256(
        json.dumps(
            {
                "model": model,
                "vocab_size": vocab_size,
                "options": TRAINER_OPTIONS,
                "sentencepiece": spm.__version__,
            },
            sort_keys=True,
        ).encode()
    )
    for s in sentences:
        h.update(s.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()[:16]


def train(
    sentences: Sequence[str], model: str, vocab_size: int, cache_dir: Path, name: str = "training"
) -> Subword:
    """The `model` subword model of `sentences`, from the cache or trained and cached.

    Args:
        sentences: normalised training sentences.
        model: `bpe` or `unigram`.
        vocab_size: pieces (upper bound).
        cache_dir: where models are kept (`<cache_dir>/<model>-<vocab_size>-<key>.model`).
        name: what the sentences are (`de`, `train.src`), for the printed line.

    Raises:
        ValueError: when SentencePiece cannot train on the sentences.
    """
    path = Path(cache_dir) / f"{model}-{vocab_size}-{cache_key(sentences, model, vocab_size)}.model"
    if path.is_file():
        try:
            return Subword(path.read_bytes())
        except (RuntimeError, OSError):
            pass  # a corrupt cache is retrained, never trusted
    writer, start = io.BytesIO(), time.perf_counter()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=writer,
            model_type=model,
            vocab_size=vocab_size,
            **TRAINER_OPTIONS,
        )
    except RuntimeError as e:
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else repr(e)
        raise ValueError(
            f"sentencepiece could not train a {model} model "
            f"(dataset.subword.vocab_size={vocab_size}) on {len(sentences)} "
            f"{name} sentences: {reason}"
        ) from None
    subword = Subword(writer.getvalue())
    atomic_write_bytes(path, subword.model_proto)
    console.print(
        f"trained a {model} subword model ({len(subword)} pieces) on "
        f"{len(sentences)} {name} sentences in {time.perf_counter() - start:.1f} s "
        f"→ {path}",
        soft_wrap=True,
    )
    return subword


def build(
    settings: SubwordSettings,
    src_train: Sequence[str],
    tgt_train: Sequence[str],
    cache_dir: Path,
    names: tuple[str, str] = ("source", "target"),
) -> tuple[Subword | None, Subword | None]:
    """The source and target subword models `settings` ask for (None, None for words).

    Args:
        settings: the checked `dataset.subword` config.
        src_train, tgt_train: normalised training sentences of each side.
        cache_dir: the model cache.
        names: what each side is, for printed lines.
    """
    if settings.model is None:
        return None, None
    if settings.joint:
        joint = train(
            [*src_train, *tgt_train],
            settings.model,
            settings.vocab_size,
            cache_dir,
            f"{names[0]}+{names[1]}",
        )
        return joint, joint
    return (
        train(src_train, settings.model, settings.vocab_size, cache_dir, names[0]),
        train(tgt_train, settings.model, settings.vocab_size, cache_dir, names[1]),
    )
