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
