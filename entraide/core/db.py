"""Database helpers shared by the apps."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def unhurried_commit() -> Iterator[None]:
    """Commit the writes inside without waiting for PostgreSQL to flush them to disk (`synchronous_commit` off).

    Only for bookkeeping that nobody loses anything by missing after a crash: a search log row, when a token was
    last used. A crash can drop the last fraction of a second of such writes, never corrupt or half-apply them
    (PostgreSQL's asynchronous commit). Waiting for the flush is what a busy disk makes slow: one INSERT took
    3.5 to 5 ms here while another process was loading a database, 0.15 ms on the idle machine (0.07 ms without
    the wait; pgbench, one connection), and a sync worker can do nothing else meanwhile. Inside a transaction
    already open it does nothing:
    that transaction's own writes keep their durable commit. SQLite in WAL mode with `synchronous=NORMAL`
    (settings) does not flush at commit anyway.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield
