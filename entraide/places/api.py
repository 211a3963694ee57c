from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from entraide.core import ratelimit
from entraide.core.api import ErrorOut, member_auth
from entraide.core.errors import EntraideError
from entraide.accounts.queries import member_of

from . import actions, geo, queries
from .geocoding import geocode
from .schemas import NeighbourhoodRef

router = Router(tags=["places"])
errors: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}


class CandidateOut(Schema):
    label: str
    lat: float
    lon: float
    precision: str = Field(description="housenumber, street, postcode or municipality")
    score: float
    neighbourhood: NeighbourhoodRef | None


class GeocodeOut(Schema):
    candidates: list[CandidateOut]


class LocateOut(Schema):
    neighbourhood: NeighbourhoodRef | None


class NeighbourhoodOut(Schema):
    id: int
    name: str
    code: str
    city: str
    member_count: int
    centroid: list[float] = Field(description="[lat, lon]")
    bbox: list[float] = Field(description="[min_lon, min_lat, max_lon, max_lat]")
    geometry: dict
    nearby: list[NeighbourhoodRef]


class WaitlistIn(Schema):
    email: str = Field(max_length=254)
    lat: float
    lon: float


class WaitlistOut(Schema):
    ok: bool


def geocode_candidates(q: str, limit: int = 5) -> list[CandidateOut]:
    """Candidates with the neighbourhood each falls in; shared by the API and the sign-up page."""
    out = []
    for candidate in geocode(q, limit=limit):
        neighbourhood = queries.locate(candidate.lat, candidate.lon)
        out.append(CandidateOut(label=candidate.label, lat=candidate.lat, lon=candidate.lon,
                                precision=candidate.precision, score=round(candidate.score, 3),
                                neighbourhood=NeighbourhoodRef.of(neighbourhood) if neighbourhood else None))
    return out


@router.get("/places/geocode", response={200: GeocodeOut, **errors}, summary="Geocode a typed address")
def geocode_view(request, q: str = Query(..., min_length=1, max_length=300), limit: int = Query(5, ge=1, le=10)):
    ratelimit.hit("geocode", ratelimit.client_ip(request), limit=120, window_s=60)
    return {"candidates": geocode_candidates(q, limit)}


@router.get("/places/locate", response={200: LocateOut, **errors}, summary="Which neighbourhood holds a point")
def locate_view(request, lat: float = Query(..., ge=-90, le=90), lon: float = Query(..., ge=-180, le=180)):
    neighbourhood = queries.locate(lat, lon)
    return {"neighbourhood": NeighbourhoodRef.of(neighbourhood) if neighbourhood else None}


@router.get("/neighbourhoods/{neighbourhood_id}", response={200: NeighbourhoodOut, **errors}, auth=member_auth,
            summary="A neighbourhood: your own or a nearby one")
def neighbourhood_view(request, neighbourhood_id: int):
    member = member_of(request.user)
    if member is None:
        raise EntraideError("no_profile", _("This account has no member profile."), status=403)
    n = queries.neighbourhood_for_member(member, neighbourhood_id)
    return NeighbourhoodOut(
        id=n.id, name=n.name, code=n.code, city=n.city.name, member_count=n.member_count,
        centroid=[n.centroid_lat, n.centroid_lon], bbox=[n.min_lon, n.min_lat, n.max_lon, n.max_lat],
        geometry=n.geometry, nearby=[NeighbourhoodRef.of(x) for x in queries.nearby_of(n)],
    )


@router.post("/places/waitlist", response={201: WaitlistOut, **errors}, summary="Join the waiting list of an area not covered yet")
def waitlist_view(request, payload: WaitlistIn):
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(payload.email)
    except ValidationError:
        raise EntraideError("invalid_email", _("Enter a valid email address."), fields={"email": [_("Invalid email.")]})
    if queries.locate(payload.lat, payload.lon) if geo.valid_lat_lon(payload.lat, payload.lon) else False:
        raise EntraideError("already_covered", _("This place is already covered: you can sign up now."), status=409)
    actions.do_join_waitlist(email=payload.email, lat=payload.lat, lon=payload.lon,
                             language=getattr(request, "LANGUAGE_CODE", "fr"), ip=ratelimit.client_ip(request))
    return Status(201, {"ok": True})
