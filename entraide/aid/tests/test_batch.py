"""The batch planner (batch.py) and the operator's re-plan of a city's backlog (replan.py)."""
from __future__ import annotations

import itertools
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.utils import timezone

from entraide.accounts.factories import MemberFactory, UserFactory
from entraide.aid import actions, batch, matching
from entraide.aid.factories import HelpOfferFactory, HelpRequestFactory
from entraide.aid.models import EventKind, MatchProposal, RequestStatus
from entraide.aid.replan import _local_us, _slot_us, do_replan_backlog
from entraide.core.errors import Forbidden

from .conftest import member_at

LAT, LON = 48.8566, 2.3522
M_PER_DEG_LAT = 111_195.0


def north(metres: float) -> float:
    return LAT + metres / M_PER_DEG_LAT


def brute_force(n_req: int, capacity: list[int], dist: dict[tuple[int, int], float]) -> tuple[int, float]:
    """Best (matched, total distance) over every assignment: most matched first, then shortest total."""
    best = (0, 0.0)
    for choice in itertools.product([-1, *range(len(capacity))], repeat=n_req):
        used = [0] * len(capacity)
        total, matched, ok = 0.0, 0, True
        for r, h in enumerate(choice):
            if h < 0:
                continue
            if (r, h) not in dist:
                ok = False
                break
            used[h] += 1
            total += dist[(r, h)]
            matched += 1
        if ok and all(u <= c for u, c in zip(used, capacity)):
            if matched > best[0] or (matched == best[0] and total < best[1] - 1e-9):
                best = (matched, total)
    return best


def arcs_of(dist: dict[tuple[int, int], float]) -> batch.Arcs:
    keys = list(dist)
    return batch.Arcs.of([r for r, _ in keys], [h for _, h in keys], [dist[k] for k in keys])


@pytest.mark.parametrize("seed", range(25))
def test_the_plan_is_as_good_as_trying_every_assignment(seed):
    rng = random.Random(seed)
    n_req, capacity = 5, [rng.randint(0, 2) for _ in range(4)]
    dist = {(r, h): float(rng.randint(0, 2000)) for r in range(n_req) for h in range(4) if rng.random() < 0.6}
    arcs = arcs_of(dist)
    result = batch.plan(n_req, capacity, arcs)
    result.check(arcs, np.array(capacity))
    matched, total = brute_force(n_req, capacity, dist)
    assert result.matched == matched
    assert result.total_distance_m == pytest.approx(total)
    # The reference LP finds the same optimum, and the greedy baseline never beats it.
    reference = batch.lp_optimum(n_req, capacity, arcs)
    assert (reference.matched, reference.total_distance_m) == (matched, pytest.approx(total))
    greedy = batch.greedy(n_req, capacity, arcs)
    assert (greedy.matched, -greedy.total_distance_m) <= (matched, -total + 1e-6)


def test_matching_more_requests_wins_over_walking_less():
    # Helper 0 is close to both requests; helper 1 can reach request 0 only, far away. Giving helper 0 to
    # request 0 would walk less in total but leave request 1 without anyone.
    dist = {(0, 0): 10.0, (1, 0): 50.0, (0, 1): 4000.0}
    result = batch.plan(2, [1, 1], arcs_of(dist))
    assert result.helper.tolist() == [1, 0]
    assert result.total_distance_m == 4050.0


def test_a_request_whose_nearest_helpers_are_taken_gets_its_further_ones():
    # With k = 1 both requests keep only helper 0; request 1 can also reach helper 1, further away.
    dist = {(0, 0): 100.0, (1, 0): 50.0, (1, 1): 900.0}
    result = batch.plan(2, [1, 1], arcs_of(dist), k=1)
    assert result.helper.tolist() == [0, 1]
    assert result.rounds == 2


@pytest.mark.parametrize("seed", range(3))
def test_where_helpers_are_scarce_pruning_never_costs_a_match(seed):
    rng = np.random.default_rng(seed)
    n_req, n_hel = 500, 120
    args = (LAT + rng.uniform(-0.01, 0.01, n_req), LON + rng.uniform(-0.015, 0.015, n_req),
            rng.choice([800, 2000], n_req), np.ones(n_req, np.int64),
            LAT + rng.uniform(-0.01, 0.01, n_hel), LON + rng.uniform(-0.015, 0.015, n_hel),
            rng.uniform(300, 2000, n_hel), np.ones(n_hel, np.int64))
    capacity = rng.integers(1, 4, n_hel)
    every = batch.candidate_arcs(*args, k=None)
    reference = batch.lp_optimum(n_req, capacity, every)
    pruned = batch.plan(n_req, capacity, batch.candidate_arcs(*args, k=3), k=3,
                        more=lambda idx: batch.candidate_arcs(*args, k=None, only=idx))
    pruned.check(every, capacity)
    assert pruned.matched == reference.matched
    assert pruned.total_distance_m >= reference.total_distance_m - 1e-6


def test_a_helper_is_never_planned_beyond_their_capacity():
    # Ten requests around one popular helper with room for two, and one helper with room for one.
    dist = {(r, 0): float(r) for r in range(10)} | {(r, 1): 500.0 + r for r in range(10)}
    arcs = arcs_of(dist)
    result = batch.plan(10, [2, 1], arcs)
    result.check(arcs, np.array([2, 1]))
    assert np.bincount(result.helper[result.helper >= 0]).tolist() == [2, 1]
    assert result.matched == 3
    # A helper with no capacity left is not planned at all.
    assert batch.plan(10, [0, 1], arcs).helper.tolist().count(0) == 0


def test_a_request_with_nobody_within_reach_stays_unmatched():
    arcs = batch.candidate_arcs([LAT, north(3000)], [LON, LON], [1000, 1000], [1, 1], [north(200)], [LON], [1500],
                                [1])
    result = batch.plan(2, [5], arcs)
    assert result.helper.tolist() == [0, -1]
    assert np.isnan(result.distance_m[1])


def test_a_request_is_never_paired_outside_reach_or_type():
    # Request 0 (type bit 1) reaches 1000 m; helpers: right type at 500 m, wrong type at 100 m, right type at 900 m
    # with a 600 m radius (beyond their own reach), right type at 1100 m with a 5 km radius (beyond the request's).
    hel_lat = [north(500), north(100), north(900), north(1100)]
    arcs = batch.candidate_arcs([LAT], [LON], [1000], [1], hel_lat, [LON] * 4, [1000, 1000, 600, 5000],
                                [1 | 4, 2, 1, 1], k=None)
    assert arcs.helper.tolist() == [0]
    assert arcs.distance_m[0] == pytest.approx(matching.walking_m(LAT, LON, hel_lat[0], LON))
    assert batch.plan(1, [1, 1, 1, 1], arcs).helper.tolist() == [0]


def test_walking_distance_is_the_engines():
    rng = np.random.default_rng(3)
    a, b = LAT + rng.normal(0, 0.02, (2, 200)), LON + rng.normal(0, 0.03, (2, 200))
    expected = [matching.walking_m(a[0, i], b[0, i], a[1, i], b[1, i]) for i in range(200)]
    assert batch.walking_m(a[0], b[0], a[1], b[1]) == pytest.approx(expected, rel=1e-12)


def test_the_k_nearest_are_the_nearest_allowed_ones_even_when_many_are_filtered_out():
    rng = np.random.default_rng(7)
    n_req, n_hel = 300, 2000
    req_lat, req_lon = LAT + rng.uniform(-0.02, 0.02, n_req), LON + rng.uniform(-0.03, 0.03, n_req)
    hel_lat, hel_lon = LAT + rng.uniform(-0.02, 0.02, n_hel), LON + rng.uniform(-0.03, 0.03, n_hel)
    req_reach, hel_reach = rng.choice([800, 2500], n_req), rng.uniform(300, 2000, n_hel)
    req_bit, hel_mask = 1 << rng.integers(0, 3, n_req), rng.integers(1, 8, n_hel)
    banned = rng.random(n_hel) < 0.8  # most helpers refused by the caller's filter: the search must widen

    def keep(r, h):
        return ~banned[h]

    args = (req_lat, req_lon, req_reach, req_bit, hel_lat, hel_lon, hel_reach, hel_mask)
    every = batch.candidate_arcs(*args, k=None, keep=keep)
    k5 = batch.candidate_arcs(*args, k=5, keep=keep)
    expected = batch.nearest(every, 5)
    assert list(zip(k5.request.tolist(), k5.helper.tolist())) == list(zip(expected.request.tolist(),
                                                                         expected.helper.tolist()))
    assert not banned[every.helper].any()
    d = batch.walking_m(req_lat[every.request], req_lon[every.request], hel_lat[every.helper], hel_lon[every.helper])
    assert (d <= np.minimum(req_reach[every.request], hel_reach[every.helper])).all()
    assert ((req_bit[every.request] & hel_mask[every.helper]) > 0).all()
    # Brute force over all pairs finds the same set.
    r, h = np.meshgrid(np.arange(n_req), np.arange(n_hel), indexing="ij")
    r, h = r.ravel(), h.ravel()
    dd = batch.walking_m(req_lat[r], req_lon[r], hel_lat[h], hel_lon[h])
    ok = (dd <= np.minimum(req_reach[r], hel_reach[h])) & ((req_bit[r] & hel_mask[h]) > 0) & ~banned[h]
    assert len(every) == int(ok.sum())


def test_vectorised_availability_agrees_with_the_engine():
    tz = ZoneInfo("Europe/Paris")
    rng = random.Random(11)
    windows, slot_sets = [], []
    for _ in range(120):
        # Around the October DST change too.
        base = datetime(2026, rng.choice([3, 6, 10]), rng.randint(20, 28), tzinfo=tz)
        start = base + timedelta(minutes=rng.randint(0, 7 * 24 * 60))
        windows.append((start, start + timedelta(minutes=rng.choice([1, 30, 90, 600, 3000, 9000, 10080]))))
    for _ in range(40):
        slots = []
        for _ in range(rng.randint(0, 4)):
            a = rng.randint(0, 23 * 60)
            b = min(24 * 60, a + rng.randint(1, 300))
            slots.append({"weekday": rng.randint(0, 6), "start": f"{a // 60:02d}:{a % 60:02d}",
                          "end": f"{b // 60:02d}:{b % 60:02d}"})
        slot_sets.append(slots)
    r, h = np.meshgrid(np.arange(len(windows)), np.arange(len(slot_sets)), indexing="ij")
    r, h = r.ravel(), h.ravel()
    utc = [(s.astimezone(ZoneInfo("UTC")), e.astimezone(ZoneInfo("UTC"))) for s, e in windows]
    rows = [(i, _slot_us(s["weekday"], s["start"]), _slot_us(s["weekday"], s["end"]))
            for i, slots in enumerate(slot_sets) for s in slots]
    got = batch.available(r, h, np.array([_local_us(s, tz) for s, _ in utc]),
                          np.array([_local_us(e, tz) for _, e in utc]),
                          np.array([e - s >= timedelta(days=7) for s, e in utc]),
                          np.array([x[0] for x in rows]), np.array([x[1] for x in rows]),
                          np.array([x[2] for x in rows]), len(slot_sets))
    expected = [matching.available(slot_sets[j], *utc[i], tz) for i, j in zip(r.tolist(), h.tolist())]
    assert got.tolist() == expected
    assert 0 < sum(expected) < len(expected)


def test_a_bigger_random_city_matches_the_reference_optimum_with_all_arcs():
    rng = np.random.default_rng(5)
    n_req, n_hel = 400, 600
    args = (LAT + rng.uniform(-0.01, 0.01, n_req), LON + rng.uniform(-0.015, 0.015, n_req),
            rng.choice([600, 1000], n_req), 1 << rng.integers(0, 2, n_req),
            LAT + rng.uniform(-0.01, 0.01, n_hel), LON + rng.uniform(-0.015, 0.015, n_hel),
            rng.uniform(300, 1200, n_hel), rng.integers(1, 4, n_hel))
    capacity = rng.integers(0, 3, n_hel)
    every = batch.candidate_arcs(*args, k=None)
    exact = batch.plan(n_req, capacity, every, k=None)
    reference = batch.lp_optimum(n_req, capacity, every)
    exact.check(every, capacity)
    assert exact.matched == reference.matched
    assert exact.total_distance_m == pytest.approx(reference.total_distance_m, rel=1e-9)
    pruned = batch.plan(n_req, capacity, batch.candidate_arcs(*args, k=30))
    assert pruned.matched == reference.matched


# --- do_replan_backlog ----------------------------------------------------------------------------------------

def operator_member(home):
    return MemberFactory(neighbourhood=home, user=UserFactory(is_staff=True), verified=True)


@pytest.mark.django_db
def test_the_replan_asks_the_planned_helpers_and_records_it(home, requester, window,
                                                            django_capture_on_commit_callbacks):
    from entraide.core import events

    other = member_at(home, "Marc Voisin", north_m=50)
    first = HelpRequestFactory(requester=requester, type="groceries", **window)
    second = HelpRequestFactory(requester=other, type="groceries", **window)
    near_first = HelpOfferFactory(helper=member_at(home, "Ana Proche", north_m=-300), capacity_per_week=1)
    near_both = HelpOfferFactory(helper=member_at(home, "Bob Milieu", north_m=100), capacity_per_week=1)
    heard = []
    events.event_published.connect(lambda event, **kw: heard.append(event), weak=False, dispatch_uid="replan-test")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = do_replan_backlog(operator_member(home), city_id=home.city_id)
    finally:
        events.event_published.disconnect(dispatch_uid="replan-test")
    assert (result.requests, result.proposed, result.unmatched) == (2, 2, 0)
    planned = dict(MatchProposal.objects.values_list("request_id", "helper_id"))
    assert set(planned.values()) == {near_first.helper_id, near_both.helper_id}
    assert all(p.source == "batch" for p in MatchProposal.objects.all())
    for req in (first, second):
        req.refresh_from_db()
        assert req.status == RequestStatus.PROPOSED
        assert req.next_check_at > timezone.now()
        assert list(req.history.values_list("kind", flat=True)) == [EventKind.REPLANNED]
    proposed = [e for e in heard if e["type"] == "request.proposed"]
    assert sorted(e["data"]["request_id"] for e in proposed) == sorted([first.id, second.id])
    assert all(e["member_ids"] == e["data"]["helper_ids"] == [planned[e["data"]["request_id"]]] for e in proposed)
    # The planned helper can take it through the usual accept.
    helper = near_first.helper if planned[first.id] == near_first.helper_id else near_both.helper
    assert actions.do_accept(helper, first.id).status == RequestStatus.MATCHED


@pytest.mark.django_db
def test_someone_who_is_not_an_operator_cannot_replan(home, requester, window):
    HelpRequestFactory(requester=requester, **window)
    HelpOfferFactory(helper=member_at(home, "Ana Proche", north_m=200))
    with pytest.raises(Forbidden) as refused:
        do_replan_backlog(member_at(home, "Not Staff", north_m=10), city_id=home.city_id)
    assert refused.value.code == "not_operator"
    assert not MatchProposal.objects.exists()


@pytest.mark.django_db
def test_the_replan_skips_helpers_at_capacity_and_the_ones_already_asked(home, requester, window, settings):
    settings.ENTRAIDE_AID_NOTIFY_FIRST = 1
    busy = HelpOfferFactory(helper=member_at(home, "Busy Bee", north_m=100), capacity_per_week=1,
                            types=["groceries", "pharmacy"])
    someone = member_at(home, "Other Person", north_m=20)
    taken = actions.do_create_request(someone, type="pharmacy", description="Ordonnance", **window)
    actions.do_accept(busy.helper, taken.id)  # busy's one task this week
    req = actions.do_create_request(requester, type="groceries", description="Courses", **window)
    assert not MatchProposal.objects.filter(request=req).exists()  # nobody else yet
    asked = HelpOfferFactory(helper=member_at(home, "Asked Already", north_m=150))
    MatchProposal.objects.create(request=req, helper=asked.helper, neighbourhood=home, rank=0, distance_m=150,
                                 score=0.2, notified_at=timezone.now())
    free = HelpOfferFactory(helper=member_at(home, "Free Helper", north_m=700), radius_m=2000)
    HelpOfferFactory(helper=member_at(home, "Wrong Type", north_m=50), types=["pet_walking"])
    result = do_replan_backlog(None, city_id=home.city_id)
    assert result.proposed == 1
    new = MatchProposal.objects.get(request=req, source="batch")
    assert new.helper_id == free.helper_id
    assert new.rank == 1  # after the helper asked before


@pytest.mark.django_db
def test_the_replan_respects_availability_reach_and_the_requesters_own_offer(home, requester, window):
    start = timezone.now().replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=2)
    req = HelpRequestFactory(requester=requester, window_start=start, window_end=start + timedelta(hours=1))
    HelpOfferFactory(helper=requester)  # one's own offer never answers one's own request
    HelpOfferFactory(helper=member_at(home, "Wrong Day", north_m=100),
                     slots=[{"weekday": (start.weekday() + 1) % 7, "start": "09:00", "end": "18:00"}])
    HelpOfferFactory(helper=member_at(home, "Short Walk", north_m=900), radius_m=500)
    right = HelpOfferFactory(helper=member_at(home, "Right Day", north_m=300),
                             slots=[{"weekday": start.weekday(), "start": "09:00", "end": "12:00"}])
    result = do_replan_backlog(None, city_id=home.city_id)
    assert result.proposed == 1
    assert list(MatchProposal.objects.filter(request=req).values_list("helper_id", flat=True)) == [right.helper_id]


@pytest.mark.django_db
def test_an_at_risk_request_is_planned_for_verified_helpers_only(home, requester, window):
    req = HelpRequestFactory(requester=requester, at_risk=True, **window)
    HelpOfferFactory(helper=member_at(home, "Not Verified", north_m=100, verified=False))
    verified = HelpOfferFactory(helper=member_at(home, "Verified One", north_m=300))
    do_replan_backlog(None, city_id=home.city_id)
    assert list(MatchProposal.objects.filter(request=req).values_list("helper_id", flat=True)) == [verified.helper_id]


@pytest.mark.django_db
def test_the_replan_stays_in_its_city_and_leaves_matched_requests_alone(home, requester, window):
    HelpOfferFactory(helper=member_at(home, "Ana Proche", north_m=100), capacity_per_week=5)
    matched = HelpRequestFactory(requester=member_at(home, "Déjà Aidé"), status=RequestStatus.MATCHED, **window)
    result = do_replan_backlog(None, city_id=home.city_id + 999)
    assert (result.requests, result.proposed) == (0, 0)
    result = do_replan_backlog(None, city_id=home.city_id)
    assert result.requests == 0
    assert not MatchProposal.objects.filter(request=matched).exists()
