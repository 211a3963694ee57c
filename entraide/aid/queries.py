"""Reads of mutual aid, scoped to what the member may see (DESIGN.md, the one access rule).

A member sees: their own requests; requests they were asked to take or are helping with; and the open requests
of the neighbourhoods they read, except that an at-risk requester's requests are shown to verified members only.
Anything else answers 404. Exact address and phone go only to the matched helper while the task is active.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from entraide.accounts.models import Member, VerificationState
from entraide.core.errors import NotFound
from entraide.places.models import Neighbourhood
from entraide.places.queries import readable_neighbourhood_ids

from . import matching
from .models import (ACTIVE_STATUSES, TYPE_BITS, WAITING_STATUSES, HelpOffer, HelpRequest, MatchProposal,
                     ProposalAnswer, RequestStatus)


def _public_q(member: Member, neighbourhood_ids: list[int]) -> Q:
    q = Q(neighbourhood_id__in=neighbourhood_ids, status__in=WAITING_STATUSES)
    if not member.is_verified:
        q &= Q(at_risk=False)
    return q


def visible_requests(member: Member | None) -> QuerySet[HelpRequest]:
    """Every request the member may read (open ones nearby, their own, the ones they were asked or took)."""
    if member is None:
        return HelpRequest.objects.none()
    asked = Q(id__in=MatchProposal.objects.filter(helper=member).values("request_id"))
    if not member.is_verified:
        # A request that became at-risk after an unverified helper was asked is no longer theirs to see.
        asked &= Q(at_risk=False)
    q = _public_q(member, readable_neighbourhood_ids(member)) | Q(requester=member) | Q(helper=member) | asked
    return HelpRequest.objects.filter(q)


def request_in_scope(member: Member | None, request_id: int, *, for_update: bool = False) -> HelpRequest:
    qs = visible_requests(member).select_related("requester", "helper", "neighbourhood", "crisis")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=request_id)
    except HelpRequest.DoesNotExist:
        raise NotFound() from None


@dataclass(frozen=True)
class Contact:
    """What the requester chose to reveal to their matched helper."""

    address: str | None
    phone: str | None
    note: str


def contact_for(member: Member | None, req: HelpRequest) -> Contact | None:
    """The requester's details, for the matched helper of an active task only; None for everyone else."""
    if member is None or req.helper_id != member.id or req.status != RequestStatus.MATCHED:
        return None
    requester = req.requester
    return Contact(address=requester.address_text if req.reveal_address else None,
                   phone=req.contact_phone if req.reveal_phone and req.contact_phone else None,
                   note=req.contact_note)


def _week_load(member_ids: list[int], now: datetime) -> dict[int, int]:
    """Tasks each helper took in the last seven days (matched or done): what counts against their weekly capacity."""
    rows = (HelpRequest.objects.filter(helper_id__in=member_ids, matched_at__gte=now - timedelta(days=7),
                                       status__in=(RequestStatus.MATCHED, RequestStatus.DONE))
            .values("helper_id").annotate(n=Count("id")))
    return {r["helper_id"]: r["n"] for r in rows}


def area_ids(neighbourhood_id: int) -> list[int]:
    """A neighbourhood and its adjacent ones: where helpers for its requests may live."""
    nearby = Neighbourhood.nearby.through.objects.filter(from_neighbourhood_id=neighbourhood_id)
    return [neighbourhood_id, *nearby.values_list("to_neighbourhood_id", flat=True)]


def candidates_for(req: HelpRequest, *, radius_m: int, exclude: set[int] | None = None,
                   now: datetime | None = None) -> list[matching.Candidate]:
    """Helpers who could take `req`, best first: the right type, within both their reach and `radius_m`,
    available in the window, under their weekly capacity, living in the request's neighbourhood or next to it."""
    now = now or timezone.now()
    exclude = set(exclude or ()) | {req.requester_id}
    reach = min(radius_m, 5000)
    min_lat, min_lon, max_lat, max_lon = matching.bbox_around(req.lat, req.lon, reach)
    offers = (HelpOffer.objects
              .annotate(has_type=F("type_mask").bitand(TYPE_BITS[req.type]))
              .filter(active=True, has_type__gt=0, neighbourhood_id__in=area_ids(req.neighbourhood_id),
                      lat__gte=min_lat, lat__lte=max_lat, lon__gte=min_lon, lon__lte=max_lon,
                      helper__user__is_active=True)
              .exclude(helper_id__in=exclude))
    if req.at_risk:
        # At-risk requesters are seen by verified members only, even while verification is relaxed.
        offers = offers.filter(helper__verification_state=VerificationState.VERIFIED)
    offers = (offers
              .values("helper_id", "lat", "lon", "radius_m", "slots", "capacity_per_week", "completed_count",
                      "dropped_count"))
    near = []
    for o in offers:
        d = matching.walking_m(req.lat, req.lon, o["lat"], o["lon"])
        if d <= min(reach, o["radius_m"]) and matching.available(o["slots"], req.window_start, req.window_end):
            near.append((o, d))
    load = _week_load([o["helper_id"] for o, _ in near], now)
    out = []
    for o, d in near:
        n = load.get(o["helper_id"], 0)
        if n >= o["capacity_per_week"]:
            continue
        reliability = (o["completed_count"] + 1) / (o["completed_count"] + o["dropped_count"] + 2)
        out.append(matching.Candidate(o["helper_id"], d, n, o["capacity_per_week"], reliability))
    return matching.rank(out)


def offer_of(member: Member) -> HelpOffer | None:
    return HelpOffer.objects.filter(helper=member).first()


def my_requests(member: Member) -> QuerySet[HelpRequest]:
    return HelpRequest.objects.filter(requester=member).select_related("helper").order_by("-created_at")


def my_tasks(member: Member) -> QuerySet[HelpRequest]:
    """Requests the member is helping with, or helped with."""
    return (HelpRequest.objects.filter(helper=member).select_related("requester", "neighbourhood")
            .order_by("-matched_at"))


def my_pending_proposals(member: Member) -> QuerySet[MatchProposal]:
    """Requests the member was asked to take and has not answered, while the request still waits."""
    return (MatchProposal.objects.filter(helper=member, answer=ProposalAnswer.PENDING,
                                         request__status__in=WAITING_STATUSES)
            .select_related("request", "request__requester").order_by("rank", "-notified_at"))


def history(req: HelpRequest) -> QuerySet:
    """The request's history, oldest first; `req` comes from `request_in_scope`, which did the access check."""
    return req.history.all()


@dataclass(frozen=True)
class MapRequest:
    id: int
    type: str
    urgency: str
    at_risk: bool
    description: str
    requester: str
    lat: float
    lon: float
    distance_m: int
    window_end: datetime
    status: str
    requester_id: int


@dataclass(frozen=True)
class MapHelper:
    id: int  # the member id
    name: str
    types: list[str]
    lat: float
    lon: float
    distance_m: int


def _origin(member: Member) -> tuple[float, float]:
    from entraide.places import geo
    return geo.cell_centre(member.blurred_cell)


def map_requests(member: Member, *, bbox: tuple[float, float, float, float] | None = None,
                 types: list[str] | None = None, limit: int = 300) -> list[MapRequest]:
    """Open requests the member may see, nearest first (blurred positions only)."""
    qs = HelpRequest.objects.filter(_public_q(member, readable_neighbourhood_ids(member)))
    if bbox:
        min_lon, min_lat, max_lon, max_lat = bbox
        qs = qs.filter(lat__gte=min_lat, lat__lte=max_lat, lon__gte=min_lon, lon__lte=max_lon)
    if types:
        qs = qs.filter(type__in=types)
    olat, olon = _origin(member)
    rows = list(qs.select_related("requester").order_by("-created_at")[: limit * 4])
    out = [MapRequest(r.id, r.type, r.urgency, r.at_risk, r.description,
                      r.on_behalf_of or r.requester.public_name, r.lat, r.lon,
                      int(matching.walking_m(olat, olon, r.lat, r.lon)), r.window_end, r.status, r.requester_id)
           for r in rows]
    out.sort(key=lambda m: (m.distance_m, m.id))
    return out[:limit]


def map_helpers(member: Member, *, bbox: tuple[float, float, float, float] | None = None,
                types: list[str] | None = None, limit: int = 300) -> list[MapHelper]:
    """Active helpers of the neighbourhoods the member reads, nearest first (first name and blurred point)."""
    qs = HelpOffer.objects.filter(active=True, neighbourhood_id__in=readable_neighbourhood_ids(member),
                                  helper__user__is_active=True)
    if bbox:
        min_lon, min_lat, max_lon, max_lat = bbox
        qs = qs.filter(lat__gte=min_lat, lat__lte=max_lat, lon__gte=min_lon, lon__lte=max_lon)
    if types:
        mask = 0
        for t in types:
            mask |= TYPE_BITS[t]
        qs = qs.annotate(hit=F("type_mask").bitand(mask)).filter(hit__gt=0)
    olat, olon = _origin(member)
    rows = list(qs.select_related("helper")[: limit * 4])
    out = [MapHelper(o.helper_id, o.helper.public_name, o.types, o.lat, o.lon,
                     int(matching.walking_m(olat, olon, o.lat, o.lon))) for o in rows]
    out.sort(key=lambda m: (m.distance_m, m.id))
    return out[:limit]


