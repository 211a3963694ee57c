"""Benchmark of live updates (issue 5, performance requirement). Not a test: it reports.

    .venv/bin/python bench/live.py --clients 1000 --posts 50 --interval 0.2 [--db sqlite|postgres] [--redis-db 13]

1. Seed (a subprocess, `bench/live.py seed`): migrate a fresh database (SQLite file in a temporary directory, or
   PostgreSQL `entraide_live_bench`), import the 80 Paris quartiers, bulk-insert `--clients` verified members with a
   bearer token each: 80 % in Saint-Gervais, 20 % next door in Saint-Merri, half of whom chose to read Saint-Gervais.
2. Two uvicorn processes (`entraide serve --websockets-only`, ports 8101 and 8102) share the database and
   REDIS_URL=redis://127.0.0.1:6379/<redis-db> (channels-redis).
3. This process opens one WebSocket per member (the `websockets` library, asyncio), alternating between the two
   servers, and waits until every one answered a ping.
4. A third process (`bench/live.py post`, REDIS_URL set) first sends the floor: `--posts` frames of the same shape
   straight to the same groups through the same channel layer (no write, no commit, no subscriber). Then it calls
   the real write path,
   `entraide.feed.actions.do_create_post`, `--posts` times, `--interval` seconds apart, by different Saint-Gervais
   authors, alternating audience `neighbourhood` and `nearby`; it records the time just before each call (the post's
   title carries it too). Latency = time a client received `post.created` minus that time (one machine, one clock),
   so it includes the write itself, the commit, the fan-out through Redis and the delivery.
5. Expected deliveries: every Saint-Gervais member for every post, plus the Saint-Merri readers of Saint-Gervais for
   the `nearby` posts. Reported: share delivered, p50/p99/max latency, and deliveries to someone who may not read the
   post (must be 0), and the floor's p50/p99 with the ratio p99 / floor p99. The load average is sampled while the
   frames go out.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
ENTRAIDE = str(Path(sys.executable).parent / "entraide")
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/entraide_live_bench"
TARGETS = {"delivered_share": 1.0, "p99_ms": 250.0}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- seeding and posting: subprocesses with their own Django settings -------------------------------------------

def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entraide.settings")  # bench mode passes its own
    import django

    django.setup()


def seed(clients: int, tokens_file: Path) -> None:
    _django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import transaction

    from entraide.accounts.models import ApiToken, Member, VerificationState
    from entraide.places import geo
    from entraide.places.actions import do_import_neighbourhoods
    from entraide.places.models import Neighbourhood

    call_command("migrate", interactive=False, verbosity=0)
    do_import_neighbourhoods(ROOT / "data" / "paris-quartiers.geojson", name_field="l_qu", code_field="c_quinsee",
                             city="Paris")
    home = Neighbourhood.objects.get(name="Saint-Gervais")
    nearby = Neighbourhood.objects.get(name="Saint-Merri")
    assert home.nearby.filter(id=nearby.id).exists()
    User = get_user_model()
    password = make_password("bench-password-unused")  # one hash for all: nobody logs in with it
    n_home = clients * 4 // 5
    rows = []
    with transaction.atomic():
        User.objects.bulk_create([User(username=f"live{i}", email=f"live{i}@example.org", password=password)
                                  for i in range(clients)], batch_size=500)
        users = list(User.objects.filter(username__startswith="live").order_by("id"))
        cells = {n.id: geo.blur(n.centroid_lat, n.centroid_lon).cell for n in (home, nearby)}
        members = []
        for i, user in enumerate(users):
            where = home if i < n_home else nearby
            members.append(Member(user=user, display_name=f"Voisin {i}", lat=where.centroid_lat,
                                  lon=where.centroid_lon, blurred_cell=cells[where.id], neighbourhood=where,
                                  verification_state=VerificationState.VERIFIED, verification_method="operator"))
        Member.objects.bulk_create(members, batch_size=500)
        members = list(Member.objects.filter(user__in=users).order_by("id"))
        reads = Member.reads_nearby.through
        readers = [m for m in members if m.neighbourhood_id == nearby.id][::2]
        reads.objects.bulk_create([reads(member_id=m.id, neighbourhood_id=home.id) for m in readers])
        tokens = []
        for m in members:
            token = hashlib.sha256(f"live-bench-{m.id}".encode()).hexdigest()
            tokens.append(ApiToken(user_id=m.user_id, key_hash=hashlib.sha256(token.encode()).hexdigest()))
            reader = m.neighbourhood_id == home.id or m in readers
            rows.append({"member_id": m.id, "token": token, "home": m.neighbourhood_id == home.id,
                         "reads_home": reader})
        ApiToken.objects.bulk_create(tokens, batch_size=500)
    tokens_file.write_text(json.dumps(rows))


def post(posts: int, interval: float, authors: list[int], out: Path) -> None:
    _django()
    from entraide.accounts.models import Member
    from entraide.feed.actions import do_create_post

    members = {m.id: m for m in Member.objects.filter(id__in=authors)}
    results = floor(posts, interval, members[authors[0]].neighbourhood_id)
    next_at = time.monotonic()
    for i in range(posts):
        author = members[authors[i % len(authors)]]
        audience = "nearby" if i % 2 else "neighbourhood"
        time.sleep(max(0.0, next_at - time.monotonic()))
        sent = time.time()
        created = do_create_post(author, category="general", audience=audience, title=f"bench {sent:.6f}",
                                 body=f"Message de test {i}, envoyé à {sent:.6f}.")
        results.append({"post_id": created.id, "sent": sent, "audience": audience,
                        "write_ms": (time.time() - sent) * 1000})
        next_at += interval
    out.write_text(json.dumps(results))


def floor(posts: int, interval: float, home_id: int) -> list[dict]:
    """The floor, in the same run: frames of the same shape sent straight to the same groups through the same
    channel layer from one event loop, with no Django write, no commit and no subscriber. Negative post ids."""
    from channels.layers import get_channel_layer

    from entraide.live import fanout

    async def run() -> list[dict]:
        layer, results = get_channel_layer(), []
        next_at = time.monotonic()
        for i in range(posts):
            audience = "nearby" if i % 2 else "neighbourhood"
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            sent = time.time()
            text = json.dumps({"type": "post.created", "data": {"post_id": -(i + 1), "audience": audience}})
            groups = [fanout.hood_group(home_id, "all")] + ([fanout.hood_group(home_id, "nearby")] if i % 2 else [])
            for group in groups:
                await layer.group_send(group, {"type": fanout.EVENT_MESSAGE, "text": text})
            results.append({"post_id": -(i + 1), "sent": sent, "audience": audience, "floor": True,
                            "write_ms": (time.time() - sent) * 1000})
            next_at += interval
        return results

    return asyncio.run(run())


# --- the clients -----------------------------------------------------------------------------------------------

def clients_process(rows_file: Path, start: int, count: int, ports: list[int], out: Path) -> None:
    """One client process: open its slice of the connections, say "ready" on stdout, record frames until stdin
    closes, then write what it received (member id, frame text, time received) to `out`."""
    rows = json.loads(rows_file.read_text())[start:start + count]

    async def main() -> None:
        ready, stop, received = asyncio.Event(), asyncio.Event(), []
        loop = asyncio.get_running_loop()
        clients = asyncio.ensure_future(run_clients(rows, ports, ready, stop, received, offset=start))
        await asyncio.wait([clients, asyncio.ensure_future(ready.wait())], return_when=asyncio.FIRST_COMPLETED)
        if clients.done():
            clients.result()
        print("ready", flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # the parent closes our stdin when the run is over
        stop.set()
        await clients
        out.write_text(json.dumps(received))

    asyncio.run(main())


async def run_clients(rows: list[dict], ports: list[int], ready: asyncio.Event, stop: asyncio.Event,
                      received: list, offset: int = 0) -> None:
    import websockets

    opened = 0
    limit = asyncio.Semaphore(50)  # connections being opened at once

    async def client(i: int, row: dict) -> None:
        nonlocal opened
        url = f"ws://127.0.0.1:{ports[(i + offset) % len(ports)]}/ws/v1/events"
        async with limit:
            ws = await websockets.connect(url, additional_headers={"Authorization": f"Bearer {row['token']}"},
                                          open_timeout=60, ping_interval=None, max_queue=None)
            await ws.send('{"type":"ping"}')
            assert json.loads(await ws.recv()) == {"type": "pong"}
        opened += 1
        if opened == len(rows):
            ready.set()
        sockets.append(ws)
        try:
            async for text in ws:  # until `stop` closes it
                now = time.time()
                if '"post.created"' in text:  # the JSON is read after the run, not while frames arrive
                    received.append((row["member_id"], text, now))
        except websockets.ConnectionClosed:
            pass

    async def closer() -> None:
        await stop.wait()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)

    sockets: list = []
    await asyncio.gather(closer(), *(client(i, row) for i, row in enumerate(rows)))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# --- orchestration ---------------------------------------------------------------------------------------------

def pg_database(url: str, *, drop_only: bool = False) -> None:
    import psycopg
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def redis_db_size(url: str) -> int:
    import redis

    return redis.Redis.from_url(url).dbsize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", nargs="?", default="bench", choices=["bench", "seed", "post", "clients"])
    parser.add_argument("--client-procs", type=int, default=2,
                        help="processes the WebSocket clients are spread over (the clients are not what is measured)")
    parser.add_argument("--start", type=int, default=0)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between two posts")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--layer", choices=["settings", "core"], default="settings",
                        help="channel layer: the one entraide/settings.py sets (pub/sub), or channels-redis's core layer")
    parser.add_argument("--ports", default="8101,8102")
    parser.add_argument("--tokens-file", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--authors", default="")
    args = parser.parse_args()
    if args.role == "seed":
        return seed(args.clients, args.tokens_file)
    if args.role == "clients":
        return clients_process(args.tokens_file, args.start, args.count, [int(p) for p in args.ports.split(",")],
                               args.out)
    if args.role == "post":
        return post(args.posts, args.interval, [int(a) for a in args.authors.split(",")], args.out)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.clients * 2 + 256)), hard))
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    owned_redis = redis_db_size(redis_url) == 0  # flushed at the end only if it was empty before
    tmp = Path(tempfile.mkdtemp(prefix="entraide-live-bench-"))
    env = {**os.environ, "ENTRAIDE_VAR_DIR": str(tmp), "REDIS_URL": redis_url, "DEBUG": "false",
           "DJANGO_SETTINGS_MODULE": "entraide.settings", "LOG_LEVEL": "WARNING",
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend", "ENTRAIDE_RUN_JOBS": "false"}
    if args.db == "postgres":
        pg_database(args.pg_url)
        env["DATABASE_URL"] = args.pg_url
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    # The servers run entraide/settings.py's channel layer (pub/sub); `--layer core` swaps in channels-redis's
    # list-based layer, one Redis message per listening connection, for comparison.
    if args.layer == "core":
        (tmp / "live_bench_settings.py").write_text(
            "from entraide.settings import *  # noqa: F401,F403\n"
            "CHANNEL_LAYERS = {'default': {'BACKEND': 'channels_redis.core.RedisChannelLayer', 'CONFIG': "
            "{'hosts': [{'address': REDIS_URL, 'socket_timeout': 15}], 'capacity': 1000, 'expiry': 30}}}\n")
        env.update(DJANGO_SETTINGS_MODULE="live_bench_settings")
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(tmp), str(ROOT), os.environ.get("PYTHONPATH")])))
    tokens_file, posts_file = tmp / "tokens.json", tmp / "posts.json"
    log(f"seeding {args.clients} members ({args.db}) in {tmp}")
    t0 = time.monotonic()
    subprocess.run([sys.executable, __file__, "seed", "--clients", str(args.clients), "--tokens-file",
                    str(tokens_file)], env=env, check=True, cwd=ROOT)
    log(f"seeded in {time.monotonic() - t0:.1f} s")
    rows = json.loads(tokens_file.read_text())
    ports = [int(p) for p in args.ports.split(",")]
    servers = [subprocess.Popen([ENTRAIDE, "serve", "--websockets-only", "--port", str(port)], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=open(tmp / f"ws-{port}.log", "w"))
               for port in ports]
    try:
        result = asyncio.run(_measure(args, env, rows, ports, posts_file))
    finally:
        for server in servers:
            server.send_signal(signal.SIGINT)
        for server in servers:
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        if args.db == "postgres":
            pg_database(args.pg_url, drop_only=True)
        if owned_redis:
            import redis

            redis.Redis.from_url(redis_url).flushdb()
    result.update({"db": args.db, "layer": args.layer, "servers": len(ports), "redis": redis_url,
                   "interval_s": args.interval})
    print(json.dumps(result, indent=2))
    ok = result["delivered_share"] >= TARGETS["delivered_share"] and result["p99_ms"] < TARGETS["p99_ms"] \
        and result["wrong_deliveries"] == 0
    log(f"targets (100 % delivered, p99 < {TARGETS['p99_ms']:.0f} ms, nothing to the wrong reader): "
        f"{'met' if ok else 'NOT met'}")


async def _measure(args, env: dict, rows: list[dict], ports: list[int], posts_file: Path) -> dict:
    from loadavg import LoadSampler

    await _wait_listening(ports)
    t0 = time.monotonic()
    tmp, procs = posts_file.parent, []
    share = -(-len(rows) // args.client_procs)
    for k in range(args.client_procs):
        procs.append(await asyncio.create_subprocess_exec(
            sys.executable, __file__, "clients", "--tokens-file", str(tmp / "tokens.json"), "--start", str(k * share),
            "--count", str(share), "--ports", args.ports, "--out", str(tmp / f"received-{k}.json"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env, cwd=str(ROOT)))
    for proc in procs:
        if (await proc.stdout.readline()).strip() != b"ready":
            raise SystemExit("a client process failed to connect its clients")
    log(f"{len(rows)} clients connected across {len(ports)} servers ({args.client_procs} client processes) in "
        f"{time.monotonic() - t0:.1f} s")
    authors = [r["member_id"] for r in rows if r["home"]][: args.posts]
    with LoadSampler() as load:
        poster = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "post", "--posts", str(args.posts), "--interval", str(args.interval),
            "--authors", ",".join(map(str, authors)), "--out", str(posts_file), env=env, cwd=str(ROOT))
        if await poster.wait() != 0:
            raise SystemExit("the posting process failed")
        await asyncio.sleep(2.0)  # stragglers: anything later than this is counted as not delivered
    for proc in procs:
        proc.stdin.close()
    for proc in procs:
        await proc.wait()
    received = [tuple(r) for k in range(args.client_procs)
                for r in json.loads((tmp / f"received-{k}.json").read_text())]
    sent = json.loads(posts_file.read_text())
    floor_latencies, _, floor_seen, floor_expected = _latencies(
        received, {p["post_id"]: p for p in sent if p.get("floor")}, rows)
    posts = {p["post_id"]: p for p in sent if not p.get("floor")}
    latencies, wrong, seen, expected = _latencies(received, posts, rows)
    return {"clients": len(rows), "posts": len(posts), "expected_deliveries": expected, "delivered": len(seen),
            "delivered_share": round(len(seen) / expected, 4) if expected else 0.0, "wrong_deliveries": wrong,
            "p50_ms": round(percentile(latencies, 50), 1), "p99_ms": round(percentile(latencies, 99), 1),
            "max_ms": round(max(latencies), 1) if latencies else None,
            # The same frames through the same layer without the write path: what the transport alone costs.
            "floor_p50_ms": round(percentile(floor_latencies, 50), 1),
            "floor_p99_ms": round(percentile(floor_latencies, 99), 1),
            "floor_delivered_share": round(len(floor_seen) / floor_expected, 4) if floor_expected else 0.0,
            "p99_over_floor": round(percentile(latencies, 99) / percentile(floor_latencies, 99), 2),
            # do_create_post itself, every subscriber included (live's fan-out is one of them): part of the latency.
            "write_p50_ms": round(percentile([p["write_ms"] for p in posts.values()], 50), 1),
            "write_max_ms": round(max(p["write_ms"] for p in posts.values()), 1), **load.summary(),
            "cpus": os.cpu_count()}


def _latencies(received: list, posts: dict, rows: list[dict]) -> tuple[list[float], int, set, int]:
    """Latencies of the first delivery of each post to each member who may read it, deliveries to someone who may
    not, the (member, post) pairs delivered, and how many were expected."""
    readers = {r["member_id"]: r for r in rows}
    expected = sum(sum(1 for r in rows if r["home"] or (p["audience"] == "nearby" and r["reads_home"]))
                   for p in posts.values())
    latencies, wrong, seen = [], 0, set()
    for member_id, text, at in received:
        post_id = json.loads(text)["data"]["post_id"]
        p, r = posts.get(post_id), readers[member_id]
        if p is None:
            continue
        if not (r["home"] or (p["audience"] == "nearby" and r["reads_home"])):
            wrong += 1
            continue
        if (member_id, post_id) in seen:
            continue
        seen.add((member_id, post_id))
        latencies.append((at - p["sent"]) * 1000)
    return latencies, wrong, seen, expected


async def _wait_listening(ports: list[int], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the WebSocket server on port {port} did not start")
                await asyncio.sleep(0.2)


if __name__ == "__main__":
    main()
