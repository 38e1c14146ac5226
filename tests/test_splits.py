"""Generated datasets have disjoint splits, drawn from a data seed of their own.

Built the way a run builds them (Hydra config → `instantiate`), at the default sizes, so
the properties hold for the data people actually train and test on.
"""

from collections import Counter

import pytest
from hydra.utils import instantiate

from ablate.buckets import make_buckets
from ablate.data.generated import synthetic

from conftest import compose

# (dataset, extra overrides): every dataset that is generated rather than read.
GENERATED = {
    "toy_fr-local": ("toy_fr", []),
    "toy_fr-long": ("toy_fr", ["dataset.reordering=long"]),
    "copy": ("copy", []),
    "reverse": ("reverse", []),
    "sort": ("sort", []),
}


def _corpus(tmp_path, name, overrides=()):
    dataset, extra = GENERATED[name]
    cache = [f"dataset.cache_dir={tmp_path}"] if dataset == "toy_fr" else []
    cfg = compose([f"dataset={dataset}", *extra, *cache, *overrides])
    return cfg, instantiate(cfg.dataset)


@pytest.fixture(scope="module")
def default_corpora(tmp_path_factory):
    """`name -> (cfg, corpus)` at the default settings, each built once."""
    cache, built = tmp_path_factory.mktemp("cache"), {}

    def get(name):
        if name not in built:
            built[name] = _corpus(cache, name)
        return built[name]

    return get


@pytest.fixture(params=list(GENERATED))
def built(request, default_corpora):
    return request.param, *default_corpora(request.param)


def _no_valid_or_test_source_in_train(built):
    _, _, corpus = built
    train = {p.src for p in corpus.train}
    assert not train & {p.src for p in corpus.valid}
    assert not train & {p.src for p in corpus.test}


def _no_test_source_in_valid(built):
    _, _, corpus = built
    assert not {p.src for p in corpus.valid} & {p.src for p in corpus.test}


def _valid_and_test_hold_each_source_once(built):
    _, _, corpus = built
    for split in (corpus.valid, corpus.test):
        assert len({p.src for p in split}) == len(split)


def _splits_keep_their_sizes_and_count_what_they_redrew(built):
    name, cfg, corpus = built
    sizes = (cfg.dataset.train_size, cfg.dataset.valid_size, cfg.dataset.test_size)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == sizes
    assert corpus.meta["missing"] == {"train": 0, "valid": 0, "test": 0}
    redrawn = corpus.meta["deduplicated"]
    assert set(redrawn) == {"train", "valid", "test"}
    assert all(isinstance(n, int) and n >= 0 for n in redrawn.values())
    # Short sources collide at these sizes, so the default data did need redraws.
    assert redrawn["train"] > 0


def _test_lengths_stay_uniform(built):
    _, cfg, corpus = built
    lo, hi = cfg.dataset.min_len, cfg.dataset.max_len
    counts = Counter(len(p.src) for p in corpus.test)
    assert set(counts) == set(range(lo, hi + 1))
    expected = len(corpus.test) / (hi - lo + 1)
    assert counts[lo] >= 0.4 * expected  # the shortest length is not starved by the dedup


SPLIT_PROPERTIES = [
    _no_valid_or_test_source_in_train,
    _no_test_source_in_valid,
    _valid_and_test_hold_each_source_once,
    _splits_keep_their_sizes_and_count_what_they_redrew,
    _test_lengths_stay_uniform,
]


def test_default_splits_are_disjoint_deduplicated_sized_and_uniform(built, subtests):
    """Every property of `SPLIT_PROPERTIES` on one default-size corpus: one test per
    corpus, so that each corpus is built once in a run (by one xdist worker)."""
    for check in SPLIT_PROPERTIES:
        with subtests.test(check.__name__.lstrip("_")):
            check(built)


@pytest.mark.parametrize("name", ["toy_fr-local", "toy_fr-long", "copy"])
def test_test_split_and_quantile_edges_do_not_depend_on_the_training_seed(tmp_path, name):
    # Each seed generates afresh (its own cache dir); the small train split only saves
    # time, as the test split is drawn first.
    tests, edges = [], []
    for seed in (0, 1):
        overrides = [f"seed={seed}", "buckets=quantile", "dataset.train_size=500"]
        cfg, corpus = _corpus(tmp_path / str(seed), name, overrides)
        assert cfg.seed == seed and cfg.dataset.seed == 1234
        tests.append(corpus.test)
        lengths = [len(p.src_words) for p in corpus.test]
        edges.append([(b.lo, b.hi) for b in make_buckets("quantile", lengths=lengths, n=5)])
    assert tests[0] == tests[1]
    assert edges[0] == edges[1]


def test_a_different_data_seed_gives_different_sentences(tmp_path):
    _, a = _corpus(tmp_path, "toy_fr-local", ["dataset.train_size=200", "dataset.test_size=50"])
    _, b = _corpus(
        tmp_path,
        "toy_fr-local",
        ["dataset.train_size=200", "dataset.test_size=50", "dataset.seed=7"],
    )
    assert a.test != b.test


def test_local_and_long_share_their_english(default_corpora):
    # `long` only moves French words, so both reorderings test on the same sources.
    _, local = default_corpora("toy_fr-local")
    _, long = default_corpora("toy_fr-long")
    assert [p.src for p in local.test] == [p.src for p in long.test]
    assert [p.tgt for p in local.test] != [p.tgt for p in long.test]


def test_retries_are_bounded_when_sources_run_out():
    # 2 symbols, 1-3 long: only 14 distinct sources for 120 pairs of valid and test.
    corpus = synthetic("copy", 50, 40, 80, min_len=1, max_len=3, vocab_size=2, seed=0)
    test, valid = {p.src for p in corpus.test}, {p.src for p in corpus.valid}
    assert len(test) == len(corpus.test) and len(valid) == len(corpus.valid)
    assert not test & valid and not {p.src for p in corpus.train} & (test | valid)
    assert len(corpus.test) + len(corpus.valid) <= 14
    assert corpus.meta["missing"]["test"] == 80 - len(corpus.test) > 0
    assert corpus.meta["deduplicated"]["test"] > 0


def test_rare_words_experiment_fills_the_rare_frequency_bands(tmp_path):
    # A test target token's band: how often its French word occurs in training targets.
    cfg = compose(["+experiment=rare_words", f"dataset.cache_dir={tmp_path}"])
    corpus = instantiate(cfg.dataset)
    counts = Counter(w for p in corpus.train for w in p.tgt)
    bands = Counter()
    for p in corpus.test:
        for w in p.tgt:
            n = counts[w]
            bands["1-5" if 1 <= n <= 5 else "6-20" if 6 <= n <= 20 else "other"] += 1
    assert bands["1-5"] >= 200 and bands["6-20"] >= 200, bands
