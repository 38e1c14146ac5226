"""Dataset loaders: one function per `conf/dataset/<name>.yaml`, each returning a `Corpus`
(`multi30k`, which downloads, has its own module and shares `text_corpus` with `parallel`).

The synthetic sets are generated from the seed, offline; `toy_fr` is cached on disk by a
hash of its settings (written atomically, so a killed run never leaves half a cache);
`parallel` reads a user's own aligned UTF-8 text files, as words or as subword pieces.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

from sacrebleu.metrics import BLEU

from ablate.atomic import atomic_write_text
from ablate.console import console
from ablate.data import subword as subwords
from ablate.data import synthetic as synthetic_tasks
from ablate.data import toy_fr as toy_fr_grammar
from ablate.data.corpus import Corpus, Pair

SPLITS = ("train", "valid", "test")


def default_cache_dir() -> Path:
    """`$ABLATE_CACHE_DIR`, else `~/.cache/ablate`."""
    return Path(os.environ.get("ABLATE_CACHE_DIR", "~/.cache/ablate")).expanduser()


def _check_sizes(prefix: str, **sizes: int) -> None:
    for name, value in sizes.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{prefix}.{name} must be a positive integer, got {value!r}")


def _check_lengths(prefix: str, min_len: int, max_len: int) -> None:
    _check_sizes(prefix, min_len=min_len, max_len=max_len)
    if min_len > max_len:
        raise ValueError(f"{prefix}.min_len ({min_len}) must be <= {prefix}.max_len ({max_len})")


def _pairs_to_json(pairs: list[Pair]) -> list:
    return [[list(p.src), list(p.tgt), [list(a) for a in p.alignment or ()]] for p in pairs]


def _pairs_from_json(rows: list) -> list[Pair]:
    return [Pair(tuple(s), tuple(t), tuple(tuple(a) for a in al)) for s, t, al in rows]


def _split_lengths(min_len: int, max_len: int, test_max_len: int | None) -> dict:
    """Source-length range of each split; the test split may reach further (extrapolation)."""
    _check_lengths("dataset", min_len, max_len)
    if test_max_len is not None:
        _check_lengths("dataset", min_len, test_max_len)
    test = (min_len, test_max_len or max_len)
    return {"train": (min_len, max_len), "valid": (min_len, max_len), "test": test}


class _NewSources:
    """The `accept` of one split's generator: refuses a source that an earlier split
    holds (and, with `distinct`, one this split already holds) and counts the refusals."""

    def __init__(self, taken: set[tuple[str, ...]], distinct: bool):
        self.taken = taken
        self.distinct = distinct
        self.seen: set[tuple[str, ...]] = set()
        self.refused = 0

    def __call__(self, src: tuple[str, ...]) -> bool:
        if src in self.taken or src in self.seen:
            self.refused += 1
            return False
        if self.distinct:
            self.seen.add(src)
        return True


def _disjoint_splits(
    name: str, generate: Callable[..., list[Pair]], sizes: dict, lengths: dict, seed: int
) -> tuple[dict[str, list[Pair]], dict]:
    """Train, valid and test from `generate(n, min_len=, max_len=, seed=, accept=)`, with
    no source in two splits and none twice in valid or test.

    Test comes first (from `seed + 2`), so it keeps its uniform length distribution; then
    valid (`seed + 1`) refuses test sources, and train (`seed`) refuses both, which only
    costs it some short sentences. A refused source is redrawn at the same length, a
    bounded number of times (see the generators' `tries`); a length with no new sentence
    left costs the split that pair.

    Returns:
        `(splits, meta)`; `meta["deduplicated"]` counts the refused draws of each split,
        `meta["missing"]` the pairs a split is short of its size.
    """
    splits, refused, taken = {}, {}, set()
    for split, offset in (("test", 2), ("valid", 1), ("train", 0)):
        accept = _NewSources(taken, distinct=split != "train")
        lo, hi = lengths[split]
        splits[split] = generate(
            sizes[split], min_len=lo, max_len=hi, seed=seed + offset, accept=accept
        )
        taken |= {p.src for p in splits[split]}
        refused[split] = accept.refused
    missing = {split: sizes[split] - len(splits[split]) for split in SPLITS}
    for split in SPLITS:
        if missing[split]:
            console.print(
                f"{name}: {split} has {len(splits[split])} of {sizes[split]} pairs; some "
                f"short lengths have too few distinct sentences to fill it apart from "
                f"the other splits",
                soft_wrap=True,
            )
    meta = {"deduplicated": {s: refused[s] for s in SPLITS}, "missing": missing}
    return {s: splits[s] for s in SPLITS}, meta


def toy_fr(
    train_size: int,
    valid_size: int,
    test_size: int,
    min_len: int,
    max_len: int,
    seed: int,
    test_max_len: int | None = None,
    reordering: str = "local",
    rare_words: int = 0,
    rare_share: float = 0.1,
    cache_dir: str | None = None,
) -> Corpus:
    """The embedded English→French-like grammar (see `ablate.data.toy_fr`).

    Splits are generated from the data seed `seed` (see `_disjoint_splits`) and cached
    under `cache_dir` (default `default_cache_dir()`). Sources have `min_len`–`max_len`
    words, test sources up to `test_max_len` when it is given. `reordering`,
    `rare_words` and `rare_share` are `ablate.data.toy_fr.generate`'s.
    """
    _check_sizes("dataset", train_size=train_size, valid_size=valid_size, test_size=test_size)
    lengths = _split_lengths(min_len, max_len, test_max_len)
    if reordering not in toy_fr_grammar.REORDERINGS:
        raise ValueError(
            f"unknown dataset.reordering {reordering!r}; choose one of "
            f"{', '.join(toy_fr_grammar.REORDERINGS)}"
        )
    most = toy_fr_grammar.MAX_RARE_WORDS
    if not (isinstance(rare_words, int) and 0 <= rare_words <= most):
        raise ValueError(
            f"dataset.rare_words must be an integer in [0, {most}], got {rare_words!r}"
        )
    if not (isinstance(rare_share, (int, float)) and 0 <= rare_share <= 1):
        raise ValueError(f"dataset.rare_share must be a number in [0, 1], got {rare_share!r}")
    settings = dict(
        train_size=train_size,
        valid_size=valid_size,
        test_size=test_size,
        min_len=min_len,
        max_len=max_len,
        test_max_len=test_max_len,
        seed=seed,
        reordering=reordering,
        rare_words=rare_words,
        rare_share=float(rare_share),
        grammar=toy_fr_grammar.VERSION,
    )
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    path = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    path = path / f"toy_fr-{key}.json"
    splits = meta = None
    if path.exists():
        try:
            cached = json.loads(path.read_text())
            splits = {k: _pairs_from_json(cached[k]) for k in SPLITS}
            meta = dict(cached["meta"])
        except (ValueError, KeyError, TypeError):
            splits = None  # a corrupt cache is regenerated, never trusted
    if splits is None:

        def generate(n: int, **kwargs) -> list[Pair]:
            return toy_fr_grammar.generate(
                n,
                reordering=reordering,
                rare_words=rare_words,
                rare_share=float(rare_share),
                **kwargs,
            )

        sizes = dict(train=train_size, valid=valid_size, test=test_size)
        splits, meta = _disjoint_splits("toy_fr", generate, sizes, lengths, seed)
        rows = {k: _pairs_to_json(v) for k, v in splits.items()}
        atomic_write_text(path, json.dumps({**rows, "meta": meta}))
    return Corpus(
        "toy_fr",
        splits["train"],
        splits["valid"],
        splits["test"],
        tokenize="none",
        meta={**meta, "cache": str(path)},
    )


def synthetic(
    task: str,
    train_size: int,
    valid_size: int,
    test_size: int,
    min_len: int,
    max_len: int,
    vocab_size: int,
    seed: int,
    test_max_len: int | None = None,
) -> Corpus:
    """`copy`, `reverse` or `sort` over `vocab_size` symbols (see `ablate.data.synthetic`),
    split apart as `_disjoint_splits` says, from the data seed `seed`."""
    _check_sizes(
        "dataset",
        train_size=train_size,
        valid_size=valid_size,
        test_size=test_size,
        vocab_size=vocab_size,
    )
    lengths = _split_lengths(min_len, max_len, test_max_len)
    sizes = dict(train=train_size, valid=valid_size, test=test_size)

    def generate(n: int, **kwargs) -> list[Pair]:
        return synthetic_tasks.generate(task, n, vocab_size=vocab_size, **kwargs)

    splits, meta = _disjoint_splits(task, generate, sizes, lengths, seed)
    return Corpus(
        task, splits["train"], splits["valid"], splits["test"], tokenize="none", meta=meta
    )


class CorpusError(ValueError):
    """A corpus file is missing, unreadable or malformed; the message names the file and fix."""


def _read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file, gzip-compressed when its name ends in `.gz`."""
    if not path.exists():
        raise CorpusError(
            f"corpus file not found: {path} (set dataset.path to the folder "
            f"holding train/valid/test.{{src,tgt}} files)"
        )
    try:
        data = path.read_bytes()
    except OSError as e:  # a folder, no read permission, an I/O error
        raise CorpusError(
            f"cannot read corpus file {path} ({e.strerror}); make it a readable file"
        ) from None
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise CorpusError(f"{path}: not a readable gzip file ({e}); replace the file") from None
    # Editors on Windows start UTF-8 files with a byte-order mark; it is not part of
    # the first word.
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise CorpusError(
            f"{path}, line {line}: not valid UTF-8 (byte {data[e.start]:#04x}); "
            f"re-encode the file as UTF-8"
        ) from None
    # Only "\n" (or "\r\n") ends a line, as for `wc -l`: str.splitlines() would also split
    # at U+2028, \x85, \x0c, … inside a line and shift every later pair out of alignment.
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def check_tokenize(tokenize: str) -> None:
    """Raises ValueError unless `tokenize` is one of sacrebleu's BLEU tokenizers."""
    if tokenize not in BLEU.TOKENIZERS:
        raise ValueError(
            f"unknown dataset.tokenize {tokenize!r}; choose one of "
            f"{', '.join(BLEU.TOKENIZERS)} (13a for real text)"
        )


def check_text_settings(
    max_len: int, tokenize: str, subword: Mapping | None
) -> subwords.SubwordSettings:
    """Check the settings every real-text dataset shares, before any file is read.

    Raises:
        ValueError: naming the bad `dataset.<key>` and what it accepts.
    """
    _check_sizes("dataset", max_len=max_len)
    check_tokenize(tokenize)
    return subwords.SubwordSettings.from_config(subword)


def text_corpus(
    name: str,
    files: Mapping[str, tuple[Path, Path]],
    *,
    max_len: int,
    tokenize: str,
    subword: Mapping | None = None,
    cache_dir: str | None = None,
    sides: tuple[str, str] = ("source", "target"),
    meta: Mapping | None = None,
) -> Corpus:
    """A corpus of real text from aligned files: line i of a split's source file
    translates line i of its target file.

    Lines are normalised (`subword.normalize`: NFC, single spaces). Pairs with an empty
    side, or a side longer than `max_len` whitespace words, are dropped; the counts go to
    `meta["dropped"]` (per split) and `meta["drop_reasons"]`, and a line is printed for
    every split that lost pairs. Tokens are the words, or with `subword.model` set, pieces
    of models trained on the kept training pairs (`ablate.data.subword`).

    Args:
        name: the dataset name.
        files: `{split: (source file, target file)}` for train, valid and test.
        max_len: longest side kept, in words.
        tokenize: the sacrebleu tokenizer for BLEU on this text.
        subword: the `dataset.subword` mapping (None = words).
        cache_dir: subword models go to `<cache_dir>/subword/` (default `default_cache_dir()`).
        sides: what the source and target are (`de`, `en`), for printed lines.
        meta: extra facts for `Corpus.meta`.
    """
    settings = check_text_settings(max_len, tokenize, subword)
    texts, dropped, reasons = {}, {}, {}
    for split in SPLITS:
        src_file, tgt_file = files[split]
        src_lines, tgt_lines = _read_lines(src_file), _read_lines(tgt_file)
        if len(src_lines) != len(tgt_lines):
            raise CorpusError(
                f"{src_file} has {len(src_lines)} lines but {tgt_file} has "
                f"{len(tgt_lines)}; line i of each must translate the other"
            )
        kept, empty, long = [], 0, 0
        for s, t in zip(src_lines, tgt_lines, strict=True):
            s, t = subwords.normalize(s), subwords.normalize(t)
            if not s or not t:
                empty += 1
            elif len(s.split()) > max_len or len(t.split()) > max_len:
                long += 1
            else:
                kept.append((s, t))
        if not kept:
            raise CorpusError(
                f"{src_file}: no usable sentence pairs (empty split, or every "
                f"line empty or longer than dataset.max_len={max_len})"
            )
        if empty or long:
            console.print(
                f"{name}: dropped {empty + long} of {len(src_lines)} {split} pairs: "
                f"{empty} with an empty side, {long} with a side over "
                f"dataset.max_len={max_len} words",
                soft_wrap=True,
            )
        texts[split], dropped[split] = kept, empty + long
        reasons[split] = {"empty": empty, "max_len": long}

    root = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    src_sw, tgt_sw = subwords.build(
        settings,
        [s for s, _ in texts["train"]],
        [t for _, t in texts["train"]],
        root / "subword",
        sides,
    )
    splits = {}
    for split, kept in texts.items():
        src_texts, tgt_texts = [s for s, _ in kept], [t for _, t in kept]
        src_tok = src_sw.encode_batch(src_texts) if src_sw else [s.split() for s in src_texts]
        tgt_tok = tgt_sw.encode_batch(tgt_texts) if tgt_sw else [t.split() for t in tgt_texts]
        splits[split] = [
            Pair(tuple(a), tuple(b), src_text=s, tgt_text=t)
            for a, b, s, t in zip(src_tok, tgt_tok, src_texts, tgt_texts, strict=True)
        ]
    info = {
        **(meta or {}),
        "dropped": dropped,
        "drop_reasons": reasons,
        "max_len": max_len,
        "subword": None
        if settings.model is None
        else {
            "model": settings.model,
            "vocab_size": settings.vocab_size,
            "joint": settings.joint,
            "src_pieces": len(src_sw),
            "tgt_pieces": len(tgt_sw),
        },
    }
    return Corpus(
        name,
        splits["train"],
        splits["valid"],
        splits["test"],
        tokenize=tokenize,
        meta=info,
        src_subword=src_sw,
        tgt_subword=tgt_sw,
    )


def parallel(
    path: str,
    src_ext: str = "src",
    tgt_ext: str = "tgt",
    max_len: int = 100,
    tokenize: str = "none",
    subword: Mapping | None = None,
    cache_dir: str | None = None,
) -> Corpus:
    """A user's own aligned corpus: `{path}/{train,valid,test}.{src_ext,tgt_ext}`.

    Any UTF-8 text (`.gz` files are read too when the extension says so); line i of the
    source file translates line i of the target file. See `text_corpus` for what is
    normalised, dropped and counted, and for `subword`.
    """
    if path in (None, "", "???"):
        raise CorpusError(
            "dataset=parallel needs dataset.path=DIR, a folder holding "
            "train/valid/test.{src,tgt} files"
        )
    root = Path(path).expanduser()
    files = {split: (root / f"{split}.{src_ext}", root / f"{split}.{tgt_ext}") for split in SPLITS}
    return text_corpus(
        "parallel",
        files,
        max_len=max_len,
        tokenize=tokenize,
        subword=subword,
        cache_dir=cache_dir,
        sides=(src_ext, tgt_ext),
        meta={"path": str(root)},
    )
