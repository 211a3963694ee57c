"""Reads of notifications: a member's own only (anything else is not found)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from entraide.accounts.models import Member
from entraide.core.errors import EntraideError
from entraide.places.models import Neighbourhood
from entraide.places.queries import readable_neighbourhood_ids

from . import prefs as prefs_module
from .models import Notification, NotificationSettings
from .texts import describe

MAX_PAGE = 100
BELL_CAP = 100  # the bell counts up to this ("99+"), so a member with thousands costs the same


@dataclass(frozen=True)
class NotificationView:
    id: int
    type: str
    text: str
    url: str
    payload: dict
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class NotificationPage:
    items: list[NotificationView]
    next_cursor: str | None
    unread_count: int


def unread_count(member: Member) -> int:
    """One indexed count (recipient, read_at), capped."""
    return Notification.objects.filter(recipient_id=member.id, read_at__isnull=True)[:BELL_CAP].count()


def _view(n: Notification) -> NotificationView:
    return NotificationView(n.id, n.type, describe(n.type, n.payload), n.url, n.payload, n.created_at, n.read_at)


def notifications_page(member: Member, *, cursor: str | None = None, limit: int = 30,
                       unread_only: bool = False) -> NotificationPage:
    """The member's notifications, newest first; the cursor is the last id seen (stable under inserts)."""
    limit = max(1, min(int(limit), MAX_PAGE))
    qs = Notification.objects.filter(recipient_id=member.id)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    if cursor:
        # ASCII digits only, and few enough for a database id: "²" passes isdigit() and then breaks int().
        if not re.fullmatch(r"[0-9]{1,18}", cursor):
            raise EntraideError("invalid_cursor", _("This page link is no longer valid."), status=422,
                                fields={"cursor": [_("Invalid cursor.")]})
        qs = qs.filter(id__lt=int(cursor))
    rows = list(qs.order_by("-id")[: limit + 1])
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return NotificationPage([_view(n) for n in rows[:limit]], next_cursor, unread_count(member))


def settings_of(member: Member) -> prefs_module.Prefs:
    row = NotificationSettings.objects.filter(member=member).first()
    return prefs_module.from_row(row) if row else prefs_module.defaults()


def followable_neighbourhoods(member: Member) -> list[Neighbourhood]:
    """The neighbourhoods a member may follow in the digest: those they read, home first."""
    ids = readable_neighbourhood_ids(member)
    found = {n.id: n for n in Neighbourhood.objects.filter(id__in=ids)}
    return [found[i] for i in ids if i in found]


def language_of(member_id: int) -> str | None:
    """The language a member's emails are written in (the unsubscribe page answers in it)."""
    return Member.objects.filter(id=member_id).values_list("language", flat=True).first()
