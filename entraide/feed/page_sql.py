"""The SQL that picks the posts of one feed page: one index range per readable neighbourhood, merged.

Why not one `WHERE neighbourhood_id = home OR (neighbourhood_id IN (...) AND audience = 'nearby')`: SQLite answers
that with a MULTI-INDEX OR and sorts every candidate of the reader's scope (90,000 rows for a member of a large
neighbourhood, about a second), and PostgreSQL walks the whole `created_at` index backwards, which degrades for a
reader whose neighbourhoods post rarely. One `ORDER BY created_at DESC, id DESC LIMIT n` per neighbourhood is a
short range of `post_feed` / `post_feed_nearby` / `post_feed_category` on both backends, so the work grows with the
page and the number of neighbourhoods read, never with the posts stored. The branches are glued with UNION ALL
and sorted once more (at most (neighbourhoods + 1) x (n + 1) tiny rows).

Written by hand rather than with the ORM because the ORM refuses LIMIT inside a compound statement on SQLite, and
because compiling a dozen querysets per request costs more CPU than the query itself. Every value is a bound
parameter or a column of the enclosing statement's row (scope_versions_of); table and column names come from the
models.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import NamedTuple

from django.db import connection
from django.utils import timezone

from entraide.accounts.models import Member
from entraide.places.models import Neighbourhood
from entraide.places.queries import SQL_REFERENCES, chosen_nearby_of

from .models import Audience, Crisis, FeedClock, Post, PostImage, PostTag, Thanks


@dataclass(frozen=True)
class PageFilter:
    category: str | None = None
    tag: str | None = None  # normalised
    active_crisis: bool = False  # posts of any crisis going on now
    crisis_tag: str | None = None
    before: tuple[datetime, int] | None = None  # cursor: strictly older than (created_at, id)


def _dt(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _branch(neighbourhood_id: int, *, nearby_audience: bool, pinned: bool | None, f: PageFilter,
            limit: int, with_cursor: bool) -> tuple[str, list]:
    post, tag, crisis = Post._meta.db_table, PostTag._meta.db_table, Crisis._meta.db_table
    joins, where, params = [], ["p.neighbourhood_id = %s"], [neighbourhood_id]
    if f.tag:
        joins.append(f"JOIN {tag} t ON t.post_id = p.id AND t.tag = %s")
        params.insert(0, f.tag)
    if f.active_crisis or f.crisis_tag:
        joins.append(f"JOIN {crisis} c ON c.id = p.crisis_id")
    # Constants of the code are written into the SQL, not bound: SQLite picks a partial index (post_feed_nearby,
    # post_pinned) only when the query repeats its WHERE term literally.
    if nearby_audience:
        where.append(f"p.audience = '{Audience.NEARBY.value}'")
    if pinned is not None:
        where.append("p.pinned" if pinned else "NOT p.pinned")
    if f.category:
        where.append("p.category = %s")
        params.append(f.category)
    if f.active_crisis:
        now = _dt(timezone.now())
        where.append("c.starts_at <= %s AND (c.ends_at IS NULL OR c.ends_at > %s)")
        params += [now, now]
    if f.crisis_tag:
        where.append("c.tag = %s")
        params.append(f.crisis_tag)
    if with_cursor and f.before is not None:
        created_at, pk = f.before
        where.append("(p.created_at < %s OR (p.created_at = %s AND p.id < %s))")
        params += [_dt(created_at), _dt(created_at), pk]
    top = 1 if pinned else 0  # a constant of the code, not a parameter: every branch has the same column type
    sql = (f"SELECT p.id, p.created_at, {top} AS top FROM {post} p {' '.join(joins)} WHERE {' AND '.join(where)} "
           f"ORDER BY p.created_at DESC, p.id DESC LIMIT %s")
    return sql, [*params, limit]


def aware_datetime(value) -> datetime | None:
    # SQLite hands back the stored text (UTC); PostgreSQL an aware datetime.
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt_timezone.utc)


def _json_list(value) -> list:
    if isinstance(value, str):  # SQLite: the JSON text; PostgreSQL's jsonb comes decoded
        value = json.loads(value)
    return list(value or [])


# The columns of a post view, in the order of the SELECT below (the ORM's `_post_rows` gives the same keys).
POST_KEYS = ("id", "neighbourhood_id", "neighbourhood__name", "author_id", "author__display_name", "category",
             "audience", "title", "body", "body_html", "tags", "crisis__tag", "pinned", "official", "comment_count",
             "thanks_count", "created_at", "edited_at")


CREATED_AT = POST_KEYS.index("created_at")


def post_row(row: tuple) -> dict:
    """A raw page row (POST_KEYS order, as the database returns it) as a dict of Python values."""
    out = dict(zip(POST_KEYS, row))
    out["tags"] = _json_list(out["tags"])
    out["pinned"], out["official"] = bool(out["pinned"]), bool(out["official"])
    out["created_at"], out["edited_at"] = aware_datetime(out["created_at"]), aware_datetime(out["edited_at"])
    return out


def created_at_of(row: tuple) -> datetime:
    return aware_datetime(row[CREATED_AT])


IMAGES = len(POST_KEYS)  # page rows carry the post's pictures after its POST_KEYS columns


def images_of(row: tuple) -> tuple[tuple[int, int, int], ...]:
    """A page row's pictures as (id, width, height), in their order (the SQL aggregate does not promise one)."""
    text = row[IMAGES]
    if not text:
        return ()
    parts = sorted(tuple(int(n) for n in item.split(":")) for item in text.split(","))
    return tuple((image_id, width, height) for _position, image_id, width, height in parts)


def _as_text(column: str) -> str:
    # SQLite's driver would call Python once per date column and row to parse the stored text; fetched as text,
    # the memoised JSON (feed_json) never parses it at all, and post_row parses it in C (aware_datetime).
    return f"CAST({column} AS TEXT)" if connection.vendor == "sqlite" else column


def _images_column() -> str:
    image = PostImage._meta.db_table
    item = "i.position || ':' || i.id || ':' || i.width || ':' || i.height"
    # PostgreSQL can order the aggregate, so equal pictures give equal text (one memo entry); SQLite 3.40 cannot,
    # hence images_of sorts.
    aggregate = f"group_concat({item}, ',')" if connection.vendor == "sqlite" else \
        f"string_agg({item}, ',' ORDER BY i.position, i.id)"
    return f"(SELECT {aggregate} FROM {image} i WHERE i.post_id = p.id)"


def _thanked_column(member_id: int | None) -> tuple[str, list]:
    if member_id is None:
        return "0", []
    thanks = Thanks._meta.db_table
    return (f"EXISTS (SELECT 1 FROM {thanks} th WHERE th.member_id = %s AND th.post_id = p.id "
            "AND th.comment_id IS NULL)"), [member_id]


class PageRows(NamedTuple):
    pinned: list[tuple]
    stream: list[tuple]
    thanked: set[int]  # ids of the page's posts the reader thanked


def page_rows(home_id: int | None, nearby_ids: list[int], f: PageFilter, *, limit: int, pinned_limit: int,
              member_id: int | None) -> PageRows:
    """Pinned posts and the stream, newest first, and which of them the reader thanked: one query.

    Rows are raw, in POST_KEYS order then the pictures (`post_row`, `images_of`), because they are hashable as they
    come: the API memoises each post's JSON on its row (feed/feed_json.py). The reader's thanks are kept out of the
    rows, so that every reader of a post shares its memo.

    At most `pinned_limit` pinned and `limit` stream rows. `home_id` None: home is not read (scope "nearby").
    Pinned posts are those of home, on the first page only (no cursor); the home stream leaves them out on every
    page, so a pinned post shows once.
    """
    branches: list[tuple[str, list]] = []
    if home_id is not None:
        if f.before is None and pinned_limit:
            branches.append(_branch(home_id, nearby_audience=False, pinned=True, f=f, limit=pinned_limit,
                                    with_cursor=False))
        branches.append(_branch(home_id, nearby_audience=False, pinned=False, f=f, limit=limit, with_cursor=True))
    for neighbourhood_id in nearby_ids:
        branches.append(_branch(neighbourhood_id, nearby_audience=True, pinned=None, f=f, limit=limit,
                                with_cursor=True))
    if not branches:
        return PageRows([], [], set())
    # Each branch is a derived table (SQLite allows ORDER BY/LIMIT in a compound's parts only there); the merged
    # ids are cut to one page before the join, so only the page's rows are read in full.
    union = " UNION ALL ".join(f"SELECT * FROM ({sql}) b{i}" for i, (sql, _params) in enumerate(branches))
    post, member = Post._meta.db_table, Member._meta.db_table
    neighbourhood, crisis = Neighbourhood._meta.db_table, Crisis._meta.db_table
    thanked_sql, thanked_params = _thanked_column(member_id)
    sql = (
        f"SELECT u.top, {thanked_sql}, p.id, p.neighbourhood_id, n.name, p.author_id, m.display_name, p.category, "
        "p.audience, p.title, p.body, p.body_html, CAST(p.tags AS TEXT), c.tag, p.pinned, p.official, "
        f"p.comment_count, p.thanks_count, {_as_text('p.created_at')}, {_as_text('p.edited_at')}, {_images_column()} "
        f"FROM (SELECT * FROM ({union}) merged ORDER BY top DESC, created_at DESC, id DESC LIMIT %s) u "
        f"JOIN {post} p ON p.id = u.id JOIN {neighbourhood} n ON n.id = p.neighbourhood_id "
        f"JOIN {member} m ON m.id = p.author_id LEFT JOIN {crisis} c ON c.id = p.crisis_id "
        "ORDER BY u.top DESC, u.created_at DESC, u.id DESC"
    )
    params = [*thanked_params, *(p for _sql, ps in branches for p in ps), pinned_limit + limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    pinned = [row[2:] for row in rows if row[0]]
    stream = [row[2:] for row in rows if not row[0]][:limit]
    return PageRows(pinned, stream, {row[2] for row in rows if row[1]})


def scope_versions(member, thanks_among: list[int] | None = None) -> tuple[list[tuple[int, int]], set[int]]:
    """The neighbourhoods the member may read (home first, then the chosen nearby ones in id order), each with its
    feed clock's version (0 before its first change), the page cache's key (feed/page_cache.py); and which of the
    posts `thanks_among` the member thanked (a page the cache may hold for them). One query for both."""
    if member is None or member.neighbourhood_id is None:
        return [], set()
    sql, post_ids = _scope_union("%s", "%s", thanks_among)
    home, me = member.neighbourhood_id, member.pk
    # In _scope_union's order: home; chosen_nearby_of's member, home, home; the thanks' member, then its posts.
    params = [home, me, home, home, *([me] if thanks_among else []), *post_ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return _scope_and_thanks(rows, member.neighbourhood_id)


def scope_versions_of(member_id: str, home_id: str, thanks_among: list[int] | None) -> tuple[str, list]:
    """scope_versions as one SQL expression of text, for the member and home given as column references of a row
    read by the same statement (accounts.queries.token_lookup's `m.id`, `m.neighbourhood_id`); decoded by
    parse_scope_versions. NULL for an account without a member profile."""
    union, params = _scope_union(member_id, home_id, thanks_among)
    concat = "string_agg(x, ',')" if connection.vendor == "postgresql" else "group_concat(x, ',')"
    return (f"SELECT {concat} FROM (SELECT CAST(kind AS TEXT) || ':' || CAST(n AS TEXT) || ':' || CAST(v AS TEXT) "
            f"AS x FROM ({union}) u) w", params)


def parse_scope_versions(text: str | None, home_id: int | None) -> tuple[list[tuple[int, int]], set[int]]:
    """What scope_versions answers, from the text of scope_versions_of."""
    if not text or home_id is None:
        return [], set()
    return _scope_and_thanks([tuple(map(int, row.split(":"))) for row in text.split(",")], home_id)


def _scope_union(member_id: str, home_id: str, thanks_among: list[int] | None) -> tuple[str, list]:
    """Rows (kind, n, v): (0, neighbourhood, clock version) for each readable one, (1, post, 0) for each post of
    `thanks_among` the member thanked. The member and home as SQL expressions (places.queries.chosen_nearby_of);
    the parameters returned are the post ids only."""
    return _scope_union_sql(member_id, home_id, len(thanks_among or ())), list(thanks_among or ())


@functools.lru_cache(maxsize=256)
def _scope_union_sql(member_id: str, home_id: str, posts: int) -> str:
    sql = (f"SELECT 0 AS kind, s.n AS n, coalesce(c.version, 0) AS v FROM (SELECT CAST({home_id} AS BIGINT) AS n "
           f"UNION ALL {chosen_nearby_of(member_id, home_id)}) s "
           f"LEFT JOIN {FeedClock._meta.db_table} c ON c.neighbourhood_id = s.n")
    if not posts:
        return sql
    return f"{sql} UNION ALL SELECT 1, post_id, 0 FROM ({_thanks_sql(member_id, [0] * posts)[0]}) t"


def _scope_and_thanks(rows, home_id: int) -> tuple[list[tuple[int, int]], set[int]]:
    scope = [(n, version) for kind, n, version in rows if kind == 0]
    home = [row for row in scope if row[0] == home_id][:1]
    return home + sorted(row for row in scope if row[0] != home_id), {n for kind, n, _v in rows if kind == 1}


def _thanks_sql(member_id: str, post_ids: list[int]) -> tuple[str, list]:
    """The posts among `post_ids` that the member (an SQL expression: `%s`, `m.id`) thanked; the post ids bound."""
    if member_id not in SQL_REFERENCES:
        raise ValueError(f"not an SQL reference: {member_id!r}")
    marks = ", ".join(["%s"] * len(post_ids))
    return (f"SELECT post_id FROM {Thanks._meta.db_table} WHERE member_id = {member_id} AND comment_id IS NULL "
            f"AND post_id IN ({marks})", list(post_ids))


def thanked_among(member_id: int | None, post_ids: list[int]) -> set[int]:
    """Which of these posts the member thanked (a cached page's reader flags): one lookup in thanks_post_once."""
    if member_id is None or not post_ids:
        return set()
    with connection.cursor() as cursor:
        sql, post_ids = _thanks_sql("%s", post_ids)
        cursor.execute(sql, [member_id, *post_ids])
        return {row[0] for row in cursor.fetchall()}


def images_and_thanks(member_id: int | None, post_ids: list[int]
                      ) -> tuple[dict[int, list[tuple[int, int, int]]], set[int]]:
    """For these posts: their pictures as (id, width, height) in order, and which of them the member thanked.

    One query for both (UNION ALL of two index lookups). For posts read outside a feed page (`queries.get_post`).
    """
    if not post_ids:
        return {}, set()
    marks = ", ".join(["%s"] * len(post_ids))
    sql = f"SELECT 0, id, post_id, width, height, position FROM {PostImage._meta.db_table} WHERE post_id IN ({marks})"
    params: list = list(post_ids)
    if member_id is not None:
        thanks_sql, thanks_params = _thanks_sql("%s", post_ids)
        sql += f" UNION ALL SELECT 1, post_id, post_id, 0, 0, 0 FROM ({thanks_sql}) t"
        params += [member_id, *thanks_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    images: dict[int, list[tuple[int, int, int]]] = {}
    for _kind, image_id, post_id, width, height, _position in sorted(
            (r for r in rows if r[0] == 0), key=lambda r: (r[2], r[5], r[1])):
        images.setdefault(post_id, []).append((image_id, width, height))
    return images, {r[1] for r in rows if r[0] == 1}
