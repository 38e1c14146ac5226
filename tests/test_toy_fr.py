"""Properties of the embedded `toy_fr` grammar and its gold alignments."""

import time
from collections import Counter, defaultdict

import pytest

from ablate.data.toy_fr import LEXICON_SIZE, generate, translate


@pytest.fixture(scope="module")
def pairs():
    return generate(3000, min_len=3, max_len=70, seed=0)


def _crossing(alignment):
    return any(
        (i1 - i2) * (j1 - j2) < 0
        for a, (i1, j1) in enumerate(alignment)
        for i2, j2 in alignment[:a]
    )


def test_lexicon_has_at_least_150_english_words():
    assert LEXICON_SIZE >= 150


def test_deterministic_from_seed():
    assert generate(200, min_len=1, max_len=40, seed=7) == generate(
        200, min_len=1, max_len=40, seed=7
    )
    assert generate(200, min_len=1, max_len=40, seed=7) != generate(
        200, min_len=1, max_len=40, seed=8
    )


@pytest.mark.parametrize("min_len", [1, 3])
def test_source_lengths_cover_every_bucket(min_len):
    pairs = generate(3000, min_len=min_len, max_len=70, seed=1)
    assert all(min_len <= len(p.src) <= 70 for p in pairs)
    buckets = Counter((len(p.src) - 1) // 10 for p in pairs)  # 1-10, 11-20, ..., 61-70
    assert set(buckets) == set(range(7))
    assert all(count >= 0.05 * len(pairs) for count in buckets.values())


@pytest.mark.parametrize(("min_len", "max_len"), [(1, 1), (2, 2), (1, 2), (3, 3), (4, 6), (57, 57)])
def test_short_and_exact_lengths(min_len, max_len):
    lengths = {len(p.src) for p in generate(200, min_len=min_len, max_len=max_len, seed=0)}
    assert lengths == set(range(min_len, max_len + 1))


def test_every_token_linked_and_links_in_range(pairs):
    for p in pairs:
        assert all(0 <= i < len(p.src) and 0 <= j < len(p.tgt) for i, j in p.alignment)
        assert {j for _, j in p.alignment} == set(range(len(p.tgt)))
        assert {i for i, _ in p.alignment} == set(range(len(p.src)))
        assert len(set(p.alignment)) == len(p.alignment)


def test_reorderings_give_crossing_links(pairs):
    long_pairs = [p for p in pairs if len(p.src) >= 10]
    crossing = sum(_crossing(p.alignment) for p in long_pairs)
    assert crossing >= 0.5 * len(long_pairs)


def test_one_to_many_links(pairs):
    def one_to_many(p):
        return max(Counter(i for i, _ in p.alignment).values()) >= 2

    assert sum(map(one_to_many, pairs)) >= 0.5 * len(pairs)
    assert sum(len(p.tgt) for p in pairs) > 1.05 * sum(len(p.src) for p in pairs)


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("the cat sat on the mat", "le chat était assis sur le tapis"),
        ("the black cat", "le chat noir"),
        ("the black table", "la table noire"),
        ("a big black cat", "un grand chat noir"),
        ("the small white table", "la petite table blanche"),
        ("the girl sat", "la fille était assise"),
        ("the dog often slept", "le chien a souvent dormi"),
        ("the girl that hid saw the potato", "la fille qui s'est cachée a vu la pomme de terre"),
        (
            "my cat looked for the dog in front of the door",
            "mon chat a cherché le chien devant la porte",
        ),
    ],
)
def test_translate_known_phrases(english, french):
    tgt, alignment = translate(english.split())
    assert " ".join(tgt) == french
    assert {j for _, j in alignment} == set(range(len(tgt)))


def test_translate_famous_alignment():
    _, alignment = translate(["the", "cat", "sat", "on", "the", "mat"])
    # "sat" is one-to-many: était assis.
    assert alignment == ((0, 0), (1, 1), (2, 2), (2, 3), (3, 4), (4, 5), (5, 6))


def test_gender_agreement_in_generated_data(pairs):
    forms = {"black": ("noir", "noire"), "white": ("blanc", "blanche"), "big": ("grand", "grande")}
    articles = {"le": 0, "la": 1, "un": 0, "une": 1}
    checked = 0
    for p in pairs:
        french_of = defaultdict(list)
        for i, j in p.alignment:
            french_of[i].append(p.tgt[j])
        for i, word in enumerate(p.src):
            k = i - 1
            while k >= 0 and p.src[k] in forms:
                k -= 1
            if word in forms and k >= 0 and p.src[k] in ("the", "a"):
                gender = articles[french_of[k][0]]
                assert french_of[i] == [forms[word][gender]], (p.src, p.tgt)
                checked += 1
    assert checked >= 100


def test_translation_is_a_function(pairs):
    for p in pairs:
        assert translate(p.src) == (p.tgt, p.alignment)
    seen = {}
    for p in generate(3000, min_len=1, max_len=4, seed=2):
        assert seen.setdefault(p.src, p.tgt) == p.tgt


def test_some_words_are_rare():
    counts = Counter(w for p in generate(2000, min_len=3, max_len=40, seed=3) for w in p.src)
    assert max(counts.values()) >= 50 * min(counts.values())


def test_translate_rejects_unknown_and_ungrammatical():
    with pytest.raises(ValueError, match="'zyzzyva'"):
        translate(["the", "zyzzyva", "sat"])
    with pytest.raises(ValueError, match="noun"):
        translate(["the", "the", "cat"])
    with pytest.raises(ValueError, match="verb"):
        translate(["the", "cat", "the", "dog"])
    with pytest.raises(ValueError):
        translate([])


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        (dict(n=-1), "-1"),
        (dict(min_len=0), "min_len"),
        (dict(min_len=10, max_len=9), "max_len"),
    ],
)
def test_bad_arguments_raise(kwargs, word):
    with pytest.raises(ValueError, match=word):
        generate(**(dict(n=5, min_len=3, max_len=20, seed=0) | kwargs))


def test_fast_enough():
    start = time.perf_counter()
    generate(20000, min_len=3, max_len=70, seed=0)
    assert time.perf_counter() - start < 10  # ~1 s on a laptop core; loose for CI
