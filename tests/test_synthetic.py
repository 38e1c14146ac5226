"""Properties of the synthetic copy / reverse / sort tasks."""

from collections import Counter

import pytest

from ablate.data import synthetic
from ablate.data.synthetic import TASKS, generate


def _ids(tokens):
    return [int(t[1:]) for t in tokens]


@pytest.mark.parametrize("task", TASKS)
def test_deterministic_from_seed(task):
    kwargs = dict(min_len=1, max_len=20, vocab_size=10)
    assert generate(task, 50, seed=3, **kwargs) == generate(task, 50, seed=3, **kwargs)
    assert generate(task, 50, seed=3, **kwargs) != generate(task, 50, seed=4, **kwargs)


@pytest.mark.parametrize("task", TASKS)
def test_lengths_uniform_in_range(task):
    pairs = generate(task, 2000, min_len=2, max_len=9, vocab_size=5, seed=0)
    counts = Counter(len(p.src) for p in pairs)
    assert set(counts) == set(range(2, 10))
    assert min(counts.values()) >= 0.5 * 2000 / 8
    assert all(len(p.tgt) == len(p.src) for p in pairs)


@pytest.mark.parametrize("task", TASKS)
def test_target_is_the_task_of_the_source(task):
    for p in generate(task, 300, min_len=1, max_len=30, vocab_size=12, seed=1):
        if task == "copy":
            assert p.tgt == p.src
        elif task == "reverse":
            assert p.tgt == p.src[::-1]
        else:
            assert _ids(p.tgt) == sorted(_ids(p.src))


@pytest.mark.parametrize("task", TASKS)
def test_alignment_is_a_permutation_onto_equal_tokens(task):
    for p in generate(task, 300, min_len=1, max_len=30, vocab_size=4, seed=2):
        assert len(p.alignment) == len(p.tgt)
        assert sorted(j for _, j in p.alignment) == list(range(len(p.tgt)))
        assert sorted(i for i, _ in p.alignment) == list(range(len(p.src)))
        assert all(p.src[i] == p.tgt[j] for i, j in p.alignment)


def test_copy_and_reverse_links_are_diagonals():
    (c,) = generate("copy", 1, min_len=7, max_len=7, vocab_size=3, seed=0)
    (r,) = generate("reverse", 1, min_len=7, max_len=7, vocab_size=3, seed=0)
    assert c.alignment == tuple((i, i) for i in range(7))
    assert r.alignment == tuple((i, 6 - i) for i in range(7))


def test_sort_is_stable_and_numeric():
    for p in generate("sort", 300, min_len=5, max_len=30, vocab_size=12, seed=5):
        source_of = {j: i for i, j in p.alignment}
        for j in range(1, len(p.tgt)):
            if p.tgt[j] == p.tgt[j - 1]:  # duplicates keep their source order
                assert source_of[j - 1] < source_of[j]


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        (dict(task="shuffle"), "copy"),
        (dict(n=-1), "-1"),
        (dict(min_len=0), "min_len"),
        (dict(min_len=5, max_len=4), "max_len"),
        (dict(vocab_size=0), "vocab_size"),
    ],
)
def test_bad_arguments_raise(kwargs, word):
    args = dict(task="copy", n=3, min_len=1, max_len=5, vocab_size=4, seed=0) | kwargs
    with pytest.raises(ValueError, match=word):
        synthetic.generate(**args)


def test_zero_pairs():
    assert generate("sort", 0, min_len=1, max_len=5, vocab_size=4, seed=0) == []
