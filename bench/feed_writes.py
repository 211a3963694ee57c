"""Writes during a feed run, so that cached feed pages keep going stale as they would in a busy city.

Every 1/rate seconds, the newest post of a random neighbourhood gets its thanks count written back (the same value:
the city's counters stay true). That is an UPDATE of `feed_post`, so the feed clock's trigger bumps the
neighbourhood's version, exactly as a thanks or a comment does, and every cached page of every reader of that
neighbourhood is a miss at its next read. The lockdown anchors (2,000,000 posts and 6,000,000 comments in 60 days)
come to about 1.5 writes per second over the city; the default rate, 10 per second, is several times that.
"""
from __future__ import annotations

import random
import threading
import time
import urllib.parse


def connect(vendor: str, url: str):
    """An autocommit connection to the benchmark city ("sqlite" or "postgresql"), outside Django; both kinds have
    `execute` and `close`."""
    if vendor == "sqlite":
        import sqlite3

        return sqlite3.connect(urllib.parse.urlsplit(url).path, isolation_level=None, timeout=30)
    import psycopg

    return psycopg.connect(url, autocommit=True)


class Writer:
    def __init__(self, vendor: str, url: str, rate: float, neighbourhood_ids: list[int]) -> None:
        self.vendor, self.url, self.rate, self.ids = vendor, url, rate, neighbourhood_ids
        self.count = 0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn, mark = connect(self.vendor, self.url), "?" if self.vendor == "sqlite" else "%s"
        sql = (f"UPDATE feed_post SET thanks_count = thanks_count WHERE id = (SELECT id FROM feed_post "
               f"WHERE neighbourhood_id = {mark} ORDER BY created_at DESC LIMIT 1)")
        rng = random.Random(7)
        start = time.perf_counter()
        try:
            while not self._stop.wait(1 / self.rate):
                conn.execute(sql, (rng.choice(self.ids),))
                self.count += 1
        finally:
            self.seconds = time.perf_counter() - start
            conn.close()

    def __enter__(self):
        if self.rate > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def summary(self) -> dict:
        return {"writes": self.count, "writes_per_s": round(self.count / self.seconds, 1) if self.seconds else 0.0}
