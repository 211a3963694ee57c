"""Checks on what members type into requests and offers: each refusal has its own stable code and field."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from entraide.core.errors import invalid
from entraide.core.text import clean_text

from .models import HelpType, Urgency

MAX_DESCRIPTION = 500
MAX_WINDOW = timedelta(days=30)
MAX_LEAD = timedelta(days=60)  # how far ahead a window may start
MAX_SLOTS = 28
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_PHONE = re.compile(r"^\+?[0-9 .\-()]{6,25}$")


def check_type(value: str) -> str:
    if value not in HelpType.values:
        raise invalid("invalid_type", _("Unknown kind of help."), "type")
    return value


def check_types(values: list[str] | None) -> list[str]:
    values = list(dict.fromkeys(values or []))
    if not values:
        raise invalid("invalid_types", _("Choose at least one kind of help."), "types")
    for v in values:
        if v not in HelpType.values:
            raise invalid("invalid_types", _("Unknown kind of help: %(type)s.") % {"type": str(v)[:40]}, "types")
    return values


def check_urgency(value: str) -> str:
    if value not in Urgency.values:
        raise invalid("invalid_urgency", _("Urgency is low, normal or urgent."), "urgency")
    return value


def check_description(text: str | None) -> str:
    text = clean_text(text)
    if not text:
        raise invalid("empty_description", _("Say in a few words what you need."), "description")
    if len(text) > MAX_DESCRIPTION:
        raise invalid("description_too_long",
                      _("At most %(n)d characters, please.") % {"n": MAX_DESCRIPTION}, "description")
    return text


def check_window(start: datetime | None, end: datetime | None, *, now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or timezone.now()
    if start is None or end is None:
        raise invalid("invalid_window", _("Give when the help is needed: a start and an end."), "window_start")
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise invalid("invalid_window", _("Times need a time zone (ISO 8601, for example 2020-03-20T10:00+01:00)."),
                      "window_start")
    if end <= start:
        raise invalid("invalid_window", _("The end must come after the start."), "window_end")
    if end <= now:
        raise invalid("window_in_past", _("This time window is already over."), "window_end")
    if end - start > MAX_WINDOW:
        raise invalid("window_too_long", _("A request covers at most 30 days."), "window_end")
    if start > now + MAX_LEAD:
        raise invalid("window_too_far", _("A request starts within the next 60 days."), "window_start")
    return start, end


def check_radius(radius_m: int) -> int:
    if not 100 <= radius_m <= settings.ENTRAIDE_AID_MAX_HELPER_RADIUS_M:
        raise invalid("invalid_radius", _("Between 100 m and %(max)d m.") % {"max": settings.ENTRAIDE_AID_MAX_HELPER_RADIUS_M},
                      "radius_m")
    return radius_m


def check_capacity(n: int) -> int:
    if not 1 <= n <= 50:
        raise invalid("invalid_capacity", _("Between 1 and 50 tasks a week."), "capacity_per_week")
    return n


def check_slots(slots: list[dict] | None) -> list[dict]:
    """Weekly slots as [{"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"}], normalised and sorted."""
    out = []
    for slot in slots or []:
        try:
            weekday, start, end = int(slot["weekday"]), str(slot["start"]), str(slot["end"])
        except (KeyError, TypeError, ValueError, OverflowError):
            raise invalid("invalid_slots", _("Each slot has a weekday, a start and an end."), "slots") from None
        if not 0 <= weekday <= 6 or not _HHMM.match(start) or not _HHMM.match(end) or end <= start:
            raise invalid("invalid_slots", _("A slot is a weekday (0 = Monday) and a start before its end (HH:MM)."),
                          "slots")
        out.append({"weekday": weekday, "start": start, "end": end})
    if len(out) > MAX_SLOTS:
        raise invalid("invalid_slots", _("At most %(n)d slots.") % {"n": MAX_SLOTS}, "slots")
    return sorted(out, key=lambda s: (s["weekday"], s["start"]))


def check_phone(phone: str | None) -> str:
    phone = clean_text(phone)
    if phone and not _PHONE.match(phone):
        raise invalid("invalid_phone", _("This does not look like a phone number."), "contact_phone")
    return phone


def check_note(note: str | None) -> str:
    note = clean_text(note)
    if len(note) > 200:
        raise invalid("note_too_long", _("At most %(n)d characters, please.") % {"n": 200}, "contact_note")
    return note


def check_reason(reason: str | None) -> str:
    reason = " ".join(clean_text(reason).split())
    if len(reason) > 200:
        raise invalid("reason_too_long", _("At most %(n)d characters, please.") % {"n": 200}, "reason")
    return reason
