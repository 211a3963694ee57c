"""The conversation pages: inbox, thread, sending with and without htmx, entry points, and who gets a 404."""
from __future__ import annotations

import pytest
from django.test import Client

from entraide.accounts.factories import MemberFactory
from entraide.aid import actions as aid
from entraide.aid.factories import HelpOfferFactory
from entraide.feed import actions as feed
from entraide.messaging import actions, queries
from entraide.messaging.models import Block, Conversation, Message, MessageReport

from .conftest import picture, window

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def logged_in(member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


@pytest.fixture
def chat(alice, bob):
    return actions.do_start_direct(alice, bob.id)[0]


def test_the_inbox_shows_each_conversation_with_its_unread_badge(alice, bob, chat):
    actions.do_send_message(alice, chat.id, "Bonjour <b>Bruno</b>")
    actions.do_send_message(alice, chat.id, "Tu es là ?")
    html = logged_in(bob).get("/messages/").content.decode()
    assert f'id="unread-{chat.id}"' in html and ">2<" in html
    assert "Alice M." in html and "Tu es là ?" in html
    assert "2 unread messages" in html
    assert "<b>Bruno</b>" not in logged_in(bob).get(f"/messages/{chat.id}/").content.decode()


def test_opening_the_thread_marks_it_read_and_shows_messages_oldest_first(alice, bob, chat):
    actions.do_send_message(alice, chat.id, "Premier")
    actions.do_send_message(alice, chat.id, "Second")
    response = logged_in(bob).get(f"/messages/{chat.id}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("Premier") < html.index("Second")
    assert f'live-message-created[detail.conversation_id=={chat.id}] from:body' in html
    assert 'aria-live="polite"' in html and 'for="id_message_body"' in html
    assert queries.unread_total(bob) == 0


def test_a_plain_post_sends_and_redirects_to_the_message(alice, bob, chat, media_root):
    response = logged_in(bob).post(f"/messages/{chat.id}/", {"body": "Avec plaisir", "images": [picture()]})
    message = Message.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/messages/{chat.id}/#message-{message.id}"
    assert message.author == bob and message.images.count() == 1
    assert queries.unread_total(alice) == 1


def test_an_htmx_post_answers_the_thread_fragment_with_a_fresh_form(bob, chat):
    response = logged_in(bob).post(f"/messages/{chat.id}/", {"body": "Via htmx"}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and html.startswith('<div id="thread"')
    assert "Via htmx" in html and "Your message is sent." in html and "<html" not in html


def test_an_empty_message_shows_the_error_next_to_the_field(bob, chat):
    response = logged_in(bob).post(f"/messages/{chat.id}/", {"body": "   "})
    assert response.status_code == 422
    assert "Write something first." in response.content.decode()
    htmx = logged_in(bob).post(f"/messages/{chat.id}/", {"body": ""}, headers=HTMX)
    assert htmx.status_code == 200 and "Write something first." in htmx.content.decode()
    assert not Message.objects.exists()


def test_the_fragment_announces_new_messages_from_others_and_marks_them_read(alice, bob, chat):
    first = actions.do_send_message(alice, chat.id, "Un")
    actions.do_send_message(alice, chat.id, "Deux")
    response = logged_in(bob).get(f"/messages/{chat.id}/messages/", {"seen": first.id}, headers=HTMX)
    html = response.content.decode()
    assert html.startswith('<div id="thread-messages"') and "Deux" in html
    assert 'hx-swap-oob="innerHTML"' in html and "1 new message from Alice M." in html
    assert queries.unread_total(bob) == 0


def test_a_non_participant_gets_404_on_every_page_of_the_conversation(alice, chat, neighbourhood):
    message = actions.do_send_message(alice, chat.id, "Privé")
    outsider = logged_in(MemberFactory(neighbourhood=neighbourhood, verified=True))
    assert outsider.get(f"/messages/{chat.id}/").status_code == 404
    assert outsider.get(f"/messages/{chat.id}/messages/").status_code == 404
    assert outsider.post(f"/messages/{chat.id}/", {"body": "Coucou"}).status_code == 404
    assert outsider.post(f"/messages/{chat.id}/report/", {"message_id": message.id}).status_code == 404
    assert Message.objects.count() == 1 and not MessageReport.objects.exists()


def test_the_pages_need_a_login(chat):
    for path in ("/messages/", f"/messages/{chat.id}/", "/messages/new/?to=1"):
        response = Client().get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_send_a_message_from_a_post_of_a_nearby_neighbour(alice, nadia):
    post = feed.do_create_post(nadia, category="general", audience="nearby", body="Je prête une perceuse.")
    page = logged_in(alice).get(f"/feed/posts/{post.id}/").content.decode()
    assert 'id="contact-author"' in page and f'name="to" value="{nadia.id}"' in page
    response = logged_in(alice).post("/messages/new/", {"to": nadia.id})
    conversation = Conversation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/messages/{conversation.id}/#message-form"
    # Nadia's own post page has no such button, nor does an unverified reader's.
    assert 'id="contact-author"' not in logged_in(nadia).get(f"/feed/posts/{post.id}/").content.decode()


def test_the_start_page_confirms_whom_one_writes_to_and_hides_far_members(alice, zoe, nadia, pending):
    html = logged_in(alice).get("/messages/new/", {"to": nadia.id}).content.decode()
    assert "Write to Nadia B." in html and 'id="start-form"' in html
    assert logged_in(alice).get("/messages/new/", {"to": zoe.id}).status_code == 404
    assert logged_in(alice).post("/messages/new/", {"to": zoe.id}).status_code == 404
    assert logged_in(alice).get("/messages/new/").status_code == 302
    refused = logged_in(pending).post("/messages/new/", {"to": alice.id})
    assert refused.status_code == 403 and not Conversation.objects.exists()


def test_the_request_page_offers_the_conversation_to_requester_and_helper(alice, bob, neighbourhood):
    HelpOfferFactory(helper=bob, types=["groceries"])
    req = aid.do_create_request(alice, type="groceries", description="Courses", **window())
    assert 'id="request-conversation"' not in logged_in(alice).get(f"/aid/requests/{req.id}/").content.decode()
    aid.do_accept(bob, req.id)
    for member in (alice, bob):
        assert 'id="request-conversation"' in logged_in(member).get(f"/aid/requests/{req.id}/").content.decode()
    response = logged_in(bob).post("/messages/new/", {"request": req.id})
    conversation = Conversation.objects.get(request=req)
    assert response["Location"] == f"/messages/{conversation.id}/#message-form"
    html = logged_in(alice).get(f"/messages/{conversation.id}/").content.decode()
    assert "See the request" in html and "Conversation with Bruno L." in html


def test_blocking_from_the_thread_hides_the_form_and_unblocking_brings_it_back(alice, bob, chat):
    client = logged_in(alice)
    response = client.post("/messages/block/", {"member_id": bob.id, "action": "block",
                                                "next": f"/messages/{chat.id}/"})
    assert response.status_code == 302 and response["Location"] == f"/messages/{chat.id}/"
    assert Block.objects.filter(blocker=alice, blocked=bob).exists()
    html = client.get(f"/messages/{chat.id}/").content.decode()
    assert 'id="message-form"' not in html and "Unblock Bruno L." in html
    assert 'id="blocked-notice"' in logged_in(bob).get(f"/messages/{chat.id}/").content.decode()
    client.post("/messages/block/", {"member_id": bob.id, "action": "unblock"})
    assert not Block.objects.exists()
    assert client.post("/messages/block/", {"member_id": "x", "action": "block"}).status_code == 404


def test_the_next_target_of_a_block_stays_on_this_site(alice, bob):
    response = logged_in(alice).post("/messages/block/", {"member_id": bob.id, "action": "block",
                                                          "next": "https://evil.example/"})
    assert response["Location"] == "/messages/"


def test_reporting_a_message_from_the_thread(alice, bob, chat):
    message = actions.do_send_message(alice, chat.id, "Pas gentil")
    html = logged_in(bob).get(f"/messages/{chat.id}/").content.decode()
    assert f'id="report-reason-{message.id}"' in html
    response = logged_in(bob).post(f"/messages/{chat.id}/report/", {"message_id": message.id, "reason": "Grossier"})
    assert response.status_code == 302 and MessageReport.objects.get().reason == "Grossier"
    # A message of another conversation cannot be reported through this one.
    other, _ = actions.do_start_direct(bob, MemberFactory(neighbourhood=bob.neighbourhood, verified=True).id)
    assert logged_in(bob).post(f"/messages/{other.id}/report/", {"message_id": message.id}).status_code == 404


def test_the_admin_lists_reports_with_the_body_and_conversations_without(admin_client, alice, bob, chat):
    secret = "Un secret de conversation"
    actions.do_send_message(alice, chat.id, secret)
    reported = actions.do_send_message(alice, chat.id, "Message signalé")
    actions.do_report_message(bob, reported.id, "Insulte")
    conversation_page = admin_client.get(f"/admin/messaging/conversation/{chat.id}/change/").content.decode()
    assert secret not in conversation_page and "Message signalé" not in conversation_page
    report = MessageReport.objects.get()
    assert "Message signalé" in admin_client.get(f"/admin/messaging/messagereport/{report.id}/change/").content.decode()
    assert admin_client.get("/admin/messaging/messagereport/").status_code == 200


@pytest.mark.parametrize("path", ["/messages/{big}/", "/messages/{big}/messages/"])
def test_a_huge_conversation_id_in_a_page_is_a_404(alice, path):
    client = logged_in(alice)
    assert client.get(path.format(big=10 ** 30)).status_code == 404
    assert client.post("/messages/{big}/".format(big=10 ** 30), {"body": "Bonjour"}).status_code == 404


def test_a_cancelled_requests_thread_shows_the_messages_but_no_form(alice, bob):
    HelpOfferFactory(helper=bob, types=["groceries"])
    req = aid.do_create_request(alice, type="groceries", description="Deux sacs de courses", **window())
    aid.do_accept(bob, req.id)
    conversation, _ = actions.do_start_for_request(alice, req.id)
    actions.do_send_message(bob, conversation.id, "J'arrive")
    aid.do_cancel(alice, req.id)
    page = logged_in(bob).get(f"/messages/{conversation.id}/").content.decode()
    assert "J&#x27;arrive" in page and 'id="closed-notice"' in page and 'id="message-form"' not in page
    answer = logged_in(bob).post(f"/messages/{conversation.id}/", {"body": "Encore là ?"})
    assert answer.status_code == 409 and Message.objects.count() == 1
