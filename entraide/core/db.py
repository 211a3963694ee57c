"""Database helpers shared by the apps."""
from __future__ import annotations

from django.db import connection


def unhurried(sql: str) -> str:
    """`sql`, one INSERT … SELECT or UPDATE statement that reads `unhurried` (a FROM item, or `EXISTS (SELECT 1
    FROM unhurried)`: UPDATE … FROM needs SQLite 3.33), made to commit without waiting for PostgreSQL to flush it
    to disk (`synchronous_commit` off for its own transaction). A statement that does not read it stays durable.

    Only for bookkeeping that nobody loses anything by missing after a crash: a search log row, when a token was
    last used. A crash can drop the last fraction of a second of such writes, never corrupt or half-apply them
    (PostgreSQL's asynchronous commit). Waiting for the flush is what a busy disk makes slow: one INSERT took
    3.5 to 5 ms here while another process was loading a database, 0.15 ms on the idle machine (0.07 ms without
    the wait; pgbench, one connection), and a sync worker can do nothing else meanwhile. One statement, so no
    BEGIN and COMMIT round trips. Inside an open transaction (or with autocommit off) it changes nothing: that
    transaction's other writes keep their durable commit. SQLite in WAL mode with `synchronous=NORMAL` (settings)
    does not flush at commit anyway; there `unhurried` is a row of nothing.
    """
    lazy = (connection.vendor == "postgresql" and connection.get_autocommit() and not connection.in_atomic_block)
    # set_config(..., true): for the statement's own transaction only; the session's setting is untouched.
    value = "set_config('synchronous_commit', 'off', true)" if lazy else "1"
    return f"WITH unhurried AS (SELECT {value} AS lazy) {sql}"
