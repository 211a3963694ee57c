"""What each member wants to hear, with the defaults for members who never changed anything (no row)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.utils import timezone

from .models import Channel, NotificationSettings, NotificationType


def parse_hhmm(value: str) -> time:
    """ "HH:MM" (24 h) -> time; ValueError otherwise."""
    hours, sep, minutes = value.strip().partition(":")
    if not sep or len(minutes) != 2 or not hours.isdigit() or not minutes.isdigit() or len(hours) > 2:
        raise ValueError(value)
    return time(int(hours), int(minutes))


def default_quiet_hours() -> tuple[time | None, time | None]:
    raw = getattr(settings, "ENTRAIDE_QUIET_HOURS", "22:00-07:00") or ""
    try:
        start, end = raw.split("-")
        return parse_hhmm(start), parse_hhmm(end)
    except ValueError:
        return None, None


@dataclass
class Prefs:
    channels: dict[str, dict[str, bool]] = field(default_factory=dict)
    digest: bool = True
    neighbourhoods: list[int] = field(default_factory=list)
    digest_categories: list[str] = field(default_factory=list)
    quiet_start: time | None = None
    quiet_end: time | None = None
    unsubscribed: bool = False

    def wants(self, type: str, channel: str) -> bool:
        if channel == Channel.EMAIL and self.unsubscribed:
            return False
        return bool(self.channels.get(type, {}).get(channel, True))

    def full_channels(self) -> dict[str, dict[str, bool]]:
        """Every type x channel switch as stored (the unsubscribe switch is shown apart)."""
        return {t: {c: bool(self.channels.get(t, {}).get(c, True)) for c in Channel.values}
                for t in NotificationType.values}


def defaults() -> Prefs:
    start, end = default_quiet_hours()
    return Prefs(quiet_start=start, quiet_end=end)


def from_row(row: NotificationSettings) -> Prefs:
    return Prefs(channels=row.channels or {}, digest=row.digest, neighbourhoods=list(row.neighbourhoods or []),
                 digest_categories=list(row.digest_categories or []), quiet_start=row.quiet_start,
                 quiet_end=row.quiet_end, unsubscribed=row.unsubscribed)


def prefs_for(member_ids: list[int]) -> dict[int, Prefs]:
    """Everyone's preferences in one query (members without a row get the defaults)."""
    found = {row.member_id: from_row(row) for row in NotificationSettings.objects.filter(member_id__in=member_ids)}
    return {mid: found.get(mid) or defaults() for mid in member_ids}


def quiet_until(now: datetime, start: time | None, end: time | None) -> datetime | None:
    """The end of the quiet hours `now` falls in (local time, TIME_ZONE), or None when it is not quiet."""
    if start is None or end is None or start == end:
        return None
    local = timezone.localtime(now)
    t = local.time()
    quiet = start <= t < end if start < end else (t >= start or t < end)
    if not quiet:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, end), timezone.get_current_timezone())
