"""Benchmark of the daily digest (issue 5, performance): 100,000 members, one worker. Not a test: it reports.

    .venv/bin/python bench/digest.py --members 100000            # SQLite (WAL), in a temporary directory
    .venv/bin/python bench/digest.py --members 100000 --db postgres [--pg-url postgres://…/notif_bench]

1. **Seed** (fresh database): migrate; 100 real neighbourhoods (the 80 Paris quartiers and 20 communes of the petite
   couronne, `do_import_neighbourhoods`); `--members` users and members bulk-inserted with `bench/feed_seed.py`'s
   writers (executemany on SQLite, COPY on PostgreSQL), 80 % French, 20 % English; 6 % of them with their own
   settings (categories, a nearby neighbourhood followed, quiet hours), 2 % with the digest off; a day of activity:
   `--posts` posts per neighbourhood over the last 24 hours (every category), a few new help requests, a crisis.
2. **Digest**: `digest.build_digests()` (what the daily job and `entraide send-digests` run), timed.
3. **Send**: `outbox.send_due()` through an email backend that builds every MIME message (text + HTML, headers)
   and throws it away, timed. Then the digest again, to show a rerun writes nothing.

Target: digest + sending for 100,000 members under 300 s with one worker.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = ROOT / "data"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/entraide_digest_bench"
SEED = 20240607


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=12, help="posts per neighbourhood in the last 24 hours")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a database this bench may drop and create")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    return parser.parse_args()


ARGS = parse()
TMP = Path(tempfile.mkdtemp(prefix="entraide-digest-bench-"))
os.environ["ENTRAIDE_VAR_DIR"] = str(TMP)
for name in ("REDIS_URL", "EMAIL_HOST", "ENTRAIDE_DIGEST_HOUR"):
    os.environ.pop(name, None)
os.environ["EMAIL_BACKEND"] = "__main__.RenderingNullBackend"
# The digest goes out at 07:00, after the default quiet hours; the bench may run at night.
os.environ["ENTRAIDE_QUIET_HOURS"] = ""
os.environ["DJANGO_SETTINGS_MODULE"] = "entraide.settings"
os.environ.setdefault("LOG_LEVEL", "ERROR")
if ARGS.db == "postgres":
    sys.path.insert(0, str(BENCH))
    from feed import pg_create  # noqa: E402 - bench/feed.py's helper: drop and create the bench database

    pg_create(ARGS.pg_url)
    os.environ["DATABASE_URL"] = ARGS.pg_url
else:
    os.environ["DATABASE_URL"] = f"sqlite:///{TMP / 'bench.sqlite3'}"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import feed_seed  # noqa: E402 - runs django.setup() with the environment above
from django.core.mail.backends.base import BaseEmailBackend  # noqa: E402


class RenderingNullBackend(BaseEmailBackend):
    """Builds each message as SMTP would send it (MIME, both parts, headers), then drops it."""

    bytes_out = 0

    def send_messages(self, messages):
        for message in messages:
            RenderingNullBackend.bytes_out += len(message.message().as_bytes())
        return len(messages)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def import_places() -> list[int]:
    from entraide.places.actions import do_import_neighbourhoods
    from entraide.places.models import Neighbourhood

    do_import_neighbourhoods(DATA / "paris-quartiers.geojson", name_field="l_qu", code_field="c_quinsee",
                             city="Paris")
    communes = json.loads((DATA / "ile-de-france-communes.geojson").read_text(encoding="utf-8"))
    features = [f for f in communes["features"] if str(f["properties"].get("code", "")).startswith(("92", "93", "94"))]
    path = TMP / "communes-20.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features[:20]}), encoding="utf-8")
    do_import_neighbourhoods(path, name_field="nom", code_field="code", city="Petite couronne")
    return list(Neighbourhood.objects.order_by("id").values_list("id", flat=True))


def seed_members(n: int, nb_ids: list[int]) -> dict[int, list[int]]:
    """Users and members in bulk (feed_seed's writers); returns member ids by neighbourhood."""
    import h3
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.utils import timezone

    from entraide.accounts.models import Member
    from entraide.places.models import Neighbourhood

    rng = random.Random(SEED)
    centres = dict(Neighbourhood.objects.values_list("id", "centroid_lat"))
    lons = dict(Neighbourhood.objects.values_list("id", "centroid_lon"))
    home = [nb_ids[i % len(nb_ids)] for i in range(n)]
    rng.shuffle(home)
    writer = feed_seed.SqliteWriter() if connection.vendor == "sqlite" else feed_seed.PostgresWriter()
    now = writer.ts(__import__("numpy").array([timezone.now().replace(tzinfo=None)], dtype="datetime64[us]"))[0]
    password = make_password("bench-password-not-secret")
    b = writer.bool
    user_cols = ["id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
                 "is_staff", "is_active", "date_joined"]
    feed_seed.check_columns(get_user_model(), user_cols)
    writer.write("auth_user", user_cols, ((i, password, None, b(False), f"bench{i:07d}", "", "",
                                          f"membre{i}@exemple.fr", b(False), b(True), now) for i in range(1, n + 1)))
    member_cols = ["id", "user_id", "display_name", "language", "address_text", "lat", "lon", "blurred_cell",
                   "street_name", "location_precision", "neighbourhood_id", "verification_state",
                   "verification_method", "verified_at", "created_at"]
    feed_seed.check_columns(Member, member_cols)

    def members():
        for i in range(1, n + 1):
            nid = home[i - 1]
            lat, lon = centres[nid] + rng.uniform(-0.002, 0.002), lons[nid] + rng.uniform(-0.003, 0.003)
            yield (i, i, f"Membre Numero{i}", "en" if i % 5 == 0 else "fr", "", lat, lon,
                   h3.latlng_to_cell(lat, lon, 9), "", "address", nid, "verified", "operator", now, now)

    writer.write("accounts_member", member_cols, members())
    if writer.vendor == "sqlite":
        writer.conn.execute("PRAGMA journal_mode=WAL")
    else:
        for table in ("auth_user", "accounts_member"):
            writer.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n})")
        writer.conn.execute("SET session_replication_role = DEFAULT")
        writer.conn.execute("ANALYZE")
    writer.conn.close()
    by_nb: dict[int, list[int]] = {}
    for i, nid in enumerate(home, start=1):
        by_nb.setdefault(nid, []).append(i)
    return by_nb


def seed_settings_and_activity(by_nb: dict[int, list[int]], posts_per_nb: int) -> dict[str, int]:
    from datetime import time as dtime

    from django.utils import timezone

    from entraide.accounts.models import Member
    from entraide.aid.models import HelpRequest
    from entraide.feed.models import Category, Crisis, Post
    from entraide.notifications.models import NotificationSettings
    from entraide.places.models import Neighbourhood

    rng = random.Random(SEED + 1)
    now = timezone.now()
    adjacent: dict[int, list[int]] = {}
    for a, b in Neighbourhood.nearby.through.objects.values_list("from_neighbourhood_id", "to_neighbourhood_id"):
        adjacent.setdefault(a, []).append(b)
    rows, reads = [], []
    home_of = {m: nid for nid, ms in by_nb.items() for m in ms}
    for mid in rng.sample(sorted(home_of), k=len(home_of) * 8 // 100):
        nid = home_of[mid]
        if rng.random() < 0.25:
            rows.append(NotificationSettings(member_id=mid, digest=False))
            continue
        followed = [nid]
        if adjacent.get(nid):
            other = rng.choice(adjacent[nid])
            reads.append(Member.reads_nearby.through(member_id=mid, neighbourhood_id=other))
            followed.append(other)
        rows.append(NotificationSettings(member_id=mid, neighbourhoods=followed,
                                         digest_categories=rng.sample(Category.values, 3),
                                         quiet_start=dtime(23), quiet_end=dtime(6)))
    NotificationSettings.objects.bulk_create(rows, batch_size=2000)
    Member.reads_nearby.through.objects.bulk_create(reads, batch_size=2000)
    categories = Category.values
    posts = []
    for nid, members in by_nb.items():
        for k in range(posts_per_nb):
            category = categories[k % len(categories)]
            body = (f"Bonjour les voisins, annonce {k} du quartier : rendez-vous samedi devant l'école, "
                    f"apportez ce que vous pouvez. Merci à toutes et à tous !")
            posts.append(Post(neighbourhood_id=nid, author_id=rng.choice(members), category=category,
                              audience="nearby" if k % 3 == 0 else "neighbourhood", title=f"Annonce {k}",
                              body=body, body_html=f"<p>{body}</p>"))
    Post.objects.bulk_create(posts, batch_size=2000)
    # Spread over the last day (auto_now_add set them all to now).
    for i, post in enumerate(posts):
        post.created_at = now - timedelta(minutes=(i * 37) % (23 * 60))
    Post.objects.bulk_update(posts, ["created_at"], batch_size=2000)
    requests = []
    for nid, members in list(by_nb.items())[::2]:
        for _ in range(3):
            mid = rng.choice(members)
            requests.append(HelpRequest(neighbourhood_id=nid, requester_id=mid, type="groceries",
                                        description="Courses pour la semaine", window_start=now,
                                        window_end=now + timedelta(days=1), blurred_cell="891fb466257ffff",
                                        lat=48.85, lon=2.35, status="open"))
    HelpRequest.objects.bulk_create(requests)
    Crisis.objects.create(name="Canicule", tag="canicule", banner="Pensez à vos voisins isolés.",
                          starts_at=now - timedelta(days=1))
    return {"settings_rows": len(rows), "nearby_followed": len(reads), "posts": len(posts),
            "requests": len(requests)}


def mime_floor(count: int) -> float:
    from django.core.mail import EmailMultiAlternatives, get_connection

    from entraide.notifications.models import OutboundEmail

    samples = list(OutboundEmail.objects.filter(kind="digest").values("subject", "text", "html", "headers")[:500])
    connection = get_connection()
    start = time.perf_counter()
    batch = []
    for i in range(count):
        row = samples[i % len(samples)]
        message = EmailMultiAlternatives(row["subject"], row["text"], to=["voisin@example.org"], headers=row["headers"],
                                         connection=connection)
        message.attach_alternative(row["html"], "text/html")
        batch.append(message)
        if len(batch) == 200:
            connection.send_messages(batch)
            batch = []
    connection.send_messages(batch)
    return time.perf_counter() - start


def main() -> None:
    from django.core.management import call_command
    from django.db import connection

    from entraide.notifications import digest, outbox
    from entraide.notifications.models import OutboundEmail

    result: dict = {"db": connection.vendor, "members": ARGS.members, "python": platform.python_version(),
                    "cpus": os.cpu_count()}
    start = time.perf_counter()
    call_command("migrate", verbosity=0)
    nb_ids = import_places()
    by_nb = seed_members(ARGS.members, nb_ids)
    connection.close()
    result["seed"] = seed_settings_and_activity(by_nb, ARGS.posts)
    result["seed"]["neighbourhoods"] = len(nb_ids)
    result["seed_s"] = round(time.perf_counter() - start, 1)
    log(f"seeded in {result['seed_s']} s: {result['seed']}")

    start = time.perf_counter()
    built = digest.build_digests()
    build_s = time.perf_counter() - start
    log(f"digests written in {build_s:.1f} s: {built}")
    start = time.perf_counter()
    sent = outbox.send_due(max_rows=10_000_000)
    send_s = time.perf_counter() - start
    log(f"sent in {send_s:.1f} s: {sent}")
    start = time.perf_counter()
    again = digest.build_digests()
    rerun_s = time.perf_counter() - start
    log(f"rerun in {rerun_s:.1f} s: {again}")
    total = build_s + send_s
    mime_bytes = RenderingNullBackend.bytes_out
    floor_s = mime_floor(built["written"])
    log(f"floor (the same number of messages built from memory) in {floor_s:.1f} s")
    result.update({
        "build_s": round(build_s, 1), "send_s": round(send_s, 1), "total_s": round(total, 1),
        "members_per_s": round(ARGS.members / total), "digests_written": built["written"],
        "skipped_empty": built["empty"], "digest_off": built["off"], "sent": sent["sent"],
        "send_failures": sent["retry"] + sent["failed"], "rerun_written": again["written"],
        "rerun_s": round(rerun_s, 1), "mime_mb": round(mime_bytes / 1e6, 1),
        "pending_after": OutboundEmail.objects.filter(status="pending").count(),
        # The floor, in the same run: as many messages of the same sizes, built and serialised by the same backend
        # from strings in memory (no database, no template, no outbox). total / floor is what the digest adds.
        "floor_s": round(floor_s, 1), "total_over_floor": round(total / floor_s, 2),
        "target_s": 300, "met": total < 300})
    print(json.dumps(result, indent=1))
    if ARGS.json:
        ARGS.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    try:
        main()
    finally:
        import shutil

        shutil.rmtree(TMP, ignore_errors=True)
        if ARGS.db == "postgres":
            from django.db import connection

            from feed import pg_drop

            connection.close()
            pg_drop(ARGS.pg_url)
