"""A real ASGI server for browser journeys that need WebSockets: uvicorn, in a thread of the test process.

pytest-django's live server speaks WSGI only. This one serves entraide.asgi (pages, static files through WhiteNoise,
and /ws/v1/events) the way `entraide serve` does in embedded mode: one process, the in-memory channel layer.

It shares the test database the way Django's LiveServerTestCase does: SQLite's test database lives in memory, and
separate connections to it (one per request thread under ASGI) lock each other's tables with no busy timeout, so
every thread uses the test's own connection, and HTTP requests are served one at a time so that two requests never
interleave their transactions on it. Tests use `transactional_db`, so what they create is committed.

The server is started once per test session and left to die with it.
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import SimpleNamespace

import pytest

from .conftest import ForeignRequests

_server: dict[str, object] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start() -> None:
    import uvicorn

    from entraide.asgi import application as entraide_application

    one_at_a_time = asyncio.Lock()

    async def application(scope, receive, send):
        if scope["type"] != "http":
            return await entraide_application(scope, receive, send)
        async with one_at_a_time:
            return await entraide_application(scope, receive, send)

    port = _free_port()
    # The fixture below sets fanout.server_loop for each test itself, so no lifespan.
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, ws="websockets-sansio",
                                           lifespan="off", log_config=None, access_log=False))
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_until_complete, args=(server.serve(),), name="uvicorn", daemon=True).start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if server.started:
            _server.update(url=f"http://127.0.0.1:{port}", loop=loop)
            return
        time.sleep(0.05)
    raise RuntimeError("uvicorn did not start listening")


@pytest.fixture
def asgi_site(transactional_db):
    """Base URL of the ASGI server. While a test runs, writes made by the test itself (not by the server) also
    reach the server's open WebSockets, as background jobs do in embedded mode (entraide.live.fanout)."""
    from entraide.live import fanout

    from django.db import connections

    if "url" not in _server:
        _start()
    connection, threads_connections = connections["default"], connections._connections
    shared = connection.vendor == "sqlite" and connection.is_in_memory_db()
    if shared:
        connection.inc_thread_sharing()
        connections._connections = SimpleNamespace(default=connection)  # the same for every thread
    fanout.server_loop = _server["loop"]
    try:
        yield _server["url"]
    finally:
        fanout.server_loop = None
        if shared:
            connections._connections = threads_connections
            connection.dec_thread_sharing()


class SameSiteWebSockets(ForeignRequests):
    """The conftest's rule, with ws:// (wss://) to the server's own host and port counted as the site itself."""

    def is_foreign(self, url: str) -> bool:
        if url.startswith("ws://") or url.startswith("wss://"):
            url = "http" + url[2:]
        return super().is_foreign(url)
