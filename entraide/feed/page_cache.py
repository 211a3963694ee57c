"""First feed pages kept in each server process, checked against the versions of the neighbourhoods they show.

A feed page is the same for every reader of the same neighbourhoods until something it shows changes, and every
such change bumps its neighbourhood's `FeedClock.version` in the same transaction (database triggers: feed/clock.py).
The reader's scope and those versions come back in one query (`queries.feed_rows`; on PostgreSQL the API reads them
in the token's own query, `queries.scope_prefetch_request`); a page is kept under its scope
and filters together with the versions it was read at, and served only to a reader who reads the same versions, so
a change makes every older page unusable by construction: there is nothing to invalidate. The reader's own thanks
are not part of a page: a hit reads them for the page's posts (one index lookup), a miss gets them with the page.

Why a page read just after the versions may be kept with them: it can only be newer than they say (both are read
committed, the versions first), and a reader who gets it read those versions before the newer change committed.

Not used inside a transaction (an atomic block, or autocommit turned off): a page read there may hold the
transaction's own uncommitted writes, and the version numbers they bumped can come again once it rolls back.

A reader's own thanks can come in the same query as their scope: each process remembers the key of the page it
last served each reader (`served`, at most LAST_PAGES readers, least recent out), and asks for the reader's thanks
among the posts of the page kept under that key now (`last_page`). They are used only if the page the scope's
versions then select is that very page object; otherwise (another scope, a newer page) a second query reads them.

Only what many readers ask for is kept (queries.feed_rows: first pages of the default size, by category or not), so
no reader can fill the cache with pages nobody else reads; one page per scope and filters, the newest read. Memory
is bounded by `ENTRAIDE_FEED_PAGE_CACHE_MB` per process (0 turns the cache off), least recently used pages first out;
the readers' last keys come on top (LAST_PAGES).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable

from django.conf import settings
from django.db import connection

# Readers whose last page's key a process remembers: 7 MB for 50,000 when the keys are those of kept pages (the
# usual case: feed_rows hands over the kept key object), 29 MB at worst (keys of dropped pages, 8 nearby each).
# A reader is a member id, or through the API a token's 32-byte digest (about 3 MB more for 50,000): one member
# with a phone and a browser is two readers.
LAST_PAGES = 50_000

_pages: OrderedDict[Hashable, tuple[Hashable, Any, int]] = OrderedDict()  # key -> (versions, page, bytes)
_bytes = 0
_last: dict[Hashable, Hashable] = {}  # (member id or token digest, scope, category) -> key of the last page served
_lock = threading.Lock()


def _budget() -> int:
    return int(float(getattr(settings, "ENTRAIDE_FEED_PAGE_CACHE_MB", 64)) * 2**20)


def usable() -> bool:
    return _budget() > 0 and not connection.in_atomic_block and connection.get_autocommit()


def get(key: Hashable, versions: Hashable) -> Any | None:
    """The page kept under `key` if it was read at exactly these versions."""
    with _lock:
        entry = _pages.get(key)
        if entry is None or entry[0] != versions:
            return None
        _pages.move_to_end(key)
        return entry[1]


def last_page(reader: Hashable) -> tuple[Hashable, Any] | None:
    """(key, page) of the page this reader was last served or read, if it is still kept (at whatever versions)."""
    with _lock:
        key = _last.get(reader)
        entry = _pages.get(key) if key is not None else None
        return (key, entry[1]) if entry is not None else None


def served(reader: Hashable, key: Hashable) -> None:
    """Remember that this reader was served the page under `key`."""
    with _lock:
        _last.pop(reader, None)  # re-inserted last: a plain dict keeps insertion order, at half an OrderedDict's size
        _last[reader] = key
        if len(_last) > LAST_PAGES:
            del _last[next(iter(_last))]


def put(key: Hashable, versions: Hashable, page: Any, size: int) -> None:
    """Keep `page` (about `size` bytes) as read at `versions`, in place of any older page under `key`."""
    global _bytes
    budget = _budget()
    with _lock:
        old = _pages.pop(key, None)
        if old is not None:
            _bytes -= old[2]
        if size > budget:
            return
        _pages[key] = (versions, page, size)
        _bytes += size
        while _bytes > budget:
            _key, (_versions, _page, dropped) = _pages.popitem(last=False)
            _bytes -= dropped


def clear() -> None:
    global _bytes
    with _lock:
        _pages.clear()
        _last.clear()
        _bytes = 0
