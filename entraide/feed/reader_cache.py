"""The feed's readers in each process's memory, so that a first page already in the page cache costs no query at all.

PostgreSQL only. `GET /api/v1/feed` with a bearer token is the busiest request, and its one query (the token, the
reader's scope with its feed clocks, their thanks: feed/api.py) is a round trip to another process on the same cores.
Each process keeps what that query answered:

- per token (by its SHA-256): its row (token, user, member: accounts.queries.token_row), the member's readable
  neighbourhoods, home first, and which of the posts they were served they thanked;
- per neighbourhood: its feed clock (feed/clock.py).

and uses it only while `core.changes.listener` is in step. The triggers below announce, when a transaction commits,
every change to a row any of it was read from; each request first applies what has arrived (`active`):

| table | when | payload | forgets |
|---|---|---|---|
| accounts_apitoken | delete; key or user changed | `u:<user>` | the user's tokens |
| auth_user | update, delete | `u:<user>` | the user's tokens |
| accounts_member | insert, update, delete | `u:<user>` | the user's tokens |
| accounts_member_reads_nearby, feed_thanks | insert, update, delete | `m:<member>` | the member's tokens |
| places_neighbourhood_nearby | any change (per statement) | `*` | everything |
| any of these | truncate | `*` | everything |
| feed_feedclock | insert, update | `n:<neighbourhood>:<version>` | nothing: sets the clock |
| feed_feedclock | delete (a clock that starts again lower) | `*` | everything |

What it costs in freshness: a change is heard when its notification arrives, normally within a millisecond of its
commit; a request in between answers as of just before the commit, as one that read the database just before it
would have. Not used inside a transaction (its own writes are not announced before it commits), nor when
ENTRAIDE_READER_CACHE is off; and everything is forgotten whenever the listener is not in step.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

from entraide.accounts.queries import mark_token_used, member_of, token_row, token_row_ids, user_from_token_row
from entraide.core.changes import drop_trigger_sql, listener, notify_trigger_sql

from . import queries

MAX_READERS = 100_000  # then everything is forgotten at once: a few hundred bytes each

_TRIGGERS = [  # (name, table, events, payloads, per statement)
    ("token", "accounts_apitoken", "DELETE OR UPDATE OF key_hash, user_id",
     ["'u:' || OLD.user_id", "'u:' || NEW.user_id"], False),
    ("user", "auth_user", "UPDATE OR DELETE", ["'u:' || OLD.id"], False),
    ("member", "accounts_member", "INSERT OR UPDATE OR DELETE", ["'u:' || OLD.user_id", "'u:' || NEW.user_id"],
     False),
    ("reads_nearby", "accounts_member_reads_nearby", "INSERT OR UPDATE OR DELETE",
     ["'m:' || OLD.member_id", "'m:' || NEW.member_id"], False),
    ("thanks", "feed_thanks", "INSERT OR UPDATE OR DELETE", ["'m:' || OLD.member_id", "'m:' || NEW.member_id"],
     False),
    ("adjacency", "places_neighbourhood_nearby", "INSERT OR UPDATE OR DELETE", ["'*'"], True),
    ("clock", "feed_feedclock", "INSERT OR UPDATE OR DELETE",
     ["'n:' || NEW.neighbourhood_id || ':' || NEW.version", "CASE WHEN TG_OP = 'DELETE' THEN '*' END"], False),
]
_TRUNCATED = ["accounts_apitoken", "auth_user", "accounts_member", "accounts_member_reads_nearby", "feed_thanks",
              "places_neighbourhood_nearby", "feed_feedclock"]
_ALL = _TRIGGERS + [(f"truncate_{table}", table, "TRUNCATE", ["'*'"], True) for table in _TRUNCATED]


def trigger_statements() -> list[str]:
    return [sql for name, table, events, payloads, per_statement in _ALL
            for sql in notify_trigger_sql(name, table, events, payloads, per_statement=per_statement)]


def drop_statements() -> list[str]:
    return [sql for name, table, *_rest in _ALL for sql in drop_trigger_sql(name, table)]


@dataclass
class _Reader:
    values: list  # accounts.queries.token_row's (its last use is updated in place)
    user_id: int
    member_id: int
    scope: tuple[int, ...]  # readable neighbourhoods, home first
    checked: frozenset[int]  # posts whose thanks by the member are known
    thanked: frozenset[int]


_lock = threading.RLock()
_readers: dict[str, _Reader] = {}
_by_user: dict[int, set[str]] = {}
_by_member: dict[int, set[str]] = {}
_clocks: dict[int, int] = {}
_forgotten = 0  # how many times something was forgotten: what a query read before then may be stale


def _forget(digests) -> None:
    for digest in list(digests):
        reader = _readers.pop(digest, None)
        if reader is not None:
            for index, key in ((_by_user, reader.user_id), (_by_member, reader.member_id)):
                kept = index.get(key)
                if kept is not None:
                    kept.discard(digest)
                    if not kept:
                        del index[key]


def _forget_all() -> None:
    global _forgotten
    with _lock:
        _readers.clear(), _by_user.clear(), _by_member.clear(), _clocks.clear()
        _forgotten += 1


def _on_payloads(payloads: list[str]) -> None:
    global _forgotten
    with _lock:
        for payload in payloads:
            kind, _, rest = payload.partition(":")
            try:
                if kind == "n":
                    neighbourhood, _, version = rest.partition(":")
                    n, v = int(neighbourhood), int(version)
                    _clocks[n] = max(_clocks.get(n, v), v)
                elif kind == "u":
                    _forget(_by_user.pop(int(rest), ()))
                    _forgotten += 1
                elif kind == "m":
                    _forget(_by_member.pop(int(rest), ()))
                    _forgotten += 1
                elif kind == "*":
                    _forget_all()
            except ValueError:  # not ours: ignored
                continue


def _after_fork() -> None:
    global _lock
    _lock = threading.RLock()  # another thread may have held it at the fork
    _forget_all()


listener.subscribe(_on_payloads, _forget_all)
listener.require_triggers([name for name, *_rest in _ALL])
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def active() -> int | None:
    """When what is kept may be used for this request: a mark for `feed_reader` to store under (None otherwise)."""
    if connection.vendor != "postgresql" or not settings.ENTRAIDE_READER_CACHE or connection.in_atomic_block:
        return None
    if not listener.in_step():
        return None
    return _forgotten


def _kept(digest: str, post_ids: list[int]) -> tuple[list, list[tuple[int, int]], set[int]] | None:
    with _lock:
        reader = _readers.get(digest)
        if reader is None or not reader.checked.issuperset(post_ids):
            return None
        readable = []
        for n in reader.scope:
            version = _clocks.get(n)
            if version is None:
                return None
            readable.append((n, version))
        return reader.values, readable, set(reader.thanked.intersection(post_ids))


def _keep(mark: int, digest: str, values: list, readable: list[tuple[int, int]], checked, thanked) -> None:
    user_id, member_id = token_row_ids(values)
    with _lock:
        if mark != _forgotten or member_id is None:  # something changed since the query read it
            return
        if len(_readers) >= MAX_READERS:
            _readers.clear(), _by_user.clear(), _by_member.clear()
        _readers[digest] = _Reader(values, user_id, member_id, tuple(n for n, _v in readable), frozenset(checked),
                                   frozenset(thanked))
        _by_user.setdefault(user_id, set()).add(digest)
        _by_member.setdefault(member_id, set()).add(digest)
        for n, v in readable:
            _clocks[n] = max(_clocks.get(n, v), v)


def _remember_thanks(mark: int, digest: str, post_ids: list[int], thanked: set[int]) -> None:
    with _lock:
        reader = _readers.get(digest)
        if reader is not None and mark == _forgotten:
            reader.checked, reader.thanked = frozenset(post_ids), frozenset(thanked)


def feed_reader(digest: str, wanted: tuple | None) -> tuple[Any, queries.ScopePrefetch | None]:
    """The user of the token whose SHA-256 is `digest` (None if no active user holds it) and, for a kept first
    page (`wanted`: queries.scope_prefetch_request's), the reader's ScopePrefetch: from memory when it is kept and
    in step, else from the token's query, then kept."""
    mark = active() if wanted is not None else None
    if mark is not None:
        reader, last, _extra = wanted
        post_ids = queries.post_ids_of(last)
        kept = _kept(digest, post_ids)
        if kept is not None:
            values, readable, thanked = kept
            mark_token_used(values)
            user = user_from_token_row(values)
            return user, queries.ScopePrefetch(member_of(user).id, reader, last, readable, thanked,
                                               lambda ids, t: _remember_thanks(mark, digest, ids, t))
    found = token_row(digest, wanted[2] if wanted else None)
    if found is None:
        return None, None
    values, text = found
    mark_token_used(values)
    user = user_from_token_row(values)
    if wanted is None:
        return user, None
    prefetch = queries.scope_prefetched(wanted[0], wanted[1], text, member_of(user))
    if mark is not None:
        _keep(mark, digest, values, prefetch.readable, queries.post_ids_of(wanted[1]), prefetch.thanked)
        prefetch = prefetch._replace(remember=lambda ids, t: _remember_thanks(mark, digest, ids, t))
    return user, prefetch
