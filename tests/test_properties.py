"""Property tests for the corpus readers and tokenizers: random Unicode, empty, whitespace-only
and very long lines, broken bytes and gzip files either load correctly or raise the documented
`CorpusError` (one line, naming the file); vocabularies and subword models round-trip."""

import gzip
import random
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from ablate.data import subword as subwords
from ablate.data.corpus import SPLITS
from ablate.data.multi30k import multi30k
from ablate.data.subword import normalize
from ablate.data.text import CorpusError, parallel, read_lines
from ablate.data.vocab import SPECIALS, Vocab

from conftest import write_parallel

# The characters the reader (`str.splitlines`) ends a line at: generated lines avoid them.
BREAKS = "".join(c for c in map(chr, range(0x3000)) if len(f"a{c}b".splitlines()) > 1)
# Whitespace that `normalize` collapses but that does not end a line.
SPACES = " \t\x1f\u00a0\u1680\u2003\u202f\u3000"
FILES = [f"{split}.{side}" for split in SPLITS for side in ("src", "tgt")]

FAST = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

char = st.characters(codec="utf-8", exclude_characters=BREAKS)  # no surrogates, no breaks
word = st.text(char, min_size=1, max_size=6).filter(lambda w: w.split() == [w])
space = st.text(st.sampled_from(SPACES), min_size=1, max_size=3)
words = st.builds(
    lambda ws, sep, pad: pad + sep.join(ws) + pad,  # odd spacing
    st.lists(word, min_size=1, max_size=5),
    space,
    st.sampled_from(["", " ", "\t"]),
)
line = st.one_of(
    st.text(char, min_size=1, max_size=20),  # arbitrary Unicode, a few words at most
    words,
    words,  # twice: most splits should keep a pair, so that loading is tested as often
    st.just(""),
    space,  # whitespace only
    st.builds(lambda w, n: " ".join([w] * n), word, st.integers(10, 3000)),  # very long
    st.builds(
        lambda ws: unicodedata.normalize("NFD", " ".join(ws)),  # decomposed umlauts
        st.lists(
            st.sampled_from(["Mädchen", "über", "Straße", "été", "Ärger"]), min_size=1, max_size=4
        ),
    ),
)
eol = st.sampled_from(["\n", "\r\n"])
# A split's pairs; two times in three with a one-word pair somewhere (kept for any max_len),
# so that most corpora load and the kept pairs are checked as often as the errors.
pair_lists = st.lists(st.tuples(line, line), max_size=6)
one_word = st.builds(lambda w, pad: pad + w + pad, word, st.sampled_from(["", " ", "\u3000"]))
anchored = st.builds(
    lambda ps, p, i: ps[:i] + [p] + ps[i:],
    pair_lists,
    st.tuples(one_word, one_word),
    st.integers(0, 6),
)
split_pairs = st.one_of(pair_lists, anchored, anchored)


def _encode(lines: list[str], eol: str, trailing: bool) -> bytes:
    """`lines` as a UTF-8 file; without `trailing`, no line break after a non-empty last line."""
    text = "".join(s + eol for s in lines)
    if not trailing and lines and lines[-1]:
        text = text[: -len(eol)]
    return text.encode("utf-8")


def _words(s: str) -> list[str]:
    """The documented normalisation (Unicode NFC, whitespace-separated words)."""
    return unicodedata.normalize("NFC", s).split()


def _expected(root: Path, data: dict[str, bytes], max_len: int) -> str | dict:
    """What `parallel` must do with the files `data`: the start of the `CorpusError` message
    it raises, or `{split: (kept word pairs in file order, line count, drop reasons)}`."""
    out = {}
    for split in SPLITS:
        sides = []
        for side in ("src", "tgt"):
            raw, path = data[f"{split}.{side}"], root / f"{split}.{side}"
            # b"\n" is never part of a multi-byte UTF-8 character, so the first bad byte lies
            # in the first \n-separated chunk that does not decode on its own.
            for number, chunk in enumerate(raw.split(b"\n"), 1):
                try:
                    chunk.decode("utf-8")
                except UnicodeDecodeError as e:
                    return f"{path}, line {number}: not valid UTF-8 (byte {chunk[e.start]:#04x})"
            sides.append(raw.decode("utf-8").splitlines())
        src, tgt = sides
        if len(src) != len(tgt):
            return f"{root / split}.src has {len(src)} lines but {root / split}.tgt has {len(tgt)}"
        kept, reasons = [], {"empty": 0, "max_len": 0}
        for s, t in zip(map(_words, src), map(_words, tgt), strict=True):
            if not s or not t:
                reasons["empty"] += 1
            elif len(s) > max_len or len(t) > max_len:
                reasons["max_len"] += 1
            else:
                kept.append((tuple(s), tuple(t)))
        if not kept:
            return f"{root / split}.src: no usable sentence pairs"
        out[split] = (kept, len(src), reasons)
    return out


def _check_parallel(root: Path, data: dict[str, bytes], max_len: int) -> None:
    """Write `data` under `root` and check `parallel` against `_expected`."""
    for name, raw in data.items():
        (root / name).write_bytes(raw)
    expected = _expected(root, data, max_len)
    if isinstance(expected, str):  # --hypothesis-show-statistics shows how often each happens
        event(
            "CorpusError: "
            + (
                "line counts differ"
                if " lines but " in expected
                else expected.split(": ")[-1].split(" (")[0]
            )
        )
        with pytest.raises(CorpusError) as e:
            parallel(str(root), max_len=max_len)
        assert isinstance(e.value, ValueError)
        assert str(e.value).startswith(expected), (str(e.value), expected)
        assert "\n" not in str(e.value)
        return
    event("loaded")
    corpus = parallel(str(root), max_len=max_len)
    for split, (kept, n_lines, reasons) in expected.items():
        pairs = getattr(corpus, split)
        assert [(p.src, p.tgt) for p in pairs] == kept  # same words, same file order
        assert all(p.src_text == " ".join(p.src) and p.tgt_text == " ".join(p.tgt) for p in pairs)
        assert all(1 <= len(p.src) <= max_len and 1 <= len(p.tgt) <= max_len for p in pairs)
        assert len(pairs) + corpus.meta["dropped"][split] == n_lines
        assert corpus.meta["drop_reasons"][split] == reasons


# --- the parallel reader -------------------------------------------------------------------


@settings(max_examples=60, **FAST)
@given(
    st.fixed_dictionaries({split: split_pairs for split in SPLITS}),
    st.integers(1, 9),
    eol,
    st.booleans(),
)
def test_parallel_loads_normalised_words_or_says_no_usable_pairs(splits, max_len, eol, trailing):
    """Random aligned lines load as NFC words in file order, counted, or raise CorpusError."""
    data = {}
    for split, pairs in splits.items():
        for i, side in enumerate(("src", "tgt")):
            lines = [p[i] for p in pairs]
            data[f"{split}.{side}"] = _encode(lines, eol, trailing)
            assert data[f"{split}.{side}"].decode().splitlines() == lines  # generator guard
    with tempfile.TemporaryDirectory() as tmp:
        _check_parallel(Path(tmp), data, max_len)


@settings(max_examples=60, **FAST)
@given(
    st.lists(st.text(char, min_size=1, max_size=15).filter(normalize), min_size=1, max_size=6),
    st.sampled_from(FILES),
    st.one_of(
        st.binary(min_size=1, max_size=4),
        st.sampled_from([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf", b"\n\xfe"]),
    ),
    st.data(),
)
def test_bad_bytes_raise_corpus_error_naming_file_and_line(lines, name, junk, draw):
    """Bytes inserted into a valid file: it loads, or CorpusError names the file and the line."""
    data = {f: _encode(lines, "\n", True) for f in FILES}
    at = draw.draw(st.integers(0, len(data[name])), label="insert at byte")
    data[name] = data[name][:at] + junk + data[name][at:]
    # Junk that decodes to a line break other than \n is left to test_only_newlines_end_lines.
    text = data[name].decode("utf-8", errors="replace")
    assume(not any(c in text for c in BREAKS if c != "\n"))
    with tempfile.TemporaryDirectory() as tmp:
        _check_parallel(Path(tmp), data, max_len=100)


@settings(max_examples=30, **FAST)
@given(st.lists(line, max_size=8), st.lists(line, max_size=8).filter(bool), st.booleans())
def test_line_count_mismatch_names_both_files_and_counts(src, extra, src_longer):
    """Aligned files of different lengths raise CorpusError with both names and counts."""
    tgt = src + extra
    if src_longer:
        src, tgt = tgt, src
    with tempfile.TemporaryDirectory() as tmp:
        root = write_parallel(Path(tmp))
        (root / "valid.src").write_bytes(_encode(src, "\n", True))
        (root / "valid.tgt").write_bytes(_encode(tgt, "\n", True))
        with pytest.raises(CorpusError) as e:
            parallel(str(root))
        assert str(e.value).startswith(
            f"{root}/valid.src has {len(src)} lines but {root}/valid.tgt has {len(tgt)};"
        )


def test_only_newlines_end_lines(tmp_path):
    """U+2028 or U+0085 inside a line (whitespace, not a line break) keeps the pairs aligned."""
    root = write_parallel(tmp_path)
    (root / "test.src").write_text("eins\u2028zwei\ndrei\n", encoding="utf-8")
    (root / "test.tgt").write_text("one two\nthree\x85\n", encoding="utf-8")
    corpus = parallel(str(root))
    assert [(p.src_text, p.tgt_text) for p in corpus.test] == [
        ("eins zwei", "one two"),
        ("drei", "three"),
    ]


# --- gzip ---------------------------------------------------------------------------------


def _gzip(raw: bytes, level: int, mtime: int, cut: float) -> bytes:
    """`raw` gzip-compressed, as two members (what `cat a.gz b.gz` makes) when 0 < cut < 1."""
    at = int(len(raw) * cut)
    if 0 < at < len(raw):
        return gzip.compress(raw[:at], level, mtime=mtime) + gzip.compress(
            raw[at:], level, mtime=mtime
        )
    return gzip.compress(raw, level, mtime=mtime)


gzip_args = (st.integers(0, 9), st.integers(0, 2**32 - 1), st.floats(0, 1))


@settings(max_examples=40, **FAST)
@given(st.lists(line, max_size=10), eol, st.booleans(), *gzip_args)
def test_gzip_file_reads_the_same_lines_as_the_plain_file(lines, eol, trailing, level, mtime, cut):
    """A `.gz` file (any level, mtime, one or two members) reads the lines of the plain file."""
    raw = _encode(lines, eol, trailing)
    with tempfile.TemporaryDirectory() as tmp:
        plain, packed = Path(tmp) / "train.de", Path(tmp) / "train.de.gz"
        plain.write_bytes(raw)
        packed.write_bytes(_gzip(raw, level, mtime, cut))
        assert read_lines(packed) == read_lines(plain) == lines


@settings(max_examples=15, **FAST)
@given(
    st.fixed_dictionaries(
        {
            split: st.lists(line, min_size=1, max_size=4)
            for split in ("train", "val", "test_2016_flickr")
        }
    ),
    *gzip_args,
)
def test_multi30k_reads_gz_and_plain_layouts_alike(splits, level, mtime, cut):
    """Multi30k from `{split}.{lang}.gz` equals Multi30k from the plain files, error or not."""
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        for layout in ("gz", "plain"):
            root = Path(tmp) / layout
            root.mkdir()
            for split, lines in splits.items():
                for lang, side in (("de", lines), ("en", lines[::-1])):
                    raw = _encode(side, "\n", True)
                    if layout == "gz":
                        (root / f"{split}.{lang}.gz").write_bytes(_gzip(raw, level, mtime, cut))
                    else:
                        (root / f"{split}.{lang}").write_bytes(raw)
            try:
                c = multi30k(path=str(root), max_len=5)
                outcomes.append((c.train, c.valid, c.test, c.meta["drop_reasons"]))
            except CorpusError as e:
                assert "\n" not in str(e)
                outcomes.append(str(e).replace(str(root), "ROOT").replace(".gz", ""))
    assert outcomes[0] == outcomes[1]


@settings(max_examples=40, **FAST)
@given(
    st.lists(st.text(char, max_size=10), max_size=5),
    st.sampled_from(["flip", "cut", "add"]),
    st.data(),
)
def test_damaged_gzip_reads_the_original_lines_or_raises_corpus_error(lines, damage, draw):
    """A gzip file with a flipped byte, cut short or junk appended: same lines or CorpusError."""
    packed = bytearray(gzip.compress(_encode(lines, "\n", True), mtime=0))
    # A .gz file cut to 0 bytes reads as an empty file (no lines): cut after the first byte.
    at = draw.draw(st.integers(damage == "cut", len(packed) - 1), label="byte")
    if damage == "flip":
        packed[at] ^= draw.draw(st.integers(1, 255), label="xor")
    elif damage == "cut":
        del packed[at:]
    else:
        packed += draw.draw(st.binary(min_size=1, max_size=12), label="junk")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "test.src.gz"
        path.write_bytes(bytes(packed))
        try:
            assert read_lines(path) == lines
        except CorpusError as e:
            assert str(e).startswith(str(path)) and "\n" not in str(e)


# --- tokenizers ---------------------------------------------------------------------------

token = st.text(min_size=1, max_size=5).filter(lambda t: t.split() == [t] and t not in SPECIALS)


@settings(max_examples=100, **FAST)
@given(
    st.lists(st.lists(token, max_size=8), max_size=8),
    st.lists(token, max_size=8),
    st.integers(1, 3),
    st.integers(0, 3),
)
def test_vocab_round_trip_unknowns_and_specials(train, sentence, min_freq, pads):
    """decode(encode(s)) is s with unknowns as <unk>; decode stops at </s>, drops <pad>/<s>."""
    vocab = Vocab.build(train, min_freq=min_freq)
    known = {t for t, c in Counter(t for s in train for t in s).items() if c >= min_freq}
    assert vocab.itos[:4] == list(SPECIALS) and sorted(vocab.itos[4:]) == sorted(known)
    assert [vocab.stoi[t] for t in vocab.itos] == list(range(len(vocab)))
    ids = vocab.encode(sentence)
    assert ids == [vocab.stoi[t] if t in known else Vocab.unk_id for t in sentence]
    assert vocab.decode(ids) == [t if t in known else "<unk>" for t in sentence]
    for s in train:
        if all(t in known for t in s):
            assert vocab.decode(vocab.encode(s)) == s
    padded = [Vocab.bos_id] + [x for i in ids for x in [i] + [Vocab.pad_id] * pads]
    assert vocab.decode(padded + [Vocab.eos_id] + ids) == vocab.decode(ids)
    assert Vocab.from_state_dict(vocab.state_dict()).encode(sentence) == ids


ALPHABET = "abcdefghijklmnopqrstuvwxyzäöüßéABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜ0123456789.,;:!?'-()"


@pytest.fixture(scope="module")
def bpe(tmp_path_factory):
    """A 200-piece BPE model on 400 sentences over `ALPHABET` (every character seen)."""
    rng = random.Random(0)
    lexicon = [
        "".join(rng.choice(ALPHABET[:31]) for _ in range(rng.randint(1, 8))) for _ in range(150)
    ] + ["Mädchen", "Straße", "über", "Ärger", "été"]
    sentences = [
        " ".join(rng.choice(lexicon) for _ in range(rng.randint(1, 12))) + rng.choice(".!?")
        for _ in range(400)
    ]
    sentences.append(" ".join(ALPHABET))
    return subwords.train(sentences, "bpe", 200, tmp_path_factory.mktemp("bpe"))


@settings(max_examples=100, **FAST)
@given(st.text(st.sampled_from(ALPHABET + SPACES), max_size=40), st.sampled_from(["NFC", "NFD"]))
def test_bpe_round_trips_normalised_text_and_blank_text_has_no_pieces(bpe, text, form):
    """decode(encode(t)) == normalize(t) over the training alphabet; blank text encodes to []."""
    text = unicodedata.normalize(form, text)  # NFD: umlauts as letter + combining mark
    pieces = bpe.encode(text)
    assert pieces == bpe.encode(normalize(text)) == bpe.encode_batch([text, text])[1]
    assert bpe.decode(pieces) == normalize(text)
    assert (pieces == []) == (normalize(text) == "")
    assert bpe.encode("") == bpe.encode(" \t\u3000 ") == []
