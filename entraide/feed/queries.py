"""Every read of the feed, scoped to what the member may read (DESIGN.md, the one access rule).

A reader sees every post of their home neighbourhood, plus the posts of the nearby neighbourhoods they chose to
read whose audience is `nearby`. Anything else answers NotFound (404), so existence never leaks.
"""
from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Hashable, Mapping, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from entraide.core.errors import EntraideError, NotFound
from entraide.places.queries import readable_neighbourhood_ids

from entraide.accounts.models import public_name_of

from .models import Audience, Category, Comment, Crisis, Post, PostImage, Thanks
from . import page_cache
from .page_sql import (POST_KEYS, PageFilter, created_at_of, images_and_thanks, images_of, page_rows,
                       parse_scope_versions, post_row, scope_versions, scope_versions_of, thanked_among)

SCOPES = ("all", "home", "nearby")
MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_PINNED = 5


class ImageView(NamedTuple):
    url: str
    width: int
    height: int
    id: int


@dataclass
class PostView:
    id: int
    neighbourhood_id: int
    neighbourhood_name: str
    author_name: str
    author_id: int
    category: str
    audience: str
    title: str
    body: str  # raw Markdown, for edit forms
    body_html: str
    tags: list[str]
    crisis_tag: str | None
    pinned: bool
    official: bool
    comment_count: int
    thanks_count: int
    thanked_by_me: bool
    created_at: datetime
    edited_at: datetime | None
    is_mine: bool
    can_edit: bool
    images: list[ImageView] = field(default_factory=list)


@dataclass
class FeedPage:
    items: list[PostView]
    next_cursor: str | None


@dataclass
class CommentView:
    id: int
    post_id: int
    parent_id: int | None
    author_name: str
    author_id: int
    body: str
    body_html: str
    thanks_count: int
    thanked_by_me: bool
    created_at: datetime
    edited_at: datetime | None
    is_mine: bool
    can_edit: bool
    replies: list["CommentView"] = field(default_factory=list)


@dataclass
class CommentPage:
    items: list[CommentView]
    next_cursor: str | None


# --- scope ------------------------------------------------------------------------------------------------------

def edit_window() -> timedelta:
    return timedelta(minutes=int(getattr(settings, "ENTRAIDE_EDIT_WINDOW_MINUTES", 60)))


def within_edit_window(created_at: datetime, now: datetime | None = None) -> bool:
    return (now or timezone.now()) - created_at <= edit_window()


def editable_by(author_id: int, member_id: int | None, created_at: datetime, now: datetime | None = None) -> bool:
    """Whether the reader may still edit this post or comment: their own, within the edit window."""
    return member_id is not None and author_id == member_id and within_edit_window(created_at, now)


def _scope_q(member, scope: str = "all", *, prefix: str = "") -> Q:
    """The rows the member may read: home (any audience) or chosen nearby with audience `nearby`."""
    if member is None or member.neighbourhood_id is None:
        return Q(pk__in=[])
    home = member.neighbourhood_id
    chosen = [n for n in readable_neighbourhood_ids(member) if n != home]
    home_q = Q(**{"neighbourhood_id": home})
    nearby_q = Q(**{"neighbourhood_id__in": chosen, f"{prefix}audience": Audience.NEARBY})
    if scope == "home":
        return home_q
    if scope == "nearby":
        return nearby_q
    return home_q | nearby_q


def visible_posts(member, scope: str = "all") -> QuerySet[Post]:
    return Post.objects.filter(_scope_q(member, scope))


def visible_comments(member) -> QuerySet[Comment]:
    # A comment's neighbourhood is its post's (copied on insert); the audience is the post's.
    return Comment.objects.filter(_scope_q(member, prefix="post__"))


def post_in_scope(member, post_id: int, *, for_update: bool = False) -> Post:
    """The post if the member may read it, else NotFound. Used by actions before any write."""
    qs = visible_posts(member)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    post = qs.filter(id=post_id).first()
    if post is None:
        raise NotFound()
    return post


def comment_in_scope(member, comment_id: int) -> Comment:
    comment = visible_comments(member).select_related("post").filter(id=comment_id).first()
    if comment is None:
        raise NotFound()
    return comment


# --- cursors ----------------------------------------------------------------------------------------------------

def encode_cursor(created_at: datetime, pk: int) -> str:
    raw = f"{created_at.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, pk = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            raise ValueError("naive")
        return created_at, int(pk)
    except (ValueError, UnicodeError, binascii.Error):
        raise EntraideError("invalid_cursor", _("This page link is no longer valid."), status=422,
                            fields={"cursor": [_("Invalid cursor.")]})


# --- posts ------------------------------------------------------------------------------------------------------

def normalise_tag(tag: str) -> str:
    from entraide.places.textnorm import fold

    return "-".join(fold(tag).split())[:50]


def _image_url(image_id: int) -> str:
    return reverse("api:feed_image", kwargs={"image_id": image_id})


def _post_rows(qs: QuerySet[Post]) -> dict[int, dict]:
    """The columns a post view needs (page_sql.POST_KEYS), by id: plain values, not model instances, and none of
    the neighbourhood's geometry (kilobytes of JSON per row, to show a name)."""
    return {row["id"]: row for row in qs.values(*POST_KEYS)}


def post_view(r: dict, images: tuple[tuple[int, int, int], ...], *, member_id: int | None, thanked: bool,
              now: datetime) -> PostView:
    """The view of one fetched post row, given its pictures as (id, width, height) and the reader's thanks."""
    return PostView(
        id=r["id"], neighbourhood_id=r["neighbourhood_id"], neighbourhood_name=r["neighbourhood__name"],
        author_name=public_name_of(r["author__display_name"]), author_id=r["author_id"],
        category=r["category"], audience=r["audience"], title=r["title"], body=r["body"],
        body_html=r["body_html"], tags=list(r["tags"] or []), crisis_tag=r["crisis__tag"], pinned=r["pinned"],
        official=r["official"], comment_count=r["comment_count"], thanks_count=r["thanks_count"],
        thanked_by_me=thanked, created_at=r["created_at"], edited_at=r["edited_at"],
        is_mine=r["author_id"] == member_id,
        can_edit=editable_by(r["author_id"], member_id, r["created_at"], now),
        images=[ImageView(_image_url(i), w, h, i) for i, w, h in images],
    )


def _post_views(member, rows: list[dict]) -> list[PostView]:
    """Views of fetched post rows: one more query (pictures, and which of the posts the member thanked)."""
    if not rows:
        return []
    member_id = getattr(member, "id", None)
    images, thanked = images_and_thanks(member_id, [r["id"] for r in rows])
    now = timezone.now()
    return [post_view(r, tuple(images.get(r["id"], ())), member_id=member_id, thanked=r["id"] in thanked, now=now)
            for r in rows]


def active_crises_q(now: datetime | None = None, prefix: str = "") -> Q:
    now = now or timezone.now()
    return Q(**{f"{prefix}starts_at__lte": now}) & (Q(**{f"{prefix}ends_at__isnull": True})
                                                    | Q(**{f"{prefix}ends_at__gt": now}))


class FeedRows(NamedTuple):
    rows: list[tuple]  # raw (page_sql.post_row, page_sql.images_of)
    thanked: set[int]  # ids of those posts the reader thanked
    next_cursor: str | None


def _page_bytes(rows: list[tuple]) -> int:
    """About what a page's rows hold in memory: their text, plus a fixed cost per row and per value."""
    return 200 + sum(100 + sum(len(v) + 50 if isinstance(v, str) else 30 for v in row) for row in rows)


def _post_ids(pinned: list[tuple], stream: list[tuple]) -> list[int]:
    return [row[0] for row in pinned + stream]


class ScopePrefetch(NamedTuple):
    """A reader's scope and thanks read with their token, in its query (feed/api.py), for feed_rows."""
    member_id: int | None  # whose scope it is
    reader: tuple  # the page cache's reader key it was read for
    last: tuple[Hashable, Any] | None  # page_cache.last_page(reader) then: the page whose thanks were read
    readable: list[tuple[int, int]]  # scope_versions
    thanked: set[int]
    # Told the reader's thanks among a page's posts when feed_rows reads them (feed/reader_cache.py keeps them).
    remember: Callable[[list[int], set[int]], None] | None = None


def post_ids_of(last: tuple[Hashable, Any] | None) -> list[int]:
    """The posts of a page as page_cache.last_page gives it (None: no page)."""
    return _post_ids(*last[1]) if last else []


def scope_prefetch_request(reader_id: Hashable, query: Mapping[str, str]
                           ) -> tuple[tuple, Any, tuple[str, list]] | None:
    """For a request of a kept first page (from its raw query string, before any validation): its page cache reader,
    the page last served to them, and the SQL expression over a member row `m` that reads their scope and their
    thanks among that page (page_sql.scope_versions_of, for accounts.queries.token_lookup). None otherwise: the
    request reads its scope itself, as does one whose filters turn out other than the raw string said
    (feed_rows compares the reader). None on SQLite too, where a query is a function call, not a round trip: the
    one statement measured slower there than the two (docs/benchmarks.md, seventh pass)."""
    # feed_rows' `kept`, read off the raw query string: if the two ever differ, feed_rows ignores the prefetch.
    if connection.vendor == "sqlite" or not page_cache.usable() \
            or any(query.get(name) for name in ("cursor", "tag", "crisis")) \
            or query.get("limit", str(DEFAULT_PAGE)) != str(DEFAULT_PAGE):
        return None
    reader = (reader_id, query.get("scope") or "all", query.get("category") or None)
    last = page_cache.last_page(reader)
    return reader, last, scope_versions_of("m.id", "m.neighbourhood_id", post_ids_of(last) or None)


def scope_prefetched(reader: tuple, last: Any, text: str | None, member) -> ScopePrefetch:
    """The ScopePrefetch of scope_prefetch_request's expression's value for this member (the token's)."""
    return ScopePrefetch(getattr(member, "id", None), reader, last,
                         *parse_scope_versions(text, getattr(member, "neighbourhood_id", None)))


def feed_rows(member, *, scope: str = "all", category: str | None = None, tag: str | None = None,
              crisis: bool | str = False, cursor: str | None = None, limit: int = DEFAULT_PAGE,
              reader_id: Hashable | None = None, prefetched: ScopePrefetch | None = None) -> FeedRows:
    """The raw rows of one feed page, the reader's thanks among them and the cursor of the next page: two queries,
    or one, or none beyond the token's when its query read the scope (`prefetched`, for `reader_id`: whom the
    page cache remembers the last page of; the member's id by default).

    Readable neighbourhoods with their feed clocks, then the page (`page_sql`: one index range per neighbourhood,
    merged), whatever `limit` and however many posts are stored; or, when the page is in the page cache under those
    clocks, the reader's thanks among its posts (feed/page_cache.py), which come with the clocks when it is the page
    kept under the key of the page this process served the reader last. Pinned posts of the home neighbourhood
    come first on the first page. `crisis`: True for posts of any active crisis, or a crisis tag.
    """
    if scope not in SCOPES:
        raise EntraideError("invalid_scope", _("Unknown feed scope."), status=422,
                            fields={"scope": [_("Choose all, home or nearby.")]})
    if category and category not in Category.values:
        raise EntraideError("invalid_category", _("Unknown category."), status=422,
                            fields={"category": [_("Unknown category.")]})
    limit = max(1, min(int(limit), MAX_PAGE))
    before = decode_cursor(cursor) if cursor is not None else None
    page_filter = PageFilter(category=category or None, tag=normalise_tag(tag) if tag else None,
                             active_crisis=crisis is True,
                             crisis_tag=crisis if isinstance(crisis, str) and crisis else None, before=before)
    member_id = getattr(member, "id", None)
    # Kept: what many readers ask for (feed/page_cache.py). Not the pages of any active crisis either, since which
    # crises are active changes with the clock on the wall, not with the feed clock.
    kept = page_cache.usable() and before is None and limit == DEFAULT_PAGE and page_filter == PageFilter(
        category=page_filter.category)
    reader = (member_id if reader_id is None else reader_id, scope, page_filter.category)
    remember = None
    if kept and prefetched is not None and (prefetched.member_id, prefetched.reader) == (member_id, reader):
        last, readable, thanked, remember = prefetched.last, prefetched.readable, prefetched.thanked, \
            prefetched.remember
    else:
        last = page_cache.last_page(reader) if kept else None  # (key, page): its posts' thanks come with the scope
        readable, thanked = scope_versions(member, post_ids_of(last) or None)
    if not readable:
        return FeedRows([], set(), None)
    home = readable[0] if scope != "nearby" else (None, None)  # (id, version)
    nearby = readable[1:] if scope != "home" else []
    key = (home[0], tuple(n for n, _version in nearby), page_filter.category)
    if last is not None and last[0] == key:
        key = last[0]  # the object the cache holds already: remembering it for this reader costs no copy
    versions = (home[1], tuple(version for _n, version in nearby))
    cached = page_cache.get(key, versions) if kept else None
    if cached is not None:
        pinned, stream = cached
        thanks_read = last is None or last[1] is not cached
        if thanks_read:
            thanked = thanked_among(member_id, _post_ids(pinned, stream))
    else:
        pinned, stream, thanked = page_rows(home[0], list(key[1]), page_filter, limit=limit + 1,
                                            pinned_limit=MAX_PINNED, member_id=member_id)
        thanks_read = True
        if kept:
            page_cache.put(key, versions, (pinned, stream), _page_bytes(pinned + stream))
    if thanks_read and remember is not None:  # only ever set on a kept page
        remember(_post_ids(pinned, stream), thanked)
    if kept:
        page_cache.served(reader, key)
    next_cursor = encode_cursor(created_at_of(stream[limit - 1]), stream[limit - 1][0]) \
        if len(stream) > limit else None
    return FeedRows(pinned + stream[:limit], thanked, next_cursor)


def feed_page(member, **filters) -> FeedPage:
    """One page of the feed, newest first (filters: those of `feed_rows`): two queries, or one."""
    rows, thanked, next_cursor = feed_rows(member, **filters)
    member_id, now = getattr(member, "id", None), timezone.now()
    items = [post_view(post_row(r), images_of(r), member_id=member_id, thanked=r[0] in thanked, now=now)
             for r in rows]
    return FeedPage(items=items, next_cursor=next_cursor)


def get_post(member, post_id: int) -> PostView:
    rows = _post_rows(visible_posts(member).filter(id=post_id))
    if post_id not in rows:
        raise NotFound()
    return _post_views(member, [rows[post_id]])[0]


# --- comments ---------------------------------------------------------------------------------------------------

def _comment_view(c: Comment, member_id, thanked: set[int], now: datetime) -> CommentView:
    return CommentView(
        id=c.id, post_id=c.post_id, parent_id=c.parent_id, author_name=c.author.public_name, author_id=c.author_id,
        body=c.body, body_html=c.body_html, thanks_count=c.thanks_count, thanked_by_me=c.id in thanked,
        created_at=c.created_at, edited_at=c.edited_at, is_mine=c.author_id == member_id,
        can_edit=editable_by(c.author_id, member_id, c.created_at, now),
    )


def comments_page(member, post_id: int, *, cursor: str | None = None, limit: int = 50) -> CommentPage:
    """Top-level comments oldest first, each with its replies (one level), for a post in scope."""
    post = visible_posts(member).filter(id=post_id).only("id").first()
    if post is None:
        raise NotFound()
    limit = max(1, min(int(limit), MAX_PAGE))
    top = Comment.objects.filter(post_id=post.id, parent__isnull=True).select_related("author")
    if cursor is not None:
        created_at, pk = decode_cursor(cursor)
        top = top.filter(Q(created_at__gt=created_at) | Q(created_at=created_at, id__gt=pk))
    rows = list(top.order_by("created_at", "id")[:limit + 1])
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    rows = rows[:limit]
    replies = list(Comment.objects.filter(post_id=post.id, parent_id__in=[c.id for c in rows])
                   .select_related("author").order_by("created_at", "id")) if rows else []
    ids = [c.id for c in rows] + [c.id for c in replies]
    thanked = set(Thanks.objects.filter(member=member, comment_id__in=ids).values_list("comment_id", flat=True)) \
        if ids and member is not None else set()
    now = timezone.now()
    member_id = getattr(member, "id", None)
    views = {c.id: _comment_view(c, member_id, thanked, now) for c in rows}
    for reply in replies:
        views[reply.parent_id].replies.append(_comment_view(reply, member_id, thanked, now))
    return CommentPage(items=list(views.values()), next_cursor=next_cursor)


def get_comment(member, comment_id: int) -> CommentView:
    comment = visible_comments(member).select_related("author").filter(id=comment_id).first()
    if comment is None:
        raise NotFound()
    thanked = set(Thanks.objects.filter(member=member, comment_id=comment.id).values_list("comment_id", flat=True))
    view = _comment_view(comment, getattr(member, "id", None), thanked, timezone.now())
    if comment.parent_id is None:
        for reply in comment.replies.select_related("author").order_by("created_at", "id"):
            view.replies.append(_comment_view(reply, getattr(member, "id", None), thanked, timezone.now()))
    return view


# --- crises, images ---------------------------------------------------------------------------------------------

def active_crises(member=None) -> list[Crisis]:
    """Crises on now: instance-wide ones (no city) plus those of the member's city."""
    qs = Crisis.objects.filter(active_crises_q())
    city_q = Q(cities__isnull=True)
    if member is not None and member.neighbourhood_id is not None:
        city_q |= Q(cities__neighbourhoods__id=member.neighbourhood_id)
    ids = qs.filter(city_q).values("id")
    return list(Crisis.objects.filter(id__in=ids).order_by("-starts_at"))


def active_crisis_by_tag(member, tag: str) -> Crisis | None:
    return next((c for c in active_crises(member) if c.tag == tag), None)


def image_for(member, image_id: int) -> PostImage:
    """A stored picture of a post the member may read (the image-serving view and API use this)."""
    image = PostImage.objects.filter(
        Q(id=image_id) & _scope_q(member, prefix="post__")).first()
    if image is None:
        raise NotFound()
    return image


def public_announcements(neighbourhood_id: int, *, limit: int = 50) -> list[Post]:
    """Official posts of a neighbourhood: the only ones published for anyone to read (the Atom feed)."""
    return list(Post.objects.filter(neighbourhood_id=neighbourhood_id, official=True).select_related("author")
                .order_by("-created_at", "-id")[:limit])
