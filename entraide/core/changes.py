"""What PostgreSQL tells each process about rows it keeps in memory: LISTEN/NOTIFY on one channel.

A module that keeps rows in memory (feed/reader_cache.py) installs triggers that send a short payload on CHANNEL
whenever one of those rows changes (`notify_trigger_sql`), and subscribes here. PostgreSQL sends a transaction's
notifications when it commits, in commit order, and never those of a transaction that rolls back.

Each process has one listening connection of its own, run by a daemon thread: it connects, checks that the triggers
stand (`require_triggers`), reads notifications as they arrive and hands them to the subscribers, and once a
second asks PostgreSQL whether that session still listens (a connection that died without a word, or a pooler
that sent the question to another session, shows there). Reading as they arrive matters: a listener whose socket is
never read would hold PostgreSQL's notification queue, and every write that notifies would fail once it is full.

Before each use of what it keeps, a request calls `listener.in_step()`: it reads what has arrived since the thread
last did (without waiting: libpq's socket is non-blocking) and answers False, so that the request reads the
database, whenever the thread is busy talking to PostgreSQL, not connected, or lost its connection. Subscribers
are told to forget everything (`on_reset`) whenever the process stops listening: what changed meanwhile was not
heard. A request never waits for PostgreSQL here.
"""
from __future__ import annotations

import logging
import os
import selectors
import socket
import threading
import time
import uuid
from typing import Callable

log = logging.getLogger("entraide.changes")

CHANNEL = "entraide_changes"
HEARTBEAT_S = 1.0
RETRY_S = 5.0
_PREFIX = "entraide_changes_"


class Listener:
    def __init__(self) -> None:
        self._subscribers: list[tuple[Callable[[list[str]], None], Callable[[], None]]] = []
        self._required: set[str] = set()
        self._start()

    def _start(self) -> None:
        self._lock = threading.Lock()
        self._conn = None
        self._socket: socket.socket | None = None  # a duplicate of the connection's, to wait on and to peek at
        self._pending: list[str] = []
        self._ended = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_w.setblocking(False)

    def subscribe(self, on_payloads: Callable[[list[str]], None], on_reset: Callable[[], None]) -> None:
        self._subscribers.append((on_payloads, on_reset))

    def require_triggers(self, names: list[str]) -> None:
        """Listen only while these triggers (notify_trigger_sql's names) stand: without them nothing is announced."""
        self._required.update(f"{_PREFIX}{name}" for name in names)

    def in_step(self) -> bool:
        """Deliver what has arrived; True when every change committed until about now has been heard."""
        self._ensure_thread()
        if not self._lock.acquire(blocking=False):
            return False  # the thread is talking to PostgreSQL: read the database this time
        try:
            return self._conn is not None and self._drain_and_deliver()
        finally:
            self._lock.release()

    def sync(self, timeout: float = 10.0) -> bool:
        """Wait until every change committed before this call has been heard: a notification of our own, which
        PostgreSQL delivers after every notification committed before it. Round trips; for tests and tools."""
        self._ensure_thread()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._conn is not None:
                    try:
                        self._conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, f"sync:{uuid.uuid4().hex}"])
                    except Exception as exc:  # noqa: BLE001
                        self._lost(exc)
                        return False
                    return self._drain_and_deliver()
            time.sleep(0.01)  # the thread is connecting
        return False

    def close(self) -> None:
        """Stop listening (and forget): the thread ends, the connection closes. The next in_step starts again."""
        thread = self._thread
        self._stop.set()
        if thread is not None and thread.is_alive():
            try:
                self._wake_w.send(b"x")  # out of its select
            except BlockingIOError:  # bytes already waiting there wake it as well
                pass
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        with self._lock:
            self._drop()
        self._thread = None
        self._stop = threading.Event()

    def after_fork(self) -> None:
        # The parent's thread does not exist here and its connection is not ours: psycopg does not close a
        # connection in another process than its own, so dropping the references ends nothing of the parent's.
        # Subscribers forget in their own fork handlers (their locks may have been held at the fork).
        self._start()

    # --- the thread -------------------------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="entraide-changes", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        stop = self._stop
        checked_at = 0.0
        while not stop.is_set():
            try:
                if self._conn is None:
                    with self._lock:
                        connected = self._connect()
                    if not connected:
                        stop.wait(RETRY_S)
                        continue
                    checked_at = time.monotonic()
                self._wait(HEARTBEAT_S)
                with self._lock:
                    if stop.is_set() or self._conn is None:
                        continue
                    if time.monotonic() - checked_at >= HEARTBEAT_S:
                        self._heartbeat()
                        checked_at = time.monotonic()
                    if self._conn is not None:
                        self._drain_and_deliver()
            except Exception as exc:  # noqa: BLE001 (a request may have dropped the connection meanwhile)
                with self._lock:
                    if self._conn is not None:
                        self._lost(exc)

    def _wait(self, timeout: float) -> None:
        """Until the connection has something to read, close() wakes the thread, or `timeout`."""
        sock = self._socket
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_r, selectors.EVENT_READ)
            if sock is not None:
                selector.register(sock, selectors.EVENT_READ)
            for key, _events in selector.select(timeout=timeout):
                if key.fileobj is self._wake_r:
                    self._wake_r.recv(64)

    # --- inside the lock ------------------------------------------------------------------------------------

    def _connect(self) -> bool:
        conn = None
        try:
            import psycopg
            from django.db import connections

            params = connections["default"].get_connection_params()
            conninfo = {k: v for k, v in params.items()
                        if k not in ("cursor_factory", "context", "prepare_threshold")}
            conn = psycopg.connect(**conninfo, autocommit=True, connect_timeout=2, tcp_user_timeout=2000,
                                   application_name="entraide listener")
            conn.add_notify_handler(lambda notify: self._pending.append(notify.payload))
            conn.add_notice_handler(self._on_notice)
            if self._required:
                standing = {row[0] for row in conn.execute(
                    "SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s)", [sorted(self._required)])}
                if standing != self._required:  # `migrate` has not installed them: nothing would be announced
                    raise LookupError(f"missing triggers: {sorted(self._required - standing)}")
            conn.execute(f"LISTEN {CHANNEL}")
            self._socket = socket.socket(fileno=os.dup(conn.pgconn.socket))
            self._socket.setblocking(False)  # the same open file as libpq's, which is non-blocking already
        except Exception as exc:  # noqa: BLE001 (not listening: every request reads the database)
            log.warning("cannot listen on %s: %s %s", CHANNEL, type(exc).__name__, exc)
            if conn is not None:
                conn.close()
            return False
        self._conn, self._ended, self._pending = conn, False, []
        self._reset()  # what was kept before this connection listened may have changed unheard
        return True

    def _heartbeat(self) -> None:
        try:  # the question goes where the notifications come from: a pooler could send it to another session
            row = self._conn.execute("SELECT %s = ANY(ARRAY(SELECT pg_listening_channels()))", [CHANNEL]).fetchone()
            if not row[0]:
                raise LookupError("this session does not listen")
        except Exception as exc:  # noqa: BLE001
            self._lost(exc)

    def _drain_and_deliver(self) -> bool:
        try:
            pgconn = self._conn.pgconn
            pgconn.consume_input()
            while (notify := pgconn.notifies()) is not None:
                self._pending.append(notify.extra.decode())
            # An idle libpq connection stays "OK" after the server ended it (a restart, pg_terminate_backend): the
            # server's last word, a FATAL notice, or the end of the stream, tells.
            if self._ended or self._at_end_of_stream():
                raise ConnectionError("the server ended the listener's session")
            if self._pending:
                payloads, self._pending = self._pending, []
                for on_payloads, _on_reset in self._subscribers:
                    on_payloads(payloads)
        except Exception as exc:  # noqa: BLE001 (any failure: stop trusting what is kept)
            self._lost(exc)
            return False
        return True

    def _at_end_of_stream(self) -> bool:
        try:
            return self._socket.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False

    def _on_notice(self, diagnostic) -> None:
        if diagnostic.severity_nonlocalized in ("FATAL", "PANIC"):
            self._ended = True

    def _lost(self, exc: Exception) -> None:
        log.warning("lost the %s listener: %s", CHANNEL, type(exc).__name__)
        self._drop()

    def _reset(self) -> None:
        for _on_payloads, on_reset in self._subscribers:
            on_reset()

    def _drop(self) -> None:
        conn, sock, self._conn, self._socket = self._conn, self._socket, None, None
        self._pending = []
        self._reset()
        for resource in (sock, conn):
            if resource is not None:
                try:
                    resource.close()
                except Exception:  # noqa: BLE001
                    pass


listener = Listener()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=listener.after_fork)


def notify_trigger_sql(name: str, table: str, events: str, payloads: list[str], *, per_statement: bool = False
                       ) -> list[str]:
    """A trigger on `table` that sends each of `payloads` (SQL text expressions over NEW, OLD and TG_OP; NEW is
    NULL for a DELETE, OLD for an INSERT, and a NULL payload is not sent) on CHANNEL after `events`. PostgreSQL
    sends each distinct payload of a transaction once, at its commit. Idempotent (CREATE OR REPLACE, DROP and
    CREATE)."""
    function = f"{_PREFIX}{name}"
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
    function = f"{_PREFIX}{name}"
    return [f"DROP TRIGGER IF EXISTS {function} ON {table}", f"DROP FUNCTION IF EXISTS {function}()"]
