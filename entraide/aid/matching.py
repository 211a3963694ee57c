"""The matching engine's rules: who can take a request, and in which order they are asked.

Pure functions over plain values, so the online path (`actions.do_create_request`), the batch planner
(`batch.py`) and the simulation (`bench/match.py`) rank helpers the same way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

EARTH_RADIUS_M = 6_371_008.8
# Streets are not straight lines: walking distance is taken as the great-circle distance times this detour
# factor (about 1.3 in Paris's street grid; see docs/architecture.md).
DETOUR_FACTOR = 1.3


def walking_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Estimated walking distance between two (blurred) points, in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a))) * DETOUR_FACTOR


def bbox_around(lat: float, lon: float, walk_m: float) -> tuple[float, float, float, float]:
    """(min_lat, min_lon, max_lat, max_lon) holding every point within `walk_m` of walking distance."""
    straight = walk_m / DETOUR_FACTOR
    dlat = math.degrees(straight / EARTH_RADIUS_M)
    dlon = math.degrees(straight / (EARTH_RADIUS_M * max(math.cos(math.radians(lat)), 0.01)))
    return lat - dlat, lon - dlon, lat + dlat, lon + dlon


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def available(slots: list[dict], start: datetime, end: datetime, tz: ZoneInfo | None = None) -> bool:
    """Whether any weekly slot overlaps the window [start, end]. No slots means any time."""
    if not slots:
        return True
    if end - start >= timedelta(days=7):
        return True
    tz = tz or ZoneInfo(settings.TIME_ZONE)
    start, end = start.astimezone(tz), end.astimezone(tz)
    day = start.date()
    while day <= end.date():
        for slot in slots:
            if slot["weekday"] != day.weekday():
                continue
            s = datetime.combine(day, time(0), tz) + timedelta(minutes=_minutes(slot["start"]))
            e = datetime.combine(day, time(0), tz) + timedelta(minutes=_minutes(slot["end"]))
            if s < end and e > start:
                return True
        day += timedelta(days=1)
    return False


@dataclass(frozen=True)
class Candidate:
    helper_id: int  # the Member id
    distance_m: float
    load: int  # tasks this week (matched or done)
    capacity: int
    reliability: float

    @property
    def score(self) -> float:
        """Lower is better: walking distance first, then how busy and how reliable the helper is.

        Each kilometre costs 1; a helper at full weekly load costs 0.5 more, an unreliable one up to 0.5 more, so a
        fresh, reliable helper 400 m further away can still come first, but never one 2 km further.
        """
        load_ratio = self.load / self.capacity if self.capacity else 1.0
        return self.distance_m / 1000 + 0.5 * load_ratio + 0.5 * (1 - self.reliability)


def rank(candidates: list[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (c.score, c.distance_m, c.helper_id))


def escalation_delay(urgency: str) -> timedelta:
    """How long the helpers asked have before the engine widens the search (settings: ENTRAIDE_AID_DELAYS)."""
    return timedelta(minutes=settings.ENTRAIDE_AID_DELAYS_MINUTES[urgency])
