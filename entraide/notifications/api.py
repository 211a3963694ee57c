"""The notifications API (mounted at /api/v1 by entraide/api.py): my notifications, marking read, my settings."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from entraide.accounts.models import Member
from entraide.accounts.queries import member_of
from entraide.core.api import ErrorOut, member_auth
from entraide.core.errors import EntraideError
from entraide.feed.models import Category

from . import actions, queries
from .models import Channel, NotificationType

router = Router(tags=["notifications"])
errors: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}


class NotificationOut(Schema):
    id: int
    type: str = Field(description="One of: " + ", ".join(NotificationType.values))
    text: str = Field(description="One sentence, in my language")
    url: str = Field(description="Where the notification leads (a path on this site)")
    payload: dict[str, Any] = Field(description="Ids and short public texts (no address, no message body)")
    created_at: datetime
    read_at: datetime | None


class NotificationsOut(Schema):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int = Field(description="Unread notifications, counted up to 100")


class ReadIn(Schema):
    ids: list[int] = Field(default_factory=list, max_length=actions.MAX_READ_IDS)
    all: bool = False


class ReadOut(Schema):
    marked: int
    unread_count: int


class SwitchesIn(Schema):
    in_app: bool = True
    email: bool = True


class SettingsOut(Schema):
    channels: dict[str, dict[str, bool]] = Field(description="type -> {in_app, email}")
    digest: bool
    neighbourhoods: list[int] = Field(description="Followed in the digest; empty: my home neighbourhood")
    digest_categories: list[str] = Field(description="Feed categories in the digest; empty: all")
    quiet_hours_start: str | None = Field(description="HH:MM local time; null: no quiet hours")
    quiet_hours_end: str | None
    unsubscribed: bool = Field(description="No email at all")


class SettingsIn(Schema):
    channels: dict[str, SwitchesIn] = Field(default_factory=dict,
                                            description="Types: " + ", ".join(NotificationType.values))
    digest: bool = True
    neighbourhoods: list[int] = Field(default_factory=list, max_length=50)
    digest_categories: list[str] = Field(default_factory=list, max_length=20,
                                         description="Of: " + ", ".join(Category.values))
    quiet_hours_start: str | None = Field(None, max_length=5, description="HH:MM")
    quiet_hours_end: str | None = Field(None, max_length=5, description="HH:MM")
    unsubscribed: bool = False


def _member(request) -> Member:
    member = member_of(request.user)
    if member is None:
        raise EntraideError("no_profile", _("This account has no member profile."), status=403)
    return member


def _out(n: queries.NotificationView) -> dict:
    return {"id": n.id, "type": n.type, "text": n.text, "url": n.url, "payload": n.payload,
            "created_at": n.created_at, "read_at": n.read_at}


def settings_out(member: Member) -> dict:
    p = queries.settings_of(member)
    return {"channels": p.full_channels(), "digest": p.digest, "neighbourhoods": p.neighbourhoods,
            "digest_categories": p.digest_categories,
            "quiet_hours_start": p.quiet_start.strftime("%H:%M") if p.quiet_start else None,
            "quiet_hours_end": p.quiet_end.strftime("%H:%M") if p.quiet_end else None,
            "unsubscribed": p.unsubscribed}


@router.get("/notifications", response={200: NotificationsOut, **errors}, auth=member_auth,
            summary="My notifications, newest first")
def list_notifications(request, cursor: str | None = Query(None, max_length=30),
                       limit: int = Query(30, ge=1, le=queries.MAX_PAGE), unread: bool = False):
    page = queries.notifications_page(_member(request), cursor=cursor or None, limit=limit, unread_only=unread)
    return {"items": [_out(n) for n in page.items], "next_cursor": page.next_cursor,
            "unread_count": page.unread_count}


@router.post("/notifications/read", response={200: ReadOut, **errors}, auth=member_auth,
             summary="Mark some of my notifications read ({ids}), or all of them ({all: true})")
def mark_read(request, payload: ReadIn):
    member = _member(request)
    marked = actions.do_mark_read(member, ids=payload.ids, all=payload.all)
    return {"marked": marked, "unread_count": queries.unread_count(member)}


@router.get("/notifications/settings", response={200: SettingsOut, **errors}, auth=member_auth,
            summary="What I hear about, and how")
def get_settings(request):
    return settings_out(_member(request))


@router.put("/notifications/settings", response={200: SettingsOut, **errors}, auth=member_auth,
            summary="Replace my notification settings (the whole object)")
def put_settings(request, payload: SettingsIn):
    member = _member(request)
    channels = {t: {Channel.IN_APP: s.in_app, Channel.EMAIL: s.email} for t, s in payload.channels.items()}
    actions.do_update_settings(member, channels=channels, digest=payload.digest,
                               neighbourhoods=payload.neighbourhoods, digest_categories=payload.digest_categories,
                               quiet_hours=(payload.quiet_hours_start, payload.quiet_hours_end),
                               unsubscribed=payload.unsubscribed)
    return settings_out(member)
