"""The daily digest: one email per member of what happened in the last 24 hours in the neighbourhoods they follow.

Built for an instance of 100,000 members by one worker: each neighbourhood's activity is read once, each piece of
text (a neighbourhood's header, one category's posts) is rendered once per language, and a member's email is glued
from those pieces (plus their own unsubscribe link); members are streamed and their outbox rows bulk-inserted in
batches. The dedupe key `digest:<member>:<date>` makes a run idempotent: run it again after a crash and it writes
only what is missing. Sending then goes through the outbox like any other email.
"""
from __future__ import annotations

import logging
import time as clock
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, models
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from entraide.accounts.models import Member, VerificationState
from entraide.aid.models import WAITING_STATUSES, HelpRequest
from entraide.feed.models import Category, Crisis, Post
from entraide.places.models import Neighbourhood

from . import emails, prefs as prefs_module
from .models import DigestRun, NotificationSettings, OutboundEmail

logger = logging.getLogger(__name__)
BATCH = 2000
POSTS_PER_CATEGORY = 5
BODY_MARK = "@@digest-body@@"
RUN_LEASE = timedelta(minutes=30)  # a run not finished after this is taken over (its worker died)
MAX_RUN_ATTEMPTS = 5


@dataclass
class Activity:
    """What happened in one neighbourhood: its posts by category (all of them, and those open to nearby readers)."""

    name: str
    posts: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    nearby_posts: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    post_counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    nearby_counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    new_requests: int = 0  # waiting requests, as verified members count them
    new_requests_unverified: int = 0  # the same without at-risk requesters' (aid.queries: verified members only)
    crises: list[str] = field(default_factory=list)


def window_end(day: date | None, now: datetime) -> datetime:
    """The digest of `day` covers the 24 hours before that day's digest hour (or before now, if earlier)."""
    if day is None:
        return now
    hour = int(getattr(settings, "ENTRAIDE_DIGEST_HOUR", 7))
    end = timezone.make_aware(datetime.combine(day, time(hour)), timezone.get_current_timezone())
    return min(end, now)


def _first_words(text: str, n: int = 120) -> str:
    words = " ".join(text.split())
    return words if len(words) <= n else words[: n - 1].rsplit(" ", 1)[0] + "…"


def neighbourhood_activity(since: datetime, until: datetime) -> dict[int, Activity]:
    """Every neighbourhood's activity in the window: three queries, whatever the number of members."""
    names = dict(Neighbourhood.objects.values_list("id", "name"))
    city_of = dict(Neighbourhood.objects.values_list("id", "city_id"))
    activity: dict[int, Activity] = {}

    def of(nid: int) -> Activity:
        if nid not in activity:
            activity[nid] = Activity(name=names.get(nid, ""))
        return activity[nid]

    posts = (Post.objects.filter(created_at__gte=since, created_at__lt=until).order_by("-created_at", "-id")
             .values_list("id", "neighbourhood_id", "category", "audience", "title", "body").iterator(chunk_size=2000))
    for pid, nid, category, audience, title, body in posts:
        a = of(nid)
        item = {"url": emails.site_url(reverse("post", args=[pid])), "title": title, "words": _first_words(body)}
        a.post_counts[category] += 1
        if len(a.posts[category]) < POSTS_PER_CATEGORY:
            a.posts[category].append(item)
        if audience == "nearby":
            a.nearby_counts[category] += 1
            if len(a.nearby_posts[category]) < POSTS_PER_CATEGORY:
                a.nearby_posts[category].append(item)
    requests = (HelpRequest.objects.filter(created_at__gte=since, created_at__lt=until, status__in=WAITING_STATUSES)
                .values("neighbourhood_id").annotate(n=Count("id"), safe=Count("id", filter=Q(at_risk=False))))
    for row in requests:
        a = of(row["neighbourhood_id"])
        a.new_requests, a.new_requests_unverified = row["n"], row["safe"]
    now = timezone.now()
    live = Crisis.objects.filter(Q(starts_at__lte=now) & (Q(ends_at__isnull=True) | Q(ends_at__gt=now)))
    everywhere, by_city = [], defaultdict(list)
    for crisis in live.prefetch_related("cities"):
        cities = [c.id for c in crisis.cities.all()]
        if not cities:
            everywhere.append(f"{crisis.name} · {crisis.banner}")
        for city_id in cities:
            by_city[city_id].append(f"{crisis.name} · {crisis.banner}")
    if everywhere or by_city:
        for nid in list(activity):
            activity[nid].crises = everywhere + by_city.get(city_of.get(nid), [])
    return activity


class Pieces:
    """Rendered texts, each once per language: the frame, a neighbourhood's header, one category's posts."""

    def __init__(self, activity: dict[int, Activity]) -> None:
        self.activity = activity
        self.cache: dict[tuple, tuple[str, str] | None] = {}
        self.labels = dict(Category.choices)

    def _render(self, key: tuple, template: str, context: dict, language: str) -> tuple[str, str]:
        if key not in self.cache:
            with translation.override(language):
                self.cache[key] = (render_to_string(f"notifications/email/{template}.txt", context),
                                   render_to_string(f"notifications/email/{template}.html", context))
        return self.cache[key]

    def frame(self, language: str) -> tuple[str, str, str]:
        key = ("frame", language)
        if key not in self.cache:
            ctx = {"body": BODY_MARK, "unsubscribe_url": emails.UNSUBSCRIBE_MARK,
                   "settings_url": emails.site_url(reverse("notification_settings"))}
            self._render(key, "digest", ctx, language)
            with translation.override(language):
                self.cache[("subject", language)] = (_("Your neighbourhood in the last 24 hours"), "")
        return (self.cache[("subject", language)][0], *self.cache[key])

    def header(self, nid: int, verified: bool, language: str) -> tuple[str, str]:
        key = ("header", nid, verified, language)
        if key not in self.cache:
            a = self.activity[nid]
            self._render(key, "digest_neighbourhood", {"name": a.name, "new_requests": new_requests(a, verified),
                                                       "crises": a.crises,
                                                       "aid_url": emails.site_url(reverse("aid_home"))}, language)
        return self.cache[key]

    def category(self, nid: int, nearby: bool, category: str, language: str) -> tuple[str, str] | None:
        key = ("category", nid, nearby, category, language)
        if key in self.cache:
            return self.cache[key]
        a = self.activity[nid]
        posts = (a.nearby_posts if nearby else a.posts).get(category)
        if not posts:
            self.cache[key] = None
            return None
        count = (a.nearby_counts if nearby else a.post_counts)[category]
        with translation.override(language):
            label = str(self.labels.get(category, category))
        return self._render(key, "digest_category", {"label": label, "posts": posts, "more": count - len(posts),
                                                     "feed_url": emails.site_url(reverse("feed"))}, language)


def new_requests(a: Activity, verified: bool) -> int:
    return a.new_requests if verified else a.new_requests_unverified


def _readable_sets(member_ids: list[int]) -> dict[int, set[int]]:
    """Home plus chosen adjacent neighbourhoods of several members in one query (readable_neighbourhood_ids' rule)."""
    if not member_ids:
        return {}
    reads = Member.reads_nearby.through._meta.db_table
    adjacent = Neighbourhood.nearby.through._meta.db_table
    members = Member._meta.db_table
    marks = ",".join(["%s"] * len(member_ids))
    out: dict[int, set[int]] = {mid: set() for mid in member_ids}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.id, m.neighbourhood_id, r.neighbourhood_id FROM {members} m LEFT JOIN {reads} r "
            f"ON r.member_id = m.id AND EXISTS (SELECT 1 FROM {adjacent} a WHERE a.from_neighbourhood_id = "
            f"m.neighbourhood_id AND a.to_neighbourhood_id = r.neighbourhood_id) WHERE m.id IN ({marks})", member_ids)
        for mid, home, chosen in cursor.fetchall():
            out[mid].add(home)
            if chosen is not None:
                out[mid].add(chosen)
    return out


def build_digests(day: date | None = None, *, force: bool = False, now: datetime | None = None,
                  batch: int = BATCH) -> dict[str, float]:
    """Write the digests of `day` (default today) into the outbox. Returns counts and seconds."""
    started = clock.perf_counter()
    now = now or timezone.now()
    until = window_end(day, now)
    day = day or timezone.localdate(now)
    activity = neighbourhood_activity(until - timedelta(hours=24), until)
    pieces = Pieces(activity)
    suffix = day.isoformat() + (f":{int(now.timestamp())}" if force else "")
    custom = {row["member_id"]: row for row in NotificationSettings.objects.values(
        "member_id", "digest", "neighbourhoods", "digest_categories", "quiet_start", "quiet_end", "unsubscribed")}
    default = prefs_module.defaults()
    default_next = prefs_module.quiet_until(now, default.quiet_start, default.quiet_end) or now
    all_categories = list(Category.values)
    unsubscribe_link = emails.unsubscribe_url_with_mark()
    counts = {"members": 0, "written": 0, "already": 0, "empty": 0, "off": 0}
    rows: list[OutboundEmail] = []
    members = (Member.objects.filter(user__is_active=True).exclude(user__email="").order_by("id")
               .values_list("id", "neighbourhood_id", "language", "verification_state").iterator(chunk_size=batch))
    chunk: list[tuple[int, int, str, str]] = []

    def flush() -> None:
        nonlocal rows
        readable = _readable_sets([mid for mid, *_rest in chunk if custom.get(mid, {}).get("neighbourhoods")])
        for mid, home, language, state in chunk:
            row = _digest_row(mid, home, language or settings.LANGUAGE_CODE, state == VerificationState.VERIFIED,
                              custom.get(mid), readable, pieces, all_categories, suffix, now, default_next, counts,
                              unsubscribe_link)
            if row is not None:
                rows.append(row)
        if rows:
            # Already written by an earlier run of the same day: left as they are (idempotent reruns).
            done = set(OutboundEmail.objects.filter(dedupe_key__in=[r.dedupe_key for r in rows])
                       .values_list("dedupe_key", flat=True))
            fresh = [r for r in rows if r.dedupe_key not in done]
            OutboundEmail.objects.bulk_create(fresh, batch_size=500, ignore_conflicts=True)
            counts["written"] += len(fresh)
            counts["already"] += len(done)
            rows = []
        chunk.clear()

    for member in members:
        counts["members"] += 1
        chunk.append(member)
        if len(chunk) >= batch:
            flush()
    flush()
    counts["seconds"] = round(clock.perf_counter() - started, 2)
    return counts


def _digest_row(mid: int, home: int, language: str, verified: bool, custom: dict | None, readable: dict[int, set[int]],
                pieces: Pieces, all_categories: list[str], suffix: str, now: datetime, default_next: datetime,
                counts: dict, unsubscribe_link: str) -> OutboundEmail | None:
    next_at = default_next
    followed, categories = [home], all_categories
    if custom is not None:
        if not custom["digest"] or custom["unsubscribed"]:
            counts["off"] += 1
            return None
        if custom["neighbourhoods"]:
            allowed = readable.get(mid, {home})
            followed = [n for n in custom["neighbourhoods"] if n in allowed] or [home]
        categories = custom["digest_categories"] or all_categories
        next_at = prefs_module.quiet_until(now, custom["quiet_start"], custom["quiet_end"]) or now
    text_parts, html_parts = [], []
    for nid in followed:
        if nid not in pieces.activity:
            continue
        a = pieces.activity[nid]
        parts = [p for p in (pieces.category(nid, nid != home, c, language) for c in categories) if p]
        if not parts and not new_requests(a, verified):
            continue
        header = pieces.header(nid, verified, language)
        text_parts.append(header[0])
        html_parts.append(header[1])
        text_parts.extend(p[0] for p in parts)
        html_parts.extend(p[1] for p in parts)
    if not text_parts:
        counts["empty"] += 1
        return None
    subject, text, html = pieces.frame(language)
    unsubscribe = unsubscribe_link.replace(emails.TOKEN_MARK, emails.unsubscribe_token(mid, "digest"))
    return OutboundEmail(
        recipient_id=mid, kind="digest", language=language, subject=subject,
        text=text.replace(BODY_MARK, "".join(text_parts)).replace(emails.UNSUBSCRIBE_MARK, unsubscribe),
        html=html.replace(BODY_MARK, "".join(html_parts)).replace(emails.UNSUBSCRIBE_MARK, unsubscribe),
        headers=emails.list_headers(unsubscribe), next_attempt_at=next_at, dedupe_key=f"digest:{mid}:{suffix}")


def digest_hour() -> int:
    return int(getattr(settings, "ENTRAIDE_DIGEST_HOUR", 7))


def run_due(now: datetime | None = None) -> dict[str, float] | None:
    """Today's digests if their hour has come and no run finished them: what the daily job and the minute sweep
    call. One worker at a time (a conditional UPDATE takes the run, with a lease); reruns write only what is
    missing (dedupe keys). None when there was nothing to do."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    if local.hour < digest_hour():
        return None
    day = local.date()
    DigestRun.objects.get_or_create(day=day)
    taken = (DigestRun.objects.filter(day=day, finished_at__isnull=True, attempts__lt=MAX_RUN_ATTEMPTS)
             .filter(Q(started_at__isnull=True) | Q(started_at__lt=now - RUN_LEASE))
             .update(started_at=now, attempts=models.F("attempts") + 1))
    if not taken:
        return None
    counts = build_digests(day, now=now)
    DigestRun.objects.filter(day=day).update(finished_at=timezone.now())
    return counts
