"""Where pages connect, what they carry for live updates, and the server's privacy-safe access log."""
from __future__ import annotations


import pytest
from django.test import AsyncRequestFactory, RequestFactory

from entraide.live.context_processors import live


@pytest.mark.django_db
def test_pages_served_over_asgi_connect_to_their_own_host_and_port(settings, monkeypatch, django_assert_num_queries):
    settings.ENTRAIDE_WS_URL = ""
    monkeypatch.delenv("ENTRAIDE_WS_PORT", raising=False)
    with django_assert_num_queries(0):
        assert live(AsyncRequestFactory().get("/feed/")) == {"live_ws_url": "/ws/v1/events"}


def test_a_wsgi_server_with_nothing_serving_websockets_leaves_the_script_out(settings, monkeypatch):
    settings.ENTRAIDE_WS_URL = ""
    monkeypatch.delenv("ENTRAIDE_WS_PORT", raising=False)
    assert live(RequestFactory().get("/feed/")) == {"live_ws_url": ""}


def test_pages_connect_to_the_websocket_port_serve_exports(settings, monkeypatch):
    settings.ENTRAIDE_WS_URL = ""
    monkeypatch.setenv("ENTRAIDE_WS_PORT", "8001")
    assert live(RequestFactory().get("/"))["live_ws_url"] == ":8001/ws/v1/events"


def test_an_explicit_websocket_url_wins(settings, monkeypatch):
    monkeypatch.setenv("ENTRAIDE_WS_PORT", "8001")
    settings.ENTRAIDE_WS_URL = "wss://live.example.org/ws/v1/events"
    assert live(RequestFactory().get("/"))["live_ws_url"] == "wss://live.example.org/ws/v1/events"


@pytest.mark.django_db
def test_the_feed_page_loads_the_live_script_and_has_a_polite_new_posts_region(client, neighbourhood, monkeypatch):
    from entraide.accounts.factories import MemberFactory

    monkeypatch.setenv("ENTRAIDE_WS_PORT", "8001")  # as `entraide serve` tells gunicorn in REDIS_URL mode
    member = MemberFactory(neighbourhood=neighbourhood, verified=True)
    client.force_login(member.user)
    html = client.get("/feed/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'entraide/live.js" data-ws-url=":8001/ws/v1/events"' in html
    assert 'id="live-new-posts"' in html and 'aria-live="polite"' in html


@pytest.mark.django_db
def test_the_post_page_refreshes_its_thread_on_live_comments_and_thanks_of_that_post_only(client, neighbourhood):
    from entraide.accounts.factories import MemberFactory
    from entraide.feed.factories import PostFactory

    member = MemberFactory(neighbourhood=neighbourhood, verified=True)
    post = PostFactory(author=member)
    client.force_login(member.user)
    html = client.get(f"/feed/posts/{post.id}/").content.decode()
    assert f"live-comment-created[detail.post_id=={post.id}] from:body" in html
    assert f"live-thanks-added[detail.post_id=={post.id}] from:body" in html
    for target in ("comment-thread", "comments-title", f"post-{post.id}-comment-count", f"post-{post.id}-thanks-count"):
        assert f'id="{target}"' in html  # every hx-select-oob target is on the page


def test_the_access_log_never_writes_query_strings(capsys):
    """A real uvicorn, logging as `entraide serve` sets it up, asked for a path with a secret in its query."""
    import asyncio
    import logging
    import threading
    import time
    import urllib.request

    import uvicorn

    from entraide.asgi import application
    from entraide.core.management.commands import serve

    serve._logging(access_log=True)
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=0, lifespan="off", log_config=None,
                                           access_log=True))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(server.serve(),), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json?token=s3cret&q=Rivoli") as answer:
            assert answer.status == 200
    finally:
        server.should_exit = True
        thread.join(10)
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).handlers[:] = []
    text = capsys.readouterr().out
    assert '"GET /api/v1/openapi.json HTTP/1.1" 200' in text
    assert "s3cret" not in text and "Rivoli" not in text


def test_without_an_access_log_uvicorns_records_still_lose_their_query_string_on_the_way_to_root(caplog):
    import logging

    from entraide.core.management.commands import serve

    serve._logging(access_log=False)  # `--websockets-only` behind a proxy that logs for itself, say
    try:
        with caplog.at_level(logging.WARNING):
            logging.getLogger("uvicorn.error").warning('%s - "WebSocket %s" 403', "127.0.0.1:5000",
                                                       "/ws/v1/events?token=s3cret")
    finally:
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).handlers[:] = []
    assert '"WebSocket /ws/v1/events" 403' in caplog.text
    assert "s3cret" not in caplog.text


SUPERVISED = """
import sys
from entraide.core.management.commands.serve import supervise
# One write per line: with PYTHONUNBUFFERED, print() writes the number and the newline apart, and the two
# sleepers' lines could interleave.
sleeper = [sys.executable, "-c", "import os, time; os.write(1, b'%d\\\\n' % os.getpid()); time.sleep(120)"]
sys.exit(supervise([sleeper, sleeper], grace_seconds=10))
"""


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that died but was not reaped yet would still answer: read its state.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_sigterm_to_serve_in_redis_mode_stops_every_process_it_started():
    # systemd or a container runtime signals the main process only; the WebSocket server and the job consumer
    # must not be left running.
    import signal
    import subprocess
    import sys

    parent = subprocess.Popen([sys.executable, "-c", SUPERVISED], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)  # its own group: only the signal sent below reaches it
    try:
        lines = [parent.stdout.readline() for _ in range(2)]
        assert all(line.strip().isdigit() for line in lines), lines
        pids = [int(line) for line in lines]
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=20) == 0
        assert not any(_alive(pid) for pid in pids)
    finally:
        if parent.poll() is None:
            parent.kill()


def test_when_one_supervised_process_ends_the_others_are_stopped_and_its_code_returned():
    import sys

    from entraide.core.management.commands.serve import supervise

    code = supervise([[sys.executable, "-c", "import sys; sys.exit(3)"],
                      [sys.executable, "-c", "import time; time.sleep(120)"]], grace_seconds=10)
    assert code == 3
