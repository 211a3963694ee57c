"""Fixed-window rate limits kept in the cache (shared across processes when REDIS_URL is set)."""
from __future__ import annotations

import time

from django.core.cache import cache
from django.utils.translation import gettext as _

from .errors import RateLimited


def hit(scope: str, key: str, *, limit: int, window_s: int) -> None:
    """Count one attempt; raise RateLimited once `limit` attempts were made in the current window."""
    now = int(time.time())
    window = now // window_s
    cache_key = f"rl:{scope}:{key}:{window}"
    cache.add(cache_key, 0, timeout=window_s + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=window_s + 1)
        count = 1
    if count > limit:
        retry_after = (window + 1) * window_s - now
        raise RateLimited(_("Too many attempts. Please try again in a moment."), retry_after=max(retry_after, 1))


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")
