"""Multi30k (Elliott, Frank, Sima'an & Specia 2016, "Multi30K: Multilingual
English-German Image Descriptions"; French: Elliott et al. 2017): Flickr30k image
descriptions and their translations, task 1, German ↔ English ↔ French.

Splits: `train` (29,000 pairs), `val` → valid (1,014), `test_2016_flickr` → test (1,000).
Files `{split}.{lang}.gz` (or plain `{split}.{lang}`) are read from `path` when it is
given, and nothing touches the network. Without `path` they come from the cache dir,
and missing ones are downloaded once from the official release at a fixed commit,
checked against the sha256 digests below and written atomically: a broken or altered
download leaves no file behind.
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from ablate.atomic import atomic_write_bytes
from ablate.console import console
from ablate.data.cache import cache_root
from ablate.data.corpus import SPLITS, Corpus
from ablate.data.text import CorpusError, check_text_settings, text_corpus

LANGS = ("de", "en", "fr")
# Our split names → the release's file names.
SPLIT_FILES = {"train": "train", "valid": "val", "test": "test_2016_flickr"}
URL = (
    "https://raw.githubusercontent.com/multi30k/dataset/"
    "a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw"
)
# sha256 of each file of the release at that commit (data/task1/raw/*.gz).
SHA256 = {
    "train.de.gz": "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6",
    "train.en.gz": "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f",
    "train.fr.gz": "622e75069e9f4c577425c4f277116ce66e63a2401c0a2312d90073cb12379a3c",
    "val.de.gz": "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a",
    "val.en.gz": "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28",
    "val.fr.gz": "ca3106f1a72390591d25f6c45cb4cd39dec4cd3f123e099748a3ce5256c160e9",
    "test_2016_flickr.de.gz": "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8",
    "test_2016_flickr.en.gz": "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9",
    "test_2016_flickr.fr.gz": "6d326e188d259fb1d04ac19eae3af956559b3a0b93d7635e56c90987c40c8b90",
}
TIMEOUT = 60  # seconds without data before a download counts as failed
LOCAL_FIX = (
    "set dataset.path=DIR to a local copy holding {train,val,test_2016_flickr}.{de,en,fr}.gz"
)


def multi30k(
    path: str | None = None,
    src_lang: str = "de",
    tgt_lang: str = "en",
    max_len: int = 100,
    tokenize: str = "13a",
    subword: Mapping | None = None,
    url: str = URL,
    cache_dir: str | None = None,
    test_max_len: int | None = None,
) -> Corpus:
    """Multi30k task 1, `src_lang` → `tgt_lang`.

    Args:
        path: a folder holding the files; None = the cache, downloading what is missing.
        src_lang, tgt_lang: two of `de`, `en`, `fr`.
        max_len: pairs with a side longer than this many words are dropped and counted.
        tokenize: sacrebleu tokenizer for BLEU.
        subword: the `dataset.subword` mapping (see `ablate.data.subword`); None = words.
        url: where the release's files are (`{url}/{file}`); http(s):// or file://.
        cache_dir: downloads go to `<cache_dir>/multi30k/`, subword models to
            `<cache_dir>/subword/`; None = `default_cache_dir()`.
        test_max_len: the test split's longest side kept (None = `max_len`).

    Raises:
        ValueError: a bad setting, naming its key.
        CorpusError: a missing or unreadable file, or a failed or altered download.
    """
    for key, lang in (("src_lang", src_lang), ("tgt_lang", tgt_lang)):
        if lang not in LANGS:
            raise ValueError(f"unknown dataset.{key} {lang!r}; choose one of {', '.join(LANGS)}")
    if src_lang == tgt_lang:
        raise ValueError(
            f"dataset.src_lang and dataset.tgt_lang are both {src_lang!r}; "
            f"choose two different languages of {', '.join(LANGS)}"
        )
    check_text_settings(max_len, tokenize, subword, test_max_len)  # before any download
    if not isinstance(url, str) or not url.startswith(("http://", "https://", "file://")):
        raise ValueError(f"dataset.url must be an http://, https:// or file:// URL, got {url!r}")
    names = [f"{SPLIT_FILES[split]}.{lang}" for split in SPLITS for lang in (src_lang, tgt_lang)]
    if path not in (None, ""):
        root = Path(path).expanduser()
        if not root.is_dir():
            raise CorpusError(
                f"dataset.path={path} is not a folder; point it at a local copy "
                f"of Multi30k holding {{train,val,test_2016_flickr}}.{{de,en,fr}}"
                f"[.gz] files"
            )
        found = {name: _local_file(root, name) for name in names}
    else:
        root = cache_root(cache_dir) / "multi30k"
        found = fetch([f"{name}.gz" for name in names], url, root)
        found = {name: found[f"{name}.gz"] for name in names}
    files = {
        split: (
            found[f"{SPLIT_FILES[split]}.{src_lang}"],
            found[f"{SPLIT_FILES[split]}.{tgt_lang}"],
        )
        for split in SPLITS
    }
    return text_corpus(
        "multi30k",
        files,
        max_len=max_len,
        tokenize=tokenize,
        subword=subword,
        cache_dir=cache_dir,
        sides=(src_lang, tgt_lang),
        meta={"path": str(root), "src_lang": src_lang, "tgt_lang": tgt_lang},
        test_max_len=test_max_len,
    )


def _local_file(root: Path, name: str) -> Path:
    for candidate in (root / f"{name}.gz", root / name):
        if candidate.is_file():
            return candidate
    raise CorpusError(
        f"Multi30k file not found: {root / name}.gz (nor {name}) under "
        f"dataset.path={root}; the folder needs "
        f"{{train,val,test_2016_flickr}}.{{src_lang,tgt_lang}}[.gz] files"
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(names: list[str], url: str, root: Path) -> dict[str, Path]:
    """The release files `names` in `root`, downloading the missing ones from `{url}/{name}`.

    Every file is checked against `SHA256` (cached ones too: a damaged cache file is
    downloaded again). All missing files are downloaded and checked before any is
    written, each atomically, so a failure leaves the cache as it was.

    Raises:
        CorpusError: a download failed or a digest differs; names the file and the fix.
    """
    missing = []
    for name in names:
        file = root / name
        if file.is_file():
            if sha256(file.read_bytes()) == SHA256[name]:
                continue
            console.print(f"multi30k: {file} does not match its sha256; downloading it again")
        missing.append(name)
    if missing:
        base = url.rstrip("/")
        data = {}
        for name in missing:
            data[name] = _download(f"{base}/{name}", name)
            got = sha256(data[name])
            if got != SHA256[name]:
                raise CorpusError(
                    f"multi30k: {name} from {base}/{name} has sha256 {got}, "
                    f"expected {SHA256[name]}; nothing was saved. Check "
                    f"dataset.url (it must serve the release at commit "
                    f"a3d2e0d), retry, or {LOCAL_FIX}"
                )
        for name, content in data.items():
            atomic_write_bytes(root / name, content)
        size = sum(map(len, data.values())) / 1e6
        console.print(
            f"multi30k: downloaded {len(data)} files ({size:.1f} MB) from {base}, "
            f"sha256 verified, saved in {root}",
            soft_wrap=True,
        )
    return {name: root / name for name in names}


def _download(url: str, name: str) -> bytes:
    """The bytes at `url`, with a progress bar in a terminal."""
    columns = (
        TextColumn(f"downloading {name}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    try:
        with (
            urllib.request.urlopen(url, timeout=TIMEOUT) as response,
            Progress(
                *columns, console=console, transient=True, disable=not console.is_terminal
            ) as progress,
        ):
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            task = progress.add_task(name, total=total)
            chunks = []
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                progress.advance(task, len(chunk))
    except (OSError, http.client.HTTPException) as e:
        # HTTPError reads "HTTP Error 404: Not Found"; other URLErrors wrap the OSError.
        reason = e.reason if type(e) is urllib.error.URLError else e
        raise CorpusError(
            f"multi30k: could not download {name} from {url} ({reason}); {LOCAL_FIX}"
        ) from None
    data = b"".join(chunks)
    if total is not None and len(data) != total:
        raise CorpusError(
            f"multi30k: the download of {name} from {url} broke off after "
            f"{len(data)} of {total} bytes; nothing was saved. Retry, or "
            f"{LOCAL_FIX}"
        )
    return data
