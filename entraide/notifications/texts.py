"""The words of a notification, written in the current language at display time (payloads keep ids and names)."""
from __future__ import annotations

from django.utils.translation import gettext as _

from entraide.aid.models import HelpType

from .models import NotificationType

_UPDATES = {
    ("accepted", "requester"): lambda p: _("%(name)s will help you: %(what)s") % p,
    ("accepted", "asked"): lambda p: _("Another neighbour took the request you were asked about: %(what)s") % p,
    ("withdrawn", "requester"): lambda p: _("Your helper stepped back; we are asking other neighbours: %(what)s") % p,
    ("withdrawn", "helper"): lambda p: _("The requester no longer needs you for: %(what)s") % p,
    ("helper_done", "requester"): lambda p: _("Your helper says it is done; please confirm: %(what)s") % p,
    ("completed", "helper"): lambda p: _("Done and confirmed, thank you! %(what)s") % p,
    ("thanked", "helper"): lambda p: _("You were thanked for: %(what)s") % p,
    ("cancelled", "helper"): lambda p: _("This request was cancelled: %(what)s") % p,
    ("cancelled", "asked"): lambda p: _("This request was cancelled: %(what)s") % p,
    ("expired", "requester"): lambda p: _("Your request has expired: %(what)s") % p,
    ("expired", "helper"): lambda p: _("This task has been closed: %(what)s") % p,
    ("updated", "helper"): lambda p: _("The request you are helping with was edited: %(what)s") % p,
}


def help_type_label(value: str) -> str:
    return str(dict(HelpType.choices).get(value, value))


def describe(type: str, payload: dict) -> str:
    """One short sentence for the list, the bell and the email subject."""
    p = {"name": payload.get("name") or _("A neighbour"), "title": payload.get("title") or "",
         "what": help_type_label(payload.get("help_type", ""))}
    if type == NotificationType.MATCH:
        if payload.get("urgency") == "urgent":
            return _("Urgent: %(name)s asks for help nearby: %(what)s") % p
        return _("%(name)s asks for help nearby: %(what)s") % p
    if type == NotificationType.REQUEST_UPDATE:
        text = _UPDATES.get((payload.get("kind", ""), payload.get("role", "")))
        return text(p) if text else _("News of a help request: %(what)s") % p
    if type == NotificationType.MESSAGE:
        return _("New message from %(name)s") % p
    if type == NotificationType.REPLY:
        if payload.get("to") == "comment":
            return _("%(name)s replied to your comment") % p
        if p["title"]:
            return _("%(name)s replied to your post “%(title)s”") % p
        return _("%(name)s replied to your post") % p
    if type == NotificationType.URGENT_ALERT:
        return _("Urgent alert in your neighbourhood: %(title)s") % p if p["title"] else _(
            "Urgent alert in your neighbourhood")
    return _("New notification")
