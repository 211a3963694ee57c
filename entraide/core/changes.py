"""What PostgreSQL tells each process about rows it keeps in memory: LISTEN/NOTIFY on one channel.

A module that keeps rows in memory (feed/reader_cache.py) installs triggers that send a short payload on
CHANNEL whenever one of those rows changes, and subscribes here. Before each use of what it keeps, it calls
`listener.in_step()`, which reads what has arrived since (without waiting: libpq's socket is non-blocking) and hands
it to the subscribers. PostgreSQL sends a transaction's notifications when it commits, in commit order, and never
those of a transaction that rolls back.

Whenever this process is not listening (not connected yet, the connection lost, a fork), in_step() answers False and
subscribers are told to forget everything (`on_reset`): what changed meanwhile was not heard. Once a second the
connection is checked with a round trip, so a connection that died without a word is noticed within about a second.
"""
from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
import uuid
from typing import Callable

log = logging.getLogger("entraide.changes")

CHANNEL = "entraide_changes"
HEARTBEAT_S = 1.0
RETRY_S = 5.0


class Listener:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._conn = None
        self._pid: int | None = None
        self._pending: list[str] = []
        self._checked_at = 0.0
        self._retry_at = 0.0
        self._subscribers: list[tuple[Callable[[list[str]], None], Callable[[], None]]] = []
        self._orphans: list = []  # a parent's connections, inherited by fork: never used, never closed here
        self._socket: socket.socket | None = None  # a duplicate of the connection's, to look at it
        self._ended = False

    def subscribe(self, on_payloads: Callable[[list[str]], None], on_reset: Callable[[], None]) -> None:
        with self._lock:
            self._subscribers.append((on_payloads, on_reset))

    def in_step(self) -> bool:
        """Deliver what has arrived; True when every change committed until about now has been heard."""
        return self._step(barrier=False)

    def sync(self) -> bool:
        """Wait until every change committed before this call has been heard: a notification of our own, which
        PostgreSQL delivers after every notification committed before it. A round trip; for tests and tools."""
        return self._step(barrier=True)

    def _step(self, *, barrier: bool) -> bool:
        with self._lock:
            if self._pid != os.getpid() and self._conn is not None:
                self._orphans.append(self._conn)  # closing it would end the parent's session too
                self._conn = None
                self._reset()
            if self._conn is None and not self._connect():
                return False
            try:
                now = time.monotonic()
                if barrier:
                    self._conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, f"sync:{uuid.uuid4().hex}"])
                elif now - self._checked_at > HEARTBEAT_S:
                    self._conn.execute("SELECT 1")  # notifications received meanwhile reach _pending
                    self._checked_at = now
                self._drain()
            except Exception as exc:  # noqa: BLE001 (any failure: stop trusting what is kept)
                log.warning("lost the %s listener: %s", CHANNEL, type(exc).__name__)
                self._drop()
                return False
            self._deliver()
            return True

    def close(self) -> None:
        with self._lock:
            self._drop()

    # --- inside the lock ------------------------------------------------------------------------------------

    def _connect(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        import psycopg
        from django.db import connections

        params = connections["default"].get_connection_params()
        conninfo = {k: v for k, v in params.items() if k not in ("cursor_factory", "context", "prepare_threshold")}
        try:
            conn = psycopg.connect(**conninfo, autocommit=True, connect_timeout=2, tcp_user_timeout=2000,
                                   application_name="entraide listener")
            conn.add_notify_handler(lambda notify: self._pending.append(notify.payload))
            conn.add_notice_handler(self._on_notice)
            conn.execute(f"LISTEN {CHANNEL}")
            self._socket = socket.socket(fileno=os.dup(conn.pgconn.socket))  # ours to close
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot listen on %s: %s", CHANNEL, type(exc).__name__)
            self._retry_at = time.monotonic() + RETRY_S
            return False
        self._conn, self._pid, self._checked_at, self._ended = conn, os.getpid(), time.monotonic(), False
        self._reset()  # what was kept before this connection listened may have changed unheard
        return True

    def _drain(self) -> None:
        pgconn = self._conn.pgconn
        pgconn.consume_input()
        while (notify := pgconn.notifies()) is not None:
            self._pending.append(notify.extra.decode())
        # An idle libpq connection stays "OK" after the server ended it (a restart, pg_terminate_backend): the
        # server's last word, a FATAL notice, or the end of the stream, tells.
        if self._ended or (select.select([self._socket], [], [], 0)[0]
                           and self._socket.recv(1, socket.MSG_PEEK) == b""):
            raise ConnectionError("the server ended the listener's session")

    def _on_notice(self, diagnostic) -> None:
        if diagnostic.severity_nonlocalized in ("FATAL", "PANIC"):
            self._ended = True

    def _deliver(self) -> None:
        if not self._pending:
            return
        payloads, self._pending = self._pending, []
        for on_payloads, _on_reset in self._subscribers:
            on_payloads(payloads)

    def _reset(self) -> None:
        self._pending = []
        for _on_payloads, on_reset in self._subscribers:
            on_reset()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._reset()
        if conn is not None:
            for resource in (self._socket, conn):
                try:
                    resource.close()
                except Exception:  # noqa: BLE001
                    pass


listener = Listener()


def notify_trigger_sql(name: str, table: str, events: str, payloads: list[str], *, per_statement: bool = False
                       ) -> list[str]:
    """A trigger on `table` that sends each of `payloads` (SQL text expressions over NEW and OLD; NEW is NULL for
    a DELETE, OLD for an INSERT, and a NULL payload is not sent) on CHANNEL after `events`. PostgreSQL sends each
    distinct payload of a transaction once, at its commit. Idempotent (CREATE OR REPLACE, DROP and CREATE)."""
    function = f"entraide_changes_{name}"
    level = "STATEMENT" if per_statement else "ROW"
    body = "\n        ".join(f"IF ({p}) IS NOT NULL THEN PERFORM pg_notify('{CHANNEL}', {p}); END IF;"
                             for p in payloads)
    return [
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {body}
        RETURN NULL;
    END $$""",
        f"DROP TRIGGER IF EXISTS {function} ON {table}",
        f"CREATE TRIGGER {function} AFTER {events} ON {table} FOR EACH {level} EXECUTE FUNCTION {function}()",
    ]


def drop_trigger_sql(name: str, table: str) -> list[str]:
    function = f"entraide_changes_{name}"
    return [f"DROP TRIGGER IF EXISTS {function} ON {table}", f"DROP FUNCTION IF EXISTS {function}()"]
