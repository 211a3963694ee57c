"""Reads on members. Other members only ever get the public view."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.utils import timezone

from entraide.places import geo

from .models import ApiToken, InvitationCode, LetterCode, Member


def user_for_token(token: str):
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = ApiToken.objects.select_related("user", "user__member").filter(key_hash=digest, user__is_active=True).first()
    if row is None:
        return None
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 300:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def member_of(user) -> Member | None:
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.member
    except Member.DoesNotExist:
        return None


@dataclass(frozen=True)
class PublicMember:
    """What another member may learn: first name and initial, street at most, a blurred point."""

    id: int
    name: str
    street: str
    neighbourhood_id: int
    verified: bool
    lat: float
    lon: float


def public_view(member: Member) -> PublicMember:
    lat, lon = geo.cell_centre(member.blurred_cell)
    return PublicMember(member.id, member.public_name, member.street_name, member.neighbourhood_id,
                        member.is_verified, lat, lon)


def neighbours_for(viewer: Member, *, limit: int = 200) -> list[PublicMember]:
    """Members of the viewer's home neighbourhood, public view only."""
    rows = (Member.objects.filter(neighbourhood_id=viewer.neighbourhood_id, user__is_active=True)
            .exclude(id=viewer.id).order_by("-created_at")[:limit])
    return [public_view(m) for m in rows]


def pending_letter(member: Member) -> LetterCode | None:
    return LetterCode.objects.filter(member=member, used_at__isnull=True).order_by("-id").first()


def invitations_of(member: Member):
    return InvitationCode.objects.filter(issuer=member).order_by("-created_at")[:20]
