"""Starting conversations, writing, reading, blocking and reporting: who may, what is refused, what is published."""
from __future__ import annotations

import pytest

from entraide.accounts.factories import MemberFactory
from entraide.aid import actions as aid
from entraide.aid.factories import HelpOfferFactory
from entraide.core.errors import EntraideError
from entraide.messaging import actions, queries
from entraide.messaging.models import (Block, Conversation, ConversationKind, Message, MessageImage, MessageReport,
                                       Participant)

from .conftest import picture, window

pytestmark = pytest.mark.django_db


def refused(call, status: int, code: str) -> EntraideError:
    with pytest.raises(EntraideError) as caught:
        call()
    assert (caught.value.status, caught.value.code) == (status, code), caught.value.message
    return caught.value


@pytest.fixture
def chat(alice, bob):
    conversation, created = actions.do_start_direct(alice, bob.id)
    assert created
    return conversation


@pytest.fixture
def matched(alice, bob):
    """Alice asked for groceries; Bob, her neighbour, took it."""
    HelpOfferFactory(helper=bob, types=["groceries"])
    req = aid.do_create_request(alice, type="groceries", description="Deux sacs de courses", **window())
    aid.do_accept(bob, req.id)
    req.refresh_from_db()
    return req


# --- starting a direct conversation -------------------------------------------------------------------------------

def test_a_verified_member_starts_one_conversation_per_pair_whoever_starts(alice, bob):
    first, created = actions.do_start_direct(alice, bob.id)
    again, created_again = actions.do_start_direct(bob, alice.id)
    assert created and not created_again and again.id == first.id
    assert first.kind == ConversationKind.DIRECT and first.neighbourhood_id == alice.neighbourhood_id
    assert sorted(first.participants.values_list("member_id", flat=True)) == sorted([alice.id, bob.id])
    assert Conversation.objects.count() == 1


def test_a_member_can_write_to_a_neighbour_of_a_nearby_neighbourhood_they_read(alice, nadia):
    conversation, created = actions.do_start_direct(alice, nadia.id)
    assert created
    assert set(conversation.participants.values_list("neighbourhood_id", flat=True)) == {
        alice.neighbourhood_id, nadia.neighbourhood_id}


def test_a_member_of_a_far_neighbourhood_cannot_be_reached(alice, zoe):
    refused(lambda: actions.do_start_direct(alice, zoe.id), 404, "not_found")
    refused(lambda: actions.do_start_direct(zoe, alice.id), 404, "not_found")
    assert not Conversation.objects.exists()


def test_a_nearby_neighbourhood_not_chosen_is_out_of_reach(bob, nadia):
    """Bob does not read Saint-Merri: Nadia is out of his scope."""
    refused(lambda: actions.do_start_direct(bob, nadia.id), 404, "not_found")


def test_an_unverified_member_cannot_start_a_conversation(pending, bob):
    refused(lambda: actions.do_start_direct(pending, bob.id), 403, "verification_required")
    assert not Conversation.objects.exists()


def test_while_verification_is_relaxed_an_unverified_member_may_start(pending, bob, settings):
    settings.ENTRAIDE_REQUIRE_VERIFICATION = False
    conversation, created = actions.do_start_direct(pending, bob.id)
    assert created


def test_nobody_starts_a_conversation_with_themselves(alice):
    refused(lambda: actions.do_start_direct(alice, alice.id), 422, "cannot_message_self")


def test_an_unknown_or_deactivated_member_is_not_found(alice, bob):
    refused(lambda: actions.do_start_direct(alice, 999_999), 404, "not_found")
    bob.user.is_active = False
    bob.user.save()
    refused(lambda: actions.do_start_direct(alice, bob.id), 404, "not_found")


def test_a_block_either_way_stops_a_new_conversation(alice, bob):
    actions.do_block(bob, alice.id)
    refused(lambda: actions.do_start_direct(alice, bob.id), 403, "blocked")
    refused(lambda: actions.do_start_direct(bob, alice.id), 403, "blocked")
    assert not Conversation.objects.exists()


def test_starting_conversations_is_rate_limited(alice, neighbourhood):
    for _ in range(actions.START_LIMIT[0]):
        actions.do_start_direct(alice, MemberFactory(neighbourhood=neighbourhood).id)
    error = refused(lambda: actions.do_start_direct(alice, MemberFactory(neighbourhood=neighbourhood).id), 429,
                    "rate_limited")
    assert error.retry_after >= 1


def test_a_new_conversation_is_announced_after_commit_to_both(alice, bob, published,
                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        conversation, _ = actions.do_start_direct(alice, bob.id)
    assert [e for e in published if e["type"] == "conversation.created"] == [{
        "type": "conversation.created", "neighbourhood_id": alice.neighbourhood_id,
        "data": {"conversation_id": conversation.id, "kind": "direct", "request_id": None},
        "member_ids": sorted([alice.id, bob.id])}]


# --- a help request's conversation --------------------------------------------------------------------------------

def test_the_requester_and_the_matched_helper_share_the_request_conversation(alice, bob, matched):
    conversation, created = actions.do_start_for_request(bob, matched.id)
    again, created_again = actions.do_start_for_request(alice, matched.id)
    assert created and not created_again and again.id == conversation.id
    assert conversation.kind == ConversationKind.REQUEST and conversation.request_id == matched.id
    assert queries.active_member_ids(conversation.id) == sorted([alice.id, bob.id])


def test_a_request_nobody_has_taken_has_no_conversation_yet(alice, bob):
    HelpOfferFactory(helper=bob, types=["groceries"])
    req = aid.do_create_request(alice, type="groceries", description="Des courses", **window())
    refused(lambda: actions.do_start_for_request(alice, req.id), 409, "not_matched")


def test_a_neighbour_who_is_neither_requester_nor_helper_cannot_open_it(matched, neighbourhood):
    other = MemberFactory(neighbourhood=neighbourhood, verified=True)
    # A matched request is no longer public: outside the neighbour's scope, so a 404.
    refused(lambda: actions.do_start_for_request(other, matched.id), 404, "not_found")


def test_a_requester_and_helper_can_still_talk_once_the_task_is_done(alice, bob, matched):
    aid.do_complete(alice, matched.id, thanks="Merci beaucoup !")
    conversation, created = actions.do_start_for_request(alice, matched.id)
    assert created
    actions.do_send_message(alice, conversation.id, "Merci encore pour les courses")


def test_a_helper_who_withdrew_no_longer_reads_the_request_conversation(alice, bob, matched, neighbourhood,
                                                                        django_capture_on_commit_callbacks):
    conversation, _ = actions.do_start_for_request(alice, matched.id)
    actions.do_send_message(alice, conversation.id, "Le code de la porte est 1234")
    with django_capture_on_commit_callbacks(execute=True):
        aid.do_withdraw(bob, matched.id, reason="Empêchement")
    assert Participant.objects.get(conversation=conversation, member=bob).left_at is not None
    refused(lambda: queries.messages_page(bob, conversation.id), 404, "not_found")
    refused(lambda: actions.do_send_message(bob, conversation.id, "Encore moi"), 404, "not_found")
    assert queries.unread_total(bob) == 0

    # Another helper takes it over: they join, but do not read what was said to the helper before them.
    carla = MemberFactory(neighbourhood=neighbourhood, verified=True, display_name="Carla Dubois")
    HelpOfferFactory(helper=carla, types=["groceries"])
    with django_capture_on_commit_callbacks(execute=True):
        aid.do_accept(carla, matched.id)
    assert queries.active_member_ids(conversation.id) == sorted([alice.id, carla.id])
    assert queries.messages_page(carla, conversation.id).items == []
    actions.do_send_message(alice, conversation.id, "Bonjour Carla")
    assert [m.body for m in queries.messages_page(carla, conversation.id).items] == ["Bonjour Carla"]
    refused(lambda: queries.messages_page(bob, conversation.id), 404, "not_found")


def test_the_old_helper_reads_nothing_even_before_the_subscriber_ran(alice, bob, matched):
    """The read-time check alone: the withdrawal's event is never delivered here (no on-commit callbacks run)."""
    conversation, _ = actions.do_start_for_request(alice, matched.id)
    aid.do_withdraw(bob, matched.id)
    assert Participant.objects.get(conversation=conversation, member=bob).left_at is None
    refused(lambda: queries.messages_page(bob, conversation.id), 404, "not_found")
    refused(lambda: actions.do_mark_read(bob, conversation.id), 404, "not_found")


# --- messages -----------------------------------------------------------------------------------------------------

def test_a_message_counts_as_unread_for_the_others_and_read_for_its_author(alice, bob, chat):
    message = actions.do_send_message(alice, chat.id, "  Bonjour Bruno !\x00  ")
    assert message.body == "Bonjour Bruno !"
    assert message.neighbourhood_id == chat.neighbourhood_id
    assert (queries.unread_total(bob), queries.unread_total(alice)) == (1, 0)
    chat.refresh_from_db()
    assert chat.last_message_id == message.id and chat.last_message_at == message.created_at


def test_marking_read_clears_the_count_and_never_goes_back(alice, bob, chat):
    first = actions.do_send_message(alice, chat.id, "Un")
    actions.do_send_message(alice, chat.id, "Deux")
    third = actions.do_send_message(alice, chat.id, "Trois")
    row = actions.do_mark_read(bob, chat.id, first.id)
    assert (row.last_read_message_id, row.unread_count) == (first.id, 2)
    row = actions.do_mark_read(bob, chat.id)
    assert (row.last_read_message_id, row.unread_count) == (third.id, 0)
    row = actions.do_mark_read(bob, chat.id, first.id)
    assert row.last_read_message_id == third.id
    # A mark beyond the conversation's last message stops at it.
    assert actions.do_mark_read(bob, chat.id, third.id + 1000).last_read_message_id == third.id


def test_an_empty_or_oversized_message_is_refused_and_nothing_is_written(alice, chat, settings):
    refused(lambda: actions.do_send_message(alice, chat.id, " \n\t "), 422, "empty_body")
    settings.ENTRAIDE_MESSAGE_MAX_CHARS = 10
    refused(lambda: actions.do_send_message(alice, chat.id, "x" * 11), 422, "body_too_long")
    actions.do_send_message(alice, chat.id, "x" * 10)
    assert Message.objects.count() == 1


def test_a_non_participant_cannot_write_even_a_valid_message(chat, nadia, neighbourhood):
    carla = MemberFactory(neighbourhood=neighbourhood, verified=True)
    for outsider in (carla, nadia):
        refused(lambda: actions.do_send_message(outsider, chat.id, "Coucou"), 404, "not_found")
        refused(lambda: actions.do_send_message(outsider, chat.id, ""), 404, "not_found")
    refused(lambda: actions.do_send_message(carla, 999_999, "Coucou"), 404, "not_found")
    assert not Message.objects.exists()


def test_a_member_who_was_written_to_may_answer_before_being_verified(alice, pending):
    conversation, _ = actions.do_start_direct(alice, pending.id)
    actions.do_send_message(pending, conversation.id, "Merci, bonjour !")
    assert queries.unread_total(alice) == 1


def test_a_block_stops_both_sides_writing_and_unblocking_lifts_it(alice, bob, chat):
    actions.do_block(alice, bob.id)
    refused(lambda: actions.do_send_message(bob, chat.id, "Pourquoi ?"), 403, "blocked")
    refused(lambda: actions.do_send_message(alice, chat.id, "Au revoir"), 403, "blocked")
    actions.do_block(alice, bob.id)  # twice is once
    assert Block.objects.count() == 1
    actions.do_unblock(alice, bob.id)
    actions.do_send_message(bob, chat.id, "Merci")
    assert Message.objects.count() == 1


def test_one_can_block_someone_one_talks_with_even_after_they_moved_away(alice, bob, chat, far):
    bob.neighbourhood = far
    bob.save()
    actions.do_block(alice, bob.id)
    assert Block.objects.filter(blocker=alice, blocked=bob).exists()


def test_blocking_oneself_or_a_stranger_far_away_is_refused(alice, zoe):
    refused(lambda: actions.do_block(alice, alice.id), 422, "cannot_block_self")
    refused(lambda: actions.do_block(alice, zoe.id), 404, "not_found")
    refused(lambda: actions.do_block(alice, 999_999), 404, "not_found")


def test_a_flood_of_messages_is_rate_limited_with_a_retry_delay(alice, chat):
    for i in range(actions.MESSAGE_LIMITS[0][0]):
        actions.do_send_message(alice, chat.id, f"Message {i}")
    error = refused(lambda: actions.do_send_message(alice, chat.id, "Encore un"), 429, "rate_limited")
    assert 1 <= error.retry_after <= 60
    assert Message.objects.count() == actions.MESSAGE_LIMITS[0][0]


def test_the_daily_limit_holds_too(alice, chat, monkeypatch):
    monkeypatch.setattr(actions, "MESSAGE_LIMITS", ((1000, 60), (3, 24 * 3600)))
    for i in range(3):
        actions.do_send_message(alice, chat.id, f"Message {i}")
    error = refused(lambda: actions.do_send_message(alice, chat.id, "Encore"), 429, "rate_limited")
    assert error.retry_after > 60


def test_a_new_message_is_announced_after_commit_to_every_participant_author_included(
        alice, bob, chat, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = actions.do_send_message(alice, chat.id, "Bonjour")
    assert published == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert [e for e in published if e["type"] == "message.created"] == [{
        "type": "message.created", "neighbourhood_id": chat.neighbourhood_id,
        "data": {"conversation_id": chat.id, "message_id": message.id, "author_id": alice.id},
        "member_ids": sorted([alice.id, bob.id])}]


def test_a_refused_message_publishes_nothing(alice, chat, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(EntraideError):
            actions.do_send_message(alice, chat.id, "")
    assert published == []


def test_pictures_follow_the_feed_rules_and_at_most_four(alice, bob, chat, media_root):
    message = actions.do_send_message(alice, chat.id, "Voici la photo", images=[picture(), picture("b.png")])
    rows = list(MessageImage.objects.filter(message=message))
    assert [r.position for r in rows] == [0, 1]
    assert all(r.neighbourhood_id == chat.neighbourhood_id and r.image.name.startswith("messages/") for r in rows)
    refused(lambda: actions.do_send_message(alice, chat.id, "Trop", images=[picture()] * 5), 422, "too_many_images")
    broken = picture()
    broken.file.write(b"garbage")
    broken.file.seek(0)
    broken.file.truncate(5)
    refused(lambda: actions.do_send_message(alice, chat.id, "Cassée", images=[broken]), 422, "invalid_image")
    assert Message.objects.count() == 1
    [view] = queries.messages_page(bob, chat.id).items
    assert [i.url for i in view.images] == [f"/api/v1/message-images/{r.id}" for r in rows]


# --- reports ------------------------------------------------------------------------------------------------------

def test_reporting_a_message_opens_a_report_once_and_publishes_the_hook(alice, bob, chat, published,
                                                                        django_capture_on_commit_callbacks):
    message = actions.do_send_message(alice, chat.id, "Quelque chose de blessant")
    with django_capture_on_commit_callbacks(execute=True):
        report = actions.do_report_message(bob, message.id, "Insultant")
        again = actions.do_report_message(bob, message.id, "Encore")
    assert again.id == report.id and report.status == "open" and report.reason == "Insultant"
    assert report.neighbourhood_id == chat.neighbourhood_id
    assert [e["data"] for e in published if e["type"] == "message.reported"] == [
        {"message_id": message.id, "conversation_id": chat.id}]
    assert [e["member_ids"] for e in published if e["type"] == "message.reported"] == [[]]


def test_one_cannot_report_one_own_message_nor_one_outside_ones_conversations(alice, bob, chat, neighbourhood):
    message = actions.do_send_message(alice, chat.id, "Bonjour")
    refused(lambda: actions.do_report_message(alice, message.id), 422, "own_message")
    outsider = MemberFactory(neighbourhood=neighbourhood, verified=True)
    refused(lambda: actions.do_report_message(outsider, message.id), 404, "not_found")
    refused(lambda: actions.do_report_message(bob, message.id, "x" * 501), 422, "reason_too_long")
    assert not MessageReport.objects.exists()


# --- found in review ------------------------------------------------------------------------------------------------

def test_once_the_request_is_cancelled_its_conversation_is_read_only_for_both(alice, bob, matched):
    conversation, _ = actions.do_start_for_request(alice, matched.id)
    actions.do_send_message(bob, conversation.id, "J'arrive à 18 h")
    aid.do_cancel(alice, matched.id, reason="plus besoin")
    for who in (alice, bob):
        refused(lambda: actions.do_send_message(who, conversation.id, "Encore là ?"), 409, "request_closed")
        assert [m.body for m in queries.messages_page(who, conversation.id).items] == ["J'arrive à 18 h"]
    assert Message.objects.count() == 1


@pytest.mark.parametrize("bad", [10 ** 30, -1, 0, 2 ** 63])
def test_ids_no_row_can_have_are_not_found_rather_than_a_crash(alice, bob, chat, bad):
    refused(lambda: actions.do_send_message(alice, bad, "Bonjour"), 404, "not_found")
    refused(lambda: actions.do_mark_read(alice, bad), 404, "not_found")
    refused(lambda: actions.do_report_message(alice, bad), 404, "not_found")
    refused(lambda: actions.do_block(alice, bad), 404, "not_found")
    refused(lambda: actions.do_start_direct(alice, bad), 404, "not_found")
    refused(lambda: queries.messages_page(alice, bad), 404, "not_found")
    refused(lambda: queries.image_for(alice, bad), 404, "not_found")
    refused(lambda: actions.do_unblock(alice, bad), 404, "not_found")


def test_a_flood_of_pictures_is_refused_before_any_picture_is_decoded(alice, chat, monkeypatch, media_root):
    monkeypatch.setattr(actions, "MESSAGE_LIMITS", ((1, 60),))
    actions.do_send_message(alice, chat.id, "Un")
    decoded = []
    monkeypatch.setattr(actions.image_files, "clean", lambda f: decoded.append(f) or None)
    refused(lambda: actions.do_send_message(alice, chat.id, "Deux", images=[picture()]), 429, "rate_limited")
    assert decoded == []


def test_a_failing_conversation_sync_does_not_stop_the_other_subscribers_or_the_write(
        alice, bob, matched, monkeypatch, caplog, django_capture_on_commit_callbacks):
    import logging

    from entraide.core import events
    from entraide.messaging import subscribers

    actions.do_start_for_request(alice, matched.id)
    heard = []

    def after(sender, event, **kwargs):
        heard.append(event["type"])

    def broken(*args, **kwargs):
        raise RuntimeError("Le code de la porte est 1234")

    monkeypatch.setattr(actions, "sync_request_participants", broken)
    events.event_published.connect(after)
    try:
        with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
            aid.do_withdraw(bob, matched.id)
    finally:
        events.event_published.disconnect(after)
    assert "request.updated" in heard  # a receiver connected after messaging's still heard it
    assert "RuntimeError" in caplog.text and "1234" not in caplog.text
    assert subscribers.logger.name == "entraide.messaging.subscribers"
