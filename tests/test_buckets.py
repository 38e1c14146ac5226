"""Source-length buckets: labels, tiling, quantiles and validation."""

import random

import pytest

from ablate.buckets import Bucket, assign, make_buckets

DEFAULT = [1, 11, 21, 31, 41, 51, 61]
FINE = list(range(1, 62, 5))


def test_default_edges_labels_and_bounds():
    buckets = make_buckets("edges", edges=DEFAULT)
    assert [b.label for b in buckets] == [
        "01-10",
        "11-20",
        "21-30",
        "31-40",
        "41-50",
        "51-60",
        "61+",
    ]
    assert buckets[0] == Bucket("01-10", 1, 10)
    assert buckets[-1] == Bucket("61+", 61, None)


def test_fine_edges_have_width_five():
    buckets = make_buckets("edges", edges=FINE)
    assert [b.label for b in buckets[:2]] == ["01-05", "06-10"]
    assert buckets[-1].label == "61+"
    assert all(b.hi - b.lo == 4 for b in buckets[:-1])


def test_padding_follows_the_largest_bound():
    buckets = make_buckets("edges", edges=[1, 50, 100])
    assert [b.label for b in buckets] == ["001-049", "050-099", "100+"]


@pytest.mark.parametrize("edges", [DEFAULT, FINE, [1, 50, 100], [3, 4, 9, 10, 120]])
def test_labels_sort_like_lengths(edges):
    buckets = make_buckets("edges", edges=edges)
    shuffled = random.Random(0).sample(buckets, len(buckets))
    assert sorted(shuffled, key=lambda b: b.label) == buckets


@pytest.mark.parametrize("edges", [DEFAULT, FINE, [1, 2, 3]])
def test_every_length_lands_in_exactly_one_bucket(edges):
    buckets = make_buckets("edges", edges=edges)
    for length in range(1, 200):
        holders = [i for i, b in enumerate(buckets) if b.contains(length)]
        assert holders == [assign(buckets, length)]


def test_lengths_below_the_first_bucket_go_to_it():
    buckets = make_buckets("edges", edges=[5, 10])
    assert assign(buckets, 0) == 0
    assert assign(buckets, 4) == 0


@pytest.mark.parametrize("n", [1, 3, 5, 8])
def test_quantile_buckets_have_roughly_equal_counts(n):
    rng = random.Random(n)
    lengths = [rng.randint(2, 80) for _ in range(2000)]
    buckets = make_buckets("quantile", lengths=lengths, n=n)
    assert len(buckets) == n
    assert buckets[0].lo == min(lengths)
    assert buckets[-1].hi is None and buckets[-1].label.endswith("+")
    counts = [0] * n
    for length in lengths:
        counts[assign(buckets, length)] += 1
    # Integer lengths tie, so counts are only roughly len/n.
    assert all(abs(c - len(lengths) / n) < 0.35 * len(lengths) / n for c in counts)


def test_quantile_ties_merge_instead_of_leaving_empty_buckets():
    buckets = make_buckets("quantile", lengths=[5] * 90 + [9] * 10, n=4)
    assert [b.lo for b in buckets] == [5]


@pytest.mark.parametrize("edges", [[1, 11, 11], [11, 1], [0, 10], [-3, 4], [], [1.5, 3]])
def test_bad_edges_raise_with_the_value_and_the_fix(edges):
    with pytest.raises(ValueError, match="strictly increasing integers >= 1") as info:
        make_buckets("edges", edges=edges)
    assert repr(edges) in str(info.value)


def test_unknown_kind_names_the_valid_ones():
    with pytest.raises(ValueError, match="'edges', 'quantile'|edges, quantile"):
        make_buckets("log", edges=DEFAULT)


@pytest.mark.parametrize(
    "kwargs", [{}, {"lengths": [], "n": 3}, {"lengths": [3, 4], "n": 0}, {"lengths": [3]}]
)
def test_quantile_needs_lengths_and_positive_n(kwargs):
    with pytest.raises(ValueError, match="quantile"):
        make_buckets("quantile", **kwargs)
