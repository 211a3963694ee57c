"""Seed a city for `bench/feed.py` and measure what is measured in-process (queries per feed page, EXPLAIN plans).

Run by `bench/feed.py` as a subprocess, with `DATABASE_URL` and `ENTRAIDE_VAR_DIR` in its environment (Django reads
its settings once per process, so each backend gets its own process):

    python bench/feed_seed.py --scale 0.01 --tokens-file /tmp/x/tokens.txt --out /tmp/x/seed.json

Neighbourhoods are imported with `do_import_neighbourhoods` (real polygons, H3 cover, adjacency). Everything else is
written in bulk: `executemany` in one transaction per table on SQLite (journal off and `synchronous=OFF` during the
seeding only, WAL put back at the end), `COPY` on PostgreSQL; secondary indexes are dropped before and re-created
after, as a restore would. Rows get explicit ids, so foreign keys are computed, never looked up.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entraide.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

import feed_text  # noqa: E402
from entraide.accounts.models import ApiToken, Member  # noqa: E402
from entraide.feed import clock  # noqa: E402
from entraide.feed import search as search_module  # noqa: E402
from entraide.feed.models import Comment, Crisis, Post, SearchDoc, Thanks  # noqa: E402
from entraide.feed.search_models import scope_tokens, scoped_shadow  # noqa: E402
from entraide.places.actions import do_import_neighbourhoods  # noqa: E402
from entraide.places.models import Neighbourhood  # noqa: E402

SEED = 20240601
FULL = {"members": 200_000, "posts": 2_000_000, "comments": 6_000_000}
DAYS = 60
CHUNK = 100_000
User = get_user_model()


def log(msg: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S', time.gmtime())} UTC] {msg}", flush=True)


# --- writers -----------------------------------------------------------------------------------------------------

class SqliteWriter:
    vendor = "sqlite"

    def __init__(self) -> None:
        import sqlite3

        connection.close()
        self.conn = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
        cur = self.conn.cursor()
        cur.execute("PRAGMA journal_mode=OFF")
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("PRAGMA cache_size=-1000000")  # 1 GB page cache while seeding
        cur.execute("PRAGMA temp_store=MEMORY")
        self.saved: list[str] = []

    def ts(self, arr: np.ndarray) -> list[str]:
        """Django's SQLite datetime format: UTC, no offset, a space between date and time."""
        return np.char.replace(np.datetime_as_string(arr, unit="us"), "T", " ").tolist()

    def json(self, value: list) -> str:
        return json.dumps(value, ensure_ascii=False)

    def bool(self, value: bool) -> int:
        return int(value)

    def drop_indexes(self, tables: list[str]) -> None:
        cur = self.conn.cursor()
        marks = ",".join("?" * len(tables))
        rows = cur.execute(f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
                           f"AND tbl_name IN ({marks})", tables).fetchall()
        for name, sql in rows:
            cur.execute(f'DROP INDEX "{name}"')
            self.saved.append(sql)
        # The FTS insert trigger would index row by row; the index is rebuilt once at the end instead. The feed
        # clock's triggers would bump a clock per row: a loaded city starts with no versions (0), as a new one.
        cur.execute("DROP TRIGGER IF EXISTS feed_searchdoc_fts_ai")
        for sql in clock.sqlite_drop():
            cur.execute(sql)

    def write(self, table: str, columns: list[str], rows) -> int:
        cur = self.conn.cursor()
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        count = 0
        cur.execute("BEGIN")
        it = iter(rows)
        while True:
            batch = list(islice(it, CHUNK))
            if not batch:
                break
            cur.executemany(sql, batch)
            count += len(batch)
        cur.execute("COMMIT")
        return count

    def finish(self) -> dict[str, float]:
        timings = {}
        cur = self.conn.cursor()
        start = time.perf_counter()
        for sql in self.saved:
            cur.execute(sql)
        timings["indexes"] = time.perf_counter() - start
        start = time.perf_counter()
        migration = importlib.import_module("entraide.feed.migrations.0003_search_scope")
        cur.execute(migration.SQLITE_INSERT_TRIGGER)  # the AFTER INSERT trigger, as the migration wrote it
        for sql in clock.sqlite_create():
            cur.execute(sql)
        cur.execute("INSERT INTO feed_searchdoc_fts(feed_searchdoc_fts) VALUES ('rebuild')")
        timings["fts_rebuild"] = time.perf_counter() - start
        start = time.perf_counter()
        cur.execute("ANALYZE")
        cur.execute("PRAGMA journal_mode=WAL")
        timings["analyze"] = time.perf_counter() - start
        self.conn.close()
        return timings


class PostgresWriter:
    vendor = "postgresql"

    def __init__(self) -> None:
        import psycopg

        s = settings.DATABASES["default"]
        self.conn = psycopg.connect(dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"] or None,
                                    host=s["HOST"] or None, port=s["PORT"] or None, autocommit=True)
        # Foreign-key triggers off while loading (rows are consistent by construction; superuser only), and the feed
        # clock's: a loaded city starts with no versions (0), as a new one.
        self.conn.execute("SET session_replication_role = replica")
        self.conn.execute("SET maintenance_work_mem = '1GB'")
        self.conn.execute("SET synchronous_commit = off")
        self.saved: list[str] = []

    def ts(self, arr: np.ndarray) -> list[str]:
        return np.char.add(np.datetime_as_string(arr, unit="us"), "+00:00").tolist()

    def json(self, value: list) -> str:
        return json.dumps(value, ensure_ascii=False)

    def bool(self, value: bool) -> bool:
        return bool(value)

    def drop_indexes(self, tables: list[str]) -> None:
        rows = self.conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
            "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)",
            [tables]).fetchall()
        for name, sql in rows:
            self.conn.execute(f'DROP INDEX "{name}"')
            self.saved.append(sql)

    def write(self, table: str, columns: list[str], rows) -> int:
        count = 0
        with self.conn.cursor() as cur:
            with self.conn.transaction():
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        count += 1
        return count

    def finish(self) -> dict[str, float]:
        timings = {}
        start = time.perf_counter()
        for sql in self.saved:
            self.conn.execute(sql)
        timings["indexes"] = time.perf_counter() - start
        start = time.perf_counter()
        for table in ("auth_user", "accounts_member", "accounts_member_reads_nearby", "feed_post", "feed_posttag",
                      "feed_comment", "feed_thanks", "feed_searchdoc"):
            self.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT coalesce(max(id), 1) FROM {table}))")
        self.conn.execute("SET session_replication_role = DEFAULT")
        self.conn.execute("VACUUM ANALYZE")
        timings["analyze"] = time.perf_counter() - start
        self.conn.close()
        return timings


# --- the city ----------------------------------------------------------------------------------------------------

def import_neighbourhoods(tmp: Path) -> dict:
    """Paris quartiers plus the first 1,000 Ile-de-France communes outside Paris (Paris is the quartiers)."""
    with open(DATA / "ile-de-france-communes.geojson", encoding="utf-8") as handle:
        communes = json.load(handle)
    features = [f for f in communes["features"] if not str(f["properties"].get("code", "")).startswith("75")][:1000]
    path = tmp / "communes-1000.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    start = time.perf_counter()
    paris = do_import_neighbourhoods(DATA / "paris-quartiers.geojson", name_field="l_qu", code_field="c_quinsee",
                                     city="Paris")
    idf = do_import_neighbourhoods(path, name_field="nom", code_field="code", city="Ile-de-France")
    return {"seconds": time.perf_counter() - start, "count": paris.created + idf.created,
            "nearby_pairs": idf.nearby_pairs + paris.nearby_pairs}


def check_columns(model, columns: list[str]) -> None:
    expected = [f.column for f in model._meta.concrete_fields]
    if sorted(expected) != sorted(columns):
        raise SystemExit(f"{model._meta.db_table}: the bench writes {columns} but the model has {expected}")


def seed(scale: float, writer, tmp: Path) -> dict:
    import h3

    rng = np.random.default_rng(SEED)
    report: dict = {"tables": {}}
    now = np.datetime64(timezone.now().replace(tzinfo=None), "us")
    now_dt = timezone.now()

    nb = list(Neighbourhood.objects.order_by("id").values_list("id", "city__name", "centroid_lat", "centroid_lon"))
    nb_ids = np.array([n[0] for n in nb])
    n_nb = len(nb)
    nb_index = {nid: i for i, nid in enumerate(nb_ids.tolist())}
    through = Neighbourhood.nearby.through
    adjacent: list[list[int]] = [[] for _ in range(n_nb)]
    for a, b in through.objects.values_list("from_neighbourhood_id", "to_neighbourhood_id"):
        adjacent[nb_index[a]].append(b)

    n_members = max(int(FULL["members"] * scale), n_nb)
    n_posts = max(int(FULL["posts"] * scale), 1)
    n_comments = int(FULL["comments"] * scale)
    password = make_password("bench-password-not-secret")  # one hash for everyone: seeding must be fast

    # Members: one per neighbourhood first, then denser in Paris, lognormal elsewhere.
    weights = rng.lognormal(0.0, 0.8, n_nb) * np.array([3.0 if n[1] == "Paris" else 1.0 for n in nb])
    member_nb = np.concatenate([rng.permutation(n_nb),
                                rng.choice(n_nb, n_members - n_nb, p=weights / weights.sum())])  # index into nb
    member_ids = np.arange(1, n_members + 1)
    joined = now - (rng.uniform(60, 400, n_members) * 86400e6).astype("timedelta64[us]")
    joined_s = writer.ts(joined)
    first = rng.integers(0, len(feed_text.FIRST_NAMES), n_members).tolist()
    last = rng.integers(0, len(feed_text.LAST_NAMES), n_members).tolist()
    street = rng.integers(0, len(feed_text.STREETS), n_members).tolist()
    number = rng.integers(1, 120, n_members).tolist()
    jlat = rng.uniform(-0.002, 0.002, n_members).tolist()
    jlon = rng.uniform(-0.003, 0.003, n_members).tolist()
    mnb = member_nb.tolist()
    b = writer.bool

    user_cols = ["id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
                 "is_staff", "is_active", "date_joined"]
    check_columns(User, user_cols)

    def users():
        for i in range(n_members):
            mid = i + 1
            yield (mid, password, None, b(False), f"bench{mid:07d}", "", "", f"membre{mid}@exemple.fr", b(False),
                   b(True), joined_s[i])

    member_cols = ["id", "user_id", "display_name", "language", "address_text", "lat", "lon", "blurred_cell",
                   "street_name", "location_precision", "neighbourhood_id", "verification_state",
                   "verification_method", "verified_at", "created_at"]
    check_columns(Member, member_cols)

    def members():
        for i in range(n_members):
            mid = i + 1
            k = mnb[i]
            lat, lon = nb[k][2] + jlat[i], nb[k][3] + jlon[i]
            street_name = feed_text.STREETS[street[i]]
            yield (mid, mid, f"{feed_text.FIRST_NAMES[first[i]]} {feed_text.LAST_NAMES[last[i]]}", "fr",
                   f"{number[i]} {street_name}", lat, lon, h3.latlng_to_cell(lat, lon, 9), street_name, "address",
                   int(nb_ids[k]), "verified", "operator", joined_s[i], joined_s[i])

    choice_roll = rng.random(n_members).tolist()

    def reads_nearby():
        rid = 0
        pick = np.random.default_rng(SEED + 1)
        for i in range(n_members):
            neighbours = adjacent[mnb[i]]
            roll = choice_roll[i]
            if roll < 0.7:
                chosen = neighbours
            elif roll < 0.85 and neighbours:
                chosen = pick.choice(neighbours, max(1, len(neighbours) // 2), replace=False).tolist()
            else:
                chosen = []
            for n in chosen:
                rid += 1
                yield (rid, i + 1, n)

    # Posts: id order is time order; authors skewed (a few very active members); neighbourhood = author's home.
    activity = rng.lognormal(0.0, 1.2, n_members)
    author_idx = rng.choice(n_members, n_posts, p=activity / activity.sum())
    post_nb_idx = member_nb[author_idx]
    post_nb = nb_ids[post_nb_idx]
    post_age_us = np.sort(rng.uniform(0, DAYS * 86400e6, n_posts))[::-1].astype(np.int64)
    post_created = now - post_age_us.astype("timedelta64[us]")
    categories = np.array(["general", "advice", "recommendation", "lost_found", "give_lend", "safety", "urgent"])
    post_cat = rng.choice(len(categories), n_posts, p=[0.40, 0.12, 0.12, 0.08, 0.20, 0.05, 0.03])
    post_nearby = rng.random(n_posts) < 0.4
    post_crisis = rng.random(n_posts) < 0.03
    post_has_title = rng.random(n_posts) < 0.7
    n_sent = rng.integers(1, 5, n_posts)
    post_tag_roll = rng.random(n_posts)
    pinned = np.zeros(n_posts, dtype=bool)
    pinned[rng.choice(n_posts, min(n_posts, max(1, n_nb // 5)), replace=False)] = True

    # Comments: skewed over posts (lognormal popularity), after their post, one level of replies.
    popularity = rng.lognormal(0.0, 1.5, n_posts)
    popularity /= popularity.sum()
    comment_post = np.sort(rng.choice(n_posts, n_comments, p=popularity)) if n_comments else np.zeros(0, np.int64)
    delay = np.minimum(rng.exponential(6 * 3600e6, n_comments).astype(np.int64), post_age_us[comment_post])
    comment_created = post_created[comment_post] + delay.astype("timedelta64[us]")
    # Order by (post, created) so that a post's first comment is the start of its run.
    order = np.lexsort((comment_created, comment_post))
    comment_post, comment_created = comment_post[order], comment_created[order]
    run_start = np.r_[0, np.flatnonzero(np.diff(comment_post)) + 1] if n_comments else np.zeros(0, np.int64)
    first_of_run = np.zeros(n_comments, dtype=np.int64)
    if n_comments:
        first_of_run[run_start] = run_start
        first_of_run = np.maximum.accumulate(first_of_run)
    is_reply = (rng.random(n_comments) < 0.25) & (first_of_run != np.arange(n_comments))
    comment_parent = np.where(is_reply, first_of_run + 1, 0)  # ids are positions + 1
    comment_count = np.bincount(comment_post, minlength=n_posts)

    # Authors of comments and thanks: members of the post's neighbourhood.
    by_nb = np.argsort(member_nb, kind="stable")
    nb_start = np.searchsorted(member_nb[by_nb], np.arange(n_nb))
    nb_count = np.bincount(member_nb, minlength=n_nb)

    def local_member(post_idx: np.ndarray) -> np.ndarray:
        k = post_nb_idx[post_idx]
        return member_ids[by_nb[nb_start[k] + (rng.random(len(post_idx)) * nb_count[k]).astype(np.int64)]]

    comment_author = local_member(comment_post)

    # Thanks on posts: about one for two posts, skewed like comments, once per member and post, never one's own.
    n_thanks = n_posts // 2
    thanks_post = rng.choice(n_posts, n_thanks, p=popularity)
    thanks_member = local_member(thanks_post)
    keep = thanks_member != member_ids[author_idx[thanks_post]]
    pairs = np.unique(np.stack([thanks_post[keep], thanks_member[keep]], axis=1), axis=0)
    thanks_post, thanks_member = pairs[:, 0], pairs[:, 1]
    thanks_count = np.bincount(thanks_post, minlength=n_posts)
    thanks_created = post_created[thanks_post] + np.minimum(
        rng.exponential(12 * 3600e6, len(thanks_post)).astype(np.int64),
        post_age_us[thanks_post]).astype("timedelta64[us]")

    # Text pools and their search shadows (SQLite), computed once per sentence with the search module's function.
    sentences, comment_sentences, titles = feed_text.pools(SEED)
    crisis_sentences = feed_text.CRISIS
    stems = writer.vendor == "sqlite"
    shadow = search_module.shadow_text
    sent_shadow = [shadow(s) for s in sentences] if stems else None
    csent_shadow = [shadow(s) for s in comment_sentences] if stems else None
    crisis_shadow = [shadow(s) for s in crisis_sentences] if stems else None
    title_shadow = [shadow(t) for t in titles] if stems else None
    from html import escape

    post_sent = rng.integers(0, len(sentences), (n_posts, 4)).tolist()
    post_title = rng.integers(0, len(titles), n_posts).tolist()
    crisis_pick = rng.integers(0, len(crisis_sentences), n_posts).tolist()

    crisis = Crisis.objects.create(name="Épidémie de coronavirus", tag="coronavirus",
                                   banner="Épidémie : entraide renforcée dans les quartiers",
                                   starts_at=now_dt - timezone.timedelta(days=DAYS))
    post_created_s = writer.ts(post_created)

    def post_text(i: int) -> tuple[str, str, str, str]:
        """title, body, title shadow, body shadow."""
        idx = post_sent[i][: (1 if post_cat[i] == 6 else n_sent[i])]
        parts = [sentences[j] for j in idx]
        parts_shadow = [sent_shadow[j] for j in idx] if stems else []
        if post_crisis[i]:
            parts.insert(0, crisis_sentences[crisis_pick[i]])
            if stems:
                parts_shadow.insert(0, crisis_shadow[crisis_pick[i]])
        body = " ".join(parts)
        if post_has_title[i]:
            t = titles[post_title[i]]
            ts = title_shadow[post_title[i]] if stems else ""
        else:
            t, ts = "", ""
        return t, body, ts, " ".join(p for p in parts_shadow if p)

    post_cols = ["id", "neighbourhood_id", "author_id", "category", "audience", "title", "body", "body_html", "tags",
                 "crisis_id", "pinned", "official", "comment_count", "thanks_count", "created_at", "edited_at"]
    check_columns(Post, post_cols)
    post_tags: list[list[str]] = [[] for _ in range(n_posts)]
    tag_pick = rng.integers(0, len(feed_text.TAGS), (n_posts, 2)).tolist()
    for i in np.flatnonzero(post_tag_roll < 0.12).tolist():
        post_tags[i] = sorted({feed_text.TAGS[t] for t in tag_pick[i][: 1 + (post_tag_roll[i] < 0.04)]})
    for i in np.flatnonzero(post_crisis).tolist():
        post_tags[i] = sorted({*post_tags[i], "coronavirus"})
    author_ids = member_ids[author_idx].tolist()
    post_nb_l = post_nb.tolist()
    cat_l = categories[post_cat].tolist()
    cc_l, tc_l = comment_count.tolist(), thanks_count.tolist()
    pinned_l, crisis_l, nearby_l = pinned.tolist(), post_crisis.tolist(), post_nearby.tolist()
    n_sent = n_sent.tolist()
    post_cat = post_cat.tolist()
    post_has_title = post_has_title.tolist()
    post_crisis = crisis_l
    audience_l = ["nearby" if x else "neighbourhood" for x in nearby_l]

    def posts():
        for i in range(n_posts):
            t, body, _ts, _bs = post_text(i)
            yield (i + 1, post_nb_l[i], author_ids[i], cat_l[i], audience_l[i], t, body, f"<p>{escape(body)}</p>",
                   writer.json(post_tags[i]), crisis.id if crisis_l[i] else None, b(pinned_l[i]), b(pinned_l[i]),
                   cc_l[i], tc_l[i], post_created_s[i], None)

    def posttags():
        rid = 0
        for i in range(n_posts):
            for tag in post_tags[i]:
                rid += 1
                yield (rid, i + 1, post_nb_l[i], tag, post_created_s[i])

    comment_cols = ["id", "post_id", "parent_id", "neighbourhood_id", "author_id", "body", "body_html",
                    "thanks_count", "created_at", "edited_at"]
    check_columns(Comment, comment_cols)
    comment_created_s = writer.ts(comment_created)
    cpost_l = comment_post.tolist()
    cparent_l = comment_parent.tolist()
    cauthor_l = comment_author.tolist()
    c_two = (rng.random(n_comments) < 0.3).tolist()
    c_sent = rng.integers(0, len(comment_sentences), (n_comments, 2)).tolist()

    def comment_text(j: int) -> tuple[str, str]:
        idx = c_sent[j][: 1 + c_two[j]]
        return (" ".join(comment_sentences[k] for k in idx),
                " ".join(csent_shadow[k] for k in idx) if stems else "")

    def comments():
        for j in range(n_comments):
            body, _ = comment_text(j)
            p = cpost_l[j]
            yield (j + 1, p + 1, cparent_l[j] or None, post_nb_l[p], cauthor_l[j], body, f"<p>{escape(body)}</p>", 0,
                   comment_created_s[j], None)

    thanks_cols = ["id", "member_id", "neighbourhood_id", "post_id", "comment_id", "created_at"]
    check_columns(Thanks, thanks_cols)
    th_post, th_member, th_created = thanks_post.tolist(), thanks_member.tolist(), writer.ts(thanks_created)

    def thanks():
        for k in range(len(th_post)):
            p = th_post[k]
            yield (k + 1, th_member[k], post_nb_l[p], p + 1, None, th_created[k])

    # Search documents: what search.index_post / index_comment store (plain text = the body: no markup in it).
    doc_cols = ["id", "kind", "post_id", "comment_id", "neighbourhood_id", "audience", "created_at", "title", "body",
                "title_stems", "body_stems", "scope_tokens"]
    check_columns(SearchDoc, doc_cols)

    # Document ids follow creation, posts and comments interleaved, as when each is indexed on writing (search
    # ranks the newest matches by id: search.RANK_WINDOW).
    doc_order = np.argsort(np.concatenate([post_created, comment_created]), kind="stable").tolist()

    def docs():
        for doc_id, k in enumerate(doc_order, start=1):
            if k < n_posts:
                t, body, ts, bs = post_text(k)
                scope = scope_tokens(post_nb_l[k], audience_l[k])
                yield (doc_id, "post", k + 1, None, post_nb_l[k], audience_l[k], post_created_s[k], t, body,
                       scoped_shadow(ts, scope), scoped_shadow(bs, scope), scope)
            else:
                j = k - n_posts
                body, bs = comment_text(j)
                p = cpost_l[j]
                scope = scope_tokens(post_nb_l[p], audience_l[p])
                yield (doc_id, "comment", p + 1, j + 1, post_nb_l[p], audience_l[p], comment_created_s[j], "",
                       body, "", scoped_shadow(bs, scope), scope)

    through_cols = ["id", "member_id", "neighbourhood_id"]
    check_columns(Member.reads_nearby.through, through_cols)
    tables = ["auth_user", "accounts_member", "accounts_member_reads_nearby", "feed_post", "feed_posttag",
              "feed_comment", "feed_thanks", "feed_searchdoc"]
    writer.drop_indexes(tables)
    total_rows = 0
    for table, cols, rows in [("auth_user", user_cols, users()), ("accounts_member", member_cols, members()),
                              ("accounts_member_reads_nearby", through_cols, reads_nearby()),
                              ("feed_post", post_cols, posts()), ("feed_posttag", ["id", "post_id",
                                                                                   "neighbourhood_id", "tag",
                                                                                   "created_at"], posttags()),
                              ("feed_comment", comment_cols, comments()), ("feed_thanks", thanks_cols, thanks()),
                              ("feed_searchdoc", doc_cols, docs())]:
        start = time.perf_counter()
        count = writer.write(table, cols, rows)
        seconds = time.perf_counter() - start
        total_rows += count
        report["tables"][table] = {"rows": count, "seconds": round(seconds, 2)}
        log(f"{table}: {count:,} rows in {seconds:.1f} s ({count / max(seconds, 1e-9):,.0f} rows/s)")
    start = time.perf_counter()
    finish = writer.finish()
    finish["total"] = time.perf_counter() - start
    report["finish"] = {k: round(v, 2) for k, v in finish.items()}
    log(f"indexes, FTS and ANALYZE: {finish}")
    report["rows"] = total_rows
    report["sizes"] = {"members": n_members, "neighbourhoods": n_nb, "posts": n_posts, "comments": n_comments,
                       "thanks": len(th_post), "search_docs": n_posts + n_comments,
                       "reads_nearby": report["tables"]["accounts_member_reads_nearby"]["rows"]}
    report["member_ids"] = member_ids.tolist()
    return report


# --- tokens, query counts, plans ---------------------------------------------------------------------------------

def make_tokens(n: int, tokens_file: Path) -> list[int]:
    """Bearer tokens for `n` members spread over the city (only the SHA-256 is stored, as the API does)."""
    rng = np.random.default_rng(SEED + 2)
    total = Member.objects.count()
    member_ids = sorted(rng.choice(np.arange(1, total + 1), min(n, total), replace=False).tolist())
    now = timezone.now()
    tokens, rows = [], []
    for mid in member_ids:
        token = hashlib.sha256(f"bench-token-{SEED}-{mid}".encode()).hexdigest()
        tokens.append(token)
        rows.append(ApiToken(user_id=mid, key_hash=hashlib.sha256(token.encode()).hexdigest(), last_used_at=now))
    ApiToken.objects.bulk_create(rows, batch_size=1000)
    tokens_file.write_text("\n".join(tokens) + "\n")
    return member_ids


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return "\n".join(" | ".join(str(c) for c in row) for row in cursor.fetchall())
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def measure_in_process(member_ids: list[int], tokens: list[str]) -> dict:
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from entraide.feed import queries

    out: dict = {"feed_page_queries": {}, "api_feed_queries": {}, "feed_page_ms": {}, "plans": {}}
    sample = member_ids[:: max(1, len(member_ids) // 50)][:50]
    for limit in (10, 20, 50):
        counts, times = [], []
        for mid in sample:
            member = Member.objects.get(id=mid)
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                page = queries.feed_page(member, limit=limit)
                times.append((time.perf_counter() - start) * 1000)
            counts.append(len(ctx.captured_queries))
            if limit == 20 and "feed" not in out["plans"] and len(page.items) >= 10:
                page_sql = max((q["sql"] for q in ctx.captured_queries if "feed_post" in q["sql"]), key=len)
                out["plans"]["feed"] = {"sql": page_sql, "plan": explain(page_sql)}
        out["feed_page_queries"][limit] = {"min": min(counts), "max": max(counts)}
        out["feed_page_ms"][limit] = {"p50": float(np.percentile(times, 50)), "max": max(times)}
    client = Client()
    for limit in (10, 20, 50):
        counts = []
        for token in tokens[:20]:
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(f"/api/v1/feed?limit={limit}", HTTP_AUTHORIZATION=f"Bearer {token}")
            assert response.status_code == 200, response.content[:300]
            counts.append(len(ctx.captured_queries))
        out["api_feed_queries"][limit] = {"min": min(counts), "max": max(counts)}
        if limit == 20:
            out["api_feed_sql"] = [q["sql"][:300] for q in ctx.captured_queries]
    # The same readers' first pages again: from memory on PostgreSQL once this process listens (reader_cache.py).
    from entraide.core.changes import listener

    listening = connection.vendor == "postgresql" and listener.sync()
    for token in tokens[:20]:  # kept now that the process listens (connecting forgot what it kept before)
        assert client.get("/api/v1/feed", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    counts = []
    for token in tokens[:20]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/feed", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, response.content[:300]
        counts.append(len(ctx.captured_queries))
    out["api_feed_queries_again"] = {"min": min(counts), "max": max(counts), "listening": listening}
    # Search: queries per request, hits, and the plan of the ranking query.
    counts, hits = [], []
    for k, term in enumerate(feed_text.SEARCH_TERMS):
        token = tokens[k % len(tokens)]
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/search", {"q": term}, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 200, response.content[:300]
        counts.append(len(ctx.captured_queries))
        hits.append(len(response.json()["items"]))
        if term == "courses":
            rank_sql = next(q["sql"] for q in ctx.captured_queries if "feed_searchdoc" in q["sql"] and
                            ("MATCH" in q["sql"] or "@@" in q["sql"]))
            out["plans"]["search"] = {"term": term, "sql": rank_sql, "plan": explain(rank_sql)}
    out["search_queries"] = {"min": min(counts), "max": max(counts)}
    out["search_hits_per_term"] = dict(zip(feed_text.SEARCH_TERMS, hits))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--tokens-file", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--measure-only", action="store_true",
                        help="the city is seeded already (--out holds its report): measure again in-process only")
    args = parser.parse_args()
    if args.measure_only:
        result = json.loads(args.out.read_text())
        tokens = args.tokens_file.read_text().split()
        by_hash = dict(ApiToken.objects.values_list("key_hash", "user__member__id"))
        members = [by_hash[hashlib.sha256(t.encode()).hexdigest()] for t in tokens]
        log("measuring queries per page in-process (city seeded earlier)")
        result["in_process"] = measure_in_process(members, tokens)
        args.out.write_text(json.dumps(result, indent=1, default=str))
        return
    tmp = Path(tempfile.mkdtemp(prefix="entraide-feed-seed-"))
    result: dict = {"vendor": connection.vendor, "scale": args.scale}
    start = time.perf_counter()
    call_command("migrate", verbosity=0)
    result["migrate_s"] = round(time.perf_counter() - start, 2)
    log(f"migrated in {result['migrate_s']} s")
    result["neighbourhoods"] = import_neighbourhoods(tmp)
    log(f"neighbourhoods: {result['neighbourhoods']}")
    writer = SqliteWriter() if connection.vendor == "sqlite" else PostgresWriter()
    start = time.perf_counter()
    report = seed(args.scale, writer, tmp)
    result["seed_s"] = round(time.perf_counter() - start, 1)
    member_ids = report.pop("member_ids")
    result["seed"] = report
    connection.close()
    token_members = make_tokens(args.tokens, args.tokens_file)
    tokens = args.tokens_file.read_text().split()
    result["token_members"] = len(token_members)
    log("measuring queries per page in-process")
    result["in_process"] = measure_in_process(token_members, tokens)
    del member_ids
    args.out.write_text(json.dumps(result, indent=1, default=str))
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    log(f"seeded and measured; {result['seed']['rows']:,} rows in {result['seed_s']} s")


if __name__ == "__main__":
    main()
