"""Benchmark of the neighbourhood feed and search (issue 3, performance requirement). Not a test: it reports.

    .venv/bin/python bench/feed.py --db both --scale 1.0 --duration 30 --connections 32

For each backend (SQLite in WAL mode, PostgreSQL), on a fresh database:

1. `bench/feed_seed.py` (a subprocess, so Django reads that backend's settings) migrates, imports 1,080 real
   neighbourhoods (Paris quartiers + 1,000 Ile-de-France communes) and bulk-loads a city: at scale 1.0 200,000
   members, 2,000,000 posts, 6,000,000 comments, ~1,000,000 thanks and 8,000,000 search documents; then counts the
   SQL queries of a feed page for 10, 20 and 50 items (`CaptureQueriesContext`) and keeps EXPLAIN plans.
2. gunicorn (`entraide.wsgi:application`, 2 sync workers, DEBUG off) serves the seeded database; `wrk` sends
   `GET /api/v1/feed` with bearer tokens of 2,000 members chosen at random (Lua script `bench/feed_wrk.lua`),
   then `GET /api/v1/search?q=…` with realistic French terms.
3. The floor: the same gunicorn configuration serving `bench/floor_urls.py` (a constant `{"ok": true}` through the
   full middleware stack, settings `bench/floor_settings.py`).

During the feed run, `bench/feed_writes.py` updates a post of a random neighbourhood `--writes` times a second
(default 10), so that pages kept by the feed page cache keep going stale as in a busy city. Searches run twice:
with `--connections`, and with one connection per gunicorn worker (a search's own latency, without a queue).

`--prewarm` reads the whole database once before the runs (the SQLite file; every relation through pg_prewarm),
to measure a server whose data is in the page cache rather than the first reads after seeding.

The load average is sampled every 2 s during every wrk run and reported: the machine is shared.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import closing
from pathlib import Path

from feed_writes import Writer, connect  # bench/feed_writes.py, beside this script
from loadavg import LoadSampler  # bench/loadavg.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/entraide_bench"
sys.path.insert(0, str(BENCH))

from feed_text import SEARCH_TERMS  # noqa: E402

TARGETS = {"floor_share": 0.40, "feed_p99_ms": 50.0, "search_p99_ms": 100.0, "queries": 6}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- wrk ---------------------------------------------------------------------------------------------------------

def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        sys.exit("bench/feed.py needs wrk (the HTTP load generator). On Debian: apt-get install -y wrk")
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"cannot read a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict:
    result: dict = {"non_2xx": 0, "socket_errors": "none"}
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", output, re.M)
        if match:
            result[f"p{pct}_ms"] = _ms(match.group(1))
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    result["rps"] = float(match.group(1)) if match else 0.0
    match = re.search(r"(\d+) requests in ([\d.]+\w+)", output)
    if match:
        result["requests"] = int(match.group(1))
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if match:
        result["non_2xx"] = int(match.group(1))
    match = re.search(r"Socket errors: (.*)", output)
    if match:
        result["socket_errors"] = match.group(1).strip()
    return result




def run_wrk(url: str, paths: list[str], tokens_file: Path, tmp: Path, *, duration: int, connections: int,
            threads: int, warmup: int) -> dict:
    paths_file = tmp / "paths.txt"
    paths_file.write_text("\n".join(paths) + "\n")
    env = {**os.environ, "BENCH_TOKENS": str(tokens_file), "BENCH_PATHS": str(paths_file)}
    base = ["wrk", "-c", str(connections), "-t", str(threads), "--timeout", "30s", "--latency", "-s",
            str(BENCH / "feed_wrk.lua")]
    if warmup:
        subprocess.run(base + ["-d", f"{warmup}s", url], env=env, capture_output=True, text=True, check=True)
    with LoadSampler() as sampler:
        done = subprocess.run(base + ["-d", f"{duration}s", url], env=env, capture_output=True, text=True,
                              check=True)
    result = parse_wrk(done.stdout)
    result.update(sampler.summary())
    result["raw"] = done.stdout
    return result


# --- servers -----------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn on 127.0.0.1:<free port>, started and stopped by its own pid."""

    def __init__(self, env: dict, settings_module: str, args: argparse.Namespace, log_path: Path) -> None:
        self.port = free_port()
        self.env = {**env, "DJANGO_SETTINGS_MODULE": settings_module}
        self.cmd = [GUNICORN, "entraide.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                    "--workers", str(args.workers), "--worker-class", args.worker_class,
                    "--chdir", str(ROOT), "--log-level", "warning"]
        if args.gunicorn_threads > 1:
            self.cmd += ["--threads", str(args.gunicorn_threads)]
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     cwd=ROOT)
        return self

    def wait_ready(self, path: str, token: str | None = None, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.proc.returncode}); see {self.log_path}")
            try:
                with urllib.request.urlopen(urllib.request.Request(self.url + path, headers=headers), timeout=30) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                last = exc
            time.sleep(0.5)
        raise SystemExit(f"gunicorn did not answer {path} with 200 within {timeout} s ({last}); see {self.log_path}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


# --- databases ---------------------------------------------------------------------------------------------------

def pg_admin(url: str):
    import psycopg

    parts = urllib.parse.urlsplit(url)
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    return psycopg.connect(admin, autocommit=True), parts.path.lstrip("/")


def pg_create(url: str) -> None:
    conn, name = pg_admin(url)
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def pg_drop(url: str) -> None:
    conn, name = pg_admin(url)
    with conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def refresh_tokens(vendor: str, url: str) -> None:
    """Mark every token used just now, so `user_for_token` does not write `last_used_at` during the measured run
    (it writes at most once per 5 minutes per token; the warm-up would do it too, this makes it certain)."""
    now = "strftime('%Y-%m-%d %H:%M:%f', 'now')" if vendor == "sqlite" else "now()"
    with closing(connect(vendor, url)) as conn:
        conn.execute(f"UPDATE accounts_apitoken SET last_used_at = {now}")


def neighbourhood_ids(vendor: str, url: str) -> list[int]:
    with closing(connect(vendor, url)) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM places_neighbourhood")]


def prewarm(vendor: str, url: str) -> dict:
    """Read the whole database once, so the runs measure a server whose data sits in the page cache (one that has
    been up for a while), not the first reads after seeding. Reported beside the figures: `--prewarm` only."""
    start = time.perf_counter()
    if vendor == "sqlite":
        size = 0
        with open(urllib.parse.urlsplit(url).path, "rb", buffering=0) as handle:
            while chunk := handle.read(16 << 20):
                size += len(chunk)
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            # 'read': through the OS page cache, as SQLite's file above; shared_buffers stays as configured.
            blocks = conn.execute(
                "SELECT coalesce(sum(pg_prewarm(c.oid::regclass, 'read')), 0) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'i', 't', 'm') "
                "AND c.relpersistence = 'p' AND n.nspname IN ('public', 'pg_toast')").fetchone()[0]
            size = int(blocks) * 8192
    return {"seconds": round(time.perf_counter() - start, 1), "gib": round(size / 2**30, 2)}


def run_backend(db: str, args: argparse.Namespace) -> dict:
    seeded = args.seeded / db if args.seeded else None
    vendor = "sqlite" if db == "sqlite" else "postgresql"
    tmp = seeded or Path(tempfile.mkdtemp(prefix=f"entraide-feed-bench-{db}-"))
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({"ENTRAIDE_VAR_DIR": str(tmp), "DEBUG": "false", "LOG_LEVEL": "ERROR",
                "ENTRAIDE_FEED_PAGE_CACHE_MB": str(args.page_cache_mb),
                "PYTHONPATH": f"{ROOT}{os.pathsep}{env.get('PYTHONPATH', '')}".rstrip(os.pathsep)})
    if db == "sqlite":
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    else:
        url = args.pg_url
        if not seeded:
            pg_create(url)
    env["DATABASE_URL"] = url
    tokens_file = tmp / "tokens.txt"
    result: dict = {"db": db}
    try:
        if seeded:
            # A city seeded by an earlier run (`--keep`): only new migrations run, nothing is re-seeded.
            log(f"{db}: reusing the city seeded in {tmp}")
            subprocess.run([PYTHON, "-m", "django", "migrate", "--no-input", "-v", "0"],
                           env={**env, "DJANGO_SETTINGS_MODULE": "entraide.settings"}, check=True, cwd=ROOT)
            subprocess.run([PYTHON, str(BENCH / "feed_seed.py"), "--measure-only", "--tokens-file", str(tokens_file),
                            "--out", str(tmp / "seed.json")],
                           env={**env, "DJANGO_SETTINGS_MODULE": "entraide.settings"}, check=True, cwd=ROOT)
            result["reused"] = str(tmp)
        else:
            log(f"{db}: seeding at scale {args.scale} in {tmp}")
            start = time.perf_counter()
            subprocess.run([PYTHON, str(BENCH / "feed_seed.py"), "--scale", str(args.scale), "--tokens",
                            str(args.tokens), "--tokens-file", str(tokens_file), "--out", str(tmp / "seed.json")],
                           env={**env, "DJANGO_SETTINGS_MODULE": "entraide.settings"}, check=True, cwd=ROOT)
            result["seed_wall_s"] = round(time.perf_counter() - start, 1)
        result["seed"] = json.loads((tmp / "seed.json").read_text())
        tokens = tokens_file.read_text().split()
        wrk_opts = {"duration": args.duration, "connections": args.connections, "threads": args.wrk_threads,
                    "warmup": args.warmup}

        if args.prewarm:
            result["prewarm"] = prewarm(vendor, url)
            log(f"{db}: read {result['prewarm']['gib']} GiB into the page cache in {result['prewarm']['seconds']} s")
        with Server(env, "bench.floor_settings", args, tmp / "gunicorn-floor.log") as server:
            server.wait_ready("/floor")
            log(f"{db}: floor, {args.connections} connections, {args.duration} s")
            result["floor"] = run_wrk(server.url + "/floor", ["/floor"], tokens_file, tmp, **wrk_opts)
        with Server(env, "entraide.settings", args, tmp / "gunicorn-app.log") as server:
            server.wait_ready("/api/v1/feed", tokens[0])
            refresh_tokens(vendor, url)
            log(f"{db}: feed, with {args.writes} writes/s, {args.connections} connections, {args.duration} s")
            with Writer(vendor, url, args.writes, neighbourhood_ids(vendor, url)) as writer:
                result["feed"] = run_wrk(server.url + "/api/v1/feed", ["/api/v1/feed"], tokens_file, tmp, **wrk_opts)
            result["feed"].update(writer.summary())
            search_paths = ["/api/v1/search?" + urllib.parse.urlencode({"q": term}) for term in SEARCH_TERMS]
            log(f"{db}: search, {args.connections} connections, {args.duration} s")
            result["search"] = run_wrk(server.url + search_paths[0], search_paths, tokens_file, tmp, **wrk_opts)
            # The same searches with one connection per worker: a search's own time, without 32 in the queue.
            log(f"{db}: search, {args.workers} connections (one per worker), {args.duration} s")
            result["search_unqueued"] = run_wrk(server.url + search_paths[0], search_paths, tokens_file, tmp,
                                                **{**wrk_opts, "connections": args.workers,
                                                   "threads": min(args.wrk_threads, args.workers)})
        for kind in ("floor", "feed", "search", "search_unqueued"):
            r = result[kind]
            log(f"{db} {kind}: {r['rps']:.0f} req/s, p50 {r.get('p50_ms', 0):.1f} ms, p99 {r.get('p99_ms', 0):.1f} ms,"
                f" non-2xx {r['non_2xx']}, load {r['load_mean']} (max {r['load_max']})")
    finally:
        if not args.keep and not seeded:
            if db == "postgres":
                pg_drop(url)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"{db}: kept {url} and {tmp}")
    return result


# --- report ------------------------------------------------------------------------------------------------------

def machine() -> str:
    model = platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def yes(ok: bool) -> str:
    return "**yes**" if ok else "**no**"


def _latency(run: dict, limit_ms: float) -> tuple[bool, str]:
    # A run that answered nothing has no latency to meet a target with (wrk prints 0 for its percentiles).
    if not run.get("requests"):
        return False, "no answer during the run"
    return run["p99_ms"] < limit_ms, f"{run['p99_ms']:.0f} ms"


def report(results: list[dict], args: argparse.Namespace) -> str:
    lines = []
    lines.append(f"| Backend | Floor req/s (p50 / p99) | Feed req/s (p50 / p99) | Feed / floor | Search req/s (p50 / p99) "
                 f"| Search, {args.workers} connections | Queries per feed page, limit 10 / 20 / 50 (API request) "
                 "| Seeding |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        f, fe, s, su = r["floor"], r["feed"], r["search"], r["search_unqueued"]
        ip = r["seed"]["in_process"]
        q = " / ".join(str(ip["feed_page_queries"][str(n)]["max"]) for n in (10, 20, 50))
        qa = " / ".join(str(ip["api_feed_queries"][str(n)]["max"]) for n in (10, 20, 50))
        seed = r["seed"]["seed"]
        lines.append(
            f"| {r['db']} | {f['rps']:,.0f} ({f['p50_ms']:.1f} / {f['p99_ms']:.1f} ms) "
            f"| {fe['rps']:,.0f} ({fe['p50_ms']:.1f} / {fe['p99_ms']:.1f} ms) | {fe['rps'] / f['rps']:.0%} "
            f"| {s['rps']:,.0f} ({s['p50_ms']:.1f} / {s['p99_ms']:.1f} ms) "
            f"| {su['rps']:,.0f} ({su['p50_ms']:.1f} / {su['p99_ms']:.1f} ms) | {q} ({qa}) "
            f"| {seed['rows']:,} rows in {r['seed']['seed_s']:,.0f} s ({seed['rows'] / r['seed']['seed_s']:,.0f} rows/s) |")
    lines.append("")
    lines.append("| Target | " + " | ".join(r["db"] for r in results) + " |")
    lines.append("|---|" + "---|" * len(results))
    rows = [
        ("Feed throughput ≥ 40 % of the floor", lambda r: (r["feed"]["rps"] / r["floor"]["rps"] >= 0.40,
                                                           f"{r['feed']['rps'] / r['floor']['rps']:.0%}")),
        (f"Feed p99 < 50 ms at {args.connections} connections", lambda r: _latency(r["feed"], 50)),
        (f"Search p99 < 100 ms at {args.connections} connections", lambda r: _latency(r["search"], 100)),
        (f"Search p99 < 100 ms at {args.workers} connections (one per worker)",
         lambda r: _latency(r["search_unqueued"], 100)),
        ("A feed page in at most 6 queries, constant", lambda r: (
            max(v["max"] for v in r["seed"]["in_process"]["feed_page_queries"].values()) <= 6
            and len({v["max"] for v in r["seed"]["in_process"]["feed_page_queries"].values()}) == 1,
            f"{r['seed']['in_process']['feed_page_queries']['20']['max']} (API request: "
            f"{r['seed']['in_process']['api_feed_queries']['20']['max']} with the token lookup"
            + (f"; a reader's next read: {r['seed']['in_process']['api_feed_queries_again']['max']}"
               if "api_feed_queries_again" in r["seed"]["in_process"] else "") + ")")),
    ]
    for label, fn in rows:
        cells = []
        for r in results:
            ok, text = fn(r)
            cells.append(f"{yes(ok)}: {text}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    for r in results:
        lines.append(f"Load average (1 min) during the {r['db']} runs: floor {r['floor']['load_mean']} "
                     f"(max {r['floor']['load_max']}), feed {r['feed']['load_mean']} (max {r['feed']['load_max']}), "
                     f"search {r['search']['load_mean']} (max {r['search']['load_max']}). Page cache "
                     f"{args.page_cache_mb:g} MB per process; {r['feed']['writes']:,} post updates during the feed run "
                     f"({r['feed']['writes_per_s']}/s, bench/feed_writes.py). Non-2xx responses: floor "
                     f"{r['floor']['non_2xx']}, feed {r['feed']['non_2xx']}, search {r['search']['non_2xx']} and {r['search_unqueued']['non_2xx']}; "
                     f"socket errors: feed {r['feed']['socket_errors']}, search {r['search']['socket_errors']}.")
        if "prewarm" in r:
            lines.append(f"{r['db']}: {r['prewarm']['gib']} GiB read into the page cache before the runs "
                         f"({r['prewarm']['seconds']} s, `--prewarm`).")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full city (1.0 = 2,000,000 posts)")
    parser.add_argument("--duration", type=int, default=30, help="seconds of each measured wrk run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of unmeasured wrk before each run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (the machine has 2 cores)")
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--gunicorn-threads", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=2000, help="members whose tokens the load spreads over")
    parser.add_argument("--page-cache-mb", type=float, default=64,
                        help="ENTRAIDE_FEED_PAGE_CACHE_MB of the served app (per process); 0: off")
    parser.add_argument("--writes", type=float, default=10.0,
                        help="post updates per second during the feed run (bench/feed_writes.py); 0: none")
    parser.add_argument("--keep", action="store_true", help="keep the databases and temporary files")
    parser.add_argument("--prewarm", action="store_true",
                        help="read the whole database into the page cache before the runs (steady state)")
    parser.add_argument("--seeded", type=Path,
                        help="serve the cities kept in DIR/sqlite and DIR/postgres (by --keep) instead of seeding")
    parser.add_argument("--json", type=Path, help="also write every figure (and wrk's raw output) to this file")
    args = parser.parse_args()
    require_wrk()
    print(f"# Entraide feed benchmark, {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"Machine: {machine()}")
    print(f"Command: {' '.join([Path(sys.executable).name, *sys.argv])}", flush=True)
    results = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        results.append(run_backend(db, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    print()
    print(report(results, args))
    for r in results:
        ip = r["seed"]["in_process"]
        print(f"\n{r['db']}: seeding {json.dumps(r['seed']['seed']['tables'])}; finish {r['seed']['seed']['finish']}; "
              f"neighbourhood import {r['seed']['neighbourhoods']['seconds']:.1f} s")
        print(f"{r['db']}: in-process feed_page ms {ip['feed_page_ms']}; search queries {ip['search_queries']}")
        for name, plan in ip["plans"].items():
            print(f"{r['db']}: EXPLAIN of the {name} query:\n{plan['plan']}")


if __name__ == "__main__":
    main()
