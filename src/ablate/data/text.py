"""Real text: reading and checking aligned UTF-8 files, and the `parallel` loader
(`conf/dataset/parallel.yaml`, a user's own corpus). `text_corpus` is shared with
`ablate.data.multi30k`.

Line i of a split's source file translates line i of its target file. Tokens are the
whitespace words, or subword pieces (`ablate.data.subword`; Sennrich et al. 2016, Kudo &
Richardson 2018) of models trained on the training split. Every problem with a file is a
`CorpusError` whose one-line message names the file and the fix.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from collections.abc import Mapping
from pathlib import Path

from sacrebleu.metrics import BLEU

from ablate.console import console
from ablate.data import subword as subwords
from ablate.data.cache import cache_root
from ablate.data.corpus import SPLITS, Corpus, Pair, check_sizes


class CorpusError(ValueError):
    """A corpus file is missing, unreadable or malformed; the message names the file and fix."""


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file, gzip-compressed when its name ends in `.gz`.

    A leading byte-order mark is dropped, and only `\\n` (or `\\r\\n`) ends a line.

    Raises:
        CorpusError: the file is missing, unreadable, not gzip though named `.gz`, or
            not UTF-8 (naming the line).
    """
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
    max_len: int, tokenize: str, subword: Mapping | None, test_max_len: int | None = None
) -> subwords.SubwordSettings:
    """Check the settings every real-text dataset shares, before any file is read.

    Raises:
        ValueError: naming the bad `dataset.<key>` and what it accepts.
    """
    check_sizes("dataset", max_len=max_len)
    if test_max_len is not None:
        check_sizes("dataset", test_max_len=test_max_len)
    check_tokenize(tokenize)
    return subwords.SubwordSettings.from_config(subword)


def _kept_pairs(
    name: str, split: str, src_file: Path, tgt_file: Path, max_len: int
) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """The normalised `(source, target)` lines of one split that have no empty side and
    no side over `max_len` words, and the count of each reason a pair was dropped."""
    src_lines, tgt_lines = read_lines(src_file), read_lines(tgt_file)
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
    return kept, {"empty": empty, "max_len": long}


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
    test_max_len: int | None = None,
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
        test_max_len: longest side kept in the test split (None = `max_len`): train on
            short sentences, test on longer ones (`+experiment=length`).
        subword: the `dataset.subword` mapping (None = words).
        cache_dir: subword models go to `<cache_dir>/subword/` (default `default_cache_dir()`).
        sides: what the source and target are (`de`, `en`), for printed lines.
        meta: extra facts for `Corpus.meta`.
    """
    settings = check_text_settings(max_len, tokenize, subword, test_max_len)
    texts, reasons = {}, {}
    for split in SPLITS:
        longest = test_max_len if split == "test" and test_max_len is not None else max_len
        texts[split], reasons[split] = _kept_pairs(name, split, *files[split], longest)

    src_sw, tgt_sw = subwords.build(
        settings,
        [s for s, _ in texts["train"]],
        [t for _, t in texts["train"]],
        cache_root(cache_dir) / "subword",
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
        "dropped": {split: sum(r.values()) for split, r in reasons.items()},
        "drop_reasons": reasons,
        "max_len": max_len,
        **({"test_max_len": test_max_len} if test_max_len is not None else {}),
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
    test_max_len: int | None = None,
) -> Corpus:
    """A user's own aligned corpus: `{path}/{train,valid,test}.{src_ext,tgt_ext}`.

    Any UTF-8 text (`.gz` files are read too when the extension says so); line i of the
    source file translates line i of the target file. See `text_corpus` for what is
    normalised, dropped and counted, and for `subword` and `test_max_len`.
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
        test_max_len=test_max_len,
    )
