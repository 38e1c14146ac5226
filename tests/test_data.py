"""Vocabularies, length-grouped batching, the toy_fr cache, the parallel reader and the
loader paths configs name."""

import json

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from ablate.data.datamodule import LengthGroupedBatches, Seq2SeqData, collate, mismatch
from ablate.data.generated import synthetic, toy_fr
from ablate.data.text import CorpusError, parallel
from ablate.data.vocab import Vocab

from conftest import compose, write_parallel


def test_vocab_round_trip_min_freq_and_unk():
    v = Vocab.build([["a", "b", "a"], ["a", "c"]], min_freq=2)
    assert v.itos[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    assert v.encode(["a", "b"]) == [4, Vocab.unk_id]
    assert v.decode([4, 1, 3, 4]) == ["a", "<unk>"]  # stops at </s>
    assert Vocab.from_state_dict(v.state_dict()).itos == v.itos
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build([["a"]], min_freq=0)


def test_length_grouped_batches_cover_every_index_once_and_cut_padding():
    import random

    rng = random.Random(0)
    lengths = [rng.randint(1, 70) for _ in range(2000)]
    sampler = LengthGroupedBatches(lengths, 32, shuffle=True, seed=0)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(2000))
    assert len(batches) == len(sampler)

    def padding(bs):
        total = sum(max(lengths[i] for i in b) * len(b) for b in bs)
        return 1 - sum(lengths) / total

    random_batches = [list(range(i, min(i + 32, 2000))) for i in range(0, 2000, 32)]
    assert padding(batches) < 0.05 < padding(random_batches)


def test_batch_order_depends_only_on_seed_and_epoch():
    lengths = list(range(1, 500))
    a, b = (
        LengthGroupedBatches(lengths, 16, True, seed=3),
        LengthGroupedBatches(lengths, 16, True, seed=3),
    )
    a.set_epoch(2)
    b.set_epoch(2)
    epoch2 = list(a)
    assert epoch2 == list(b)
    b.set_epoch(3)
    assert list(b) != epoch2


def test_collate_shapes_and_special_tokens():
    corpus = synthetic("copy", 20, 4, 4, min_len=2, max_len=6, vocab_size=5, seed=0)
    data = Seq2SeqData(corpus, batch_size=4)
    pairs = corpus.train[:3]
    batch = collate(pairs, [0, 1, 2], data.src_vocab, data.tgt_vocab)
    assert batch["src"].shape == (3, max(len(p.src) for p in pairs))
    for b, p in enumerate(pairs):
        n = len(p.tgt)
        assert batch["tgt_in"][b, 0] == Vocab.bos_id
        assert batch["tgt_out"][b, n] == Vocab.eos_id
        assert data.tgt_vocab.decode(batch["tgt_out"][b].tolist()) == list(p.tgt)
        assert batch["src_len"][b] == len(p.src)


def test_the_datamodule_state_is_plain_and_knows_its_data(tmp_path):
    import torch

    def data(task, seed=0):
        corpus = synthetic(task, 40, 8, 8, min_len=2, max_len=6, vocab_size=5, seed=seed)
        return Seq2SeqData(corpus, batch_size=4, dataset={"task": task, "seed": seed})

    reverse, copy = data("reverse"), data("copy")
    torch.save(reverse.state_dict(), tmp_path / "state.pt")
    saved = torch.load(tmp_path / "state.pt", weights_only=True)  # plain values only
    assert saved == reverse.state_dict() == data("reverse").state_dict()  # deterministic
    assert saved["subword"] == {"src": None, "tgt": None}
    assert Vocab.from_state_dict(saved["tgt_vocab"]).itos == reverse.tgt_vocab.itos
    # The same symbols, so the vocabularies agree; the splits do not.
    assert copy.state_dict()["src_vocab"] == saved["src_vocab"]
    assert copy.identity.splits != reverse.identity.splits
    reverse.load_state_dict(saved)  # its own data: accepted
    with pytest.raises(ValueError, match=r"other data, dataset reverse \(dataset.task=reverse"):
        copy.load_state_dict(saved)
    assert mismatch({**saved, "data": None}, copy.state_dict()) is None  # older: vocab only
    other = data("reverse", seed=1)  # other sentences, other words: the vocabulary says so
    assert "another src vocabulary" in mismatch(saved, other.state_dict())


def test_toy_fr_is_cached_atomically_and_reused(tmp_path):
    a = toy_fr(50, 5, 5, 1, 20, seed=1, cache_dir=str(tmp_path))
    files = list(tmp_path.glob("toy_fr-*.json"))
    assert len(files) == 1 and not list(tmp_path.glob(".*tmp"))
    json.loads(files[0].read_text())
    b = toy_fr(50, 5, 5, 1, 20, seed=1, cache_dir=str(tmp_path))
    assert a.train == b.train and a.test == b.test
    files[0].write_text("{not json")  # a corrupt cache is regenerated
    assert toy_fr(50, 5, 5, 1, 20, seed=1, cache_dir=str(tmp_path)).train == a.train
    assert toy_fr(50, 5, 5, 1, 20, seed=2, cache_dir=str(tmp_path)).train != a.train


def test_parallel_reads_aligned_files(tmp_path):
    corpus = parallel(str(write_parallel(tmp_path)))
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (40, 10, 12)
    assert corpus.train[0].tgt == tuple(w.upper() for w in corpus.train[0].src)
    assert corpus.tokenize == "13a" or corpus.tokenize == "none"


def test_parallel_line_count_mismatch_names_files_and_counts(tmp_path):
    write_parallel(tmp_path, mismatch=True)
    with pytest.raises(CorpusError, match=r"train\.src has 40 lines but .*train\.tgt has 39"):
        parallel(str(tmp_path))


def test_parallel_missing_file_and_bad_bytes(tmp_path):
    with pytest.raises(CorpusError, match="corpus file not found.*dataset.path"):
        parallel(str(tmp_path / "nowhere"))
    write_parallel(tmp_path)
    (tmp_path / "valid.tgt").write_bytes(b"ok line\nbad \xff byte\n")
    with pytest.raises(CorpusError, match=r"valid\.tgt, line 2: not valid UTF-8"):
        parallel(str(tmp_path))


def test_parallel_ignores_a_utf8_byte_order_mark(tmp_path):
    write_parallel(tmp_path)
    lines = (tmp_path / "test.src").read_bytes()
    (tmp_path / "test.src").write_bytes(b"\xef\xbb\xbf" + lines)
    first = parallel(str(tmp_path)).test[0].src[0]
    assert first == lines.split()[0].decode() and "\ufeff" not in first


def test_parallel_drops_and_counts_overlong_and_empty_lines(tmp_path, capsys):
    write_parallel(tmp_path)
    (tmp_path / "test.src").write_text("a b\n\n" + "w " * 50 + "\nc\n \t \nd\n")
    (tmp_path / "test.tgt").write_text("A B\nX\n" + "W " * 50 + "\nC\nY\n  \n")
    corpus = parallel(str(tmp_path), max_len=10)
    assert len(corpus.test) == 2 and corpus.meta["dropped"]["test"] == 4
    assert corpus.meta["drop_reasons"]["test"] == {"empty": 3, "max_len": 1}
    assert corpus.meta["dropped"]["train"] == 0
    out = capsys.readouterr().out
    assert (
        "parallel: dropped 4 of 6 test pairs: 3 with an empty side, 1 with a side over "
        "dataset.max_len=10 words" in out
    )
    assert "train pairs" not in out  # nothing dropped there, nothing printed


def test_parallel_reads_real_text_normalised_with_case_kept(tmp_path):
    write_parallel(tmp_path)
    (tmp_path / "test.src").write_text(
        "Ein  Hund läuft\u00a0über die Straße.\nZwei Ma\u0308dchen.\n", encoding="utf-8"
    )
    (tmp_path / "test.tgt").write_text("A dog runs across the street.\nTwo girls.\n")
    corpus = parallel(str(tmp_path), tokenize="13a")
    p = corpus.test[0]
    assert p.src == ("Ein", "Hund", "läuft", "über", "die", "Straße.")
    assert p.src_text == "Ein Hund läuft über die Straße." and p.src_words == p.src
    assert corpus.test[1].src_text == "Zwei Mädchen."  # NFC: one code point per umlaut
    assert corpus.detokenize(p.tgt) == p.tgt_text == "A dog runs across the street."
    assert corpus.src_subword is None and corpus.meta["subword"] is None


def test_parallel_reads_gzip_files(tmp_path):
    import gzip

    write_parallel(tmp_path)
    for side in ("src", "tgt"):
        for split in ("train", "valid", "test"):
            data = (tmp_path / f"{split}.{side}").read_bytes()
            (tmp_path / f"{split}.{side}.gz").write_bytes(gzip.compress(data))
    assert (
        parallel(str(tmp_path), src_ext="src.gz", tgt_ext="tgt.gz").train
        == parallel(str(tmp_path)).train
    )
    (tmp_path / "test.src.gz").write_bytes(b"not gzip")
    with pytest.raises(CorpusError, match=r"test\.src\.gz: not a readable gzip file"):
        parallel(str(tmp_path), src_ext="src.gz", tgt_ext="tgt.gz")


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"max_len": 0}, "dataset.max_len"),
        ({"tokenize": "spacy"}, "dataset.tokenize"),
        ({"subword": {"model": "sentencepiece"}}, "dataset.subword.model"),
        ({"subword": {"model": "bpe", "vocab_size": 2.5}}, "dataset.subword.vocab_size"),
        ({"subword": {"model": "bpe", "joint": "no"}}, "dataset.subword.joint"),
        ({"subword": {"merges": 100}}, "dataset.subword.merges"),
    ],
)
def test_parallel_bad_settings_name_the_key(tmp_path, kwargs, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")) as e:
        parallel(str(write_parallel(tmp_path)), **kwargs)
    assert "\n" not in str(e.value)


def test_parallel_in_subwords_caches_its_models_under_cache_dir(tmp_path):
    root = write_parallel(tmp_path / "c")
    corpus = parallel(
        str(root), subword={"model": "unigram", "vocab_size": 30}, cache_dir=str(tmp_path / "cache")
    )
    assert len(list((tmp_path / "cache" / "subword").glob("unigram-30-*.model"))) == 2
    assert corpus.meta["subword"]["model"] == "unigram"
    assert all(corpus.detokenize(p.tgt) == p.tgt_text for p in corpus.test)


SMALL = ["dataset.train_size=200", "dataset.valid_size=20", "dataset.test_size=20"]


@pytest.mark.parametrize("dataset", ["toy_fr", "copy", "reverse", "sort", "parallel"])
def test_a_config_naming_ablate_data_datasets_builds_the_same_corpus(tmp_path, dataset):
    """Configs written when every loader lived in `ablate.data.datasets` still build, and
    build what the config of the same name in conf/dataset builds now."""
    if dataset == "parallel":
        overrides = [f"dataset.path={write_parallel(tmp_path / 'text')}"]
    else:
        overrides = SMALL
    cfg = compose([f"dataset={dataset}", *overrides]).dataset
    old = OmegaConf.merge(cfg, {"_target_": "ablate.data.datasets." + cfg._target_.split(".")[-1]})
    assert cfg._target_ != old._target_
    # Separate caches: each corpus is generated, not one read from the other's cache.
    caches = [{"cache_dir": str(tmp_path / d)} if "cache_dir" in cfg else {} for d in "ab"]
    new_corpus, old_corpus = instantiate(cfg, **caches[0]), instantiate(old, **caches[1])
    for split in ("train", "valid", "test"):
        assert getattr(old_corpus, split) == getattr(new_corpus, split)
    assert (old_corpus.name, old_corpus.tokenize) == (new_corpus.name, new_corpus.tokenize)
    cache = {"cache"}  # the path of toy_fr's cache file, which names the cache folder
    assert {k: v for k, v in old_corpus.meta.items() if k not in cache} == {
        k: v for k, v in new_corpus.meta.items() if k not in cache
    }


def test_a_read_corpus_can_test_on_longer_sentences_than_it_trains_on(tmp_path):
    """`dataset.test_max_len`: train and valid drop pairs over `max_len` words, the test
    split only those over `test_max_len` (null: `max_len` for every split)."""
    root = write_parallel(tmp_path / "c", n=(40, 10, 12))  # sources of 2–7 words
    same = parallel(str(root), max_len=4)
    longer = parallel(str(root), max_len=4, test_max_len=7)
    assert same.train == longer.train and same.valid == longer.valid
    assert max(len(p.src) for p in longer.train + longer.valid) == 4
    assert max(len(p.src) for p in longer.test) == 7 and len(longer.test) == 12
    assert len(same.test) < 12 and longer.meta["test_max_len"] == 7
    assert "test_max_len" not in same.meta
    with pytest.raises(ValueError, match=r"dataset\.test_max_len must be a positive integer"):
        parallel(str(root), test_max_len=0)
