"""How long after its commit a change reaches a listening process (feed/reader_cache.py, core/changes.py).

    python bench/notify_latency.py [--pg-url postgres://postgres@127.0.0.1:5432/test] [-n 2000]

One connection LISTENs on a channel of its own; another commits `NOTIFY` n times, one transaction each. Each time,
the listener waits on its socket (select) and reads the notification; the figure is the time from the end of the
writer's commit (its `execute` returning) to the notification being read: the window in which a process that
keeps rows in memory still answers as of just before the change. Run it alone, or beside a load (bench/feed.py) to
see the window when the cores are busy.
"""
from __future__ import annotations

import argparse
import select
import statistics
import time

import psycopg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    channel = "entraide_notify_latency"
    with psycopg.connect(args.pg_url, autocommit=True) as listener, \
            psycopg.connect(args.pg_url, autocommit=True) as writer:
        listener.execute(f"LISTEN {channel}")
        pgconn = listener.pgconn
        waits = []
        for n in range(args.n):
            writer.execute(f"NOTIFY {channel}, '{n}'")
            committed = time.perf_counter()
            got = None
            while got is None:
                select.select([pgconn.socket], [], [], 5)
                pgconn.consume_input()
                notify = pgconn.notifies()
                if notify is not None:
                    got = notify.extra.decode()
            waits.append((time.perf_counter() - committed) * 1000)
            assert got == str(n), (got, n)
    waits.sort()
    print(f"{args.n} notifications, commit to arrival: p50 {statistics.median(waits):.3f} ms, "
          f"p99 {waits[int(len(waits) * 0.99)]:.3f} ms, max {waits[-1]:.3f} ms")


if __name__ == "__main__":
    main()
