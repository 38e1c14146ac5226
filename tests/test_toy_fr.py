"""Properties of the embedded `toy_fr` grammar and its gold alignments."""

import hashlib
import json
from collections import Counter, defaultdict

import pytest

from ablate.alignment import link_jumps
from ablate.data import toy_fr_lexicon
from ablate.data.toy_fr import LEXICON_SIZE, REORDERINGS, generate, translate


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


# --- reordering=long ------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_pairs():
    return generate(3000, min_len=1, max_len=64, seed=1234, reordering="long")


def _digest(pairs):
    return hashlib.sha256(json.dumps([[p.src, p.tgt, p.alignment] for p in pairs]).encode())


def test_local_is_the_data_from_before_the_options():
    # Generated by the code before `reordering`, `rare_words` and `accept` existed.
    old = [
        (
            "this cheese with the book often followed a hen that sat",
            "ce fromage avec le livre a souvent suivi une poule qui était assise",
        ),
        ("the dog liked this green house", "le chien a aimé cette maison verte"),
        ("our sad cat often arrives", "notre chat triste arrive souvent"),
    ]
    pairs = generate(3, min_len=4, max_len=12, seed=11)
    assert [(" ".join(p.src), " ".join(p.tgt)) for p in pairs] == old
    assert pairs[2].alignment == ((0, 0), (1, 2), (2, 1), (3, 4), (4, 3))
    digest = "9633873cb52edd668061bc426af39b25d50c82134e11b216f64eb31b5fc7068e"
    assert _digest(generate(500, min_len=1, max_len=64, seed=1234)).hexdigest() == digest
    explicit = dict(reordering="local", rare_words=0, rare_share=0.5)
    assert generate(500, min_len=1, max_len=64, seed=1234, **explicit) == generate(
        500, min_len=1, max_len=64, seed=1234
    )


def test_long_moves_a_quarter_of_links_ten_words_or_more(long_pairs):
    jumps = [j for p in long_pairs for j in link_jumps(p.alignment, len(p.src), len(p.tgt))]
    assert sum(j >= 10 for j in jumps) >= 0.25 * len(jumps)
    local = generate(3000, min_len=1, max_len=64, seed=1234)
    local_jumps = [j for p in local for j in link_jumps(p.alignment, len(p.src), len(p.tgt))]
    assert max(local_jumps) < 10


def test_long_has_crossing_links_and_links_every_token(long_pairs):
    for p in long_pairs:
        assert {j for _, j in p.alignment} == set(range(len(p.tgt)))
        assert {i for i, _ in p.alignment} == set(range(len(p.src)))
        assert len(set(p.alignment)) == len(p.alignment)
    long_ones = [p for p in long_pairs if len(p.src) >= 10]
    assert sum(_crossing(p.alignment) for p in long_ones) >= 0.5 * len(long_ones)


def test_long_is_translate_deterministic_and_keeps_the_english(long_pairs):
    for p in long_pairs:
        assert translate(p.src, reordering="long") == (p.tgt, p.alignment)
    assert generate(300, min_len=1, max_len=64, seed=5, reordering="long") == generate(
        300, min_len=1, max_len=64, seed=5, reordering="long"
    )
    local = generate(300, min_len=1, max_len=64, seed=5)
    long = generate(300, min_len=1, max_len=64, seed=5, reordering="long")
    assert [p.src for p in local] == [p.src for p in long]
    assert all(Counter(a.tgt) == Counter(b.tgt) for a, b in zip(local, long, strict=True))


@pytest.mark.parametrize(
    ("english", "french"),
    [
        ("the cat slept because the dog ran", "parce que le chien a couru le chat a dormi"),
        (
            "the cat slept and the dog ran because the girl sang",
            "parce que la fille a chanté le chat a dormi et le chien a couru",
        ),
        (
            "the cat slept because the dog ran when the girl sang",
            "parce que le chien a couru quand la fille a chanté le chat a dormi",
        ),
        (
            "the cat slept because the dog ran and the girl sang",
            "parce que le chien a couru et la fille a chanté le chat a dormi",
        ),
        ("the cat slept but the dog ran", "le chat a dormi mais le chien a couru"),
    ],
)
def test_long_fronts_subordinate_clauses(english, french):
    tgt, alignment = translate(english.split(), reordering="long")
    assert " ".join(tgt) == french
    src = english.split()
    # Every link joins a word to its own translation: same as under `local`.
    local_tgt, local_alignment = translate(src)
    assert sorted(local_tgt[j] for _, j in local_alignment) == sorted(tgt[j] for _, j in alignment)


@pytest.mark.parametrize("reordering", REORDERINGS)
def test_translate_and_generate_check_reordering(reordering):
    assert translate(["the", "cat"], reordering=reordering)[0] == ("le", "chat")
    with pytest.raises(ValueError, match="'far'.*local, long"):
        translate(["the", "cat"], reordering="far")
    with pytest.raises(ValueError, match="'far'"):
        generate(3, min_len=1, max_len=5, seed=0, reordering="far")


# --- rare_words -----------------------------------------------------------------------


def test_made_up_nouns_are_new_distinct_and_a_function_of_their_number():
    entries = toy_fr_lexicon.made_up_nouns(3000)
    english = [en for en, _, _ in entries]
    french = [fr for _, (fr,), _ in entries]
    assert len(set(english)) == len(set(french)) == 3000
    assert not set(english) & toy_fr_lexicon.ENGLISH_WORDS
    assert not set(french) & toy_fr_lexicon.FRENCH_WORDS
    assert toy_fr_lexicon.made_up_nouns(100) == entries[:100]
    assert {g for _, _, g in entries} == {0, 1}


def test_rare_words_appear_at_their_share_and_translate():
    pairs = generate(2000, min_len=1, max_len=64, seed=3, rare_words=500, rare_share=0.2)
    made_up = {en for en, _, _ in toy_fr_lexicon.made_up_nouns(500)}
    nouns = set(toy_fr_lexicon.NOUNS)
    rare = sum(w in made_up for p in pairs for w in p.src)
    slots = rare + sum(w in nouns for p in pairs for w in p.src)
    assert 0.17 < rare / slots < 0.23
    for p in pairs[:300]:
        assert translate(p.src, rare_words=500) == (p.tgt, p.alignment)
    word = next(w for p in pairs for w in p.src if w in made_up)
    with pytest.raises(ValueError, match=repr(word)):
        translate(["the", word])  # not in the lexicon without rare_words


def test_made_up_nouns_agree_in_gender():
    for en, (fr,), g in toy_fr_lexicon.made_up_nouns(50):
        tgt, _ = translate(["the", "black", en, "sat"], rare_words=50)
        assert tgt == (("le", "la")[g], fr, ("noir", "noire")[g], "était", ("assis", "assise")[g])


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        (dict(rare_words=-1), "rare_words"),
        (dict(rare_words=10**6), "rare_words"),
        (dict(rare_words=5, rare_share=1.5), "rare_share"),
    ],
)
def test_bad_rare_word_settings_raise(kwargs, word):
    with pytest.raises(ValueError, match=word):
        generate(3, min_len=1, max_len=5, seed=0, **kwargs)
