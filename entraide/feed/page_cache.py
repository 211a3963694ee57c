"""Feed pages kept in each server process, keyed on the versions of the neighbourhoods they were read from.

A feed page is the same for every reader of the same neighbourhoods until something it shows changes, and every
such change bumps its neighbourhood's `FeedClock.version` in the same transaction (database triggers: feed/clock.py).
The reader's scope and those versions come back in one query (`queries.feed_rows`); a page read from the database
is stored under them, so a change is a new key by construction and there is nothing to invalidate. The reader's
own thanks are not part of a page: a hit reads them for the page's posts (one index lookup), a miss gets them with
the page.

Why a page read just after the versions may be stored under them: it can only be newer than they say (both are read
committed, the versions first), and a reader who gets it read those versions before the newer change committed.

Not used inside a transaction (`connection.in_atomic_block`): a page read there may hold the transaction's own
uncommitted writes, and the version numbers they bumped can come again once it rolls back.

The size is `ENTRAIDE_FEED_PAGE_CACHE` pages per process (0 turns the cache off); least recently used go first.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable

from django.conf import settings
from django.db import connection

_pages: OrderedDict[Hashable, Any] = OrderedDict()
_lock = threading.Lock()


def _size() -> int:
    return int(getattr(settings, "ENTRAIDE_FEED_PAGE_CACHE", 2000))


def usable() -> bool:
    return _size() > 0 and not connection.in_atomic_block


def get(key: Hashable) -> Any | None:
    with _lock:
        page = _pages.get(key)
        if page is not None:
            _pages.move_to_end(key)
        return page


def put(key: Hashable, page: Any) -> None:
    size = _size()
    with _lock:
        _pages[key] = page
        _pages.move_to_end(key)
        while len(_pages) > size:
            _pages.popitem(last=False)


def clear() -> None:
    with _lock:
        _pages.clear()
