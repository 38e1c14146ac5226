"""`toy_fr`: the lecture's "The cat sat on the mat" language, English → French-like.

A small generative grammar for English sentences and a deterministic translation into
(simplified, real-word) French, with the gold word alignment of every pair. It holds
the three things attention has to cope with (Bahdanau et al. 2015, §5.2.2 and Fig. 3):

- **reordering**: most adjectives follow the noun ("the black cat" → "le chat noir"),
  a few precede it as in real French ("big", "small", "old", ...), and a pre-verbal
  English adverb moves behind the finite verb ("often slept" → "a souvent dormi"),
  so gold links cross;
- **one-to-many and many-to-one words**: compound past tenses ("saw" → "a vu"),
  "sat" → "était assis/assise", reflexives ("hid" → "s'est caché"), compound nouns
  ("potato" → "pomme de terre"), phrasal verbs ("looked for" → "a cherché"),
  multi-word prepositions ("in front of" → "devant", "near" → "près de");
- **agreement**: articles and adjectives agree with the French noun's gender
  ("la table noire"), être-participles with their subject ("la fille était assise");
- **rare words**: nouns, adjectives and verbs are drawn Zipf-like (weight 1/rank), so
  the tail of the ~300-word lexicon is seen far less often than "cat" and "dog";
  `rare_words` adds made-up nouns ("drekank" → "chégrelle", f) that a share
  `rare_share` of noun slots draw uniformly, so each is seen only a few times.

Two options change the data (the defaults give the original language):

- `reordering="long"` keeps the English and, in the French, puts the first clause after
  because/while/when/since, with the rest of the sentence, in front of what comes
  before it (`_french_order`): 40% of the gold links of 1–64-word sentences then jump
  10 words or more (`ablate.metrics.link_jumps`), none do under `"local"`;
- `rare_words=n` (with `rare_share`) adds the first `n` made-up nouns of a fixed
  sequence; with `n = 0` nothing is drawn differently.

Grammar (English side; one noun phrase has an optional prepositional phrase *or* a
relative clause, so "that" always attaches to the noun right before it and the French
is a function of the English string)::

    sentence := clause (conj clause)* | np
    clause   := np vp
    np       := det? adj* noun (pp | "that" vp)?
    vp       := adv? verb (np)? pp?          # np iff the verb is transitive
    pp       := prep np

`generate` picks a target source length uniformly in `[min_len, max_len]` and splits
that word budget over clauses and constituents, so every length is reached exactly and
the source-length distribution is uniform (one- and two-word "sentences" are a bare
noun and a determiner + noun). `translate` parses any sentence of the grammar and is
the single realisation path: a generated pair is `translate` of its source.

French simplifications, kept on purpose so tokens align word by word: no plurals, no
contractions ("de le", "à le"), no elision (all nouns start with a consonant).
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Sequence

from ablate.data.corpus import Pair, check_generate_args
from ablate.data.toy_fr_lexicon import (  # noqa: F401 (LEXICON_SIZE etc. re-exported)
    ADJS,
    ADVS,
    CONJS,
    DETS,
    ENGLISH_WORDS,
    INTRANSITIVE_LEMMAS,
    LEXICON_SIZE,
    MAX_RARE_WORDS,
    NOUNS,
    PREP_INDEX,
    PREPS,
    RELATIVE,
    TRANSITIVE_LEMMAS,
    VERB_INDEX,
    VERBS,
    lexicon_nouns,
    made_up_nouns,
)

REORDERINGS = ("local", "long")
"""How far the French moves words: `local` only within a phrase, `long` also fronts
a subordinate clause."""

# The first clause after one of these is fronted in the French under `reordering="long"`.
_SUBORDINATING = frozenset({"because", "while", "when", "since"})


VERSION: int = 3
"""Bumped whenever the lexicon, grammar or sampling changes what `generate` returns
(on-disk caches of generated corpora are keyed by it). 2: disjoint splits redrawn
through `accept`, `reordering`, `rare_words`; 3: `long` fronts one span, not each
subordinate clause."""

# --- trees ----------------------------------------------------------------------------
# np     = (det | None, adjectives tuple, noun entry, ext | None)
# noun entry = (english, french tokens, gender 0 m / 1 f): the tree carries the lexicon
#          entry, so made-up nouns (`rare_words`) realise like the built-in ones
# ext    = ("pp", prep key, np) | ("rel", vp)
# vp     = (adverb | None, verb key, object np | None, (prep key, np) | None)
# clause = (np, vp); a sentence is ("s", [clause, conj, clause, ...]) or ("np", np).


def _emit_np(np: tuple, src: list, tgt: list, links: list) -> int:
    """Append one noun phrase to both sides; return the noun's gender (0 m, 1 f)."""
    det, adjs, (noun, fr_noun, g), ext = np
    i = len(src)
    if det is not None:
        src.append(det)
        links.append((i, len(tgt)))
        tgt.append(DETS[det][g])
        i += 1
    src.extend(adjs)
    src.append(noun)
    post = []
    for k, adj in enumerate(adjs):
        forms, pre = ADJS[adj]
        if pre:
            links.append((i + k, len(tgt)))
            tgt.append(forms[g])
        else:
            post.append((i + k, forms[g]))
    noun_i = i + len(adjs)
    for tok in fr_noun:
        links.append((noun_i, len(tgt)))
        tgt.append(tok)
    # English "happy black cat" mirrors to French "chat noir heureux".
    for k, form in reversed(post):
        links.append((k, len(tgt)))
        tgt.append(form)
    if ext is not None:
        if ext[0] == "pp":
            _emit_pp(ext[1], ext[2], src, tgt, links)
        else:
            links.append((len(src), len(tgt)))
            src.append(RELATIVE[0])
            tgt.append(RELATIVE[1])
            _emit_vp(ext[1], g, src, tgt, links)
    return g


def _emit_pp(prep: tuple[str, ...], np: tuple, src: list, tgt: list, links: list) -> None:
    fr, local = PREPS[prep]
    i, j = len(src), len(tgt)
    src.extend(prep)
    tgt.extend(fr)
    links.extend((i + a, j + b) for a, b in local)
    _emit_np(np, src, tgt, links)


def _emit_vp(vp: tuple, g: int, src: list, tgt: list, links: list) -> None:
    """Append a verb phrase whose subject has gender `g`."""
    adv, verb, obj, pp = vp
    _, forms, finite = VERBS[verb]
    i_adv = len(src)
    if adv is not None:
        src.append(adv)
    i = len(src)
    src.extend(verb)
    toks = forms[g]
    for k, tok in enumerate(toks):
        j = len(tgt)
        links.append((i, j))  # the verb's head word links to every French token ...
        if k == len(toks) - 1:  # ... a particle ("for") to the lexical verb
            links.extend((i + m, j) for m in range(1, len(verb)))
        tgt.append(tok)
        if k == finite and adv is not None:
            links.append((i_adv, len(tgt)))
            tgt.append(ADVS[adv])
    if obj is not None:
        _emit_np(obj, src, tgt, links)
    if pp is not None:
        _emit_pp(pp[0], pp[1], src, tgt, links)


def _realise(tree: tuple, reordering: str) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    src: list[str] = []
    tgt: list[str] = []
    links: list[tuple[int, int]] = []
    if tree[0] == "np":
        _emit_np(tree[1], src, tgt, links)
        return src, tgt, links
    # Each clause and each conjunction is realised on its own; the French puts these
    # segments in `_french_order`, the English keeps them in order.
    segments = []
    for k, part in enumerate(tree[1]):
        seg_src: list[str] = []
        seg_tgt: list[str] = []
        seg_links: list[tuple[int, int]] = []
        if k % 2:
            seg_src.append(part)
            seg_tgt.extend(CONJS[part])
            seg_links.extend((0, m) for m in range(len(CONJS[part])))
        else:
            g = _emit_np(part[0], seg_src, seg_tgt, seg_links)
            _emit_vp(part[1], g, seg_src, seg_tgt, seg_links)
        segments.append((seg_src, seg_tgt, seg_links))
    src_start = list(itertools.accumulate((len(s) for s, _, _ in segments), initial=0))
    order = _french_order(tree[1]) if reordering == "long" else range(len(segments))
    tgt_start = {}
    for k in order:
        tgt_start[k] = len(tgt)
        tgt.extend(segments[k][1])
    for k, (seg_src, _, seg_links) in enumerate(segments):
        src.extend(seg_src)
        links.extend((src_start[k] + i, tgt_start[k] + j) for i, j in seg_links)
    return src, tgt, links


def _french_order(parts: list) -> list[int]:
    """The French order of a sentence's segments under `reordering="long"` (clause k is
    part 2k, the conjunction before it part 2k - 1).

    The first subordinating conjunction takes the rest of the sentence as its clause and
    goes to the front with it: `A and B because C and D` → `parce_que C et D A et B`.
    Conjunctions after it stay in place (`A because B when C` → `parce_que B quand C
    A`), so the French is two spans of the English, swapped: every word moves by the
    length of the other span, and the decoder never has to skip words it has already
    translated. The English is the same as for `local`.
    """
    k = next((k for k in range(1, len(parts), 2) if parts[k] in _SUBORDINATING), None)
    if k is None:
        return list(range(len(parts)))
    return [*range(k, len(parts)), *range(k)]


# --- parsing (translate) --------------------------------------------------------------


class _Parser:
    """Greedy recursive descent over the grammar in the module docstring.

    A prepositional phrase attaches to the nearest noun or verb; the French word order
    and agreement do not depend on that choice, so greedy attachment is exact.
    """

    def __init__(self, words: list[str], nouns: dict[str, tuple]):
        self.words = words
        self.nouns = nouns
        self.pos = 0

    def peek(self) -> str | None:
        return self.words[self.pos] if self.pos < len(self.words) else None

    def fail(self, expected: str):
        got = self.peek()
        where = f"{got!r} at position {self.pos}" if got is not None else "end of sentence"
        raise ValueError(f"cannot parse {' '.join(self.words)!r}: expected {expected}, got {where}")

    def match(self, index: dict[str, list[tuple[str, ...]]]) -> tuple[str, ...] | None:
        for key in index.get(self.peek(), ()):
            if tuple(self.words[self.pos : self.pos + len(key)]) == key:
                self.pos += len(key)
                return key
        return None

    def sentence(self) -> tuple:
        np = self.np()
        if self.peek() is None:
            return ("np", np)
        parts = [(np, self.vp())]
        while self.peek() is not None:
            if self.peek() not in CONJS:
                self.fail("a conjunction or the end of the sentence")
            parts.append(self.words[self.pos])
            self.pos += 1
            parts.append((self.np(), self.vp()))
        return ("s", parts)

    def np(self) -> tuple:
        det = None
        if self.peek() in DETS:
            det = self.words[self.pos]
            self.pos += 1
        start = self.pos
        while self.peek() in ADJS:
            self.pos += 1
        adjs = tuple(self.words[start : self.pos])
        if self.peek() not in self.nouns:
            self.fail("a noun")
        noun = self.nouns[self.words[self.pos]]
        self.pos += 1
        ext = None
        prep = self.match(PREP_INDEX)
        if prep is not None:
            ext = ("pp", prep, self.np())
        elif self.peek() == RELATIVE[0]:
            self.pos += 1
            ext = ("rel", self.vp())
        return (det, adjs, noun, ext)

    def vp(self) -> tuple:
        adv = None
        if self.peek() in ADVS:
            adv = self.words[self.pos]
            self.pos += 1
        verb = self.match(VERB_INDEX)
        if verb is None:
            self.fail("a verb")
        obj = self.np() if VERBS[verb][0] else None
        prep = self.match(PREP_INDEX)
        pp = (prep, self.np()) if prep is not None else None
        return (adv, verb, obj, pp)


def translate(
    src: Sequence[str], *, reordering: str = "local", rare_words: int = 0
) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    """Translate one English sentence of the toy grammar into French.

    Args:
        src: English tokens (case is ignored), e.g. `"the cat sat on the mat".split()`.
        reordering: `"local"` (adjectives, adverbs: links move a word or two) or
            `"long"` (also fronts the first clause after because/while/when/since
            with the rest of the sentence; see `_french_order`).
        rare_words: how many made-up nouns the lexicon has (see `generate`).

    Returns:
        `(tgt, alignment)`: the French tokens and the sorted gold links
        `(source index, target index)`.

    Raises:
        ValueError: naming the first word not in the lexicon, or where the sentence
            leaves the grammar, or a bad `reordering` or `rare_words`.
    """
    _check_reordering(reordering)
    nouns = lexicon_nouns(rare_words)
    words = [w.lower() for w in src]
    if not words:
        raise ValueError("cannot translate an empty sentence")
    for w in words:
        if w not in ENGLISH_WORDS and w not in nouns:
            raise ValueError(f"unknown word {w!r}: not in the toy_fr lexicon")
    _, tgt, links = _realise(_Parser(words, nouns).sentence(), reordering)
    return tuple(tgt), tuple(sorted(links))


def _check_reordering(reordering: str) -> None:
    if reordering not in REORDERINGS:
        raise ValueError(
            f"unknown reordering {reordering!r}; valid reorderings: {', '.join(REORDERINGS)}"
        )


# --- generation -----------------------------------------------------------------------


def _zipf(items: Sequence) -> tuple[list, list[float]]:
    """Items with cumulative weights 1/rank, for `_pick`."""
    return list(items), list(itertools.accumulate(1.0 / r for r in range(1, len(items) + 1)))


_NOUN_DIST = _zipf(list(NOUNS.values()))
_PRE_ADJ_DIST = _zipf([a for a, (_, pre) in ADJS.items() if pre])
_POST_ADJ_DIST = _zipf([a for a, (_, pre) in ADJS.items() if not pre])
_INTRANSITIVE_DIST = _zipf(INTRANSITIVE_LEMMAS)
_TRANSITIVE_DIST = _zipf(TRANSITIVE_LEMMAS)
_TRANSITIVE_ONE_WORD_DIST = _zipf([lemma for lemma in TRANSITIVE_LEMMAS if len(lemma[1]) == 1])
_DET_DIST = _zipf(list(DETS))
_CONJ_DIST = _zipf(list(CONJS))
_ADV_DIST = _zipf(list(ADVS))
_PREP_DISTS = {  # by the most English words a preposition may take
    n: _zipf([p for p in PREPS if len(p) <= n]) for n in (1, 2, 3)
}

_P_PAST = 0.6  # past tense (mostly two French tokens) vs present
_P_ADVERB = 0.15
_P_PP = 0.6  # an NP's extension is a PP, not a relative clause; a VP has a PP after its object
_P_INTRANSITIVE = 0.4  # a verb phrase of >= 4 words is intransitive verb + PP


class _Generator:
    """Builds trees with an exact English word budget, from one `random.Random`.

    A noun slot takes one of the made-up nouns `rare` (uniformly) with probability
    `rare_share`, else a built-in noun; with no made-up nouns it draws exactly as before
    they existed.
    """

    def __init__(self, rng: random.Random, rare: Sequence[tuple] = (), rare_share: float = 0.0):
        self.rng = rng
        self.rare = rare
        self.rare_share = rare_share

    def noun(self) -> tuple:
        if self.rare and self.rng.random() < self.rare_share:
            return self.rare[self.rng.randrange(len(self.rare))]
        return self.pick(_NOUN_DIST)

    def pick(self, dist: tuple[list, list[float]]):
        items, cum = dist
        return items[bisect.bisect(cum, self.rng.random() * cum[-1])]

    def sentence(self, length: int) -> tuple:
        if length == 1:
            return ("np", (None, (), self.noun(), None))
        if length == 2:
            return ("np", self.np(2))
        # k clauses need 3k words plus k - 1 conjunctions.
        k_max = (length + 1) // 4
        k = max(1, min(k_max, round(length / self.rng.uniform(6.0, 16.0))))
        spare = length - (k - 1) - 3 * k
        cuts = sorted(self.rng.randint(0, spare) for _ in range(k - 1))
        sizes = [3 + b - a for a, b in zip([0, *cuts], [*cuts, spare], strict=True)]
        parts: list = []
        for size in sizes:
            if parts:
                parts.append(self.pick(_CONJ_DIST))
            parts.append(self.clause(size))
        return ("s", parts)

    def clause(self, budget: int) -> tuple:
        subject = self.rng.randint(2, 2 + (budget - 3) // 2)
        return (self.np(subject), self.vp(budget - subject))

    def np(self, budget: int) -> tuple:
        extra = budget - 2  # beyond determiner + noun
        if extra <= 1:
            n_adj = extra
        elif extra == 2:
            n_adj = self.rng.choice((0, 2))
        elif extra == 3:
            n_adj = self.rng.choice((0, 0, 1))
        else:
            n_adj = self.rng.choices((0, 1, 2), weights=(6, 3, 1))[0]
        if n_adj == 2:
            adjs = (self.pick(_PRE_ADJ_DIST), self.pick(_POST_ADJ_DIST))
        elif n_adj == 1:
            dist = _PRE_ADJ_DIST if self.rng.random() < 0.3 else _POST_ADJ_DIST
            adjs = (self.pick(dist),)
        else:
            adjs = ()
        rest = extra - n_adj  # 0, or >= 2 for an extension
        ext = None
        if rest >= 3 and self.rng.random() < _P_PP:
            ext = ("pp", *self.pp(rest))
        elif rest >= 2:
            ext = ("rel", self.vp(rest - 1))
        return (self.pick(_DET_DIST), adjs, self.noun(), ext)

    def vp(self, budget: int) -> tuple:
        # The core (verb, object, PP) takes 1 or >= 3 words, never 2.
        if budget == 2 or (budget >= 4 and self.rng.random() < _P_ADVERB):
            adv, budget = self.pick(_ADV_DIST), budget - 1
        else:
            adv = None
        tense = 1 if self.rng.random() < _P_PAST else 0
        obj = pp = None
        if budget == 1:
            verb = self.pick(_INTRANSITIVE_DIST)[tense]
        elif budget == 3:
            verb = self.pick(_TRANSITIVE_ONE_WORD_DIST)[tense]
            obj = self.np(2)
        elif self.rng.random() < _P_INTRANSITIVE:
            verb = self.pick(_INTRANSITIVE_DIST)[tense]
            pp = self.pp(budget - 1)
        else:
            verb = self.pick(_TRANSITIVE_DIST)[tense]
            rest = budget - len(verb)  # >= 2
            if rest >= 5 and self.rng.random() < _P_PP:
                size = self.rng.randint(2, rest - 3)
                obj, pp = self.np(size), self.pp(rest - size)
            else:
                obj = self.np(rest)
        return (adv, verb, obj, pp)

    def pp(self, budget: int) -> tuple:
        prep = self.pick(_PREP_DISTS[min(3, budget - 2)])
        return (prep, self.np(budget - len(prep)))


def generate(
    n: int,
    *,
    min_len: int,
    max_len: int,
    seed: int,
    reordering: str = "local",
    rare_words: int = 0,
    rare_share: float = 0.1,
    accept: Callable[[tuple[str, ...]], bool] | None = None,
    tries: int = 100,
) -> list[Pair]:
    """Generate `n` English → French pairs with gold alignments.

    Args:
        n: number of pairs.
        min_len, max_len: inclusive range of the source length in words; each pair's
            length is drawn uniformly from it and reached exactly.
        seed: seed of the `random.Random` that draws everything.
        reordering: `"local"` or `"long"`, as for `translate`; the English side does
            not depend on it.
        rare_words: how many made-up nouns to add to the lexicon (0 to
            `MAX_RARE_WORDS`); the same words for every seed.
        rare_share: the probability that a noun slot takes a made-up noun, drawn
            uniformly among them; so each is seen about `rare_share / rare_words` times
            the number of noun slots (about 8 a pair of 1–64 words, 5 of 1–40).
        accept: called with each drawn source; a refused one is redrawn at the same
            length (None accepts all). Splits use it to keep their sources apart.
        tries: draws per pair at most; a pair whose draws are all refused is left out,
            so with `accept` the list can be shorter than `n`.

    Returns:
        The pairs, each with `alignment` set.

    Raises:
        ValueError: if `n < 0` or not `1 <= min_len <= max_len`, or a bad `reordering`,
            `rare_words` or `rare_share`.
    """
    check_generate_args(n, min_len, max_len)
    _check_reordering(reordering)
    if not 0.0 <= rare_share <= 1.0:
        raise ValueError(f"rare_share must be in [0, 1], got {rare_share!r}")
    rng = random.Random(seed)
    gen = _Generator(rng, made_up_nouns(rare_words), rare_share)
    pairs = []
    for _ in range(n):
        length = rng.randint(min_len, max_len)
        for _ in range(tries):
            src, tgt, links = _realise(gen.sentence(length), reordering)
            if accept is None or accept(tuple(src)):
                pairs.append(Pair(tuple(src), tuple(tgt), tuple(sorted(links))))
                break
    return pairs
