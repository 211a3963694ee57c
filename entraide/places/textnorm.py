"""Text normalisation shared by the gazetteer import and the geocoder.

Both sides must normalise the same way, or an imported street can never be found again: every string
stored in ``Street.name_norm``, ``Street.city_norm`` or ``PostcodeArea.place_norm`` comes from here.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# How people abbreviate street words when they type an address (La Poste's own list is longer, but
# these are the ones seen in sign-up forms). No expansion is itself a key, so normalising is idempotent.
ABBREVIATIONS: dict[str, str] = {
    "av": "avenue", "ave": "avenue", "avn": "avenue", "aven": "avenue",
    "bd": "boulevard", "bld": "boulevard", "blvd": "boulevard", "bvd": "boulevard", "boul": "boulevard",
    "boulv": "boulevard",
    "r": "rue",
    "pl": "place", "plc": "place",
    "st": "saint", "ste": "sainte", "sts": "saints",
    "fg": "faubourg", "fbg": "faubourg", "faub": "faubourg",
    "imp": "impasse",
    "all": "allee", "al": "allee",
    "sq": "square",
    "pass": "passage", "psg": "passage",
    "qu": "quai", "qua": "quai",
    "che": "chemin", "ch": "chemin", "chem": "chemin", "chm": "chemin",
    "rte": "route",
    "crs": "cours",
    "pte": "porte",
    "gal": "general", "gen": "general", "gl": "general",
    "mal": "marechal", "mar": "marechal", "marech": "marechal",
    "pdt": "president", "pres": "president", "prs": "president",
    "dr": "docteur", "doct": "docteur",
    "pr": "professeur", "prof": "professeur",
    "cdt": "commandant", "cmdt": "commandant",
    "cpt": "capitaine", "cne": "capitaine",
    "lt": "lieutenant",
    "mgr": "monseigneur",
    "res": "residence", "resid": "residence",
    "vla": "villa",
    "prom": "promenade",
    "esp": "esplanade",
    "carr": "carrefour",
    "sen": "sente",
    "ctre": "centre",
    "gd": "grand", "gde": "grande", "gdes": "grandes", "gds": "grands",
    "rpt": "rond point",
}

STREET_TYPES = frozenset({
    "rue", "avenue", "boulevard", "place", "impasse", "allee", "chemin", "route", "quai", "cours", "passage",
    "square", "villa", "cite", "sentier", "sente", "faubourg", "rond", "porte", "voie", "residence", "hameau",
    "promenade", "esplanade", "parvis", "carrefour", "galerie", "traverse", "montee", "lotissement", "cour",
    "clos", "chaussee", "ruelle", "ville", "hameau", "lieu", "quartier", "mail", "port", "pont", "rampe",
})

GRAMMAR_WORDS = frozenset({
    "de", "du", "la", "le", "les", "des", "d", "l", "et", "a", "au", "aux", "en", "sur", "sous", "s",
})
# Words that say nothing about which street is meant; kept out of the StreetToken index.
STOP_WORDS = STREET_TYPES | GRAMMAR_WORDS

# Repetition suffixes as people type them, to the canonical form stored by the BAN (lower case).
REPETITIONS: dict[str, str] = {
    "bis": "bis", "b": "bis", "ter": "ter", "t": "ter", "quater": "quater", "q": "quater",
    "quinquies": "quinquies", "quinq": "quinquies",
}
# The BAN stores some repetitions as bare letters; these are the spellings to try for each canonical one.
REP_VARIANTS: dict[str, tuple[str, ...]] = {
    "bis": ("bis", "b"), "ter": ("ter", "t"), "quater": ("quater", "q"), "quinquies": ("quinquies", "c"),
}

# Trailing words naming France itself carry no information.
COUNTRY_WORDS = frozenset({"france", "fr"})
_NUMBER_RE = re.compile(r"^([0-9]{1,4})(bis|ter|quater|quinquies|[a-z])?$")
_POSTCODE_RE = re.compile(r"^[0-9]{5}$")
_ORDINAL_RE = re.compile(r"^0*([0-9]+)(?:e|er|ere|eme|ieme|em|nd|nde)?$")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "ı": "i"})
# Letters that look like a repetition after a number but, alone, are almost always something else.
_NOT_A_REP = frozenset({"r", "d", "l"})


def fold(text: str) -> str:
    """Lower case, no accents, ASCII letters and digits separated by single spaces."""
    text = unicodedata.normalize("NFKD", str(text).casefold().translate(_LIGATURES))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def normalize(text: str) -> str:
    """``fold`` plus the expansion of street abbreviations (``av`` → ``avenue``, ``st`` → ``saint``)."""
    return " ".join(ABBREVIATIONS.get(word, word) for word in fold(text).split())


def normalize_city(text: str) -> str:
    """A commune name as a comparable key: ``Paris 19e Arrondissement``, ``paris 19eme`` and ``Paris 19`` agree."""
    words = []
    for word in normalize(text).split():
        if word in {"arrondissement", "arr", "arrdt", "cedex"}:
            continue
        ordinal = _ORDINAL_RE.match(word)
        words.append(str(int(ordinal.group(1))) if ordinal else word)
    return " ".join(words)


def significant_tokens(name_norm: str) -> list[str]:
    """The distinctive words of a normalised street name, for the StreetToken index.

    A name made only of stop words (``Grande Rue`` is fine, ``Rue de la Place`` is not) keeps all its words,
    so that every street can be found through at least one token.
    """
    words = [w[:64] for w in name_norm.split() if len(w) >= 2]
    tokens = [w for w in words if w not in STOP_WORDS] or [w for w in words if w not in GRAMMAR_WORDS] or words
    return list(dict.fromkeys(tokens))


def rep_variants(rep: str) -> tuple[str, ...]:
    """Spellings of a repetition suffix worth looking up, best first."""
    return REP_VARIANTS.get(rep, (rep,)) if rep else ("",)


@dataclass(frozen=True)
class ParsedAddress:
    """A typed address split into parts. ``words`` follow the housenumber (street, then maybe city);
    ``lead`` are the words before it (usually a city written first, or noise)."""

    number: int | None = None
    rep: str = ""
    postcode: str = ""
    words: tuple[str, ...] = ()
    lead: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(self.words)


def parse(text: str) -> ParsedAddress:
    """Split free text into housenumber, repetition, postcode and remaining words. Never raises."""
    words = normalize(text).split()
    while words and words[-1] in COUNTRY_WORDS:
        words.pop()
    postcode = ""
    number: int | None = None
    rep = ""
    number_at: int | None = None
    for i, word in enumerate(words):
        match = _NUMBER_RE.match(word)
        if not match:
            continue
        following = words[i + 1] if i + 1 < len(words) else ""
        # "Paris 19e" or "avenue du 8 mai": a number counts as the housenumber when it starts the text
        # or is followed by a street type ("Paris, 12 rue ...") or a repetition word.
        if i == 0 or following in STREET_TYPES or following in REPETITIONS:
            suffix = match.group(2) or ""
            number, number_at = int(match.group(1)), i
            rep = REPETITIONS.get(suffix, suffix)
            break
    lead: list[str] = []
    rest = words
    if number_at is not None:
        lead, rest = words[:number_at], words[number_at + 1:]
        # "12 bis rue", "12 b rue", "12-14 rue": the suffix or the end of a range is not part of the street.
        if rest and not rep and len(rest[0]) > 1 and rest[0] in REPETITIONS:
            rep, rest = REPETITIONS[rest[0]], rest[1:]
        elif rest and not rep and len(rest[0]) == 1 and rest[0] not in _NOT_A_REP and not rest[0].isdigit():
            rep, rest = REPETITIONS.get(rest[0], rest[0]), rest[1:]
        while rest and _NUMBER_RE.match(rest[0]) and not _POSTCODE_RE.match(rest[0]):
            rest = rest[1:]
    remaining: list[str] = []
    for word in rest:
        if not postcode and _POSTCODE_RE.match(word):
            postcode = word
        else:
            remaining.append(word)
    lead_words: list[str] = []
    for word in lead:
        if not postcode and _POSTCODE_RE.match(word):
            postcode = word
        else:
            lead_words.append(word)
    return ParsedAddress(number=number, rep=rep, postcode=postcode, words=tuple(remaining), lead=tuple(lead_words))
