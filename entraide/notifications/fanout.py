"""Urgent alerts to a whole neighbourhood: thousands of rows, so a background job writes them in bulk.

The subscriber only records a `Fanout` and enqueues the job. The job works in chunks of members, each in its own
transaction, and skips members already notified about that post, so running it again after a crash (the minute
sweep does, for fan-outs left unfinished) completes it without notifying anyone twice.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from entraide.accounts.models import Member
from entraide.places.models import Neighbourhood

from . import actions, emails, prefs as prefs_module
from .models import Channel, EmailStatus, Fanout, Notification, NotificationType, OutboundEmail

logger = logging.getLogger(__name__)
CHUNK = 1000
STALE_AFTER = timedelta(minutes=2)  # an unfinished fan-out older than this is run again by the sweep
MAX_ATTEMPTS = 5


def schedule(post_id: int) -> None:
    Fanout.objects.get_or_create(post_id=post_id)
    try:
        from .tasks import urgent_fanout

        urgent_fanout(post_id)
    except Exception as exc:  # noqa: BLE001 - the sweep runs it later
        logger.warning("could not enqueue the urgent fan-out: %s", type(exc).__name__)


def recipients(post) -> Q:
    """Who reads the post: its neighbourhood's members, and for a `nearby` post those who read it from next door."""
    who = Q(neighbourhood_id=post.neighbourhood_id)
    if post.audience == "nearby":
        adjacent = Neighbourhood.nearby.through.objects.filter(to_neighbourhood_id=post.neighbourhood_id)
        who |= Q(reads_nearby__id=post.neighbourhood_id,
                 neighbourhood_id__in=adjacent.values("from_neighbourhood_id"))
    return who


def run(post_id: int) -> int:
    """Notify every reader of an urgent post; returns how many notifications were written this time."""
    from entraide.feed.models import Post

    Fanout.objects.filter(post_id=post_id).update(attempts=F("attempts") + 1)
    post = Post.objects.select_related("author").filter(id=post_id).first()
    if post is None:
        Fanout.objects.filter(post_id=post_id).update(done_at=timezone.now())
        return 0
    thread, url = f"post:{post.id}", reverse("post", args=[post.id])
    payload = {"post_id": post.id, "title": (post.title or post.body)[:140], "name": post.author.public_name}
    members = (Member.objects.filter(recipients(post), user__is_active=True).exclude(id=post.author_id)
               .distinct().order_by("id").values_list("id", flat=True))
    written, rendered = 0, {}
    chunk: list[int] = []
    for member_id in members.iterator(chunk_size=CHUNK):
        chunk.append(member_id)
        if len(chunk) == CHUNK:
            written += _chunk(chunk, post, thread, url, payload, rendered)
            chunk = []
    if chunk:
        written += _chunk(chunk, post, thread, url, payload, rendered)
    Fanout.objects.filter(post_id=post_id).update(done_at=timezone.now())
    return written


def _chunk(member_ids: list[int], post, thread: str, url: str, payload: dict, rendered: dict) -> int:
    now = timezone.now()
    done = set(Notification.objects.filter(thread=thread, type=NotificationType.URGENT_ALERT,
                                           recipient_id__in=member_ids).values_list("recipient_id", flat=True))
    todo = [m for m in Member.objects.filter(id__in=member_ids).select_related("user").only(
        "id", "language", "neighbourhood_id", "user__email") if m.id not in done]
    wanted = prefs_module.prefs_for([m.id for m in todo])
    notes, mails = [], []
    for m in todo:
        p = wanted[m.id]
        if p.wants(NotificationType.URGENT_ALERT, Channel.IN_APP):
            notes.append(Notification(recipient_id=m.id, neighbourhood_id=post.neighbourhood_id,
                                      type=NotificationType.URGENT_ALERT, payload=payload, thread=thread, url=url))
        if p.wants(NotificationType.URGENT_ALERT, Channel.EMAIL) and m.user.email:
            lang = m.language or "fr"
            if lang not in rendered:
                rendered[lang] = emails.render_notification(lang, NotificationType.URGENT_ALERT, payload, url, True)
            mails.append(emails.notification_email(
                member=m, type=NotificationType.URGENT_ALERT, payload=payload, url=url, prefs=p, urgent=True,
                dedupe_key=f"urgent_alert:{post.id}:{m.id}", now=now, rendered=rendered[lang]))
    with transaction.atomic():
        created = Notification.objects.bulk_create(notes)
        if mails:
            OutboundEmail.objects.bulk_create(mails, ignore_conflicts=True)
            ids = list(OutboundEmail.objects.filter(dedupe_key__in=[x.dedupe_key for x in mails],
                                                    status=EmailStatus.PENDING).values_list("id", flat=True))
            actions.send_on_commit(ids)
        actions.announce(created)
    return len(created)


def run_stale(now=None) -> int:
    """Fan-outs left unfinished (a consumer killed mid-job): run them again."""
    now = now or timezone.now()
    count = 0
    for post_id in Fanout.objects.filter(done_at__isnull=True, created_at__lt=now - STALE_AFTER,
                                         attempts__lt=MAX_ATTEMPTS).values_list("post_id", flat=True)[:20]:
        try:
            count += run(post_id)
        except Exception as exc:  # noqa: BLE001 - one fan-out must not stop the others
            logger.error("urgent fan-out of post %s failed: %s", post_id, type(exc).__name__)
    return count
