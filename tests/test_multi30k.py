"""Multi30k: reading a local copy, the verified one-time download, and its settings."""

import functools
import gzip
import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from ablate.data import multi30k as m30k
from ablate.data.multi30k import multi30k
from ablate.data.text import CorpusError

from conftest import multi30k_sentence, write_multi30k

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "multi30k"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no Multi30k copy at {SHARED}")
WORDS = {"model": None}


def _lines(path: Path) -> list[str]:
    return gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()


@needs_shared
@pytest.mark.parametrize(("src", "tgt"), [("de", "en"), ("en", "fr")])
def test_real_files_line_counts_and_pairing(src, tgt):
    corpus = multi30k(str(SHARED), src_lang=src, tgt_lang=tgt, subword=WORDS)
    for split, name, lines in (
        ("train", "train", 29000),
        ("valid", "val", 1014),
        ("test", "test_2016_flickr", 1000),
    ):
        pairs = getattr(corpus, split)
        assert len(pairs) == lines - corpus.meta["dropped"][split]
        raw_src, raw_tgt = _lines(SHARED / f"{name}.{src}.gz"), _lines(SHARED / f"{name}.{tgt}.gz")
        assert len(raw_src) == len(raw_tgt) == lines
        # the first and last pairs are the files' first and last lines (nothing dropped)
        for i in (0, -1):
            assert pairs[i].src_text == " ".join(raw_src[i].split())
            assert pairs[i].tgt_text == " ".join(raw_tgt[i].split())
            assert pairs[i].src == pairs[i].src_words
    assert corpus.meta["dropped"] == {"train": 0, "valid": 0, "test": 0}  # max 43 words
    assert corpus.tokenize == "13a"
    if (src, tgt) == ("de", "en"):
        assert corpus.train[0].src_text.startswith("Zwei junge weiße Männer")
        assert corpus.train[0].tgt_text.startswith("Two young, White males")


@needs_shared
def test_real_files_max_len_drops_are_counted_and_printed(capsys):
    corpus = multi30k(str(SHARED), max_len=12, subword=WORDS)
    kept = {s: len(getattr(corpus, s)) for s in ("train", "valid", "test")}
    assert {s: kept[s] + corpus.meta["dropped"][s] for s in kept} == {
        "train": 29000,
        "valid": 1014,
        "test": 1000,
    }
    assert all(len(p.src_words) <= 12 and len(p.tgt_words) <= 12 for p in corpus.train)
    assert corpus.meta["drop_reasons"]["train"]["max_len"] == corpus.meta["dropped"]["train"] > 0
    out = capsys.readouterr().out
    assert f"dropped {corpus.meta['dropped']['train']} of 29000 train pairs" in out
    assert "dataset.max_len=12" in out


@needs_shared
def test_real_files_in_bpe_pieces_round_trip():
    corpus = multi30k(str(SHARED), subword={"model": "bpe", "vocab_size": 8000})
    assert corpus.meta["subword"]["src_pieces"] == corpus.meta["subword"]["tgt_pieces"] == 8000
    for p in corpus.test:
        assert corpus.detokenize(p.tgt) == p.tgt_text
        assert corpus.src_subword.decode(p.src) == p.src_text


def test_local_copy_gz_or_plain_files_and_word_tokens(tmp_path):
    for gz in (True, False):
        root = write_multi30k(tmp_path / str(gz), gz=gz)
        corpus = multi30k(str(root), src_lang="en", tgt_lang="de", subword=WORDS)
        assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (40, 10, 12)
        assert corpus.train[5].src_text == multi30k_sentence(5, "en")
        assert corpus.test[3].tgt == tuple(multi30k_sentence(3, "de").split())
        assert corpus.meta["src_lang"] == "en" and corpus.meta["path"] == str(root)


def test_local_copy_with_bpe_subwords(tmp_path):
    root = write_multi30k(tmp_path / "m")
    corpus = multi30k(
        str(root), subword={"model": "bpe", "vocab_size": 100}, cache_dir=str(tmp_path / "cache")
    )
    assert list((tmp_path / "cache" / "subword").glob("bpe-100-*.model"))
    assert all(corpus.detokenize(p.tgt) == p.tgt_text for p in corpus.test)


def test_local_copy_missing_file_and_bad_path(tmp_path):
    root = write_multi30k(tmp_path / "m")
    (root / "val.en.gz").unlink()
    with pytest.raises(CorpusError, match=r"val\.en\.gz .*dataset\.path"):
        multi30k(str(root), subword=WORDS)
    with pytest.raises(CorpusError, match="dataset.path=.*is not a folder"):
        multi30k(str(tmp_path / "nowhere"), subword=WORDS)


# --- the download ------------------------------------------------------------------------


def _fake_release(tmp_path, monkeypatch, n=(40, 10, 12)) -> Path:
    """Fake release files, and their digests in place of the real ones."""
    root = write_multi30k(tmp_path / "release", n=n)
    monkeypatch.setattr(
        m30k,
        "SHA256",
        {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.glob("*.gz")},
    )
    return root


class _Handler(http.server.SimpleHTTPRequestHandler):
    truncate: set = set()  # names served with a Content-Length longer than the body

    def log_message(self, *args):
        pass

    def translate_path(self, path):  # serve the files under any URL path, as a mirror may
        return str(Path(self.directory) / path.rsplit("/", 1)[-1])

    def send_head(self):
        name = self.path.rsplit("/", 1)[-1]
        if name not in self.truncate:
            return super().send_head()
        self.send_response(200)
        self.send_header("Content-Length", "99999")
        self.end_headers()
        self.wfile.write(b"\x1f\x8b partial")
        self.close_connection = True
        return None


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving `tmp_path / "release"`; yields its base URL."""
    served = tmp_path / "release"
    served.mkdir(exist_ok=True)
    handler = functools.partial(_Handler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/data/task1/raw"
    httpd.shutdown()
    httpd.server_close()
    _Handler.truncate = set()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/raw"


def _cache_files(cache: Path) -> list[str]:
    root = cache / "multi30k"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_download_verifies_caches_and_then_stays_offline(tmp_path, monkeypatch, server, capsys):
    _fake_release(tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    first = multi30k(url=server, cache_dir=str(cache), subword=WORDS)
    assert _cache_files(cache) == sorted(
        f"{s}.{lang}.gz" for s in ("train", "val", "test_2016_flickr") for lang in ("de", "en")
    )
    assert f"saved in {cache / 'multi30k'}" in capsys.readouterr().out.replace("\n", "")
    assert first.meta["path"] == str(cache / "multi30k")
    # second call: everything is cached, and the network is gone
    second = multi30k(url=_closed_port_url(), cache_dir=str(cache), subword=WORDS)
    assert second.train == first.train and second.test == first.test
    assert "downloaded" not in capsys.readouterr().out


def test_download_from_a_file_url_fetches_only_the_missing_languages(tmp_path, monkeypatch):
    release = _fake_release(tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    multi30k(url=release.as_uri(), cache_dir=str(cache), subword=WORDS)
    corpus = multi30k(
        url=release.as_uri(), src_lang="fr", tgt_lang="de", cache_dir=str(cache), subword=WORDS
    )
    assert len(_cache_files(cache)) == 9
    assert corpus.train[1].src_text == multi30k_sentence(1, "fr")


def test_default_cache_dir_is_used_when_cache_dir_is_null(tmp_path, monkeypatch):
    release = _fake_release(tmp_path, monkeypatch)
    monkeypatch.setenv("ABLATE_CACHE_DIR", str(tmp_path / "env-cache"))
    multi30k(url=release.as_uri(), subword=WORDS)
    assert len(_cache_files(tmp_path / "env-cache")) == 6


def test_checksum_mismatch_names_file_and_digests_and_leaves_no_file(tmp_path, monkeypatch, server):
    release = _fake_release(tmp_path, monkeypatch)
    # train.de (downloaded first) is fine, train.en is altered
    (release / "train.en.gz").write_bytes(gzip.compress(b"A different sentence.\n", mtime=0))
    got = hashlib.sha256((release / "train.en.gz").read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    with pytest.raises(CorpusError) as e:
        multi30k(url=server, cache_dir=str(cache), subword=WORDS)
    message = str(e.value)
    assert "train.en.gz" in message and got in message and m30k.SHA256["train.en.gz"] in message
    assert "dataset.path" in message and "\n" not in message
    assert _cache_files(cache) == []


def test_a_damaged_cache_file_is_downloaded_again(tmp_path, monkeypatch):
    release = _fake_release(tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    multi30k(url=release.as_uri(), cache_dir=str(cache), subword=WORDS)
    (cache / "multi30k" / "val.de.gz").write_bytes(b"garbage")
    corpus = multi30k(url=release.as_uri(), cache_dir=str(cache), subword=WORDS)
    assert corpus.valid[0].src_text == multi30k_sentence(0, "de")


def test_a_broken_download_leaves_no_file(tmp_path, monkeypatch, server):
    _fake_release(tmp_path, monkeypatch)
    _Handler.truncate = {"val.en.gz"}
    cache = tmp_path / "cache"
    with pytest.raises(CorpusError, match=r"val\.en\.gz.*dataset\.path"):
        multi30k(url=server, cache_dir=str(cache), subword=WORDS)
    assert _cache_files(cache) == []


def test_offline_without_a_local_copy_names_dataset_path(tmp_path):
    with pytest.raises(
        CorpusError, match=r"could not download train\.de\.gz.*dataset\.path=DIR"
    ) as e:
        multi30k(url=_closed_port_url(), cache_dir=str(tmp_path / "cache"), subword=WORDS)
    assert "\n" not in str(e.value)
    assert _cache_files(tmp_path / "cache") == []


def test_a_missing_file_on_the_server_is_a_download_error(tmp_path, monkeypatch, server):
    release = _fake_release(tmp_path, monkeypatch)
    (release / "test_2016_flickr.en.gz").unlink()
    with pytest.raises(CorpusError, match=r"test_2016_flickr\.en\.gz.*404"):
        multi30k(url=server, cache_dir=str(tmp_path / "cache"), subword=WORDS)


# --- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"src_lang": "cs"}, "dataset.src_lang"),
        ({"tgt_lang": "EN"}, "dataset.tgt_lang"),
        ({"src_lang": "en", "tgt_lang": "en"}, "dataset.src_lang"),
        ({"max_len": 0}, "dataset.max_len"),
        ({"max_len": "long"}, "dataset.max_len"),
        ({"tokenize": "moses"}, "dataset.tokenize"),
        ({"url": "ftp://example.org/raw"}, "dataset.url"),
        ({"url": None}, "dataset.url"),
        ({"subword": {"model": "char"}}, "dataset.subword.model"),
        ({"subword": {"model": "bpe", "vocab_size": -1}}, "dataset.subword.vocab_size"),
        ({"subword": {"model": "bpe", "joint": 1}}, "dataset.subword.joint"),
    ],
)
def test_bad_settings_fail_before_any_download_with_one_line_naming_the_key(tmp_path, kwargs, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")) as e:
        multi30k(**{"url": _closed_port_url(), "cache_dir": str(tmp_path), **kwargs})
    assert "\n" not in str(e.value) and not isinstance(e.value, CorpusError)


def test_config_file_composes_and_instantiates_on_a_local_copy(tmp_path):
    from hydra.utils import instantiate

    from conftest import compose

    cfg = compose(
        [
            "dataset=multi30k",
            f"dataset.path={write_multi30k(tmp_path / 'm')}",
            "dataset.subword.vocab_size=100",
        ]
    )
    assert cfg.dataset.url == m30k.URL and cfg.dataset.subword.model == "bpe"
    corpus = instantiate(cfg.dataset)
    assert corpus.name == "multi30k" and corpus.tgt_subword is not None
    assert corpus.meta["subword"]["src_pieces"] <= 100
