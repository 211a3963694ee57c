"""Pages: the list, following a notification, the bell, settings, and the one-click unsubscribe page."""
from __future__ import annotations

import pytest
from django.core import signing
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from entraide.notifications import actions, emails, prefs
from entraide.notifications.models import Notification, NotificationSettings, OutboundEmail
from entraide.notifications.queries import settings_of

from .conftest import client_for

pytestmark = pytest.mark.django_db


def note(m, **kw) -> Notification:
    return Notification.objects.create(recipient=m, neighbourhood_id=m.neighbourhood_id, type="reply",
                                       payload={"name": "Bruno L.", "title": "Vide-grenier", "to": "post"},
                                       url=kw.pop("url", "/feed/"), **kw)


def test_the_list_shows_my_notifications_and_following_one_marks_it_read(alice, bob):
    mine = note(alice, url="/feed/posts/3/")
    note(bob)
    client = client_for(alice)
    page = client.get("/notifications/")
    assert page.status_code == 200
    assert "Bruno L. replied to your post “Vide-grenier”" in page.content.decode()
    assert page.content.decode().count('class="notification ') == 1
    answer = client.get(f"/notifications/{mine.id}/")
    assert answer.status_code == 302 and answer["Location"] == "/feed/posts/3/"
    mine.refresh_from_db()
    assert mine.read_at is not None


def test_another_members_notification_cannot_be_opened(alice, bob):
    theirs = note(bob)
    assert client_for(alice).get(f"/notifications/{theirs.id}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_is_a_post_and_marks_only_mine(alice, bob):
    note(alice)
    note(alice)
    theirs = note(bob)
    client = client_for(alice)
    assert client.get("/notifications/read/").status_code == 405
    assert client.post("/notifications/read/").status_code == 302
    assert not Notification.objects.filter(recipient=alice, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_pages_need_a_login():
    assert Client().get("/notifications/").status_code == 302
    assert Client().get("/notifications/settings/").status_code == 302


def test_the_bell_shows_my_unread_count_with_one_query_and_refreshes_with_htmx(alice):
    note(alice)
    note(alice)
    client = client_for(alice)
    client.get("/feed/")  # warm the session and the member
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/feed/")
    request.user = alice.user
    alice.user.member  # noqa: B018 - the core processor loads it for every page already
    with CaptureQueriesContext(connection) as queries:
        html = render_to_string("notifications/bell.html", request=request)
    assert len(queries) == 1 and "notifications_notification" in queries[0]["sql"]
    assert 'id="bell-count">2<' in html
    assert 'hx-trigger="live-notification-created from:body"' in html and 'href="/notifications/"' in html
    fragment = client.get("/notifications/bell/")
    assert fragment.status_code == 200 and 'id="bell-count">2<' in fragment.content.decode()


def test_anonymous_visitors_get_no_bell_and_no_query():
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with CaptureQueriesContext(connection) as queries:
        html = render_to_string("notifications/bell.html", request=request)
    assert "notification-bell" not in html
    assert len(queries) == 0


def test_the_settings_page_saves_my_choices(alice, nearby):
    alice.reads_nearby.add(nearby)
    client = client_for(alice)
    page = client.get("/notifications/settings/")
    assert page.status_code == 200 and nearby.name in page.content.decode()
    form = {"digest": "on", "neighbourhoods": [nearby.id], "digest_categories": ["urgent"],
            "quiet_hours_start": "21:00", "quiet_hours_end": "08:00", "match__in_app": "on", "match__email": "on",
            "message__in_app": "on"}
    answer = client.post("/notifications/settings/", form)
    assert answer.status_code == 302
    p = settings_of(alice)
    assert p.neighbourhoods == [nearby.id] and p.digest_categories == ["urgent"]
    assert p.wants("match", "email") and not p.wants("message", "email") and not p.wants("reply", "in_app")
    assert p.quiet_start.hour == 21 and p.quiet_end.hour == 8


def test_the_settings_page_refuses_a_neighbourhood_i_do_not_read_and_bad_times(alice, far):
    answer = client_for(alice).post("/notifications/settings/", {"neighbourhoods": [far.id], "quiet_hours_start": "9"})
    assert answer.status_code == 400
    assert not NotificationSettings.objects.exists()
    answer = client_for(alice).post("/notifications/settings/", {"quiet_hours_start": "9h", "quiet_hours_end": "07:00"})
    assert answer.status_code == 400 and "HH:MM" in answer.content.decode()


def _token(m, kind="message") -> str:
    return emails.unsubscribe_token(m.id, kind)


def test_opening_the_unsubscribe_link_only_asks_for_confirmation(alice):
    answer = Client().get(f"/notifications/unsubscribe/{_token(alice)}/")
    assert answer.status_code == 200 and 'name="List-Unsubscribe" value="One-Click"' in answer.content.decode()
    assert settings_of(alice).wants("message", "email") and not NotificationSettings.objects.exists()


def test_one_click_unsubscribe_turns_that_kind_of_email_off_without_a_session(alice):
    client = Client(enforce_csrf_checks=True)
    answer = client.post(f"/notifications/unsubscribe/{_token(alice)}/", {"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    p = settings_of(alice)
    assert not p.wants("message", "email") and p.wants("match", "email") and p.wants("message", "in_app")


def test_unsubscribing_from_everything_stops_every_email_and_withdraws_waiting_ones(alice, bob):
    waiting = emails.notification_email(member=alice, type="match", payload={}, url="/aid/", dedupe_key="w",
                                        prefs=prefs.defaults())
    waiting.save()
    answer = Client().post(f"/notifications/unsubscribe/{_token(alice)}/",
                           {"List-Unsubscribe": "One-Click", "scope": "all"})
    assert answer.status_code == 200 and settings_of(alice).unsubscribed
    waiting.refresh_from_db()
    assert waiting.status == "failed" and waiting.last_error == "Unsubscribed"
    actions.notify([alice.id], "match", payload={}, url="/aid/", thread="request:1", dedupe=lambda m: f"x:{m.id}")
    assert not OutboundEmail.objects.exclude(id=waiting.id).exists()


def test_the_digest_link_turns_the_digest_off(alice):
    Client().post(f"/notifications/unsubscribe/{_token(alice, 'digest')}/", {"List-Unsubscribe": "One-Click"})
    p = settings_of(alice)
    assert not p.digest and not p.unsubscribed


def test_a_forged_or_altered_token_is_refused(alice, bob):
    forged = signing.dumps({"m": bob.id, "k": ""}, salt="another.salt")
    altered = _token(alice)[:-2] + "xx"
    for token in (forged, altered, "nonsense"):
        assert Client().get(f"/notifications/unsubscribe/{token}/").status_code == 400
        assert Client().post(f"/notifications/unsubscribe/{token}/",
                             {"List-Unsubscribe": "One-Click"}).status_code == 400
    assert not NotificationSettings.objects.exists()


def test_a_post_without_the_one_click_body_only_asks_again_and_logs_no_token(alice, caplog):
    token = _token(alice)
    answer = Client().post(f"/notifications/unsubscribe/{token}/", {})
    assert answer.status_code == 200 and 'id="unsubscribe-form"' in answer.content.decode()
    assert not NotificationSettings.objects.exists()
    assert token not in caplog.text  # a 4xx answer would have put the valid token in the request log


@pytest.mark.parametrize("kind", ["sms", "digest2", "message "])
def test_a_signed_token_of_a_kind_never_issued_is_refused_not_read_as_every_email(alice, kind):
    token = _token(alice, kind)
    assert Client().get(f"/notifications/unsubscribe/{token}/").status_code == 400
    assert Client().post(f"/notifications/unsubscribe/{token}/", {"List-Unsubscribe": "One-Click"}).status_code == 400
    assert not NotificationSettings.objects.exists()


@pytest.mark.parametrize("kind, asked, done", [
    ("message", "Stop receiving new-message emails?", "you will no longer receive new-message emails."),
    ("digest", "Stop receiving daily digest emails?", "you will no longer receive daily digest emails."),
    ("urgent_alert", "Stop receiving urgent-alert emails?", "you will no longer receive urgent-alert emails."),
    ("", "Stop receiving any email from Entraide?", "you will no longer receive any email from Entraide."),
])
def test_the_unsubscribe_page_names_the_emails_it_stops(alice, kind, asked, done):
    url = f"/notifications/unsubscribe/{_token(alice, kind)}/"
    assert asked in Client().get(url).content.decode()
    assert done in Client().post(url, {"List-Unsubscribe": "One-Click"}).content.decode()


def test_only_the_unsubscribe_view_is_exempt_from_csrf():
    from entraide.messaging import urls as messaging_urls
    from entraide.notifications import urls

    exempt = {p.name for p in [*urls.urlpatterns, *messaging_urls.urlpatterns]
              if getattr(p.callback, "csrf_exempt", False)}
    assert exempt == {"notifications_unsubscribe"}


@pytest.mark.parametrize("cursor", ["²", "١٢", "12a", "9" * 40])
def test_a_tampered_cursor_on_the_list_page_is_a_404_not_a_crash(alice, cursor):
    assert client_for(alice).get("/notifications/", {"cursor": cursor}).status_code == 404


def test_the_unsubscribe_page_speaks_the_language_of_the_member_it_was_sent_to(alice):
    alice.language = "fr"
    alice.save()
    url = f"/notifications/unsubscribe/{_token(alice, 'digest')}/"
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(url).content.decode()
    assert "Ne plus recevoir les e-mails du résumé quotidien ?" in page
