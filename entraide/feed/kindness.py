"""A gentle reminder before publishing words that hurt: a small local lexicon, no remote service.

The check never blocks for good: the member can reword, or confirm and publish anyway. Only the counts of
each outcome are kept (KindnessPrompt), never the text nor who wrote it.

An outcome ("reworded", "published anyway") is counted only as the answer to a reminder actually shown: showing
one leaves a short-lived pending mark in the cache (member id and kind, nothing else, gone after
`PENDING_SECONDS`), and the write that answers it takes the mark. A client that always sends
`confirm_kindness=true` never sees a reminder, so it inflates nothing.
"""
from __future__ import annotations

from django.core.cache import cache

from entraide.places.textnorm import fold

PENDING_SECONDS = 30 * 60  # time to reword or confirm after a reminder

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


def _pending_key(member_id: int, kind: str) -> str:
    return f"kindness:pending:{member_id}:{kind}"


def mark_shown(member_id: int, kind: str) -> None:
    """Remember, for a short while, that this member was just shown the reminder for a post or a comment."""
    cache.set(_pending_key(member_id, kind), 1, timeout=PENDING_SECONDS)


def take_pending(member_id: int, kind: str) -> bool:
    """True once per reminder shown and not yet expired: the mark is removed as it is read.

    `get` first because some backends (the local-memory one) let `delete` report an expired key as deleted;
    then `delete`, whose answer is true for one caller only, so two concurrent writes cannot both take it.
    """
    key = _pending_key(member_id, kind)
    return cache.get(key) is not None and bool(cache.delete(key))
