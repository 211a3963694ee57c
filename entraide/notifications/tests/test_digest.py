"""The daily digest: what the member follows, nothing when nothing is new, idempotent per member and day."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from entraide.aid.factories import HelpRequestFactory
from entraide.feed.factories import CrisisFactory, PostFactory
from entraide.notifications import actions, digest, tasks
from entraide.notifications.models import OutboundEmail

from .conftest import member

pytestmark = pytest.mark.django_db


def post(author, title: str, **kw):
    return PostFactory(author=author, title=title, body=kw.pop("body", f"{title} : les détails suivent."), **kw)


def digest_of(m) -> OutboundEmail:
    return OutboundEmail.objects.get(recipient=m, kind="digest")


def test_the_digest_lists_the_new_posts_of_my_neighbourhood_with_links(alice, bob, zoe):
    p = post(bob, "Vide-grenier samedi", category="give_lend")
    post(zoe, "Fête de quartier à Combat")
    HelpRequestFactory(requester=bob)
    counts = digest.build_digests()
    assert counts["written"] == 3  # alice, bob, zoe: each has something new
    row = digest_of(alice)
    assert "Vide-grenier samedi" in row.text and f"https://entraide.example/feed/posts/{p.id}/" in row.text
    assert "Give or lend" in row.text and "1 new request for help is waiting" in row.text
    assert "Fête de quartier" not in row.text + row.html
    assert "Vide-grenier samedi" in row.html and row.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Fête de quartier à Combat" in digest_of(zoe).text


def test_members_with_nothing_new_get_no_digest(alice, zoe):
    post(zoe, "Fête de quartier à Combat")
    old = post(alice, "Vieille annonce")
    type(old).objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=2))
    counts = digest.build_digests()
    assert counts["empty"] == 1
    assert not OutboundEmail.objects.filter(recipient=alice).exists()


def test_running_the_digest_again_the_same_day_sends_nothing_twice(alice, bob):
    post(bob, "Vide-grenier samedi")
    call_command("send_digests")
    assert len(mail.outbox) == 2
    again = digest.build_digests()
    assert again["written"] == 0 and again["already"] == 2
    call_command("send_digests")
    assert len(mail.outbox) == 2
    assert OutboundEmail.objects.filter(kind="digest").count() == 2


def test_force_writes_the_digest_again_for_the_demo(alice, bob):
    post(bob, "Vide-grenier samedi")
    digest.build_digests()
    assert digest.build_digests(force=True, now=timezone.now() + timedelta(seconds=2))["written"] == 2


def test_a_member_with_the_digest_off_or_unsubscribed_gets_none(alice, bob, home):
    carla = member(home, "Carla Durand", user__email="carla@example.org")
    post(bob, "Vide-grenier samedi")
    actions.do_update_settings(alice, digest=False)
    actions.do_update_settings(carla, unsubscribed=True)
    counts = digest.build_digests()
    assert counts["off"] == 2
    assert list(OutboundEmail.objects.values_list("recipient_id", flat=True)) == [bob.id]


def test_only_the_categories_i_want_are_in_my_digest(alice, bob):
    post(bob, "Chat perdu rue Vieille", category="lost_found")
    post(bob, "Conseil jardinage", category="advice")
    actions.do_update_settings(alice, digest_categories=["lost_found"])
    digest.build_digests()
    text = digest_of(alice).text
    assert "Chat perdu" in text and "Conseil jardinage" not in text


def test_a_nearby_neighbourhood_i_follow_brings_only_its_posts_open_to_neighbours(alice, nadia, nearby):
    alice.reads_nearby.add(nearby)
    actions.do_update_settings(alice, neighbourhoods=[alice.neighbourhood_id, nearby.id])
    post(nadia, "Brocante ouverte aux voisins", audience="nearby")
    post(nadia, "Réunion des copropriétaires", audience="neighbourhood")
    digest.build_digests()
    text = digest_of(alice).text
    assert "Brocante ouverte aux voisins" in text and "Réunion des copropriétaires" not in text
    assert nearby.name in text


def test_a_neighbourhood_i_no_longer_read_drops_out_of_my_digest(alice, nadia, nearby):
    alice.reads_nearby.add(nearby)
    actions.do_update_settings(alice, neighbourhoods=[nearby.id])
    alice.reads_nearby.remove(nearby)
    post(nadia, "Brocante ouverte aux voisins", audience="nearby")
    digest.build_digests()
    assert not OutboundEmail.objects.filter(recipient=alice).exists()


def test_the_crisis_banner_is_in_the_digest(alice, bob):
    CrisisFactory(name="Canicule", banner="Pensez à vos voisins isolés.")
    post(bob, "Distribution d'eau")
    digest.build_digests()
    assert "Canicule · Pensez à vos voisins isolés." in digest_of(alice).text


def test_a_french_member_gets_a_french_digest(home, bob):
    francoise = member(home, "Françoise Roux", language="fr", user__email="francoise@example.org")
    post(bob, "Conseil", category="advice")
    digest.build_digests()
    row = digest_of(francoise)
    assert row.language == "fr" and "Conseils et astuces" in row.text and '<html lang="fr">' in row.html
    assert "Advice and tips" in digest_of(bob).text


def test_a_digest_in_my_quiet_hours_waits_until_they_end(alice, bob):
    local = timezone.localtime()
    start, end = (local - timedelta(hours=1)).strftime("%H:%M"), (local + timedelta(hours=1)).strftime("%H:%M")
    actions.do_update_settings(alice, quiet_hours=(start, end))
    post(bob, "Vide-grenier samedi")
    digest.build_digests()
    assert digest_of(alice).next_attempt_at > timezone.now()
    assert digest_of(bob).next_attempt_at <= timezone.now()


def test_a_past_day_covers_the_24_hours_before_its_digest_hour(alice, bob, settings):
    settings.ENTRAIDE_DIGEST_HOUR = 7
    p = post(bob, "Annonce d'avant-hier")
    day = timezone.localdate() - timedelta(days=2)
    seven = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=7)
    type(p).objects.filter(id=p.id).update(created_at=seven - timedelta(hours=3))
    call_command("send_digests", "--date", day.isoformat(), "--no-send")
    assert OutboundEmail.objects.get(recipient=alice).dedupe_key == f"digest:{alice.id}:{day.isoformat()}"
    assert mail.outbox == []


def test_the_digest_job_runs_at_the_digest_hour_local_time(settings):
    settings.ENTRAIDE_DIGEST_HOUR = 7
    # 06:00 UTC is 07:00 in Paris in winter, 08:00 in summer; huey gives naive UTC datetimes.
    assert tasks.digest_time(datetime(2024, 1, 15, 6, 0))
    assert not tasks.digest_time(datetime(2024, 1, 15, 6, 1))
    assert tasks.digest_time(datetime(2024, 7, 15, 5, 0)) and not tasks.digest_time(datetime(2024, 7, 15, 6, 0))


def test_at_risk_requests_are_counted_for_verified_members_only(home, bob):
    from entraide.accounts.factories import MemberFactory

    verified = member(home, "Vera Verifiee", user__email="vera@example.org")
    unverified = MemberFactory(neighbourhood=home, display_name="Ugo Nonverifie", language="en",
                               user__email="ugo@example.org")
    HelpRequestFactory(requester=bob, at_risk=True)
    HelpRequestFactory(requester=bob, at_risk=False)
    digest.build_digests()
    assert "2 new requests for help are waiting" in digest_of(verified).text
    assert "1 new request for help is waiting" in digest_of(unverified).text


def test_a_member_who_could_only_see_an_at_risk_request_gets_no_digest(home, bob):
    from entraide.accounts.factories import MemberFactory

    unverified = MemberFactory(neighbourhood=home, display_name="Ugo Nonverifie", language="en",
                               user__email="ugo@example.org")
    HelpRequestFactory(requester=bob, at_risk=True)
    counts = digest.build_digests()
    assert not OutboundEmail.objects.filter(recipient=unverified).exists()
    assert "new request" in digest_of(bob).text and counts["empty"] >= 1


def _at(hour: int) -> datetime:
    local = timezone.localtime().replace(hour=hour, minute=5, second=0, microsecond=0)
    return local


def test_a_digest_run_a_killed_consumer_left_half_done_is_finished_by_the_sweep(alice, bob, zoe, settings,
                                                                               monkeypatch):
    import functools

    from entraide.notifications.models import DigestRun

    settings.ENTRAIDE_DIGEST_HOUR = 7
    now = _at(8)
    for author, title in ((bob, "Vide-grenier samedi"), (zoe, "Concert au parc")):
        p = post(author, title)
        type(p).objects.filter(id=p.id).update(created_at=now.replace(hour=6))
    real_build, real_row, calls = digest.build_digests, digest._digest_row, []

    def dies_at_the_second_member(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("consumer killed")
        return real_row(*args, **kwargs)

    # One member per batch, so the first member's digest is written before the worker dies.
    monkeypatch.setattr(digest, "build_digests", functools.partial(real_build, batch=1))
    monkeypatch.setattr(digest, "_digest_row", dies_at_the_second_member)
    with pytest.raises(SystemExit):
        digest.run_due(now)
    monkeypatch.setattr(digest, "_digest_row", real_row)
    assert list(OutboundEmail.objects.filter(kind="digest").values_list("recipient_id", flat=True)) == [alice.id]
    assert digest.run_due(now + timedelta(minutes=1)) is None  # the lease still holds: nobody runs it twice
    assert digest.run_due(now + digest.RUN_LEASE + timedelta(minutes=1))["written"] == 2
    assert sorted(OutboundEmail.objects.filter(kind="digest").values_list("recipient_id", flat=True)) == sorted(
        [alice.id, bob.id, zoe.id])
    assert DigestRun.objects.get().finished_at is not None
    assert digest.run_due(now + timedelta(hours=2)) is None  # finished: the sweep leaves it alone


def test_before_the_digest_hour_the_sweep_writes_no_digest(alice, bob, settings):
    settings.ENTRAIDE_DIGEST_HOUR = 7
    post(bob, "Vide-grenier samedi")
    assert digest.run_due(_at(6)) is None
    assert not OutboundEmail.objects.filter(kind="digest").exists()


def test_a_consumer_down_at_the_digest_hour_still_sends_the_digest_at_its_next_sweep(alice, bob, settings,
                                                                                    monkeypatch):
    settings.ENTRAIDE_DIGEST_HOUR = 7
    later = _at(11)
    p = post(bob, "Vide-grenier samedi")
    type(p).objects.filter(id=p.id).update(created_at=later.replace(hour=6))
    monkeypatch.setattr(tasks.timezone, "now", lambda: later)
    monkeypatch.setattr(digest.timezone, "now", lambda: later)
    tasks.sweep.call_local()
    assert OutboundEmail.objects.filter(kind="digest", recipient=alice).exists()
