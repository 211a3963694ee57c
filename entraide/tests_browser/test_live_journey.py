"""Live updates in real browsers (issue 5): two neighbours of adjacent quartiers, each with their page open, see
the other's post, comment and message appear without reloading, over /ws/v1/events served by uvicorn."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from entraide.accounts.factories import MemberFactory
from entraide.places.models import Neighbourhood

from .helpers import PASSWORD, compose, log_in
from .live_server import SameSiteWebSockets, asgi_site  # noqa: F401 - a fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def site(asgi_site):  # noqa: F811 - this module's pages are served by uvicorn, not by pytest-django's WSGI server
    return asgi_site


@pytest.fixture
def foreign_requests(site):
    return SameSiteWebSockets(site)


def live(page):
    """Wait until the page's WebSocket is open (live.js marks <html data-live="open">)."""
    expect(page.locator("html[data-live=open]")).to_have_count(1)


def test_neighbours_see_each_others_posts_comments_and_messages_appear_without_reloading(new_context, paris):
    saint_gervais = Neighbourhood.objects.get(city=paris, name="Saint-Gervais")
    saint_merri = Neighbourhood.objects.get(city=paris, name="Saint-Merri")
    alice_member = MemberFactory(neighbourhood=saint_gervais, verified=True, language="en",
                                 display_name="Alice Martin", user__email="alice@example.org",
                                 user__password=PASSWORD)
    nadia_member = MemberFactory(neighbourhood=saint_merri, verified=True, language="en",
                                 display_name="Nadia Benali", user__email="nadia@example.org",
                                 user__password=PASSWORD)
    nadia_member.reads_nearby.add(saint_gervais)  # she reads Saint-Gervais's posts shared with nearby readers

    alice = new_context().new_page()
    log_in(alice, "alice@example.org")
    nadia = new_context().new_page()
    log_in(nadia, "nadia@example.org")

    # Nadia keeps her feed open; Alice posts for her quartier and the nearby ones.
    nadia.goto("/feed/")
    live(nadia)
    nadia.evaluate("window.__samePage = true")
    notice = nadia.locator("#live-new-posts")
    expect(notice).to_be_empty()
    compose(alice, title="Vide-grenier", body="Vide-grenier rue des Archives dimanche, venez nombreux !")
    expect(notice).to_contain_text("1 new post")
    assert nadia.evaluate("window.__samePage") is True  # it came without a reload
    with nadia.expect_navigation():
        notice.get_by_role("link", name="show them").click()
    expect(nadia.locator("#feed-list")).to_contain_text("Vide-grenier rue des Archives")

    # Nadia opens the post; Alice comments on it from her own page: Nadia's thread and counts follow.
    nadia.get_by_role("link", name="Vide-grenier").click()
    live(nadia)
    nadia.evaluate("window.__samePage = true")
    nadia.locator("#id_comment_body").fill("J'apporte des livres")  # her draft must survive the refresh
    alice.goto(nadia.url)
    alice.locator("#id_comment_body").fill("Il y aura aussi des crêpes.")
    alice.get_by_role("button", name="Comment", exact=True).click()
    expect(alice.locator("#comment-list")).to_contain_text("Il y aura aussi des crêpes.")
    expect(nadia.locator("#comment-list")).to_contain_text("Il y aura aussi des crêpes.")
    expect(nadia.locator("#comments-title")).to_contain_text("(1)")
    expect(nadia.locator("article.post .actions a[href$='#comments']")).to_have_text("1 comment")
    expect(nadia.locator("#id_comment_body")).to_have_value("J'apporte des livres")
    assert nadia.evaluate("window.__samePage") is True

    # They talk privately: Nadia's open conversation shows Alice's message as it is sent.
    from entraide.messaging.actions import do_start_direct

    conversation, _ = do_start_direct(nadia_member, alice_member.id)  # she reads Alice's quartier
    nadia.goto(f"/messages/{conversation.id}/")
    live(nadia)
    nadia.evaluate("window.__samePage = true")
    alice.goto(f"/messages/{conversation.id}/")
    alice.locator("#message-form textarea[name=body]").fill("Je garde un carton de livres pour toi.")
    alice.locator("#message-form button[type=submit]").click()
    expect(nadia.locator("#thread-messages")).to_contain_text("Je garde un carton de livres pour toi.")
    assert nadia.evaluate("window.__samePage") is True


# --- live.js on its own: a fake WebSocket and a fake clock, no server -------------------------------------------

FAKES = """
window.__sockets = []; window.__timers = []; window.__now = 0;
Date.now = function () { return window.__now; };
window.setTimeout = function (fn, ms) { window.__timers.push({fn: fn, ms: ms}); return window.__timers.length; };
function FakeSocket(url) { this.url = url; this.readyState = 0; this.sent = []; window.__sockets.push(this); }
FakeSocket.OPEN = 1;
FakeSocket.prototype.send = function (data) { this.sent.push(data); };
FakeSocket.prototype.close = function () {};
window.WebSocket = FakeSocket;
function last() { return window.__sockets[window.__sockets.length - 1]; }
window.__open = function () { var s = last(); s.readyState = 1; s.onopen(); };
window.__close = function (code) { var s = last(); s.readyState = 3; s.onclose({code: code}); };
window.__retry = function () { var t = window.__timers.shift(); t.fn(); return t.ms; };
window.__frame = function (text) { last().onmessage({data: text}); };
"""


def live_js_page(page, body: str = ""):
    """A bare page (no htmx, no feed notice unless `body` has one) running the real live.js."""
    from pathlib import Path

    import entraide

    source = (Path(entraide.__file__).parent / "core/static/entraide/live.js").read_text()
    page.set_content(f'<html><body>{body}<script>{FAKES}</script>'
                     f'<script data-ws-url="/ws/v1/events">{source}</script></body></html>')
    assert page.evaluate("window.__sockets.length") == 1
    return page


def test_live_js_backs_off_up_to_a_cap_and_only_starts_again_after_a_connection_that_lasted(page):
    live_js_page(page)
    delays = page.evaluate("""() => {
        const delays = [];
        for (let i = 0; i < 8; i++) { window.__close(1006); delays.push(window.__retry()); }
        return delays;
    }""")
    assert 500 <= delays[0] <= 1000 and 1000 <= delays[1] <= 2000
    assert all(15000 <= d <= 30000 for d in delays[-3:])  # capped at 30 s (with jitter)
    # A server that accepts then closes at once (overloaded) does not bring the retries back to one a second.
    flapping = page.evaluate("() => { window.__open(); window.__close(1011); return window.__retry(); }")
    assert flapping >= 15000
    # A connection that lasted: the next failure is retried quickly again.
    stable = page.evaluate("() => { window.__open(); window.__now += 60000; window.__close(1006); "
                           "return window.__retry(); }")
    assert stable <= 1000


@pytest.mark.parametrize("code", [4401, 4403])
def test_live_js_never_reconnects_after_it_was_refused(page, code):
    live_js_page(page)
    assert page.evaluate(f"() => {{ window.__open(); window.__close({code}); return window.__timers.length; }}") == 0
    assert page.evaluate("document.documentElement.getAttribute('data-live')") == "closed"


def test_live_js_turns_frames_into_dom_events_without_ever_rendering_their_data(page):
    live_js_page(page, body='<div id="live-new-posts" data-home="1" data-scope="all" data-category="" '
                            'data-one="%(n)s new post:" data-many="%(n)s new posts:" data-show="show them"></div>')
    heard = page.evaluate("""() => {
        const heard = [];
        document.body.addEventListener("live-post-created", (e) => heard.push(e.detail));
        window.__open();
        window.__frame("not json");
        window.__frame("[1, 2]");
        window.__frame('{"type": "<img src=x onerror=window.__pwned=1>", "data": {}}');
        window.__frame(JSON.stringify({type: "post.created", data: {post_id: 1, neighbourhood_id: 1,
            category: "<img src=x onerror=window.__pwned=1>"}}));
        return heard;
    }""")
    assert heard == [{"post_id": 1, "neighbourhood_id": 1, "category": "<img src=x onerror=window.__pwned=1>"}]
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img").count() == 0
    assert page.locator("#live-new-posts").inner_text() == "1 new post: show them"


def test_live_js_pings_while_open_and_a_page_without_the_feed_notice_or_htmx_raises_nothing(page):
    # Script errors fail the test at teardown (the new_context fixture): none on a bare page.
    live_js_page(page)
    page.evaluate("""() => {
        window.__open();
        window.__frame(JSON.stringify({type: "post.created", data: {post_id: 1}}));
        window.__frame('{"type": "pong"}');
    }""")
    assert page.evaluate("typeof window.htmx") == "undefined"
