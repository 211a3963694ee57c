"""Two neighbours of adjacent quartiers talk privately: one writes from the other's post, the other sees the unread
badge in the inbox, opens the thread and answers; the first sees the answer. (Live arrival without reload is the
live app's journey.)"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from entraide.accounts.factories import PASSWORD, MemberFactory
from entraide.feed import actions as feed
from entraide.messaging.models import Conversation, Message
from entraide.places.models import Neighbourhood

from .helpers import log_in

pytestmark = pytest.mark.browser

THREAD_URL = re.compile(r"/messages/(\d+)/")


def test_two_neighbours_of_adjacent_quartiers_talk_privately(new_context, paris, artifacts):
    saint_gervais = Neighbourhood.objects.get(city=paris, name="Saint-Gervais")
    saint_merri = Neighbourhood.objects.get(city=paris, name="Saint-Merri")
    alice = MemberFactory(neighbourhood=saint_gervais, verified=True, language="en", display_name="Alice Martin",
                          user__email="alice@example.org")
    alice.reads_nearby.add(saint_merri)
    nadia = MemberFactory(neighbourhood=saint_merri, verified=True, language="en", display_name="Nadia Benali",
                          user__email="nadia@example.org")
    post = feed.do_create_post(nadia, category="give_lend", audience="nearby", title="Perceuse à prêter",
                               body="Je prête ma perceuse le week-end.")

    # Alice reads Nadia's post (Saint-Merri is among the quartiers she reads) and writes to her.
    writer = new_context().new_page()
    log_in(writer, "alice@example.org", PASSWORD)
    writer.goto(f"/feed/posts/{post.id}/")
    with writer.expect_navigation():
        writer.get_by_role("button", name="Send a message to Nadia B.").click()
    expect(writer).to_have_url(THREAD_URL)
    expect(writer.locator("#thread-title")).to_have_text("Conversation with Nadia B.")
    writer.get_by_label("Your message").fill("Bonjour Nadia, je peux passer samedi pour la perceuse ?")
    writer.get_by_role("button", name="Send", exact=True).click()  # htmx: the thread is swapped in place
    expect(writer.locator(".message-list")).to_contain_text("je peux passer samedi")
    expect(writer.locator("#thread-announce")).to_have_text("Your message is sent.")
    expect(writer.get_by_label("Your message")).to_have_value("")
    conversation = Conversation.objects.get()
    assert Message.objects.filter(conversation=conversation, author=alice).count() == 1

    # Nadia sees one unread message in her inbox, opens the thread and answers (without JavaScript: a plain form).
    reader = new_context(java_script_enabled=False).new_page()
    log_in(reader, "nadia@example.org", PASSWORD)
    reader.goto("/messages/")
    line = reader.locator(f"#conversation-{conversation.id}")
    expect(line).to_contain_text("Alice M.")
    expect(line.locator(".unread-count")).to_contain_text("1")
    reader.screenshot(path=str(artifacts / "messaging-inbox.png"), full_page=True)
    with reader.expect_navigation():
        line.get_by_role("link").click()
    expect(reader.locator(".message-list")).to_contain_text("je peux passer samedi")
    reader.get_by_label("Your message").fill("Avec plaisir, samedi 10 h.")
    with reader.expect_navigation():
        reader.get_by_role("button", name="Send", exact=True).click()
    expect(reader.locator(".message.mine")).to_contain_text("Avec plaisir, samedi 10 h.")
    reader.goto("/messages/")
    expect(reader.locator(f"#conversation-{conversation.id} .unread-count")).to_have_count(0)

    # Alice sees the answer.
    writer.reload()
    expect(writer.locator(".message-list")).to_contain_text("Avec plaisir, samedi 10 h.")
    writer.screenshot(path=str(artifacts / "messaging-thread.png"), full_page=True)
