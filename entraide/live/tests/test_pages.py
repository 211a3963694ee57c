"""Where pages connect, what they carry for live updates, and the server's privacy-safe access log."""
from __future__ import annotations

import io

import pytest
from django.test import AsyncRequestFactory, RequestFactory

from entraide.core.management.commands.serve import PathOnlyAccessLog
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


def test_the_access_log_never_writes_query_strings():
    stream = io.StringIO()
    log = PathOnlyAccessLog(stream)
    log("websocket", "connected", {"path": "/ws/v1/events?token=s3cret", "client": "127.0.0.1:5555"})
    log("http", "complete", {"path": "/search/?q=12+rue+de+Rivoli", "client": "127.0.0.1:5556", "method": "GET",
                             "status": 200, "size": 10, "time_taken": 0.002})
    text = stream.getvalue()
    assert "s3cret" not in text and "Rivoli" not in text
    assert '127.0.0.1 "WSCONNECTED /ws/v1/events"' in text and '"GET /search/" 200' in text
