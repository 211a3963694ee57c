"""The engine: who is asked first, widening, escalation to the informer, expiry."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from entraide.aid import actions
from entraide.aid.factories import HelpOfferFactory
from entraide.aid.models import Escalation, EventKind, MatchProposal, RequestStatus
from entraide.core import events

from .conftest import member_at

pytestmark = pytest.mark.django_db(transaction=False)


def _ask(requester, window, **kw):
    kw.setdefault("type", "pharmacy")
    kw.setdefault("description", "Chercher mon ordonnance à la pharmacie")
    return actions.do_create_request(requester, **window, **kw)


def test_the_nearest_suitable_helpers_are_asked_first(home, requester, window, settings):
    settings.ENTRAIDE_AID_NOTIFY_FIRST = 2
    near = HelpOfferFactory(helper=member_at(home, "Paul Near", north_m=300))
    mid = HelpOfferFactory(helper=member_at(home, "Zoe Mid", north_m=600))
    HelpOfferFactory(helper=member_at(home, "Far Away", north_m=900))
    HelpOfferFactory(helper=member_at(home, "Dog Walker", north_m=100), types=["pet_walking"])
    req = _ask(requester, window)
    asked = list(MatchProposal.objects.filter(request=req).order_by("rank").values_list("helper_id", flat=True))
    assert asked == [near.helper_id, mid.helper_id]
    assert req.status == RequestStatus.PROPOSED
    assert req.next_check_at is not None


def test_a_helper_at_full_weekly_capacity_is_not_asked(home, requester, window):
    busy = HelpOfferFactory(helper=member_at(home, "Busy Bee", north_m=200), capacity_per_week=1)
    other = member_at(home, "Other Person")
    first = actions.do_create_request(other, type="pharmacy", description="Ordonnance", **window)
    actions.do_accept(busy.helper, first.id)
    req = _ask(requester, window)
    assert not MatchProposal.objects.filter(request=req, helper=busy.helper).exists()


def test_an_unavailable_helper_is_not_asked(home, requester):
    start = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=2)
    wrong_day = (start.weekday() + 1) % 7
    HelpOfferFactory(helper=member_at(home, "Sunday Only", north_m=200),
                     slots=[{"weekday": wrong_day, "start": "09:00", "end": "18:00"}])
    ok = HelpOfferFactory(helper=member_at(home, "Right Day", north_m=500),
                          slots=[{"weekday": start.weekday(), "start": "09:00", "end": "12:00"}])
    req = _ask(requester, {"window_start": start, "window_end": start + timedelta(hours=1)})
    assert list(MatchProposal.objects.filter(request=req).values_list("helper_id", flat=True)) == [ok.helper_id]


def test_nobody_near_widens_then_escalates_to_the_informer(home, requester, window):
    heard = []
    events.event_published.connect(lambda event, **kw: heard.append(event["type"]), weak=False,
                                   dispatch_uid="aid-test-escalation")
    try:
        req = _ask(requester, window)
    finally:
        events.event_published.disconnect(dispatch_uid="aid-test-escalation")
    req.refresh_from_db()
    assert req.escalation == Escalation.INFORMER
    assert req.status == RequestStatus.OPEN
    kinds = list(req.history.values_list("kind", flat=True))
    assert kinds == [EventKind.CREATED, EventKind.WIDENED, EventKind.ESCALATED]


def test_a_helper_who_does_not_answer_in_time_leads_to_a_wider_search(home, requester, window, settings):
    HelpOfferFactory(helper=member_at(home, "Slow Sam", north_m=300))
    walker = HelpOfferFactory(helper=member_at(home, "Long Walker", north_m=2000), radius_m=3000)
    req = _ask(requester, {**window, "urgency": "urgent"})
    assert not MatchProposal.objects.filter(request=req, helper=walker.helper).exists()
    # Not yet due: nothing moves.
    assert actions.do_tick(timezone.now() + timedelta(minutes=5))["advanced"] == 0
    later = timezone.now() + timedelta(minutes=settings.ENTRAIDE_AID_DELAYS_MINUTES["urgent"] + 1)
    assert actions.do_tick(later)["advanced"] == 1
    req.refresh_from_db()
    assert req.escalation == Escalation.WIDENED
    assert MatchProposal.objects.filter(request=req, helper=walker.helper).exists()
    # Still nobody: the informer hears of it on the next check.
    actions.do_tick(later + timedelta(minutes=settings.ENTRAIDE_AID_DELAYS_MINUTES["urgent"] + 1))
    req.refresh_from_db()
    assert req.escalation == Escalation.INFORMER


def test_a_request_whose_window_is_over_expires_and_its_helpers_are_released(home, requester, window):
    HelpOfferFactory(helper=member_at(home, "Paul Near", north_m=300))
    req = _ask(requester, window)
    assert actions.do_tick(window["window_end"] + timedelta(minutes=1))["expired"] == 1
    req.refresh_from_db()
    assert req.status == RequestStatus.EXPIRED
    assert set(req.proposals.values_list("answer", flat=True)) == {"closed"}


def test_the_first_to_accept_gets_it_and_the_others_are_told(home, requester, window):
    a = HelpOfferFactory(helper=member_at(home, "Anna A", north_m=300))
    b = HelpOfferFactory(helper=member_at(home, "Bert B", north_m=400))
    req = _ask(requester, window)
    actions.do_accept(a.helper, req.id)
    from entraide.core.errors import Conflict
    with pytest.raises(Conflict) as err:
        actions.do_accept(b.helper, req.id)
    assert err.value.code == "already_taken"
    req.refresh_from_db()
    assert req.helper_id == a.helper_id and req.status == RequestStatus.MATCHED
    assert MatchProposal.objects.get(request=req, helper=b.helper).answer == "taken"


def test_a_helper_who_withdraws_counts_as_dropped_and_others_are_asked(home, requester, window):
    a = HelpOfferFactory(helper=member_at(home, "Anna A", north_m=300))
    req = _ask(requester, window)
    actions.do_accept(a.helper, req.id)
    b = HelpOfferFactory(helper=member_at(home, "Bert B", north_m=400))
    actions.do_withdraw(a.helper, req.id, reason="Je suis malade")
    req.refresh_from_db()
    a.refresh_from_db()
    assert a.dropped_count == 1
    assert req.status == RequestStatus.PROPOSED and req.helper_id is None
    assert MatchProposal.objects.filter(request=req, helper=b.helper, answer="pending").exists()


def test_done_when_the_requester_confirms_and_thanks(home, requester, window):
    a = HelpOfferFactory(helper=member_at(home, "Anna A", north_m=300))
    req = _ask(requester, window)
    actions.do_accept(a.helper, req.id)
    actions.do_complete(a.helper, req.id)
    req.refresh_from_db()
    assert req.status == RequestStatus.MATCHED and req.helper_done_at
    actions.do_complete(requester, req.id, thanks="Merci Anna !")
    req.refresh_from_db()
    a.refresh_from_db()
    assert req.status == RequestStatus.DONE and req.thanks == "Merci Anna !"
    assert a.completed_count == 1


def test_an_at_risk_request_is_never_proposed_to_an_unverified_helper(home, requester, window, settings):
    settings.ENTRAIDE_REQUIRE_VERIFICATION = False  # relaxed: unverified members may act...
    unverified = HelpOfferFactory(helper=member_at(home, "Unverified Ulla", north_m=100, verified=False))
    verified = HelpOfferFactory(helper=member_at(home, "Verified Vera", north_m=500))
    req = _ask(requester, window, at_risk=True)
    asked = set(MatchProposal.objects.filter(request=req).values_list("helper_id", flat=True))
    assert asked == {verified.helper_id}  # ...but not see at-risk neighbours
    assert unverified.helper_id not in asked


@pytest.mark.django_db(transaction=True)
def test_a_helper_who_moves_helps_around_the_new_home(paris, home, far):
    from entraide.accounts.actions import do_move_home

    offer = HelpOfferFactory(helper=member_at(home, "Moving Max"))
    do_move_home(offer.helper, lat=far.centroid_lat, lon=far.centroid_lon)
    offer.refresh_from_db()
    offer.helper.refresh_from_db()
    assert offer.neighbourhood_id == far.id
    assert offer.blurred_cell == offer.helper.blurred_cell


def test_a_short_request_is_looked_at_again_before_its_window_closes(home, requester, settings):
    settings.ENTRAIDE_AID_DELAYS_MINUTES = {**settings.ENTRAIDE_AID_DELAYS_MINUTES, "low": 240}
    HelpOfferFactory(helper=member_at(home, "Paul Near", north_m=300))
    now = timezone.now()
    req = _ask(requester, {"window_start": now, "window_end": now + timedelta(hours=2)}, urgency="low")
    # Not 240 minutes: half of the two hours left.
    assert now + timedelta(minutes=55) <= req.next_check_at <= now + timedelta(minutes=65)


def test_a_request_turned_at_risk_is_taken_from_unverified_helpers(home, requester, window, settings):
    from entraide.aid import queries
    from entraide.core.errors import NotFound

    settings.ENTRAIDE_REQUIRE_VERIFICATION = False
    unverified = HelpOfferFactory(helper=member_at(home, "Unverified Ulla", north_m=100, verified=False)).helper
    req = _ask(requester, window)
    assert MatchProposal.objects.get(request=req, helper=unverified).answer == "pending"
    actions.do_update_request(requester, req.id, at_risk=True)
    assert MatchProposal.objects.get(request=req, helper=unverified).answer == "closed"
    with pytest.raises(NotFound):
        actions.do_accept(unverified, req.id)
    with pytest.raises(NotFound):
        queries.request_in_scope(unverified, req.id)


def test_a_task_never_finished_closes_and_the_helper_loses_the_address(home, requester, window):
    from entraide.aid import queries

    helper = HelpOfferFactory(helper=member_at(home, "Anna A", north_m=300)).helper
    req = _ask(requester, window)
    actions.do_accept(helper, req.id)
    req.refresh_from_db()
    assert queries.contact_for(helper, req) is not None
    assert actions.do_tick(window["window_end"] + timedelta(days=1))["expired"] == 0  # still within its grace
    assert actions.do_tick(window["window_end"] + timedelta(days=4))["expired"] == 1
    req.refresh_from_db()
    assert (req.status, req.status_reason) == (RequestStatus.EXPIRED, "not_confirmed")
    assert queries.contact_for(helper, req) is None


def test_one_failing_request_does_not_stop_the_tick_for_the_others(home, requester, window, monkeypatch):
    first = _ask(requester, window)
    second = _ask(requester, window)
    real = actions._advance

    def broken(req, now, **kw):
        if req.id == first.id:
            raise RuntimeError("boom")
        return real(req, now, **kw)

    monkeypatch.setattr(actions, "_advance", broken)
    later = timezone.now() + timedelta(hours=2)
    assert actions.do_tick(later)["advanced"] == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.next_check_at > later
    assert first.next_check_at <= later  # rolled back, tried again next time
