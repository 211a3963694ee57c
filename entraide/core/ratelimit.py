"""Sliding-window rate limits kept in the cache (shared across processes when REDIS_URL is set).

Two fixed windows, the previous one weighted by how much of it still overlaps the sliding window: a burst that
straddles a window boundary is still counted whole.
"""
from __future__ import annotations

import math
import time

from django.core.cache import cache
from django.utils.translation import gettext as _

from .errors import RateLimited


def hit(scope: str, key: str, *, limit: int, window_s: int) -> None:
    """Count one attempt; raise RateLimited once more than `limit` attempts fall in the last `window_s` seconds."""
    now = time.time()
    window = int(now // window_s)
    current_key = f"rl:{scope}:{key}:{window}"
    cache.add(current_key, 0, timeout=2 * window_s + 1)
    try:
        current = cache.incr(current_key)
    except ValueError:  # evicted between add and incr
        cache.set(current_key, 1, timeout=2 * window_s + 1)
        current = 1
    previous = cache.get(f"rl:{scope}:{key}:{window - 1}", 0)
    overlap = 1 - (now - window * window_s) / window_s
    if current + previous * overlap > limit:
        # When enough of the previous window will have slid out (or, failing that, when this one ends).
        retry_after = (window + 1) * window_s - now
        if previous and current <= limit:
            retry_after = (window + 1 - (limit - current) / previous) * window_s - now
        raise RateLimited(_("Too many attempts. Please try again in a moment."), retry_after=max(int(math.ceil(retry_after)), 1))


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")
