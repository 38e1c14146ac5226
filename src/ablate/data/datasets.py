"""Dataset loaders: one function per `conf/dataset/<name>.yaml`, each returning a `Corpus`.

The synthetic sets are generated from the seed, offline; `toy_fr` is cached on disk by a
hash of its settings (written atomically, so a killed run never leaves half a cache);
`parallel` reads a user's own aligned, whitespace-tokenised text files.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file and a rename: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


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


def toy_fr(train_size: int, valid_size: int, test_size: int, min_len: int, max_len: int,
           seed: int, test_max_len: int | None = None, cache_dir: str | None = None) -> Corpus:
    """The embedded English→French-like grammar (see `ablate.data.toy_fr`).

    Splits are generated from `seed`, `seed + 1`, `seed + 2` and cached under
    `cache_dir` (default `default_cache_dir()`). Sources have `min_len`–`max_len` words,
    test sources up to `test_max_len` when it is given.
    """
    _check_sizes("dataset", train_size=train_size, valid_size=valid_size, test_size=test_size)
    lengths = _split_lengths(min_len, max_len, test_max_len)
    settings = dict(train_size=train_size, valid_size=valid_size, test_size=test_size,
                    min_len=min_len, max_len=max_len, test_max_len=test_max_len, seed=seed,
                    grammar=toy_fr_grammar.VERSION)
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    path = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    path = path / f"toy_fr-{key}.json"
    splits = None
    if path.exists():
        try:
            splits = {k: _pairs_from_json(v) for k, v in json.loads(path.read_text()).items()}
        except (ValueError, KeyError, TypeError):
            splits = None  # a corrupt cache is regenerated, never trusted
    if splits is None:
        sizes = dict(train=train_size, valid=valid_size, test=test_size)
        splits = {
            split: toy_fr_grammar.generate(sizes[split], min_len=lengths[split][0],
                                           max_len=lengths[split][1], seed=seed + i)
            for i, split in enumerate(SPLITS)
        }
        atomic_write_text(path, json.dumps({k: _pairs_to_json(v) for k, v in splits.items()}))
    return Corpus("toy_fr", splits["train"], splits["valid"], splits["test"], tokenize="none",
                  meta={"cache": str(path)})


def synthetic(task: str, train_size: int, valid_size: int, test_size: int, min_len: int,
              max_len: int, vocab_size: int, seed: int, test_max_len: int | None = None) -> Corpus:
    """`copy`, `reverse` or `sort` over `vocab_size` symbols (see `ablate.data.synthetic`)."""
    _check_sizes("dataset", train_size=train_size, valid_size=valid_size, test_size=test_size,
                 vocab_size=vocab_size)
    lengths = _split_lengths(min_len, max_len, test_max_len)
    sizes = dict(train=train_size, valid=valid_size, test=test_size)
    splits = {
        split: synthetic_tasks.generate(task, sizes[split], min_len=lengths[split][0],
                                        max_len=lengths[split][1], vocab_size=vocab_size,
                                        seed=seed + i)
        for i, split in enumerate(SPLITS)
    }
    return Corpus(task, splits["train"], splits["valid"], splits["test"], tokenize="none")


class CorpusError(ValueError):
    """A corpus file is missing, unreadable or malformed; the message names the file and fix."""


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise CorpusError(f"corpus file not found: {path} (set dataset.path to the folder "
                          f"holding train/valid/test.{{src,tgt}} files)")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise CorpusError(f"{path}, line {line}: not valid UTF-8 (byte {data[e.start]:#04x}); "
                          f"re-encode the file as UTF-8") from None
    return text.splitlines()


def parallel(path: str, src_ext: str = "src", tgt_ext: str = "tgt", max_len: int = 100,
             tokenize: str = "none") -> Corpus:
    """A user's own aligned corpus: `{path}/{train,valid,test}.{src_ext,tgt_ext}`.

    Lines are whitespace-tokenised; line i of the source file translates line i of the
    target file. Pairs with an empty side or a side longer than `max_len` words are
    dropped and counted in `Corpus.meta["dropped"]`.
    """
    if path in (None, "", "???"):
        raise CorpusError("dataset=parallel needs dataset.path=DIR, a folder holding "
                          "train/valid/test.{src,tgt} files")
    _check_sizes("dataset", max_len=max_len)
    root = Path(path).expanduser()
    splits, dropped = {}, {}
    for split in SPLITS:
        src_file, tgt_file = root / f"{split}.{src_ext}", root / f"{split}.{tgt_ext}"
        src_lines, tgt_lines = _read_lines(src_file), _read_lines(tgt_file)
        if len(src_lines) != len(tgt_lines):
            raise CorpusError(f"{src_file} has {len(src_lines)} lines but {tgt_file} has "
                              f"{len(tgt_lines)}; line i of each must translate the other")
        pairs = []
        for s, t in zip(src_lines, tgt_lines, strict=True):
            src, tgt = tuple(s.split()), tuple(t.split())
            if src and tgt and len(src) <= max_len and len(tgt) <= max_len:
                pairs.append(Pair(src, tgt))
        if not pairs:
            raise CorpusError(f"{src_file}: no usable sentence pairs (empty split, or every "
                              f"line empty or longer than dataset.max_len={max_len})")
        splits[split], dropped[split] = pairs, len(src_lines) - len(pairs)
    return Corpus("parallel", splits["train"], splits["valid"], splits["test"],
                  tokenize=tokenize, meta={"dropped": dropped, "path": str(root)})
