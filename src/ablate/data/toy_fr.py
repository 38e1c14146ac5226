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
import functools
import itertools
import random
from collections.abc import Callable, Sequence

from ablate.data.corpus import Pair, check_generate_args

# --- the lexicon ----------------------------------------------------------------------
# Lists are in frequency order: sampling weight is 1 / rank within each list.

# English noun, French tokens, gender.
_NOUN_ROWS = """
cat chat m | dog chien m | mat tapis m | table table f | boy garçon m | girl fille f
horse cheval m | house maison f | book livre m | door porte f | garden jardin m
window fenêtre f | bed lit m | chair chaise f | king roi m | queen reine f
woman femme f | rabbit lapin m | cow vache f | fox renard m | mouse souris f
wolf loup m | frog grenouille f | duck canard m | turtle tortue f | lion lion m
goat chèvre f | tiger tigre m | hen poule f | snake serpent m | ball balle f
hat chapeau m | apple pomme f | cake gâteau m | soup soupe f | bread pain m
cup tasse f | cheese fromage m | bottle bouteille f | baker boulanger m | box boîte f
doctor médecin m | lamp lampe f | teacher professeur m | letter lettre f
farmer fermier m | flower fleur f | soldier soldat m | street rue f | painter peintre m
beach plage f | neighbour voisin m | sister sœur f | brother frère m | mother mère f
father père m | aunt tante f | cousin cousin m | city ville f | village village m
forest forêt f | castle château m | mountain montagne f | bridge pont m | river rivière f
boat bateau m | car voiture f | train train m | kitchen cuisine f | bicycle vélo m
room chambre f | phone téléphone m | key clé f | piano piano m | doll poupée f
violin violon m | watch montre f | market marché m | dress robe f | shop magasin m
shirt chemise f | wall mur m | shoe chaussure f | roof toit m | fork fourchette f
knife couteau m | spoon cuillère f | pen stylo m | pear poire f | pencil crayon m
banana banane f | coat manteau m | bank banque f | sofa canapé m | niece nièce f
nephew neveu m | witch sorcière f | pirate pirate m | princess princesse f
prince prince m | owl chouette f | parrot perroquet m | giraffe girafe f
penguin pingouin m | whale baleine f | monkey singe m | sheep mouton m | pig cochon m
camel chameau m | zebra zèbre m | hedgehog hérisson m | potato pomme_de_terre f
railway chemin_de_fer m | typewriter machine_à_écrire f
"""

# English adjective, French masculine, feminine, "pre" if it precedes the noun in French.
_ADJ_ROWS = """
black noir noire | big grand grande pre | white blanc blanche | small petit petite pre
red rouge rouge | old vieux vieille pre | happy heureux heureuse | green vert verte
young jeune jeune pre | sad triste triste | good bon bonne pre | blue bleu bleue
tired fatigué fatiguée | pretty joli jolie pre | hungry affamé affamée
yellow jaune jaune | bad mauvais mauvaise pre | angry fâché fâchée | grey gris grise
beautiful beau belle pre | lazy paresseux paresseuse | brown brun brune
new nouveau nouvelle pre | clever intelligent intelligente | quiet silencieux silencieuse
long long longue pre | round rond ronde | heavy lourd lourde | warm chaud chaude
cold froid froide | wet mouillé mouillée | dirty sale sale | clean propre propre
strange étrange étrange | famous célèbre célèbre | broken cassé cassée | empty vide vide
full plein pleine | soft doux douce | noisy bruyant bruyante | funny drôle drôle
sleepy endormi endormie | proud fier fière | curious curieux curieuse | shy timide timide
brave courageux courageuse | polite poli polie
"""

# English present | past, French present | past. In the French, `*` marks the finite
# token (a moved adverb goes right after it) and `+` the participle that takes "-e"
# after a feminine subject.
_INTRANSITIVE_ROWS = """
sleeps | slept | dort* | a* dormi
sits | sat | est* assis+ | était* assis+
runs | ran | court* | a* couru
arrives | arrived | arrive* | est* arrivé+
falls | fell | tombe* | est* tombé+
comes | came | vient* | est* venu+
goes | went | va* | est* allé+
laughs | laughed | rit* | a* ri
sings | sang | chante* | a* chanté
dances | danced | danse* | a* dansé
swims | swam | nage* | a* nagé
cries | cried | pleure* | a* pleuré
works | worked | travaille* | a* travaillé
plays | played | joue* | a* joué
jumps | jumped | saute* | a* sauté
stays | stayed | reste* | est* resté+
smiles | smiled | sourit* | a* souri
walks | walked | marche* | a* marché
hides | hid | se cache* | s'est* caché+
rests | rested | se repose* | s'est* reposé+
dreams | dreamed | rêve* | a* rêvé
sneezes | sneezed | éternue* | a* éternué
"""

_TRANSITIVE_ROWS = """
sees | saw | voit* | a* vu
eats | ate | mange* | a* mangé
likes | liked | aime* | a* aimé
watches | watched | regarde* | a* regardé
finds | found | trouve* | a* trouvé
takes | took | prend* | a* pris
chases | chased | poursuit* | a* poursuivi
hears | heard | entend* | a* entendu
follows | followed | suit* | a* suivi
carries | carried | porte* | a* porté
looks for | looked for | cherche* | a* cherché
buys | bought | achète* | a* acheté
opens | opened | ouvre* | a* ouvert
waits for | waited for | attend* | a* attendu
closes | closed | ferme* | a* fermé
loves | loved | adore* | a* adoré
helps | helped | aide* | a* aidé
paints | painted | peint* | a* peint
draws | drew | dessine* | a* dessiné
reads | read | lit* | a* lu
sells | sold | vend* | a* vendu
breaks | broke | casse* | a* cassé
holds | held | tient* | a* tenu
cleans | cleaned | nettoie* | a* nettoyé
drops | dropped | laisse* tomber | a* laissé tomber
knows | knew | connaît* | a* connu
touches | touched | touche* | a* touché
pushes | pushed | pousse* | a* poussé
visits | visited | visite* | a* visité
forgets | forgot | oublie* | a* oublié
writes | wrote | écrit* | a* écrit
"""

# English determiner, French masculine, feminine.
_DET_ROWS = """
the le la | a un une | this ce cette | my mon ma | every chaque chaque
our notre notre | your votre votre
"""

# English words | French words | links "i-j" (English i → French j within the phrase).
_PREP_ROWS = """
on | sur | 0-0
in | dans | 0-0
under | sous | 0-0
near | près de | 0-0 0-1
with | avec | 0-0
behind | derrière | 0-0
next to | à côté de | 0-1 1-0 1-2
of | de | 0-0
in front of | devant | 0-0 1-0 2-0
to | à | 0-0
from | de | 0-0
for | pour | 0-0
without | sans | 0-0
above | au-dessus de | 0-0 0-1
towards | vers | 0-0
around | autour de | 0-0 0-1
after | après | 0-0
along | le long de | 0-0 0-1 0-2
across | à travers | 0-0 0-1
against | contre | 0-0
during | pendant | 0-0
by | par | 0-0
"""

# English conjunction, French tokens (each linked to the English word).
_CONJ_ROWS = """
and et | but mais | because parce_que | while pendant_que | when quand | so donc
or ou | since puisque
"""

# English adverb (before the verb), French adverb (after the finite verb).
_ADV_ROWS = """
often souvent | always toujours | sometimes parfois | already déjà | rarely rarement
suddenly soudain | finally enfin
"""

_RELATIVE = ("that", "qui")


def _rows(text: str, sep: str = "|") -> list[str]:
    return [r.strip() for r in text.replace("\n", " " + sep + " ").split(sep) if r.strip()]


def _verb_form(french: str, transitive: bool) -> tuple:
    """One verb form: `(transitive, (masculine tokens, feminine tokens), finite index)`."""
    marked = french.split()
    finite = next(k for k, tok in enumerate(marked) if tok.endswith("*"))
    masc, fem = [], []
    for tok in marked:
        tok = tok.rstrip("*")
        masc.append(tok.rstrip("+"))
        fem.append(tok[:-1] + "e" if tok.endswith("+") else tok)
    return transitive, (tuple(masc), tuple(fem)), finite


_NOUNS: dict[str, tuple[str, tuple[str, ...], int]] = {}  # english → noun entry
for _row in _rows(_NOUN_ROWS):
    _en, _fr, _g = _row.split()
    _NOUNS[_en] = (_en, tuple(_fr.split("_")), "mf".index(_g))

_ADJS: dict[str, tuple[tuple[str, str], bool]] = {}  # english → ((masc, fem), pre)
for _row in _rows(_ADJ_ROWS):
    _en, _m, _f, *_pre = _row.split()
    _ADJS[_en] = ((_m, _f), bool(_pre))

_VERBS: dict[tuple[str, ...], tuple] = {}  # english words → _verb_form(...)
_INTRANSITIVE_LEMMAS: list[tuple[tuple[str, ...], tuple[str, ...]]] = []  # (present, past)
_TRANSITIVE_LEMMAS: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
for _text, _transitive, _lemmas in (
    (_INTRANSITIVE_ROWS, False, _INTRANSITIVE_LEMMAS),
    (_TRANSITIVE_ROWS, True, _TRANSITIVE_LEMMAS),
):
    for _line in _text.strip().splitlines():
        _pres, _past, _fr_pres, _fr_past = (c.strip() for c in _line.split("|"))
        _keys = (tuple(_pres.split()), tuple(_past.split()))
        _VERBS[_keys[0]] = _verb_form(_fr_pres, _transitive)
        _VERBS[_keys[1]] = _verb_form(_fr_past, _transitive)
        _lemmas.append(_keys)

_DETS: dict[str, tuple[str, str]] = {}
for _row in _rows(_DET_ROWS):
    _en, _m, _f = _row.split()
    _DETS[_en] = (_m, _f)

_PREPS: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[tuple[int, int], ...]]] = {}
for _line in _PREP_ROWS.strip().splitlines():
    _en, _fr, _links = (c.strip() for c in _line.split("|"))
    _PREPS[tuple(_en.split())] = (
        tuple(_fr.split()),
        tuple(tuple(int(x) for x in link.split("-")) for link in _links.split()),
    )

_CONJS: dict[str, tuple[str, ...]] = {}
for _row in _rows(_CONJ_ROWS):
    _en, _fr = _row.split()
    _CONJS[_en] = tuple(_fr.split("_"))

_ADVS: dict[str, str] = dict(_row.split() for _row in _rows(_ADV_ROWS))

REORDERINGS = ("local", "long")
"""How far the French moves words: `local` only within a phrase, `long` also fronts
a subordinate clause."""

# The first clause after one of these is fronted in the French under `reordering="long"`.
_SUBORDINATING = frozenset({"because", "while", "when", "since"})


def _by_first_word(keys) -> dict[str, list[tuple[str, ...]]]:
    """Multi-word keys indexed by their first word, longest first (longest match wins)."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for key in sorted(keys, key=len, reverse=True):
        index.setdefault(key[0], []).append(key)
    return index


_VERB_INDEX = _by_first_word(_VERBS)
_PREP_INDEX = _by_first_word(_PREPS)

_CATEGORIES: dict[str, set[str]] = {
    "noun": set(_NOUNS),
    "adjective": set(_ADJS),
    "verb": {w for key in _VERBS for w in key},
    "determiner": set(_DETS),
    "preposition": {w for key in _PREPS for w in key},
    "conjunction": set(_CONJS),
    "adverb": set(_ADVS),
    "relative": {_RELATIVE[0]},
}
_ENGLISH_WORDS = frozenset().union(*_CATEGORIES.values())

_FRENCH_WORDS = frozenset(
    [tok for _, fr, _ in _NOUNS.values() for tok in fr]
    + [form for forms, _ in _ADJS.values() for form in forms]
    + [tok for _, genders, _ in _VERBS.values() for toks in genders for tok in toks]
    + [form for forms in _DETS.values() for form in forms]
    + [tok for fr, _ in _PREPS.values() for tok in fr]
    + [tok for fr in _CONJS.values() for tok in fr]
    + [*_ADVS.values(), _RELATIVE[1]]
)

LEXICON_SIZE: int = len(_ENGLISH_WORDS)
"""Number of distinct English words in the lexicon."""

VERSION: int = 3
"""Bumped whenever the lexicon, grammar or sampling changes what `generate` returns
(on-disk caches of generated corpora are keyed by it). 2: disjoint splits redrawn
through `accept`, `reordering`, `rare_words`; 3: `long` fronts one span, not each
subordinate clause."""

# Made-up nouns for `rare_words`, spelled from syllables by a generator with a fixed
# seed: the lexicon tail is a function of its size alone (the first n words of one
# sequence), so `translate` needs no seed and every data seed shares the same words.
_EN_ONSETS = "b bl br d dr f fl fr g gl gr k kl kr l m n p pl pr s sk sl sn sp st t tr v z"
_EN_VOWELS = "a e i o u oo ee"
_EN_CODAS = "b d g k m n p t x nk sk mp"
_FR_ONSETS = "b br ch d f fr g gr j l m n p pr r s t tr v"
_FR_VOWELS = "a ai e é i o ou u"
_FR_ENDINGS = ("on ier ard eau in", "ette ine elle ière ade")  # masculine, feminine

MAX_RARE_WORDS: int = 10_000
"""The most made-up nouns `rare_words` may ask for."""


@functools.cache
def _made_up_nouns(n: int) -> tuple[tuple[str, tuple[str, ...], int], ...]:
    """The first `n` made-up noun entries `(english, (french,), gender)`, all distinct
    from each other and from the built-in lexicon on both sides."""
    if not (isinstance(n, int) and 0 <= n <= MAX_RARE_WORDS):
        raise ValueError(f"rare_words must be an integer in [0, {MAX_RARE_WORDS}], got {n!r}")
    if n == 0:
        return ()
    rng = random.Random("toy_fr made-up nouns")
    en_on, en_v, en_co = _EN_ONSETS.split(), _EN_VOWELS.split(), _EN_CODAS.split()
    fr_on, fr_v = _FR_ONSETS.split(), _FR_VOWELS.split()
    endings = [e.split() for e in _FR_ENDINGS]
    taken_en = set(_ENGLISH_WORDS)
    taken_fr = set(_FRENCH_WORDS)
    entries = []
    while len(entries) < n:
        en = "".join(map(rng.choice, (en_on, en_v, en_on, en_v, en_co)))
        g = rng.randrange(2)
        fr = "".join(map(rng.choice, (fr_on, fr_v, fr_on, endings[g])))
        if en in taken_en or fr in taken_fr:
            continue
        taken_en.add(en)
        taken_fr.add(fr)
        entries.append((en, (fr,), g))
    return tuple(entries)


def _lexicon_nouns(rare_words: int) -> dict[str, tuple[str, tuple[str, ...], int]]:
    """English noun → entry, the built-in nouns and the first `rare_words` made-up ones."""
    return _NOUNS | {entry[0]: entry for entry in _made_up_nouns(rare_words)}


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
        tgt.append(_DETS[det][g])
        i += 1
    src.extend(adjs)
    src.append(noun)
    post = []
    for k, adj in enumerate(adjs):
        forms, pre = _ADJS[adj]
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
            src.append(_RELATIVE[0])
            tgt.append(_RELATIVE[1])
            _emit_vp(ext[1], g, src, tgt, links)
    return g


def _emit_pp(prep: tuple[str, ...], np: tuple, src: list, tgt: list, links: list) -> None:
    fr, local = _PREPS[prep]
    i, j = len(src), len(tgt)
    src.extend(prep)
    tgt.extend(fr)
    links.extend((i + a, j + b) for a, b in local)
    _emit_np(np, src, tgt, links)


def _emit_vp(vp: tuple, g: int, src: list, tgt: list, links: list) -> None:
    """Append a verb phrase whose subject has gender `g`."""
    adv, verb, obj, pp = vp
    _, forms, finite = _VERBS[verb]
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
            tgt.append(_ADVS[adv])
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
            seg_tgt.extend(_CONJS[part])
            seg_links.extend((0, m) for m in range(len(_CONJS[part])))
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
            if self.peek() not in _CONJS:
                self.fail("a conjunction or the end of the sentence")
            parts.append(self.words[self.pos])
            self.pos += 1
            parts.append((self.np(), self.vp()))
        return ("s", parts)

    def np(self) -> tuple:
        det = None
        if self.peek() in _DETS:
            det = self.words[self.pos]
            self.pos += 1
        start = self.pos
        while self.peek() in _ADJS:
            self.pos += 1
        adjs = tuple(self.words[start : self.pos])
        if self.peek() not in self.nouns:
            self.fail("a noun")
        noun = self.nouns[self.words[self.pos]]
        self.pos += 1
        ext = None
        prep = self.match(_PREP_INDEX)
        if prep is not None:
            ext = ("pp", prep, self.np())
        elif self.peek() == _RELATIVE[0]:
            self.pos += 1
            ext = ("rel", self.vp())
        return (det, adjs, noun, ext)

    def vp(self) -> tuple:
        adv = None
        if self.peek() in _ADVS:
            adv = self.words[self.pos]
            self.pos += 1
        verb = self.match(_VERB_INDEX)
        if verb is None:
            self.fail("a verb")
        obj = self.np() if _VERBS[verb][0] else None
        prep = self.match(_PREP_INDEX)
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
    nouns = _lexicon_nouns(rare_words)
    words = [w.lower() for w in src]
    if not words:
        raise ValueError("cannot translate an empty sentence")
    for w in words:
        if w not in _ENGLISH_WORDS and w not in nouns:
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


_NOUN_DIST = _zipf(list(_NOUNS.values()))
_PRE_ADJ_DIST = _zipf([a for a, (_, pre) in _ADJS.items() if pre])
_POST_ADJ_DIST = _zipf([a for a, (_, pre) in _ADJS.items() if not pre])
_INTRANSITIVE_DIST = _zipf(_INTRANSITIVE_LEMMAS)
_TRANSITIVE_DIST = _zipf(_TRANSITIVE_LEMMAS)
_TRANSITIVE_ONE_WORD_DIST = _zipf([lemma for lemma in _TRANSITIVE_LEMMAS if len(lemma[1]) == 1])
_DET_DIST = _zipf(list(_DETS))
_CONJ_DIST = _zipf(list(_CONJS))
_ADV_DIST = _zipf(list(_ADVS))
_PREP_DISTS = {  # by the most English words a preposition may take
    n: _zipf([p for p in _PREPS if len(p) <= n]) for n in (1, 2, 3)
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
    gen = _Generator(rng, _made_up_nouns(rare_words), rare_share)
    pairs = []
    for _ in range(n):
        length = rng.randint(min_len, max_len)
        for _ in range(tries):
            src, tgt, links = _realise(gen.sentence(length), reordering)
            if accept is None or accept(tuple(src)):
                pairs.append(Pair(tuple(src), tuple(tgt), tuple(sorted(links))))
                break
    return pairs
