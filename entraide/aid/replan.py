"""The operator's batch write: re-plan a city's whole waiting backlog at once (`entraide aid-replan --city NAME`).

During a surge the online engine asks helpers request by request, nearest first, so early requests can take the
only helper a later one could have had. `do_replan_backlog` loads every waiting request of the city and every
active offer with weekly capacity left, keeps the pairs the online engine would allow (`queries.candidates_for`'s
rules: the type, within both the helper's radius and the request's search radius, the helper living in the
request's neighbourhood or next to it, available in the window, verified for an at-risk requester, not the
requester, not asked already), solves them as one assignment (`batch.plan`: as many requests as possible, then
the least walking in total, under the helpers' capacities) and asks each planned helper, as `actions._propose`
does: a `MatchProposal` (source "batch"), the request's history (`replanned`) and a `request.proposed` event after
commit. Requests move open → proposed; the helpers still have to accept, through the usual `do_accept`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from entraide.accounts.models import Member, VerificationState
from entraide.core import events
from entraide.core.errors import Forbidden
from entraide.places.models import Neighbourhood

from . import batch, matching
from .models import (TYPE_BITS, WAITING_STATUSES, EventKind, HelpOffer, HelpRequest, MatchProposal, RequestEvent,
                     RequestStatus)

_MONDAY = datetime(2000, 1, 3)  # any Monday: availability is compared in local wall-clock time from there
_CHUNK = 500  # ids per IN (...) list, well under every database's parameter limit


@dataclass(frozen=True)
class ReplanResult:
    city_id: int
    requests: int  # waiting requests considered
    helpers: int  # active offers with capacity left this week
    arcs: int  # allowed (request, helper) pairs the solver saw (at most batch.DEFAULT_K per request)
    proposed: int  # requests that got a new helper asked
    unmatched: int  # requests nobody could be planned for
    total_distance_m: int  # the walks planned, summed
    load_seconds: float
    plan_seconds: float
    write_seconds: float

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _chunks(ids: list[int]):
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _local_us(dt: datetime, tz: ZoneInfo) -> int:
    return (dt.astimezone(tz).replace(tzinfo=None) - _MONDAY) // timedelta(microseconds=1)


def _slot_us(weekday: int, hhmm: str) -> int:
    h, m = hhmm.split(":")
    return ((weekday * 24 + int(h)) * 60 + int(m)) * 60_000_000


def _require_operator(operator: Member | None) -> None:
    if operator is not None and not operator.user.is_staff:
        raise Forbidden("not_operator", _("Only an operator can re-plan the backlog."))


def do_replan_backlog(operator: Member | None, *, city_id: int, now: datetime | None = None,
                      k: int = batch.DEFAULT_K) -> ReplanResult:
    """Plan the city's waiting requests as one assignment and ask the planned helpers.

    `operator` is a staff member, or None when run from the command line.
    """
    _require_operator(operator)
    now = now or timezone.now()
    tz = ZoneInfo(settings.TIME_ZONE)
    t0 = time.perf_counter()

    # --- load -------------------------------------------------------------------------------------------------
    city_nh = list(Neighbourhood.objects.filter(city_id=city_id).values_list("id", flat=True))
    through = Neighbourhood.nearby.through.objects.filter(from_neighbourhood_id__in=city_nh)
    area_pairs = [(n, n) for n in city_nh] + list(through.values_list("from_neighbourhood_id", "to_neighbourhood_id"))
    helper_nh = sorted({b for _, b in area_pairs})
    waiting = HelpRequest.objects.filter(neighbourhood__city_id=city_id, status__in=WAITING_STATUSES,
                                         window_end__gt=now)
    reqs = list(waiting.order_by("created_at", "id").values_list(
        "id", "neighbourhood_id", "requester_id", "type", "lat", "lon", "search_radius_m", "window_start",
        "window_end", "at_risk", "urgency"))
    offers_qs = HelpOffer.objects.filter(active=True, helper__user__is_active=True, neighbourhood_id__in=helper_nh)
    offers = list(offers_qs.order_by("helper_id").values_list(
        "helper_id", "neighbourhood_id", "lat", "lon", "radius_m", "type_mask", "slots", "capacity_per_week",
        "completed_count", "dropped_count", "helper__verification_state"))
    # What counts against weekly capacity, as queries._week_load counts it, for every helper in one query.
    load_rows = (HelpRequest.objects.filter(helper_id__in=offers_qs.values("helper_id"),
                                            matched_at__gte=now - timedelta(days=7),
                                            status__in=(RequestStatus.MATCHED, RequestStatus.DONE))
                 .values("helper_id").annotate(n=Count("id")))
    load = {r["helper_id"]: r["n"] for r in load_rows}
    asked = list(MatchProposal.objects.filter(request__in=waiting).values_list("request_id", "helper_id"))

    n_req, n_hel = len(reqs), len(offers)
    req_id = np.array([r[0] for r in reqs], np.int64)
    req_nh = np.array([r[1] for r in reqs], np.int64)
    req_member = np.array([r[2] for r in reqs], np.int64)
    req_bit = np.array([TYPE_BITS[r[3]] for r in reqs], np.int64)
    req_lat = np.array([r[4] for r in reqs], float)
    req_lon = np.array([r[5] for r in reqs], float)
    req_reach = np.minimum(np.array([r[6] for r in reqs], float), 5000)  # as queries.candidates_for
    win_start = np.array([_local_us(r[7], tz) for r in reqs], np.int64)
    win_end = np.array([_local_us(r[8], tz) for r in reqs], np.int64)
    win_long = np.array([r[8] - r[7] >= timedelta(days=7) for r in reqs], bool)
    at_risk = np.array([r[9] for r in reqs], bool)

    hel_member = np.array([o[0] for o in offers], np.int64)
    hel_nh = np.array([o[1] for o in offers], np.int64)
    hel_lat = np.array([o[2] for o in offers], float)
    hel_lon = np.array([o[3] for o in offers], float)
    hel_reach = np.array([o[4] for o in offers], float)
    hel_mask = np.array([o[5] for o in offers], np.int64)
    hel_load = np.array([load.get(o[0], 0) for o in offers], np.int64)
    hel_cap = np.array([o[7] for o in offers], np.int64)
    left = hel_cap - hel_load
    verified = np.array([o[10] == VerificationState.VERIFIED for o in offers], bool)
    slot_rows = [(i, _slot_us(s["weekday"], s["start"]), _slot_us(s["weekday"], s["end"]))
                 for i, o in enumerate(offers) for s in (o[6] or [])]
    slot_helper = np.array([s[0] for s in slot_rows], np.int64)
    slot_start = np.array([s[1] for s in slot_rows], np.int64)
    slot_end = np.array([s[2] for s in slot_rows], np.int64)

    nh_codes = {n: i for i, n in enumerate(sorted({*req_nh.tolist(), *hel_nh.tolist(), *helper_nh}))}
    n_codes = len(nh_codes) or 1
    area_code = np.array(sorted({nh_codes[a] * n_codes + nh_codes[b] for a, b in area_pairs
                                 if a in nh_codes and b in nh_codes}), np.int64)
    req_nh_code = np.array([nh_codes[n] for n in req_nh.tolist()], np.int64)
    hel_nh_code = np.array([nh_codes[n] for n in hel_nh.tolist()], np.int64)
    req_pos = {rid: i for i, rid in enumerate(req_id.tolist())}
    hel_pos = {mid: i for i, mid in enumerate(hel_member.tolist())}
    asked_code = np.array(sorted({req_pos[r] * n_hel + hel_pos[h] for r, h in asked if h in hel_pos}), np.int64)

    def keep(r: np.ndarray, h: np.ndarray) -> np.ndarray:
        ok = (left[h] > 0) & (req_member[r] != hel_member[h]) & (~at_risk[r] | verified[h])
        ok &= np.isin(req_nh_code[r] * n_codes + hel_nh_code[h], area_code)
        if len(asked_code):
            ok &= ~np.isin(r * n_hel + h, asked_code)
        if ok.any():
            ok[ok] = batch.available(r[ok], h[ok], win_start, win_end, win_long, slot_helper, slot_start, slot_end,
                                     n_hel)
        return ok

    load_seconds = time.perf_counter() - t0

    # --- plan -------------------------------------------------------------------------------------------------
    t1 = time.perf_counter()
    points = (req_lat, req_lon, req_reach, req_bit, hel_lat, hel_lon, hel_reach, hel_mask)
    arcs = batch.candidate_arcs(*points, k=k, keep=keep)
    result = batch.plan(n_req, np.maximum(left, 0), arcs, k=k,
                        more=lambda idx: batch.candidate_arcs(*points, k=None, keep=keep, only=idx))
    plan_seconds = time.perf_counter() - t1

    # --- write ------------------------------------------------------------------------------------------------
    t2 = time.perf_counter()
    planned = {int(req_id[i]): (int(result.helper[i]), float(result.distance_m[i]))
               for i in np.flatnonzero(result.helper >= 0)}
    by_id = {r[0]: r for r in reqs}
    proposed = 0
    total = 0
    with transaction.atomic():
        for ids in _chunks(list(planned)):
            # Still waiting and nobody took it meanwhile; rows locked on PostgreSQL until commit.
            still = list(HelpRequest.objects.select_for_update().filter(
                id__in=ids, status__in=WAITING_STATUSES, helper__isnull=True).values_list("id", flat=True))
            taken = set(MatchProposal.objects.filter(request_id__in=still).values_list("request_id", "helper_id"))
            ranks = dict(MatchProposal.objects.filter(request_id__in=still).values("request_id")
                         .annotate(n=Count("id")).values_list("request_id", "n"))
            proposals, history, chosen = [], [], []
            for rid in still:
                h, dist = planned[rid]
                member_id = int(hel_member[h])
                if (rid, member_id) in taken:
                    continue
                o = offers[h]
                candidate = matching.Candidate(member_id, dist, int(hel_load[h]), int(hel_cap[h]),
                                               (o[8] + 1) / (o[8] + o[9] + 2))
                nh = by_id[rid][1]
                proposals.append(MatchProposal(request_id=rid, helper_id=member_id, neighbourhood_id=nh,
                                               rank=ranks.get(rid, 0), distance_m=int(dist), score=candidate.score,
                                               source="batch", notified_at=now))
                history.append(RequestEvent(request_id=rid, neighbourhood_id=nh, actor=operator,
                                            kind=EventKind.REPLANNED, reason=f"{int(dist)} m"))
                chosen.append(rid)
                total += int(dist)
            MatchProposal.objects.bulk_create(proposals)
            RequestEvent.objects.bulk_create(history)
            for urgency in {by_id[rid][10] for rid in chosen}:
                HelpRequest.objects.filter(id__in=[rid for rid in chosen if by_id[rid][10] == urgency]).update(
                    status=RequestStatus.PROPOSED, next_check_at=now + matching.escalation_delay(urgency),
                    updated_at=now)
            for p in proposals:
                events.publish("request.proposed",
                               {"request_id": p.request_id, "helper_ids": [p.helper_id],
                                "urgency": by_id[p.request_id][10], "notified_at": now.isoformat(),
                                "source": "batch"},
                               neighbourhood_id=p.neighbourhood_id, member_ids=[p.helper_id])
            proposed += len(proposals)
    write_seconds = time.perf_counter() - t2
    return ReplanResult(city_id=city_id, requests=n_req, helpers=int((left > 0).sum()), arcs=result.arcs,
                        proposed=proposed, unmatched=n_req - proposed, total_distance_m=total,
                        load_seconds=round(load_seconds, 3), plan_seconds=round(plan_seconds, 3),
                        write_seconds=round(write_seconds, 3))
