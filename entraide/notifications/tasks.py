"""Background jobs (huey): send emails now, sweep the outbox every minute, spread urgent alerts, the daily digest.

Nothing depends on a job surviving: the outbox and the fan-out table are the record of what remains to do, and the
minute sweep picks up whatever a killed consumer left (expired leases, unfinished fan-outs, a digest run left half
done or missed). Every job failure is
written to JobFailure for operators (huey's error signal), with the error type only.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone as dt_timezone

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task
from huey.signals import SIGNAL_ERROR

from . import digest, fanout, outbox

logger = logging.getLogger(__name__)


@db_task(retries=3, retry_delay=60, name="notifications.send_emails")
def send_emails(ids: list[int]) -> dict[str, int]:
    return outbox.send_ids(ids)


@db_task(retries=3, retry_delay=30, name="notifications.urgent_fanout")
def urgent_fanout(post_id: int) -> int:
    return fanout.run(post_id)


@db_periodic_task(crontab(minute="*"), name="notifications.sweep")
def sweep() -> dict[str, int]:
    """Every minute (and when a consumer starts): due emails, expired leases, unfinished fan-outs."""
    fanned = fanout.run_stale()
    digests = digest.run_due()  # None unless a digest run was missed or left half done
    counts = outbox.send_due()
    counts["fanout"] = fanned
    counts["digests"] = int(digests["written"]) if digests else 0
    return counts


def digest_time(dt: datetime) -> bool:
    """True at ENTRAIDE_DIGEST_HOUR:00 local time (huey hands periodic checks a naive UTC datetime)."""
    local = timezone.localtime(dt.replace(tzinfo=dt_timezone.utc) if timezone.is_naive(dt) else dt)
    return local.hour == digest.digest_hour() and local.minute == 0


@db_periodic_task(digest_time, name="notifications.digest")
def daily_digest() -> dict[str, float]:
    counts = digest.run_due() or {}
    counts.update(outbox.send_due(max_rows=10_000_000))
    return counts


@HUEY.signal(SIGNAL_ERROR)
def record_failure(signal, task, exc=None) -> None:
    from .models import JobFailure

    try:
        JobFailure.objects.create(task=task.name[:100], task_id=str(task.id)[:64],
                                  error=type(exc).__name__[:100] if exc else "", retries_left=task.retries or 0)
    except Exception as error:  # noqa: BLE001 - never let the record of a failure fail the consumer
        logger.error("could not record a failed job: %s", type(error).__name__)
