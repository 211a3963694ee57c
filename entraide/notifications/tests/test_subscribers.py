"""Who is told about what: the right people only, as each of them chose, and never the one who did it."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from entraide.accounts.factories import MemberFactory
from entraide.aid import actions as aid_actions
from entraide.aid.factories import HelpOfferFactory
from entraide.core import events
from entraide.feed import actions as feed_actions
from entraide.notifications import actions, fanout
from entraide.notifications.models import Notification, OutboundEmail

from .conftest import member

pytestmark = pytest.mark.django_db

ORDONNANCE = "Récupérer mon ordonnance à la pharmacie"


def window():
    now = timezone.now()
    return {"window_start": now, "window_end": now + timedelta(hours=6)}


def helper_of(neighbourhood, name: str, **kw):
    helper = member(neighbourhood, name, user__email=f"{name.split()[0].lower()}@example.org", **kw)
    HelpOfferFactory(helper=helper, types=["pharmacy"])
    return helper


def ask(requester, after_commit, **kw):
    with after_commit():
        return aid_actions.do_create_request(requester, type="pharmacy", description=ORDONNANCE, **window(), **kw)


def test_a_helper_asked_gets_a_match_notification_and_an_email(home, alice, after_commit):
    paul = helper_of(home, "Paul Aidant")
    req = ask(alice, after_commit)
    note = Notification.objects.get(recipient=paul)
    assert note.type == "match" and note.url == f"/aid/requests/{req.id}/"
    assert note.payload == {"request_id": req.id, "help_type": "pharmacy", "urgency": "normal", "name": "Alice M."}
    assert [m.to for m in mail.outbox] == [["paul@example.org"]]
    assert "Alice M. asks for help nearby: Pharmacy run" == mail.outbox[0].subject
    assert OutboundEmail.objects.get().status == "sent"


def test_the_requester_and_far_members_get_nothing(home, far, alice, zoe, after_commit):
    helper_of(far, "Fabien Loin")
    helper_of(home, "Paul Aidant")
    ask(alice, after_commit)
    assert not Notification.objects.filter(recipient=alice).exists()
    assert not Notification.objects.filter(recipient__neighbourhood=far).exists()
    assert all(m.to == ["paul@example.org"] for m in mail.outbox)


def test_a_helper_who_turned_match_emails_off_is_told_in_the_app_only(home, alice, after_commit):
    paul = helper_of(home, "Paul Aidant")
    actions.do_update_settings(paul, channels={"match": {"email": False}})
    ask(alice, after_commit)
    assert Notification.objects.filter(recipient=paul, type="match").exists()
    assert mail.outbox == [] and not OutboundEmail.objects.exists()


def test_a_helper_who_turned_match_in_app_off_gets_the_email_only(home, alice, after_commit):
    paul = helper_of(home, "Paul Aidant")
    actions.do_update_settings(paul, channels={"match": {"in_app": False}})
    ask(alice, after_commit)
    assert not Notification.objects.filter(recipient=paul).exists()
    assert len(mail.outbox) == 1


def _quiet_all_day(m):
    # Quiet from the next minute round the clock to this minute: now is always inside.
    local = timezone.localtime()
    start = (local - timedelta(hours=1)).strftime("%H:%M")
    end = (local + timedelta(hours=1)).strftime("%H:%M")
    actions.do_update_settings(m, quiet_hours=(start, end))
    return timezone.make_aware(datetime.combine(local.date(), datetime.strptime(end, "%H:%M").time()))


def test_a_normal_match_email_in_quiet_hours_waits_until_they_end(home, alice, after_commit):
    paul = helper_of(home, "Paul Aidant")
    end = _quiet_all_day(paul)
    ask(alice, after_commit)
    row = OutboundEmail.objects.get()
    assert row.status == "pending" and mail.outbox == []
    assert abs(row.next_attempt_at - end) < timedelta(days=1, minutes=1)
    assert row.next_attempt_at > timezone.now()
    assert Notification.objects.filter(recipient=paul).exists()  # in-app is immediate


def test_an_urgent_match_email_goes_at_once_even_in_quiet_hours(home, alice, after_commit):
    paul = helper_of(home, "Paul Aidant")
    _quiet_all_day(paul)
    ask(alice, after_commit, urgency="urgent")
    assert OutboundEmail.objects.get().status == "sent" and len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("Urgent:")


def test_accepting_tells_the_requester_and_the_other_helpers_but_not_the_one_who_accepted(home, alice, after_commit,
                                                                                       settings):
    settings.ENTRAIDE_AID_NOTIFY_FIRST = 2
    paul, rita = helper_of(home, "Paul Aidant"), helper_of(home, "Rita Voisine")
    req = ask(alice, after_commit)
    with after_commit():
        aid_actions.do_accept(paul, req.id)
    updates = {n.recipient_id: n for n in Notification.objects.filter(type="request_update")}
    assert set(updates) == {alice.id, rita.id}
    assert updates[alice.id].payload["role"] == "requester" and updates[rita.id].payload["role"] == "asked"
    texts = {m.to[0]: m.subject for m in mail.outbox if "will help" in m.subject or "Another" in m.subject}
    assert texts == {"alice@example.org": "Paul A. will help you: Pharmacy run",
                     "rita@example.org": "Another neighbour took the request you were asked about: Pharmacy run"}


def test_cancelling_tells_the_helper_but_not_the_requester_who_cancelled(home, alice, after_commit):
    paul = helper_of(home, "Paul Aidant")
    req = ask(alice, after_commit)
    with after_commit():
        aid_actions.do_accept(paul, req.id)
    with after_commit():
        aid_actions.do_cancel(alice, req.id, reason="plus besoin")
    cancelled = Notification.objects.filter(type="request_update", payload__kind="cancelled")
    assert list(cancelled.values_list("recipient_id", flat=True)) == [paul.id]


def _message(conversation_id: int, message_id: int, author, participants):
    with transaction.atomic():
        events.publish("message.created", {"conversation_id": conversation_id, "message_id": message_id,
                                           "author_id": author.id}, member_ids=[m.id for m in participants])


def test_a_message_notifies_every_participant_but_its_author(alice, bob, nadia, after_commit):
    with after_commit():
        _message(12, 1, alice, [alice, bob, nadia])
    assert sorted(Notification.objects.filter(type="message").values_list("recipient_id", flat=True)) == sorted(
        [bob.id, nadia.id])
    assert Notification.objects.filter(recipient=bob).get().payload == {
        "conversation_id": 12, "message_id": 1, "name": "Alice M."}
    assert sorted(m.to[0] for m in mail.outbox) == ["bob@example.org", "nadia@example.org"]


def test_a_second_message_while_the_first_is_unread_sends_no_second_email(alice, bob, after_commit):
    with after_commit():
        _message(12, 1, alice, [alice, bob])
        _message(12, 2, alice, [alice, bob])
        _message(13, 3, alice, [alice, bob])  # another conversation: its own email
    assert Notification.objects.filter(recipient=bob, type="message").count() == 3
    assert len(mail.outbox) == 2
    actions.do_mark_read(bob, all=True)
    with after_commit():
        _message(12, 4, alice, [alice, bob])
    assert len(mail.outbox) == 3


def test_an_old_unread_message_no_longer_holds_back_the_email(alice, bob, after_commit):
    with after_commit():
        _message(12, 1, alice, [alice, bob])
    Notification.objects.update(created_at=timezone.now() - timedelta(minutes=20))
    OutboundEmail.objects.update(created_at=timezone.now() - timedelta(minutes=20))
    with after_commit():
        _message(12, 2, alice, [alice, bob])
    assert len(mail.outbox) == 2


def test_a_comment_tells_the_post_author_and_a_reply_tells_the_parent_comment_author(alice, bob, nadia,
                                                                                    after_commit):
    carla = member(alice.neighbourhood, "Carla Durand", user__email="carla@example.org")
    post = feed_actions.do_create_post(alice, category="general", title="Vide-grenier", body="Samedi rue Vieille")
    with after_commit():
        first = feed_actions.do_create_comment(bob, post.id, body="Je viendrai !")
    with after_commit():
        feed_actions.do_create_comment(carla, post.id, body="Moi aussi", parent_id=first.id)
    replies = {(n.recipient_id, n.payload["to"]) for n in Notification.objects.filter(type="reply")}
    assert replies == {(alice.id, "post"), (bob.id, "comment")}
    assert Notification.objects.filter(recipient=alice).count() == 2
    assert not Notification.objects.filter(recipient=carla).exists()
    bob_note = Notification.objects.get(recipient=bob)
    assert bob_note.url == f"/feed/posts/{post.id}/#comment-{bob_note.payload['comment_id']}"


def test_commenting_on_ones_own_post_notifies_nobody(alice, after_commit):
    post = feed_actions.do_create_post(alice, category="general", title="Mon annonce", body="Bonjour")
    with after_commit():
        feed_actions.do_create_comment(alice, post.id, body="Précision : samedi")
    assert not Notification.objects.exists() and mail.outbox == []


def test_an_urgent_post_alerts_every_member_of_the_neighbourhood_but_its_author(home, alice, bob, nadia, zoe,
                                                                               after_commit):
    others = [member(home, f"Voisin Numero{i}") for i in range(3)]
    with after_commit():
        post = feed_actions.do_create_post(alice, category="urgent", title="Fuite de gaz rue Vieille",
                                           body="Évitez la rue.")
    alerted = set(Notification.objects.filter(type="urgent_alert").values_list("recipient_id", flat=True))
    assert alerted == {bob.id, *(o.id for o in others)}
    assert Notification.objects.filter(recipient=bob).get().payload["title"] == "Fuite de gaz rue Vieille"
    assert OutboundEmail.objects.filter(kind="urgent_alert").count() == 4
    assert {m.to[0] for m in mail.outbox} >= {"bob@example.org"}
    assert "alice@example.org" not in {m.to[0] for m in mail.outbox}
    assert fanout.Fanout.objects.get(post_id=post.id).done_at is not None


def test_an_urgent_nearby_post_reaches_those_who_read_it_from_next_door_only(home, nearby, alice, nadia, after_commit):
    reader = MemberFactory(neighbourhood=nearby, verified=True, display_name="Rémi Lecteur")
    reader.reads_nearby.add(home)
    with after_commit():
        feed_actions.do_create_post(alice, category="urgent", title="Arbre tombé", body="Rue bloquée",
                                    audience="nearby")
    alerted = set(Notification.objects.filter(type="urgent_alert").values_list("recipient_id", flat=True))
    assert alerted == {reader.id}  # Nadia lives next door but does not read Saint-Gervais


def test_running_a_fan_out_again_notifies_nobody_twice(home, alice, bob, after_commit):
    with after_commit():
        post = feed_actions.do_create_post(alice, category="urgent", title="Coupure d'eau", body="Jusqu'à 18 h")
    assert fanout.run(post.id) == 0
    assert Notification.objects.filter(recipient=bob, type="urgent_alert").count() == 1
    assert OutboundEmail.objects.filter(recipient=bob).count() == 1


def test_a_fan_out_left_unfinished_is_run_again_by_the_sweep(home, alice, bob):
    post = feed_actions.do_create_post(alice, category="urgent", title="Coupure d'eau", body="Jusqu'à 18 h")
    fanout.Fanout.objects.create(post_id=post.id)  # as if the consumer died before the job ran
    fanout.Fanout.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    from entraide.notifications import tasks

    tasks.sweep.call_local()
    assert Notification.objects.filter(recipient=bob, type="urgent_alert").count() == 1
    assert fanout.Fanout.objects.get().done_at is not None


def test_a_general_post_notifies_nobody(alice, bob, after_commit):
    with after_commit():
        feed_actions.do_create_post(alice, category="general", title="Bonjour", body="Bienvenue")
    assert not Notification.objects.exists()


def test_each_notification_is_announced_to_its_recipient_only_with_the_unread_count(alice, bob, nadia, after_commit,
                                                                                   published):
    with after_commit():
        _message(12, 1, alice, [alice, bob, nadia])
        _message(14, 2, nadia, [nadia, bob])
    created = [e for e in published if e["type"] == "notification.created"]
    assert sorted((e["member_ids"][0], e["data"]["unread_count"]) for e in created) == sorted(
        [(bob.id, 1), (nadia.id, 1), (bob.id, 2)])
    assert all(set(e["data"]) == {"notification_id", "type", "unread_count"} for e in created)


def test_a_failing_subscriber_never_breaks_the_write(alice, bob, after_commit, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("boom with private text")

    monkeypatch.setattr(actions, "notify", broken)
    post = feed_actions.do_create_post(alice, category="general", title="Annonce", body="Bonjour")
    with caplog.at_level(logging.ERROR), after_commit():
        comment = feed_actions.do_create_comment(bob, post.id, body="Réponse")
    assert comment.pk and type(comment).objects.filter(pk=comment.pk).exists()
    assert "RuntimeError" in caplog.text and "private text" not in caplog.text


def test_payloads_and_emails_never_carry_addresses_or_message_bodies(home, alice, after_commit):
    paul = helper_of(home, "Paul Aidant")
    alice.address_text = "12 Rue François Miron"
    alice.save()
    ask(alice, after_commit, contact_note="Code porte 4521")
    with after_commit():
        _message(12, 1, alice, [alice, paul])
    for note in Notification.objects.all():
        assert "Miron" not in str(note.payload) and "4521" not in str(note.payload)
    for row in OutboundEmail.objects.all():
        assert "Miron" not in row.text + row.html and "4521" not in row.text + row.html


def test_helpers_asked_but_not_chosen_are_not_told_who_took_the_request(home, alice, after_commit, settings):
    settings.ENTRAIDE_AID_NOTIFY_FIRST = 2
    paul, rita = helper_of(home, "Paul Aidant"), helper_of(home, "Rita Voisine")
    req = ask(alice, after_commit)
    with after_commit():
        aid_actions.do_accept(paul, req.id)
    told = Notification.objects.get(recipient=rita, type="request_update")
    assert told.payload["role"] == "asked" and told.payload["name"] == ""
    assert Notification.objects.get(recipient=alice, type="request_update").payload["name"] == "Paul A."
    email = OutboundEmail.objects.get(recipient=rita, kind="request_update")
    assert "Paul" not in email.subject + email.text + email.html


def test_an_urgent_post_without_a_title_and_with_line_breaks_is_still_emailed(home, alice, bob, after_commit):
    with after_commit():
        feed_actions.do_create_post(alice, category="urgent", title="", body="Fuite de gaz\n\nÉvitez la rue Vieille")
    row = OutboundEmail.objects.get(recipient=bob, kind="urgent_alert")
    assert "\n" not in row.subject and "Fuite de gaz" in row.subject
    assert row.status == "sent" and [m.to for m in mail.outbox] == [["bob@example.org"]]


def test_notifying_many_members_costs_the_same_queries_as_notifying_two(home, alice, after_commit,
                                                                          django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost(recipients) -> int:
        with CaptureQueriesContext(connection) as seen:
            actions.notify([m.id for m in recipients], "message", payload={"name": "Alice M.", "conversation_id": 9},
                           url="/messages/9/", thread="conversation:9", coalesce=True,
                           dedupe=lambda m: f"message:conversation:9:{m.id}:{len(recipients)}")
        return len(seen)

    few = [member(home, f"Voisin Petit{i}", user__email=f"p{i}@example.org") for i in range(2)]
    many = [member(home, f"Voisin Grand{i}", user__email=f"g{i}@example.org") for i in range(12)]
    assert cost(many) == cost(few)
    assert Notification.objects.filter(recipient__in=many).count() == 12
    assert OutboundEmail.objects.filter(recipient__in=many).count() == 12


def test_coalescing_by_email_only_looks_at_that_members_own_thread(alice, bob, after_commit):
    # Bob reads messages by email only; an email of conversation 12 must not hold back one of conversation 1.
    actions.do_update_settings(bob, channels={"message": {"in_app": False, "email": True}})
    with after_commit():
        _message(12, 1, alice, [alice, bob])
        _message(1, 2, alice, [alice, bob])
        _message(1, 3, alice, [alice, bob])
    keys = sorted(OutboundEmail.objects.filter(recipient=bob).values_list("dedupe_key", flat=True))
    assert keys == [f"message:conversation:12:{bob.id}:1", f"message:conversation:1:{bob.id}:2"]
