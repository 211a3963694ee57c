"""Sending the outbox: claim rows, send them through Django's email backend, record the outcome.

A row is claimed by one conditional UPDATE (pending and due, or `sending` with an expired lease → `sending` with a
new lease and a token), so two workers never send the same row; a worker killed mid-send leaves a lease that
expires, and the next sweep sends the row again. Attempts count claims, so a row that keeps killing its worker
still ends `failed`. Errors keep their type only (DESIGN.md: never addresses or bodies in logs).
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F, Q
from django.utils import timezone

from .models import EmailStatus, OutboundEmail

logger = logging.getLogger(__name__)
BATCH = 500


def lease_seconds() -> int:
    return int(getattr(settings, "ENTRAIDE_EMAIL_LEASE_SECONDS", 300))


def max_attempts() -> int:
    return int(getattr(settings, "ENTRAIDE_EMAIL_MAX_ATTEMPTS", 6))


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8... minutes after the first, second, third... failed attempt (at most a day)."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 24 * 60))


def claimable_q(now: datetime) -> Q:
    return (Q(status=EmailStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=EmailStatus.SENDING, lease_until__lt=now))


def _give_up_on_lost_leases(now: datetime) -> int:
    """A row whose every attempt so far died with its worker (lease expired, attempts used up) ends `failed`,
    visible to operators, instead of being claimed, and killing a worker, for ever."""
    return OutboundEmail.objects.filter(status=EmailStatus.SENDING, lease_until__lt=now,
                                        attempts__gte=max_attempts()).update(
        status=EmailStatus.FAILED, lease_until=None, last_error="LeaseExpired")


def claim(ids: list[int] | None = None, *, limit: int = BATCH, now: datetime | None = None) -> list[OutboundEmail]:
    """Take up to `limit` rows for this worker alone (those of `ids` only, when given)."""
    now = now or timezone.now()
    _give_up_on_lost_leases(now)
    candidates = OutboundEmail.objects.filter(claimable_q(now))
    if ids is not None:
        candidates = candidates.filter(id__in=ids)
    chosen = list(candidates.order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
    if not chosen:
        return []
    token = uuid.uuid4().hex
    # The condition is checked again by the UPDATE itself: a row another worker took meanwhile is left alone.
    OutboundEmail.objects.filter(claimable_q(now), id__in=chosen).update(
        status=EmailStatus.SENDING, lease_until=now + timedelta(seconds=lease_seconds()), lease_token=token,
        attempts=F("attempts") + 1)
    return list(OutboundEmail.objects.filter(lease_token=token, status=EmailStatus.SENDING)
                .select_related("recipient__user").order_by("id"))


def _message(row: OutboundEmail, connection) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject=row.subject, body=row.text, to=[row.recipient.user.email],
                                     headers=row.headers, connection=connection)
    message.attach_alternative(row.html, "text/html")
    return message


def send_rows(rows: list[OutboundEmail], *, now: datetime | None = None) -> dict[str, int]:
    """Send claimed rows over one connection; each row's outcome is written under its lease token."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    if not rows:
        return counts
    sent: list[int] = []
    connection = get_connection()
    try:
        connection.open()
        for row in rows:
            try:
                if not row.recipient.user.email or not row.recipient.user.is_active:
                    raise ValueError("no deliverable address")
                connection.send_messages([_message(row, connection)])
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the batch
                counts["failed" if _failed(row, exc) else "retry"] += 1
            else:
                sent.append(row.id)
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001
            logger.warning("email connection did not close cleanly")
    if sent:
        # Only rows still under this worker's lease: a row reclaimed after its lease expired belongs to the other.
        for row_token in {r.lease_token for r in rows}:
            OutboundEmail.objects.filter(id__in=sent, lease_token=row_token).update(
                status=EmailStatus.SENT, sent_at=now or timezone.now(), lease_until=None, last_error="")
        counts["sent"] = len(sent)
    return counts


def _failed(row: OutboundEmail, exc: Exception) -> bool:
    """Record a failed attempt: back to pending after a backoff, or failed for good. True when failed."""
    now = timezone.now()
    final = row.attempts >= max_attempts()
    logger.warning("email %s attempt %s failed: %s", row.id, row.attempts, type(exc).__name__)
    OutboundEmail.objects.filter(id=row.id, lease_token=row.lease_token).update(
        status=EmailStatus.FAILED if final else EmailStatus.PENDING, lease_until=None,
        next_attempt_at=now if final else now + backoff(row.attempts), last_error=type(exc).__name__[:100])
    return final


def send_ids(ids: list[int]) -> dict[str, int]:
    """Send these rows now if they are due (the job enqueued when a notification's transaction commits)."""
    return send_rows(claim(ids, limit=len(ids) or 1))


def send_due(*, max_rows: int = 20_000, batch: int = BATCH) -> dict[str, int]:
    """Send what is due and reclaim expired leases, batch after batch (the periodic sweep)."""
    total = {"sent": 0, "retry": 0, "failed": 0}
    while sum(total.values()) < max_rows:
        rows = claim(limit=batch)
        if not rows:
            break
        for key, n in send_rows(rows).items():
            total[key] += n
    return total


def retry_now(ids: list[int]) -> int:
    """Operators: send these failed or waiting rows at the next sweep, with their attempts counted afresh."""
    return OutboundEmail.objects.filter(id__in=ids).exclude(status=EmailStatus.SENT).update(
        status=EmailStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), lease_until=None, lease_token="")
