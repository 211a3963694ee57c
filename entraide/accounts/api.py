from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from entraide.core import ratelimit
from entraide.core.api import ErrorOut, member_auth
from entraide.core.errors import EntraideError
from entraide.places.schemas import NeighbourhoodRef

from . import actions
from .models import Member
from .permissions import can_act
from .queries import member_of

router = Router(tags=["accounts"])
errors: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut,
                          429: ErrorOut}


class SignupIn(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)
    display_name: str = Field(max_length=80)
    address: str | None = Field(None, max_length=300)
    lat: float | None = None
    lon: float | None = None
    language: str = "fr"


class VerificationOut(Schema):
    state: str
    method: str
    verified_at: datetime | None


class MeOut(Schema):
    """The owner's own view: the only place the exact address and coordinates appear."""

    id: int
    email: str
    display_name: str
    public_name: str
    language: str
    address: str
    lat: float
    lon: float
    street: str
    neighbourhood: NeighbourhoodRef
    reads_nearby: list[int]
    verification: VerificationOut
    can_post: bool


class TokenIn(Schema):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)


class TokenOut(Schema):
    token: str


class MePatch(Schema):
    display_name: str | None = Field(None, max_length=80)
    language: str | None = None
    reads_nearby: list[int] | None = None


class CodeIn(Schema):
    code: str = Field(max_length=40)


class GeolocationIn(Schema):
    lat: float
    lon: float
    accuracy_m: float


class InvitationOut(Schema):
    code: str
    expires_at: datetime
    neighbourhood: NeighbourhoodRef


def me_out(member: Member) -> MeOut:
    return MeOut(
        id=member.id, email=member.user.email, display_name=member.display_name, public_name=member.public_name,
        language=member.language, address=member.address_text, lat=member.lat, lon=member.lon,
        street=member.street_name, neighbourhood=NeighbourhoodRef.of(member.neighbourhood),
        reads_nearby=list(member.reads_nearby.values_list("id", flat=True)),
        verification=VerificationOut(state=member.verification_state, method=member.verification_method,
                                     verified_at=member.verified_at),
        can_post=can_act(member),
    )


def _member(request) -> Member:
    member = member_of(request.user)
    if member is None:
        raise EntraideError("no_profile", _("This account has no member profile."), status=403)
    return member


@router.post("/auth/signup", response={201: MeOut, **errors}, summary="Sign up with an address or a pin")
def signup(request, payload: SignupIn):
    ratelimit.hit("signup", ratelimit.client_ip(request), limit=20, window_s=3600)
    member = actions.do_signup(email=payload.email, password=payload.password, display_name=payload.display_name,
                               address=payload.address, lat=payload.lat, lon=payload.lon, language=payload.language,
                               request=request)
    return Status(201, me_out(member))


@router.post("/auth/token", response={200: TokenOut, **errors}, summary="Exchange email and password for a bearer token")
def token(request, payload: TokenIn):
    return {"token": actions.do_issue_token(email=payload.email, password=payload.password,
                                            ip=ratelimit.client_ip(request))}


@router.get("/me", response={200: MeOut, **errors}, auth=member_auth, summary="My own profile")
def me(request):
    return me_out(_member(request))


@router.patch("/me", response={200: MeOut, **errors}, auth=member_auth, summary="Change my name, language or nearby reads")
def update_me(request, payload: MePatch):
    member = actions.do_update_profile(_member(request), display_name=payload.display_name,
                                       language=payload.language, reads_nearby=payload.reads_nearby)
    return me_out(member)


@router.post("/me/verify/letter", response={200: MeOut, **errors}, auth=member_auth, summary="Type the code from the letter")
def verify_letter(request, payload: CodeIn):
    return me_out(actions.do_verify_letter_code(_member(request), payload.code))


@router.post("/me/verify/geolocation", response={200: MeOut, **errors}, auth=member_auth,
             summary="One geolocation check inside my neighbourhood")
def verify_geolocation(request, payload: GeolocationIn):
    return me_out(actions.do_verify_geolocation(_member(request), lat=payload.lat, lon=payload.lon,
                                                accuracy_m=payload.accuracy_m))


@router.post("/me/verify/invitation", response={200: MeOut, **errors}, auth=member_auth,
             summary="Use an invitation code from a verified neighbour")
def verify_invitation(request, payload: CodeIn):
    return me_out(actions.do_redeem_invitation(_member(request), payload.code))


@router.post("/me/invitations", response={201: InvitationOut, **errors}, auth=member_auth,
             summary="Create an invitation code for a neighbour (verified members)")
def create_invitation(request):
    invitation = actions.do_create_invitation(_member(request))
    return Status(201, InvitationOut(code=invitation.code, expires_at=invitation.expires_at,
                                     neighbourhood=NeighbourhoodRef.of(invitation.neighbourhood)))
