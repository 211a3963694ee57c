"""Every write of notifications: notify members, mark read, change settings, unsubscribe.

`notify` writes the notifications and their outbox emails in one transaction; once it commits, a job sends the
emails at once (and the minute sweep catches any the job missed). Each notification announces itself with
`notification.created` to its recipient only.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from entraide.accounts.models import Member
from entraide.core import events, ratelimit
from entraide.core.errors import NotFound, invalid
from entraide.feed.models import Category
from entraide.places.queries import readable_neighbourhood_ids

from . import emails, prefs as prefs_module
from .models import Channel, EmailStatus, Notification, NotificationSettings, NotificationType, OutboundEmail

logger = logging.getLogger(__name__)
COALESCE_WINDOW = timedelta(minutes=15)
MAX_READ_IDS = 500
MAX_ID = 2 ** 63 - 1
SETTINGS_LIMIT = (60, 3600)  # per member: 60 saves an hour


def unread_counts(member_ids: list[int]) -> dict[int, int]:
    rows = (Notification.objects.filter(recipient_id__in=member_ids, read_at__isnull=True)
            .values("recipient_id").annotate(n=Count("id")))
    counts = {r["recipient_id"]: r["n"] for r in rows}
    return {mid: counts.get(mid, 0) for mid in member_ids}


def announce(notifications: list[Notification]) -> None:
    """notification.created to each recipient (with their unread count), after commit."""
    if not notifications:
        return
    counts = unread_counts(sorted({n.recipient_id for n in notifications}))
    for n in notifications:
        events.publish("notification.created", {"notification_id": n.id, "type": str(n.type),
                                                "unread_count": counts[n.recipient_id]},
                       member_ids=[n.recipient_id])


def send_on_commit(ids: list[int]) -> None:
    """Ask the job consumer to send these outbox rows once the transaction commits (never breaks the write)."""
    if not ids:
        return

    def enqueue() -> None:
        try:
            from .tasks import send_emails

            for start in range(0, len(ids), 500):
                send_emails(ids[start:start + 500])
        except Exception as exc:  # noqa: BLE001 - the minute sweep sends them anyway
            logger.warning("could not enqueue email sending: %s", type(exc).__name__)

    transaction.on_commit(enqueue)


def _held_back(in_app_ids: set[int], email_only_ids: set[int], kind: str, thread: str, now: datetime) -> set[int]:
    """Members whose earlier notification of this thread is unread and recent (with in-app off: whose email of it
    was recent): they get no second email. Two queries, whatever the number of members."""
    since = now - COALESCE_WINDOW
    held: set[int] = set()
    if in_app_ids:
        held |= set(Notification.objects.filter(recipient_id__in=in_app_ids, read_at__isnull=True, thread=thread,
                                                type=kind, created_at__gte=since)
                    .values_list("recipient_id", flat=True))
    if email_only_ids:
        prefix = f"{kind}:{thread}:"
        rows = OutboundEmail.objects.filter(recipient_id__in=email_only_ids, kind=kind, created_at__gte=since,
                                            dedupe_key__startswith=prefix).values_list("recipient_id", "dedupe_key")
        held |= {rid for rid, key in rows if key.startswith(f"{prefix}{rid}:")}
    return held


def notify(member_ids: list[int], type: str, *, payload: dict | Callable[[Member], dict], url: str,
           thread: str, dedupe: Callable[[Member], str], neighbourhood_id: int | None = None,
           urgent: bool = False, coalesce: bool = False, now: datetime | None = None) -> list[Notification]:
    """Notify these members (in-app and/or email, as each wants). Returns the notifications written."""
    now = now or timezone.now()
    members = list(Member.objects.filter(id__in=set(member_ids), user__is_active=True).select_related("user"))
    if not members:
        return []
    wanted = prefs_module.prefs_for([m.id for m in members])
    in_app = {m.id for m in members if wanted[m.id].wants(type, Channel.IN_APP)}
    by_email = {m.id for m in members if wanted[m.id].wants(type, Channel.EMAIL) and m.user.email}
    held = _held_back(in_app & by_email, by_email - in_app, type, thread, now) if coalesce else set()
    notes: list[Notification] = []
    outbox: list[OutboundEmail] = []
    rendered: dict[str, tuple[str, str, str]] = {}  # one rendering per language when the payload is shared
    with transaction.atomic():
        for member in members:
            data = payload(member) if callable(payload) else payload
            if member.id in in_app:
                notes.append(Notification(recipient=member, type=type, payload=data, thread=thread, url=url,
                                          neighbourhood_id=neighbourhood_id or member.neighbourhood_id))
            if member.id in by_email and member.id not in held:
                language = member.language or settings.LANGUAGE_CODE
                same = None
                if not callable(payload):
                    same = rendered.setdefault(language, emails.render_notification(language, type, data, url,
                                                                                     urgent))
                outbox.append(emails.notification_email(member=member, type=type, payload=data, url=url,
                                                        dedupe_key=dedupe(member), prefs=wanted[member.id],
                                                        urgent=urgent, now=now, rendered=same))
        created = Notification.objects.bulk_create(notes) if notes else []
        rows = OutboundEmail.objects.bulk_create(outbox, ignore_conflicts=True) if outbox else []
        keys = [r.dedupe_key for r in rows]
        ids = list(OutboundEmail.objects.filter(dedupe_key__in=keys, status=EmailStatus.PENDING,
                                                next_attempt_at__lte=now).values_list("id", flat=True)) if keys else []
        send_on_commit(ids)
        announce(created)
    return created


# --- reading ----------------------------------------------------------------------------------------------------

def do_mark_read(member: Member, *, ids: list[int] | None = None, all: bool = False) -> int:
    """Mark some (or all) of the member's own notifications read; others' ids are simply not touched."""
    mine = Notification.objects.filter(recipient=member, read_at__isnull=True)
    if not all:
        ids = [int(i) for i in (ids or [])]
        if len(ids) > MAX_READ_IDS:
            raise invalid("too_many_ids", _("At most %(n)d at once.") % {"n": MAX_READ_IDS}, "ids")
        # An id no row can have is nobody's: dropped here, it never reaches SQLite as an OverflowError.
        mine = mine.filter(id__in=[i for i in ids if 0 < i <= MAX_ID])
    return mine.update(read_at=timezone.now())


def do_open(member: Member, notification_id: int) -> Notification:
    """The member follows a notification: it is read now. Another member's answers 404."""
    if not 0 < int(notification_id) <= MAX_ID:
        raise NotFound()
    notification = Notification.objects.filter(id=notification_id, recipient=member).first()
    if notification is None:
        raise NotFound()
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(id=notification.id).update(read_at=notification.read_at)
    return notification


# --- settings ---------------------------------------------------------------------------------------------------

def _check_quiet(value: str | None, field: str):
    if value is None or value == "":
        return None
    try:
        return prefs_module.parse_hhmm(value)
    except ValueError:
        raise invalid("invalid_quiet_hours", _("Give a time as HH:MM, for example 22:00."), field)


def do_update_settings(member: Member, *, channels: dict[str, dict[str, bool]] | None = None,
                       digest: bool | None = None, neighbourhoods: list[int] | None = None,
                       digest_categories: list[str] | None = None,
                       quiet_hours: tuple[str | None, str | None] | None = None,
                       unsubscribed: bool | None = None) -> NotificationSettings:
    """Change what the member hears about (None: unchanged). Everything is checked before anything is written.

    `quiet_hours`: ("22:00", "07:00") in local time, or (None, None) for none.
    """
    ratelimit.hit("notification_settings", str(member.id), limit=SETTINGS_LIMIT[0], window_s=SETTINGS_LIMIT[1])
    row = NotificationSettings.objects.filter(member=member).first()
    current = prefs_module.from_row(row) if row else prefs_module.defaults()
    if channels is not None:
        clean: dict[str, dict[str, bool]] = {}
        for type, switches in channels.items():
            if type not in NotificationType.values:
                raise invalid("unknown_notification_type", _("Unknown kind of notification."), f"channels.{type}")
            for channel, on in (switches or {}).items():
                if channel not in Channel.values:
                    raise invalid("unknown_channel", _("Unknown channel."), f"channels.{type}.{channel}")
                clean.setdefault(type, {})[channel] = bool(on)
        current.channels = clean  # the whole set: a type or channel left out is on
    if neighbourhoods is not None:
        readable = set(readable_neighbourhood_ids(member))
        chosen = list(dict.fromkeys(int(n) for n in neighbourhoods))
        if any(n not in readable for n in chosen):
            raise invalid("neighbourhood_not_readable", _("You can only follow neighbourhoods you read."),
                          "neighbourhoods")
        current.neighbourhoods = chosen
    if digest_categories is not None:
        if any(c not in Category.values for c in digest_categories):
            raise invalid("invalid_category", _("Unknown category."), "digest_categories")
        current.digest_categories = list(dict.fromkeys(digest_categories))
    if quiet_hours is not None:
        start = _check_quiet(quiet_hours[0], "quiet_hours_start")
        end = _check_quiet(quiet_hours[1], "quiet_hours_end")
        if (start is None) != (end is None):
            raise invalid("invalid_quiet_hours", _("Give both the start and the end, or neither."),
                          "quiet_hours_end" if start else "quiet_hours_start")
        current.quiet_start, current.quiet_end = start, end
    if digest is not None:
        current.digest = bool(digest)
    if unsubscribed is not None:
        current.unsubscribed = bool(unsubscribed)
    return _save(member, current)


def _save(member: Member, p: prefs_module.Prefs) -> NotificationSettings:
    row, _created = NotificationSettings.objects.update_or_create(member=member, defaults={
        "channels": p.channels, "digest": p.digest, "neighbourhoods": p.neighbourhoods,
        "digest_categories": p.digest_categories, "quiet_start": p.quiet_start, "quiet_end": p.quiet_end,
        "unsubscribed": p.unsubscribed})
    return row


UNSUBSCRIBE_KINDS = frozenset({emails.ALL, "digest", *NotificationType.values})


def do_unsubscribe(member_id: int, kind: str) -> bool:
    """One-click unsubscribe (the signed token is the credential): that kind of email, or every email.

    Waiting emails of that kind are withdrawn too, so nothing arrives after the click. False: no such member, or
    a kind no link carries.
    """
    if kind not in UNSUBSCRIBE_KINDS:
        return False  # never issued: refused rather than read as "every email"
    member = Member.objects.filter(id=member_id).first()
    if member is None:
        return False
    with transaction.atomic():
        row = NotificationSettings.objects.select_for_update().filter(member=member).first()
        p = prefs_module.from_row(row) if row else prefs_module.defaults()
        waiting = OutboundEmail.objects.filter(recipient=member, status=EmailStatus.PENDING)
        if kind == "digest":
            p.digest = False
            waiting = waiting.filter(kind="digest")
        elif kind != emails.ALL:
            p.channels = {**p.channels, kind: {**p.channels.get(kind, {}), Channel.EMAIL: False}}
            waiting = waiting.filter(kind=kind)
        else:
            p.unsubscribed = True
        _save(member, p)
        waiting.update(status=EmailStatus.FAILED, last_error="Unsubscribed")
    return True
