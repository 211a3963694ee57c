"""The notifications API: my notifications only, marking read, settings and their validation."""
from __future__ import annotations

import pytest

from entraide.notifications import actions, queries
from entraide.notifications.models import Notification, NotificationSettings

from .conftest import client_for

pytestmark = pytest.mark.django_db


def note(m, text_name: str = "Bruno L.", **kw) -> Notification:
    return Notification.objects.create(recipient=m, neighbourhood_id=m.neighbourhood_id, type=kw.pop("type", "message"),
                                       payload={"name": text_name, "conversation_id": 1}, url="/messages/", **kw)


def test_i_list_my_notifications_newest_first_with_the_unread_count(alice, bob):
    mine = [note(alice) for _ in range(3)]
    note(bob)
    body = client_for(alice).get("/api/v1/notifications?limit=2").json()
    assert [i["id"] for i in body["items"]] == [mine[2].id, mine[1].id]
    assert body["unread_count"] == 3
    assert body["items"][0]["text"] == "New message from Bruno L." and body["items"][0]["read_at"] is None
    rest = client_for(alice).get(f"/api/v1/notifications?limit=2&cursor={body['next_cursor']}").json()
    assert [i["id"] for i in rest["items"]] == [mine[0].id] and rest["next_cursor"] is None


def test_a_malformed_cursor_is_refused(alice):
    answer = client_for(alice).get("/api/v1/notifications?cursor=abc")
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_cursor"


def test_marking_read_touches_my_notifications_only(alice, bob):
    mine, theirs = note(alice), note(bob)
    answer = client_for(alice).post("/api/v1/notifications/read", {"ids": [mine.id, theirs.id]},
                                    content_type="application/json")
    assert answer.status_code == 200 and answer.json() == {"marked": 1, "unread_count": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_all_read(alice, bob):
    for _ in range(3):
        note(alice)
    note(bob)
    answer = client_for(alice).post("/api/v1/notifications/read", {"all": True}, content_type="application/json")
    assert answer.json() == {"marked": 3, "unread_count": 0}
    assert Notification.objects.filter(recipient=bob, read_at__isnull=True).count() == 1


def test_the_api_needs_a_logged_in_member():
    from django.test import Client

    assert Client().get("/api/v1/notifications").status_code == 401
    assert Client().get("/api/v1/notifications/settings").json()["code"] == "not_authenticated"


def test_the_default_settings_are_everything_on_home_followed_and_quiet_nights(alice, settings):
    settings.ENTRAIDE_QUIET_HOURS = "22:00-07:00"
    body = client_for(alice).get("/api/v1/notifications/settings").json()
    assert body["channels"]["match"] == {"in_app": True, "email": True}
    assert set(body["channels"]) == {"match", "request_update", "message", "reply", "urgent_alert"}
    assert body["digest"] is True and body["neighbourhoods"] == [] and body["digest_categories"] == []
    assert (body["quiet_hours_start"], body["quiet_hours_end"]) == ("22:00", "07:00")
    assert not NotificationSettings.objects.exists()  # nothing written by a read


def _put(m, **fields):
    body = {"channels": {"reply": {"in_app": True, "email": False}}, "digest": True, "neighbourhoods": [],
            "digest_categories": [], "quiet_hours_start": "23:00", "quiet_hours_end": "06:30",
            "unsubscribed": False, **fields}
    return client_for(m).put("/api/v1/notifications/settings", body, content_type="application/json")


def test_i_replace_my_settings_and_read_them_back(alice, nearby):
    alice.reads_nearby.add(nearby)
    answer = _put(alice, neighbourhoods=[nearby.id, alice.neighbourhood_id], digest_categories=["urgent", "safety"])
    assert answer.status_code == 200
    body = answer.json()
    assert body["channels"]["reply"] == {"in_app": True, "email": False}
    assert body["channels"]["match"] == {"in_app": True, "email": True}
    assert body["neighbourhoods"] == [nearby.id, alice.neighbourhood_id]
    assert (body["quiet_hours_start"], body["quiet_hours_end"]) == ("23:00", "06:30")
    assert client_for(alice).get("/api/v1/notifications/settings").json() == body


def test_a_neighbourhood_i_do_not_read_cannot_be_followed(alice, nearby, far):
    for place in (far, nearby):  # nearby exists but Alice does not read it
        answer = _put(alice, neighbourhoods=[place.id])
        assert answer.status_code == 422
        assert answer.json()["code"] == "neighbourhood_not_readable"
        assert "neighbourhoods" in answer.json()["fields"]
    assert not NotificationSettings.objects.exists()


@pytest.mark.parametrize("start,end,field", [("25:00", "07:00", "quiet_hours_start"),
                                             ("22h", "07:00", "quiet_hours_start"),
                                             ("22:00", "7:5", "quiet_hours_end"),
                                             ("22:00", None, "quiet_hours_end")])
def test_quiet_hours_must_be_two_hh_mm_times(alice, start, end, field):
    answer = _put(alice, quiet_hours_start=start, quiet_hours_end=end)
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_quiet_hours"
    assert list(answer.json()["fields"]) == [field]


def test_no_quiet_hours_at_all_is_allowed(alice):
    answer = _put(alice, quiet_hours_start=None, quiet_hours_end=None)
    assert answer.status_code == 200 and answer.json()["quiet_hours_start"] is None


def test_unknown_kinds_channels_and_categories_are_refused(alice):
    assert _put(alice, channels={"lottery": {"email": True}}).json()["code"] == "unknown_notification_type"
    assert _put(alice, digest_categories=["gossip"]).json()["code"] == "invalid_category"
    bad = _put(alice, digest="maybe")
    assert bad.status_code == 422 and "digest" in bad.json()["fields"]
    assert not NotificationSettings.objects.exists()


@pytest.mark.parametrize("cursor", ["²", "١٢", "-1", "1e3", "9" * 25])
def test_a_cursor_of_other_digits_or_too_many_is_refused_with_its_code(alice, cursor):
    body = client_for(alice).get("/api/v1/notifications", {"cursor": cursor})
    assert body.status_code == 422 and body.json()["code"] == "invalid_cursor"


def test_marking_read_ids_no_row_can_have_marks_nothing_and_does_not_crash(alice, bob):
    mine = note(alice)
    answer = client_for(alice).post("/api/v1/notifications/read", {"ids": [10 ** 30, -5, 0, mine.id]},
                                    content_type="application/json")
    assert answer.status_code == 200 and answer.json()["marked"] == 1


def test_saving_settings_is_rate_limited(alice):
    client = client_for(alice)

    def put(body):
        return client.put("/api/v1/notifications/settings", body, content_type="application/json")

    for _ in range(actions.SETTINGS_LIMIT[0]):
        assert put({"digest": False}).status_code == 200
    answer = put({"digest": True})
    assert answer.status_code == 429 and answer.json()["code"] == "rate_limited" and answer["Retry-After"]
    assert queries.settings_of(alice).digest is False
