"""Subword models: round trip, determinism, the cache, settings; scoring in words."""

import io
import random
import unicodedata

import pytest
import sacrebleu
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ablate.buckets import make_buckets
from ablate.data import subword as subwords
from ablate.data.corpus import Pair
from ablate.data.subword import Subword, SubwordSettings, normalize
from ablate.data.text import parallel
from ablate.metrics import counted_words
from ablate.scoring import hypotheses_rows, pick_examples, score

from conftest import write_parallel

LETTERS = "abcdefghijklmnopqrstuvwxyzäöüßéèçœABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜÉ"
PUNCT = ".,;:!?'\"()-–„“«»"


def _sentences(n: int, seed: int) -> list[str]:
    """Real-ish sentences: Zipf-like word frequencies, capitals, umlauts, punctuation."""
    rng = random.Random(seed)
    lexicon = [
        "".join(rng.choice(LETTERS[:34]) for _ in range(rng.randint(1, 9))) for _ in range(400)
    ]
    lexicon += ["Mädchen", "Straße", "über", "größer", "François", "cœur", "Œuvre", "Ärger"]
    out = []
    for _ in range(n):
        words = [
            rng.choices(lexicon, weights=[1 / (r + 1) for r in range(len(lexicon))])[0]
            for _ in range(rng.randint(1, 20))
        ]
        words[0] = words[0].capitalize()
        out.append(" ".join(words) + rng.choice(PUNCT[:6] + " " + PUNCT))
    out.append(LETTERS + " " + PUNCT)  # every character at least once in training
    return [normalize(s) for s in out]


TRAIN = _sentences(600, seed=0)


@pytest.fixture(scope="module", params=subwords.MODELS)
def model(request, tmp_path_factory):
    return subwords.train(TRAIN, request.param, 300, tmp_path_factory.mktemp("sw"))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet=LETTERS + PUNCT, min_size=1, max_size=12), max_size=15),
    st.sampled_from(["NFC", "NFD"]),
    st.sampled_from([" ", "  ", "\t", " \u00a0"]),
)
def test_decode_inverts_encode_on_normalised_text(model, words, form, space):
    text = unicodedata.normalize(form, space.join(words))
    assert model.decode(model.encode(text)) == normalize(text)


def test_round_trip_on_fresh_sentences_and_pieces_are_shorter_than_characters(model):
    for s in _sentences(200, seed=7):
        pieces = model.encode(s)
        assert model.decode(pieces) == s
        assert len(s.split()) <= len(pieces) <= len(s.replace(" ", "")) + len(s.split())
    assert model.encode_batch(["Die Straße.", "über"]) == [
        model.encode("Die Straße."),
        model.encode("über"),
    ]


def test_normalize_is_nfc_and_single_spaces():
    assert normalize("  Ma\u0308dchen \t über\u00a0 die  Straße ") == "Mädchen über die Straße"
    assert normalize(" \t ") == ""


def test_training_is_deterministic_and_state_dict_survives_a_checkpoint(tmp_path):
    a = subwords.train(TRAIN, "unigram", 300, tmp_path / "a")
    b = subwords.train(TRAIN, "unigram", 300, tmp_path / "b")
    assert a.model_proto == b.model_proto
    buf = io.BytesIO()
    torch.save({"ablate": {"src_subword": a.state_dict()}}, buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)["ablate"]["src_subword"]
    c = Subword.from_state_dict(state)
    assert c.encode(TRAIN[3]) == a.encode(TRAIN[3]) and len(c) == len(a)


def test_cache_is_reused_and_its_key_follows_data_and_settings(tmp_path, monkeypatch):
    first = subwords.train(TRAIN, "bpe", 300, tmp_path)
    files = list(tmp_path.glob("*.model"))
    assert len(files) == 1 and not list(tmp_path.glob(".*"))  # no temp file left

    def no_training(**kwargs):
        raise AssertionError("retrained although the model was cached")

    monkeypatch.setattr(subwords.spm.SentencePieceTrainer, "train", no_training)
    assert subwords.train(TRAIN, "bpe", 300, tmp_path).model_proto == first.model_proto
    key = subwords.cache_key(TRAIN, "bpe", 300)
    assert key in files[0].name
    assert (
        len(
            {
                key,
                subwords.cache_key(TRAIN, "bpe", 301),
                subwords.cache_key(TRAIN, "unigram", 300),
                subwords.cache_key(TRAIN[1:], "bpe", 300),
            }
        )
        == 4
    )
    monkeypatch.undo()
    files[0].write_bytes(b"not a model")  # a corrupt cache is retrained, never trusted
    assert subwords.train(TRAIN, "bpe", 300, tmp_path).model_proto == first.model_proto


def test_a_small_corpus_gets_fewer_pieces_instead_of_an_error(tmp_path):
    sw = subwords.train(["ein Hund", "ein Mädchen"], "bpe", 8000, tmp_path)
    assert 8 < len(sw) < 100 and sw.decode(sw.encode("ein Mädchen")) == "ein Mädchen"


@pytest.mark.parametrize(
    ("subword", "key"),
    [
        ({"model": "wordpiece"}, "dataset.subword.model"),
        ({"model": "bpe", "vocab_size": 0}, "dataset.subword.vocab_size"),
        ({"model": "bpe", "vocab_size": "8k"}, "dataset.subword.vocab_size"),
        ({"model": "bpe", "vocab_size": True}, "dataset.subword.vocab_size"),
        ({"model": "bpe", "joint": "yes"}, "dataset.subword.joint"),
        ({"model": "bpe", "size": 8000}, "dataset.subword.size"),
        ("bpe", "dataset.subword"),
    ],
)
def test_bad_subword_settings_name_the_key(subword, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")) as e:
        SubwordSettings.from_config(subword)
    assert "\n" not in str(e.value)


def test_settings_defaults_and_words():
    assert SubwordSettings.from_config(None).model is None
    assert SubwordSettings.from_config({"model": None, "vocab_size": 8000}).model is None
    assert SubwordSettings.from_config({"model": "unigram"}) == SubwordSettings("unigram")


# --- a parallel corpus in subwords, scored in words -------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    for split, seed in (("train", 0), ("valid", 1), ("test", 2)):
        sents = _sentences(300 if split == "train" else 40, seed)
        (root / f"{split}.src").write_text("\n".join(sents) + "\n", encoding="utf-8")
        (root / f"{split}.tgt").write_text(
            "\n".join(s.swapcase() for s in sents) + "\n", encoding="utf-8"
        )
    return parallel(
        str(root),
        tokenize="13a",
        subword={"model": "bpe", "vocab_size": 300},
        cache_dir=str(tmp_path_factory.mktemp("cache")),
    )


def test_corpus_keeps_text_and_detokenizes_pieces(corpus):
    assert corpus.meta["subword"]["model"] == "bpe" and corpus.src_subword is not None
    for p in corpus.train + corpus.test:
        assert corpus.detokenize(p.tgt) == p.tgt_text == p.reference
        assert corpus.src_subword.decode(p.src) == p.src_text
        assert p.src_words == tuple(p.src_text.split())
    assert sum(len(p.src) for p in corpus.test) > sum(len(p.src_words) for p in corpus.test)


def test_joint_model_is_shared(tmp_path):
    corpus = parallel(
        str(write_parallel(tmp_path / "c")),
        subword={"model": "unigram", "vocab_size": 40, "joint": True},
        cache_dir=str(tmp_path / "cache"),
    )
    assert corpus.src_subword is corpus.tgt_subword
    assert corpus.detokenize(corpus.test[0].tgt) == corpus.test[0].tgt_text


def _noisy(corpus, seed=0):
    """Hypotheses in pieces: the reference with some pieces dropped or repeated."""
    rng = random.Random(seed)
    hyps = []
    for p in corpus.test:
        h = [t for t in p.tgt if rng.random() > 0.15]
        hyps.append(h + list(p.tgt[-2:]) * (rng.random() < 0.3))
    return hyps


def test_bleu_on_detokenised_text_equals_sacrebleu(corpus):
    hyps = _noisy(corpus)
    buckets = make_buckets("edges", edges=[1, 6, 11, 16])
    scores = score(
        corpus.test, hyps, buckets, tokenize="13a", detokenize=corpus.detokenize, n_bootstrap=0
    )
    texts = [corpus.detokenize(h) for h in hyps]
    refs = [p.tgt_text for p in corpus.test]
    assert scores.bleu == pytest.approx(sacrebleu.corpus_bleu(texts, [refs], tokenize="13a").score)
    assert "tok:13a" in scores.signature["bleu"]
    for b in scores.buckets:  # buckets by source words, BLEU on that subset's text
        ids = [
            i
            for i, p in enumerate(corpus.test)
            if b.lo <= len(p.src_words) and (b.hi is None or len(p.src_words) <= b.hi)
        ]
        assert b.n == len(ids)
        if ids:
            assert b.bleu == pytest.approx(
                sacrebleu.corpus_bleu(
                    [texts[i] for i in ids], [[refs[i] for i in ids]], tokenize="13a"
                ).score
            )


def test_rare_words_count_words_not_pieces(corpus):
    counts = corpus.word_counts()
    assert set(counts) == {w for p in corpus.train for w in counted_words(p.tgt_text, "13a")}
    perfect = score(
        corpus.test,
        [p.tgt for p in corpus.test],
        make_buckets("edges", edges=[1]),
        tokenize="13a",
        detokenize=corpus.detokenize,
        train_counts=counts,
        n_bootstrap=0,
    )
    assert perfect.bleu == pytest.approx(100.0)
    rare = perfect.rare_words
    counted = [counted_words(p.tgt_text, "13a") for p in corpus.test]
    assert sum(b.n for b in rare) == sum(len(words) for words in counted)
    assert all(b.accuracy == 1.0 for b in rare if b.n)


def test_rows_and_examples_use_text_and_words(corpus):
    buckets = make_buckets("edges", edges=[1, 6, 11, 16])
    hyps = [p.tgt for p in corpus.test]
    rows = hypotheses_rows(corpus.test, hyps, buckets, detokenize=corpus.detokenize)
    p = corpus.test[0]
    assert rows[0][:3] == (p.src_text, p.tgt_text, p.tgt_text)
    assert all(
        buckets[[b.label for b in buckets].index(r[3])].contains(len(q.src_words))
        for r, q in zip(rows, corpus.test, strict=True)
    )
    words, n = sorted(len(q.src_words) for q in corpus.test), len(corpus.test) - 1
    assert [len(corpus.test[i].src_words) for i in pick_examples(corpus.test)] == [
        words[round(q * n)] for q in (0.1, 0.5, 0.9)
    ]


def test_word_level_callers_score_as_before():
    pairs = [Pair(("a", "b", "c"), ("x", "y")), Pair(("d",), ("z", "z", "y"))]
    hyps = [["x", "y"], ["z", "y"]]
    buckets = make_buckets("edges", edges=[1, 3])
    plain = score(
        pairs, hyps, buckets, tokenize="none", n_bootstrap=0, train_counts={"x": 1, "y": 9}
    )
    joined = score(
        pairs,
        hyps,
        buckets,
        tokenize="none",
        n_bootstrap=0,
        train_counts={"x": 1, "y": 9},
        detokenize=" ".join,
    )
    assert plain == joined
    assert plain.bleu == pytest.approx(
        sacrebleu.corpus_bleu(["x y", "z y"], [["x y", "z z y"]], tokenize="none", force=True).score
    )
    assert [b.n for b in plain.buckets] == [1, 1]
    assert hypotheses_rows(pairs, hyps, buckets)[1] == ("d", "z z y", "z y", "01-02")
