"""Settings for the floor server of `bench/feed.py`: the project's settings, only the URLconf swapped.

`ENTRAIDE_BENCH_URLCONF` names the URLconf (default `bench.floor_urls`); middleware, database and everything else
are exactly `entraide.settings`, so the floor is "the full Django stack, same server, constant JSON".
"""
import os

from entraide.settings import *  # noqa: F401,F403

ROOT_URLCONF = os.environ.get("ENTRAIDE_BENCH_URLCONF", "bench.floor_urls")
