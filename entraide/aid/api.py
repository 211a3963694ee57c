"""The mutual-aid API: help requests, helpers' offers and the map (mounted at /api/v1 by entraide/api.py).

Thin over `actions` (every write and its checks) and `queries` (every read, scoped to what the member may see):
an id outside the scope answers 404, a refusal answers the action's own stable code.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from entraide.accounts.models import Member
from entraide.accounts.queries import member_of
from entraide.accounts.permissions import require_can_act
from entraide.core.api import ErrorOut, member_auth
from entraide.core.errors import EntraideError
from entraide.feed.queries import decode_cursor, encode_cursor
from entraide.places import geo

from . import actions, matching, queries
from . import validation as v
from .models import (WAITING_STATUSES, Escalation, EventKind, HelpOffer, HelpRequest, HelpType, MatchProposal,
                     ProposalAnswer, RequestStatus, Urgency)

router = Router(tags=["aid"])
errors: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut,
                          422: ErrorOut, 429: ErrorOut}

MAX_PAGE = 50
ESCALATION_IDS = {Escalation.NONE: "none", Escalation.WIDENED: "widened", Escalation.INFORMER: "informer"}

# Enumerations documented in the schema but checked by the actions, so that a wrong value answers with its own
# code (invalid_type, invalid_urgency, invalid_types) rather than a generic invalid_input.
_TYPE_ENUM = {"enum": list(HelpType.values)}
_TYPES_DOC = "One of: " + ", ".join(HelpType.values)
_SLOT_SCHEMA = {
    "type": "object", "required": ["weekday", "start", "end"],
    "properties": {"weekday": {"type": "integer", "minimum": 0, "maximum": 6, "description": "0 = Monday"},
                   "start": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "09:00"},
                   "end": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$",
                           "example": "12:00"}}}


# --- schemas ----------------------------------------------------------------------------------------------------

class NeighbourhoodMini(Schema):
    id: int
    name: str


class HelperMini(Schema):
    id: int = Field(description="The helper's member id")
    name: str = Field(description="Public name: first name and initial")


class MyProposalOut(Schema):
    answer: str = Field(json_schema_extra={"enum": list(ProposalAnswer.values)})
    rank: int = Field(description="0 = asked first")


class ContactOut(Schema):
    address: str | None = Field(description="The requester's address, if they chose to reveal it")
    phone: str | None = Field(description="The phone number the requester gave, if they chose to reveal it")
    note: str


class HistoryOut(Schema):
    kind: str = Field(json_schema_extra={"enum": list(EventKind.values)})
    at: datetime
    by_me: bool


class RequestOut(Schema):
    id: int
    status: str = Field(json_schema_extra={"enum": list(RequestStatus.values)})
    type: str = Field(json_schema_extra=_TYPE_ENUM)
    description: str
    urgency: str = Field(json_schema_extra={"enum": list(Urgency.values)})
    at_risk: bool
    contactless: bool
    window_start: datetime
    window_end: datetime
    neighbourhood: NeighbourhoodMini
    requester: str = Field(description="Public name of the requester (or of the neighbour asked for)")
    helper: HelperMini | None = Field(description="Shown to the requester and the helper once matched")
    is_mine: bool
    escalation: str = Field(json_schema_extra={"enum": list(ESCALATION_IDS.values())})
    search_radius_m: int
    distance_m: int = Field(description="Walking estimate from my blurred home point")
    created_at: datetime
    matched_at: datetime | None
    closed_at: datetime | None
    status_reason: str
    thanks: str = Field(description="The requester's thank-you (requester and helper only)")
    my_proposal: MyProposalOut | None = Field(description="Whether I was asked to take it, and my answer")
    contact: ContactOut | None = Field(description="For the matched helper, while the task is active")
    history: list[HistoryOut]
    reveal_address: bool | None = Field(None, description="The requester's own choice (requester only)")
    reveal_phone: bool | None = Field(None, description="The requester's own choice (requester only)")
    contact_phone: str | None = Field(None, description="The requester's own phone (requester only)")
    contact_note: str | None = Field(None, description="The requester's own note (requester only)")


class RequestsOut(Schema):
    items: list[RequestOut]
    next_cursor: str | None


class RequestIn(Schema):
    type: str = Field(..., description=_TYPES_DOC, json_schema_extra=_TYPE_ENUM)
    description: str = Field(..., description=f"1 to {v.MAX_DESCRIPTION} characters")
    window_start: datetime = Field(..., description="ISO 8601 with a time zone")
    window_end: datetime = Field(..., description="ISO 8601 with a time zone, after the start, not over")
    urgency: str = Field("normal", json_schema_extra={"enum": list(Urgency.values)})
    at_risk: bool = False
    reveal_address: bool = Field(True, description="Show my address to the matched helper")
    reveal_phone: bool = Field(False, description="Show contact_phone to the matched helper")
    contact_phone: str = ""
    contact_note: str = Field("", description="At most 200 characters, for the matched helper")
    contactless: bool | None = Field(None, description="null: the default (contactless during a crisis)")


class RequestPatch(Schema):
    description: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    urgency: str | None = Field(None, json_schema_extra={"enum": list(Urgency.values)})
    at_risk: bool | None = None
    reveal_address: bool | None = None
    reveal_phone: bool | None = None
    contact_phone: str | None = None
    contact_note: str | None = None
    contactless: bool | None = None


class ReasonIn(Schema):
    reason: str = Field("", description="Optional, at most 200 characters")


class CompleteIn(Schema):
    thanks: str = Field("", description="The requester's thank-you when confirming, at most 500 characters")


class ThankIn(Schema):
    message: str = Field(..., description="1 to 500 characters")


class SlotOut(Schema):
    weekday: int = Field(description="0 = Monday")
    start: str = Field(description="HH:MM")
    end: str = Field(description="HH:MM")


class OfferIn(Schema):
    types: list[str] = Field(..., description=_TYPES_DOC,
                             json_schema_extra={"items": {"type": "string", **_TYPE_ENUM}})
    radius_m: int = Field(1000, description="How far I walk, 100 to 5000 m")
    slots: list[dict[str, Any]] = Field([], description="Weekly slots; none: any time",
                                        json_schema_extra={"items": _SLOT_SCHEMA})
    capacity_per_week: int = Field(3, description="1 to 50 tasks a week")
    active: bool = True


class OfferPatch(Schema):
    types: list[str] | None = Field(None, json_schema_extra={"items": {"type": "string", **_TYPE_ENUM}})
    radius_m: int | None = None
    slots: list[dict[str, Any]] | None = Field(None, json_schema_extra={"items": _SLOT_SCHEMA})
    capacity_per_week: int | None = None
    active: bool | None = None


class OfferOut(Schema):
    types: list[str]
    radius_m: int
    slots: list[SlotOut]
    capacity_per_week: int
    active: bool
    completed_count: int
    dropped_count: int


class MapRequestOut(Schema):
    id: int
    type: str = Field(json_schema_extra=_TYPE_ENUM)
    urgency: str = Field(json_schema_extra={"enum": list(Urgency.values)})
    at_risk: bool
    description: str
    requester: str = Field(description="Public name: first name and initial")
    lat: float = Field(description="Centre of the requester's H3 cell, never the exact point")
    lon: float = Field(description="Centre of the requester's H3 cell, never the exact point")
    distance_m: int
    window_end: datetime
    status: str = Field(json_schema_extra={"enum": list(WAITING_STATUSES)})


class MapHelperOut(Schema):
    id: int = Field(description="The helper's member id")
    name: str = Field(description="Public name: first name and initial")
    types: list[str]
    lat: float = Field(description="Centre of the helper's H3 cell, never the exact point")
    lon: float = Field(description="Centre of the helper's H3 cell, never the exact point")
    distance_m: int


class MapOut(Schema):
    requests: list[MapRequestOut]
    helpers: list[MapHelperOut]


def _member(request) -> Member:
    member = member_of(request.user)
    if member is None:
        raise EntraideError("no_profile", _("This account has no member profile."), status=403)
    return member


# --- building the answers ---------------------------------------------------------------------------------------

def _with_details(member: Member, qs: QuerySet[HelpRequest]) -> QuerySet[HelpRequest]:
    """What the request view needs, in a fixed number of queries whatever the page size."""
    return qs.select_related("requester", "helper", "neighbourhood").prefetch_related(
        Prefetch("proposals", queryset=MatchProposal.objects.filter(helper=member), to_attr="mine"),
        "history")


def request_json(member: Member, req: HelpRequest) -> dict[str, Any]:
    """A request as RequestOut describes it, for this reader (privacy rules: DESIGN.md)."""
    is_mine = req.requester_id == member.id
    involved = is_mine or (req.helper_id is not None and req.helper_id == member.id)
    mine = getattr(req, "mine", None)
    if mine is None:
        mine = list(req.proposals.filter(helper=member))
    proposal = mine[0] if mine else None
    contact = queries.contact_for(member, req)
    olat, olon = geo.cell_centre(member.blurred_cell)
    body: dict[str, Any] = {
        "id": req.id, "status": req.status, "type": req.type, "description": req.description,
        "urgency": req.urgency, "at_risk": req.at_risk, "contactless": req.contactless,
        "window_start": req.window_start, "window_end": req.window_end,
        "neighbourhood": {"id": req.neighbourhood_id, "name": req.neighbourhood.name},
        "requester": req.on_behalf_of or req.requester.public_name,
        "helper": ({"id": req.helper_id, "name": req.helper.public_name}
                   if req.helper_id is not None and involved else None),
        "is_mine": is_mine, "escalation": ESCALATION_IDS.get(req.escalation, "none"),
        "search_radius_m": req.search_radius_m,
        "distance_m": int(matching.walking_m(olat, olon, req.lat, req.lon)),
        "created_at": req.created_at, "matched_at": req.matched_at, "closed_at": req.closed_at,
        "status_reason": req.status_reason, "thanks": req.thanks if involved else "",
        "my_proposal": {"answer": proposal.answer, "rank": proposal.rank} if proposal else None,
        "contact": ({"address": contact.address, "phone": contact.phone, "note": contact.note}
                    if contact is not None else None),
        "history": [{"kind": e.kind, "at": e.created_at, "by_me": e.actor_id is not None and e.actor_id == member.id}
                    for e in req.history.all()],
        "reveal_address": None, "reveal_phone": None, "contact_phone": None, "contact_note": None,
    }
    if is_mine:
        body.update(reveal_address=req.reveal_address, reveal_phone=req.reveal_phone,
                    contact_phone=req.contact_phone, contact_note=req.contact_note)
    return body


def _request_out(member: Member, request_id: int) -> RequestOut:
    """Read a request again, inside the reader's scope, after a write."""
    req = queries.request_in_scope(member, request_id)
    return RequestOut.model_validate(request_json(member, req))


def _types(value: str | None) -> list[str] | None:
    """`types=a,b` from a query string: None when absent, else known kinds of help (invalid_types)."""
    if value is None or not value.strip():
        return None
    return v.check_types([t.strip() for t in value.split(",") if t.strip()])


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None or not value.strip():
        return None
    message = _("A bounding box is min_lon,min_lat,max_lon,max_lat in degrees.")
    try:
        min_lon, min_lat, max_lon, max_lat = (float(p) for p in value.split(","))
    except ValueError:
        raise v.invalid("invalid_bbox", message, "bbox") from None
    if not all(math.isfinite(x) for x in (min_lon, min_lat, max_lon, max_lat)) \
            or not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise v.invalid("invalid_bbox", message, "bbox")
    return min_lon, min_lat, max_lon, max_lat


def _offer_json(offer: HelpOffer) -> dict[str, Any]:
    return {"types": offer.types, "radius_m": offer.radius_m, "slots": offer.slots,
            "capacity_per_week": offer.capacity_per_week, "active": offer.active,
            "completed_count": offer.completed_count, "dropped_count": offer.dropped_count}


def _no_offer() -> EntraideError:
    return EntraideError("no_offer", _("You do not offer help yet."), status=404)


# --- requests ---------------------------------------------------------------------------------------------------

@router.post("/aid/requests", response={201: RequestOut, **errors}, auth=member_auth, summary="Ask for help")
def create_request(request, payload: RequestIn):
    member = _member(request)
    req = actions.do_create_request(
        member, type=payload.type, description=payload.description, window_start=payload.window_start,
        window_end=payload.window_end, urgency=payload.urgency, at_risk=payload.at_risk,
        reveal_address=payload.reveal_address, reveal_phone=payload.reveal_phone,
        contact_phone=payload.contact_phone, contact_note=payload.contact_note, contactless=payload.contactless)
    return Status(201, _request_out(member, req.id))


@router.get("/aid/requests", response={200: RequestsOut, **errors}, auth=member_auth,
            summary="Requests: mine, the ones I help with, the ones I was asked to take, or open ones nearby")
def list_requests(request, scope: Literal["mine", "helping", "proposed", "nearby"] = "nearby",
                  types: str | None = Query(None, max_length=300, description="Comma-separated. " + _TYPES_DOC),
                  cursor: str | None = Query(None, max_length=200),
                  limit: int = Query(20, ge=1, le=MAX_PAGE)):
    member = _member(request)
    wanted = _types(types)
    if scope == "mine":
        qs = queries.my_requests(member)
    elif scope == "helping":
        qs = queries.my_tasks(member)
    elif scope == "proposed":
        qs = queries.visible_requests(member).filter(
            id__in=queries.my_pending_proposals(member).values("request_id"))
    else:
        # Open requests I could take, newest first (the map answers nearest first).
        qs = queries.visible_requests(member).filter(status__in=WAITING_STATUSES).exclude(requester=member)
        if not member.is_verified:
            qs = qs.filter(at_risk=False)
    if wanted:
        qs = qs.filter(type__in=wanted)
    if cursor:
        created_at, pk = decode_cursor(cursor)
        qs = qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
    rows = list(_with_details(member, qs.order_by("-created_at", "-id"))[: limit + 1])
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return {"items": [request_json(member, r) for r in rows[:limit]], "next_cursor": next_cursor}


@router.get("/aid/requests/{request_id}", response={200: RequestOut, **errors}, auth=member_auth,
            summary="One request, as I may see it")
def get_request(request, request_id: int):
    return _request_out(_member(request), request_id)


@router.patch("/aid/requests/{request_id}", response={200: RequestOut, **errors}, auth=member_auth,
              summary="Edit my request (what it asks for: only while nobody has taken it)")
def update_request(request, request_id: int, payload: RequestPatch):
    member = _member(request)
    actions.do_update_request(member, request_id, **payload.model_dump(exclude_unset=True))
    return _request_out(member, request_id)


@router.post("/aid/requests/{request_id}/accept", response={200: RequestOut, **errors}, auth=member_auth,
             summary="Take a request (one helper wins; the others get 409 already_taken)")
def accept_request(request, request_id: int):
    member = _member(request)
    actions.do_accept(member, request_id)
    return _request_out(member, request_id)


@router.post("/aid/requests/{request_id}/decline", response={200: RequestOut, **errors}, auth=member_auth,
             summary="Say no to a request I was asked to take")
def decline_request(request, request_id: int, payload: ReasonIn | None = None):
    member = _member(request)
    actions.do_decline(member, request_id, reason=payload.reason if payload else "")
    return _request_out(member, request_id)


@router.post("/aid/requests/{request_id}/withdraw", response={200: RequestOut, **errors}, auth=member_auth,
             summary="Leave a match: the helper steps back, or the requester releases the helper")
def withdraw_request(request, request_id: int, payload: ReasonIn | None = None):
    member = _member(request)
    actions.do_withdraw(member, request_id, reason=payload.reason if payload else "")
    return _request_out(member, request_id)


@router.post("/aid/requests/{request_id}/complete", response={200: RequestOut, **errors}, auth=member_auth,
             summary="The helper says it is done; the requester confirms (and may thank)")
def complete_request(request, request_id: int, payload: CompleteIn | None = None):
    member = _member(request)
    actions.do_complete(member, request_id, thanks=payload.thanks if payload else "")
    return _request_out(member, request_id)


@router.post("/aid/requests/{request_id}/cancel", response={200: RequestOut, **errors}, auth=member_auth,
             summary="Cancel my request")
def cancel_request(request, request_id: int, payload: ReasonIn | None = None):
    member = _member(request)
    actions.do_cancel(member, request_id, reason=payload.reason if payload else "")
    return _request_out(member, request_id)


@router.post("/aid/requests/{request_id}/thank", response={200: RequestOut, **errors}, auth=member_auth,
             summary="Thank my helper once the task is done")
def thank_request(request, request_id: int, payload: ThankIn):
    member = _member(request)
    actions.do_thank(member, request_id, message=payload.message)
    return _request_out(member, request_id)


# --- offers -----------------------------------------------------------------------------------------------------

@router.post("/aid/offers", response={201: OfferOut, **errors}, auth=member_auth,
             summary="Offer to help (one offer per member; change it with PATCH)")
def create_offer(request, payload: OfferIn):
    member = _member(request)
    require_can_act(member)
    if queries.offer_of(member) is not None:
        raise EntraideError("offer_exists", _("You already offer to help: change your offer instead."), status=409)
    offer = actions.do_save_offer(member, types=payload.types, radius_m=payload.radius_m, slots=payload.slots,
                                  capacity_per_week=payload.capacity_per_week, active=payload.active)
    return Status(201, OfferOut.model_validate(_offer_json(offer)))


@router.get("/aid/offers", response={200: OfferOut, **errors}, auth=member_auth, summary="My offer to help")
def get_offer(request):
    offer = queries.offer_of(_member(request))
    if offer is None:
        raise _no_offer()
    return OfferOut.model_validate(_offer_json(offer))


@router.patch("/aid/offers", response={200: OfferOut, **errors}, auth=member_auth,
              summary="Change my offer (only the fields given)")
def update_offer(request, payload: OfferPatch):
    member = _member(request)
    current = queries.offer_of(member)
    if current is None:
        raise _no_offer()
    merged = {"types": current.types, "radius_m": current.radius_m, "slots": current.slots,
              "capacity_per_week": current.capacity_per_week, "active": current.active}
    merged.update({k: val for k, val in payload.model_dump(exclude_unset=True).items() if val is not None})
    offer = actions.do_save_offer(member, **merged)
    return OfferOut.model_validate(_offer_json(offer))


# --- map --------------------------------------------------------------------------------------------------------

@router.get("/aid/map", response={200: MapOut, **errors}, auth=member_auth,
            summary="Open requests and helpers around me, nearest first (blurred points only)")
def aid_map(request, bbox: str | None = Query(None, max_length=200, description="min_lon,min_lat,max_lon,max_lat"),
            types: str | None = Query(None, max_length=300, description="Comma-separated. " + _TYPES_DOC)):
    member = _member(request)
    box, wanted = _bbox(bbox), _types(types)
    requests = queries.map_requests(member, bbox=box, types=wanted)
    helpers = queries.map_helpers(member, bbox=box, types=wanted)
    return {
        "requests": [{"id": r.id, "type": r.type, "urgency": r.urgency, "at_risk": r.at_risk,
                      "description": r.description, "requester": r.requester, "lat": r.lat, "lon": r.lon,
                      "distance_m": r.distance_m, "window_end": r.window_end, "status": r.status} for r in requests],
        "helpers": [{"id": h.id, "name": h.name, "types": h.types, "lat": h.lat, "lon": h.lon,
                     "distance_m": h.distance_m} for h in helpers],
    }
