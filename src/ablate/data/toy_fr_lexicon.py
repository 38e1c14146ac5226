"""The `toy_fr` lexicon: English words with their French forms, genders and word links,
and the made-up nouns of `dataset.rare_words` (a data table; the grammar that uses it is
`ablate.data.toy_fr`). Lists are in frequency order: sampling weight is 1 / rank.

A change here changes what `toy_fr.generate` returns: bump `toy_fr.VERSION` with it.
"""

from __future__ import annotations

import functools
import random

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

RELATIVE = ("that", "qui")


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


NOUNS: dict[str, tuple[str, tuple[str, ...], int]] = {}  # english → noun entry
for _row in _rows(_NOUN_ROWS):
    _en, _fr, _g = _row.split()
    NOUNS[_en] = (_en, tuple(_fr.split("_")), "mf".index(_g))

ADJS: dict[str, tuple[tuple[str, str], bool]] = {}  # english → ((masc, fem), pre)
for _row in _rows(_ADJ_ROWS):
    _en, _m, _f, *_pre = _row.split()
    ADJS[_en] = ((_m, _f), bool(_pre))

VERBS: dict[tuple[str, ...], tuple] = {}  # english words → _verb_form(...)
INTRANSITIVE_LEMMAS: list[tuple[tuple[str, ...], tuple[str, ...]]] = []  # (present, past)
TRANSITIVE_LEMMAS: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
for _text, _transitive, _lemmas in (
    (_INTRANSITIVE_ROWS, False, INTRANSITIVE_LEMMAS),
    (_TRANSITIVE_ROWS, True, TRANSITIVE_LEMMAS),
):
    for _line in _text.strip().splitlines():
        _pres, _past, _fr_pres, _fr_past = (c.strip() for c in _line.split("|"))
        _keys = (tuple(_pres.split()), tuple(_past.split()))
        VERBS[_keys[0]] = _verb_form(_fr_pres, _transitive)
        VERBS[_keys[1]] = _verb_form(_fr_past, _transitive)
        _lemmas.append(_keys)

DETS: dict[str, tuple[str, str]] = {}
for _row in _rows(_DET_ROWS):
    _en, _m, _f = _row.split()
    DETS[_en] = (_m, _f)

PREPS: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[tuple[int, int], ...]]] = {}
for _line in _PREP_ROWS.strip().splitlines():
    _en, _fr, _links = (c.strip() for c in _line.split("|"))
    PREPS[tuple(_en.split())] = (
        tuple(_fr.split()),
        tuple(tuple(int(x) for x in link.split("-")) for link in _links.split()),
    )

CONJS: dict[str, tuple[str, ...]] = {}
for _row in _rows(_CONJ_ROWS):
    _en, _fr = _row.split()
    CONJS[_en] = tuple(_fr.split("_"))

ADVS: dict[str, str] = dict(_row.split() for _row in _rows(_ADV_ROWS))


def _by_first_word(keys) -> dict[str, list[tuple[str, ...]]]:
    """Multi-word keys indexed by their first word, longest first (longest match wins)."""
    index: dict[str, list[tuple[str, ...]]] = {}
    for key in sorted(keys, key=len, reverse=True):
        index.setdefault(key[0], []).append(key)
    return index


VERB_INDEX = _by_first_word(VERBS)
PREP_INDEX = _by_first_word(PREPS)

CATEGORIES: dict[str, set[str]] = {
    "noun": set(NOUNS),
    "adjective": set(ADJS),
    "verb": {w for key in VERBS for w in key},
    "determiner": set(DETS),
    "preposition": {w for key in PREPS for w in key},
    "conjunction": set(CONJS),
    "adverb": set(ADVS),
    "relative": {RELATIVE[0]},
}
ENGLISH_WORDS = frozenset().union(*CATEGORIES.values())

FRENCH_WORDS = frozenset(
    [tok for _, fr, _ in NOUNS.values() for tok in fr]
    + [form for forms, _ in ADJS.values() for form in forms]
    + [tok for _, genders, _ in VERBS.values() for toks in genders for tok in toks]
    + [form for forms in DETS.values() for form in forms]
    + [tok for fr, _ in PREPS.values() for tok in fr]
    + [tok for fr in CONJS.values() for tok in fr]
    + [*ADVS.values(), RELATIVE[1]]
)

LEXICON_SIZE: int = len(ENGLISH_WORDS)
"""Number of distinct English words in the lexicon."""

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
def made_up_nouns(n: int) -> tuple[tuple[str, tuple[str, ...], int], ...]:
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
    taken_en = set(ENGLISH_WORDS)
    taken_fr = set(FRENCH_WORDS)
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


def lexicon_nouns(rare_words: int) -> dict[str, tuple[str, tuple[str, ...], int]]:
    """English noun → entry, the built-in nouns and the first `rare_words` made-up ones."""
    return NOUNS | {entry[0]: entry for entry in made_up_nouns(rare_words)}
