"""A gentle reminder before publishing words that hurt: a small local lexicon, no remote service.

The check never blocks for good: the member can reword, or confirm and publish anyway. Only the counts of
each outcome are kept (KindnessPrompt), never the text nor who wrote it.
"""
from __future__ import annotations

from entraide.places.textnorm import fold

# Folded (lower case, no accents) single words. Kept short and unambiguous on purpose: a false positive costs a
# neighbour a needless reminder, so words with an innocent everyday meaning are left out.
WORDS: frozenset[str] = frozenset({
    # French
    "con", "conne", "connard", "connards", "connasse", "connasses", "conard", "conasse", "abruti", "abrutie",
    "abrutis", "cretin", "cretine", "cretins", "debile", "debiles", "idiot", "idiote", "idiots", "imbecile",
    "imbeciles", "salaud", "salauds", "salopard", "salopards", "salope", "salopes", "enfoire", "enfoiree",
    "enfoires", "encule", "enculee", "encules", "enculer", "batard", "batarde", "batards", "pute", "putes",
    "putain", "merdeux", "merdeuse", "pourriture", "ordure", "ordures", "racaille", "racailles", "degenere",
    "degeneree", "gogol", "pd", "pede", "pedes", "tapette", "gouine",
    "bougnoule", "bougnoules", "negro", "negre", "negres", "youpin", "youpins", "bicot", "bicots", "chintok",
    "niakoue", "fdp", "ntm", "tg", "ta gueule", "ferme ta gueule", "fils de pute", "nique ta mere",
    "va te faire foutre", "casse toi", "cassetoi", "grosse vache", "sale pute", "sale con",
    # English
    "idiot", "idiots", "moron", "morons", "dumbass", "jackass", "asshole", "assholes", "arsehole",
    "bastard", "bastards", "bitch", "bitches", "cunt", "cunts", "dickhead", "dickheads", "fuck", "fucking",
    "fucker", "fuckers", "motherfucker", "scum", "scumbag", "shithead", "slut", "sluts", "whore", "whores",
    "retard", "retarded", "twat", "wanker", "wankers", "prick", "douchebag", "faggot", "fag", "nigger",
    "nigga", "spastic", "tranny", "go to hell", "piece of shit", "son of a bitch", "kill yourself",
})
_SINGLE = frozenset(w for w in WORDS if " " not in w)
_PHRASES = tuple(sorted((tuple(w.split()) for w in WORDS if " " in w), key=len, reverse=True))


def flagged_words(*texts: str) -> list[str]:
    """The lexicon entries found in the texts (folded form, first occurrence order, no duplicates)."""
    found: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        words = fold(text).split()
        for i, word in enumerate(words):
            for phrase in _PHRASES:
                if tuple(words[i:i + len(phrase)]) == phrase:
                    found.setdefault(" ".join(phrase), None)
            if word in _SINGLE:
                found.setdefault(word, None)
    return list(found)
