"""Email content: one-click unsubscribe tokens (RFC 8058) and the rendering of a notification's email.

Every email is rendered in its recipient's language and carries `List-Unsubscribe` (a signed URL: the token is the
only credential, so mail clients can unsubscribe without a session) and `List-Unsubscribe-Post`.
"""
from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core import signing
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from . import prefs as prefs_module
from .models import OutboundEmail
from .texts import describe

SALT = "entraide.notifications.unsubscribe"
ALL = ""  # the token kind that turns every email off


def site_url(path: str) -> str:
    return getattr(settings, "ENTRAIDE_SITE_URL", "").rstrip("/") + path


def unsubscribe_token(member_id: int, kind: str = ALL) -> str:
    return signing.dumps({"m": member_id, "k": kind}, salt=SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, str]:
    """(member id, kind); signing.BadSignature for anything forged, altered or malformed."""
    data = signing.loads(token, salt=SALT)
    if not isinstance(data, dict) or not isinstance(data.get("m"), int) or not isinstance(data.get("k", ""), str):
        raise signing.BadSignature("unexpected token content")
    return data["m"], data.get("k", "")


def unsubscribe_url(member_id: int, kind: str = ALL) -> str:
    return site_url(reverse("notifications_unsubscribe", args=[unsubscribe_token(member_id, kind)]))


TOKEN_MARK = "@@token@@"


def unsubscribe_url_with_mark() -> str:
    """The unsubscribe URL with TOKEN_MARK for the token: resolved once for a batch of thousands of emails."""
    return site_url(reverse("notifications_unsubscribe", args=[TOKEN_MARK]))


def list_headers(url: str) -> dict[str, str]:
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated"}


def next_attempt(now: datetime, prefs: prefs_module.Prefs, urgent: bool) -> datetime:
    """Now, or the end of the member's quiet hours (urgent alerts ignore them)."""
    if urgent:
        return now
    return prefs_module.quiet_until(now, prefs.quiet_start, prefs.quiet_end) or now


UNSUBSCRIBE_MARK = "@@unsubscribe@@"  # replaced by each member's own link in a shared rendering


def render_notification(language: str, type: str, payload: dict, url: str, urgent: bool = False
                        ) -> tuple[str, str, str]:
    """(subject, text, html) in `language`, with UNSUBSCRIBE_MARK where the member's own link goes."""
    with translation.override(language or settings.LANGUAGE_CODE):
        summary = describe(type, payload)
        context = {"summary": summary, "url": site_url(url), "unsubscribe_url": UNSUBSCRIBE_MARK,
                   "settings_url": site_url(reverse("notification_settings")), "urgent": urgent}
        text = render_to_string("notifications/email/notification.txt", context)
        html = render_to_string("notifications/email/notification.html", context)
    # One line: a title or a post body with a line break would make Django refuse the Subject header
    # (BadHeaderError) on every attempt, and the email would never leave.
    return " ".join(summary.split())[:200], text, html


def notification_email(*, member, type: str, payload: dict, url: str, dedupe_key: str, prefs: prefs_module.Prefs,
                       urgent: bool = False, now: datetime | None = None,
                       rendered: tuple[str, str, str] | None = None) -> OutboundEmail:
    """The outbox row (unsaved) of one notification's email, in the member's language.

    `rendered`: the same email already rendered for this language (a fan-out renders it once per language).
    """
    now = now or timezone.now()
    unsubscribe = unsubscribe_url(member.id, type)
    subject, text, html = rendered or render_notification(member.language, type, payload, url, urgent)
    return OutboundEmail(recipient_id=member.id, kind=type, language=member.language or settings.LANGUAGE_CODE,
                         subject=subject, text=text.replace(UNSUBSCRIBE_MARK, unsubscribe),
                         html=html.replace(UNSUBSCRIBE_MARK, unsubscribe), headers=list_headers(unsubscribe),
                         urgent=urgent, next_attempt_at=next_attempt(now, prefs, urgent), dedupe_key=dedupe_key[:120])
