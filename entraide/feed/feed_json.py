"""The feed API's body, with each post's JSON memoised on the row it was made from.

A feed page's rows come from the database or from the page cache, which is keyed on the feed clocks of the
reader's neighbourhoods (feed/page_cache.py: fresh counts, deletions, audience changes show at once). What is
memoised here is the work after it, turning a row into JSON: dates, tags, the author's public name, picture URLs,
escaping. That work was most of a feed request's CPU (bench/feed.py), and it is the same for every reader of a post
until one of its columns changes. The memo key is the whole raw row, the post's pictures included, so any change
to what is shown (an edit, a new count, a renamed author or neighbourhood, a picture) is a new key by construction;
there is nothing to invalidate. Only the reader's own flags (thanked_by_me, is_mine, can_edit) are added per
request.
"""
from __future__ import annotations

import functools
import json
from typing import Any

from django.conf import settings
from django.utils import timezone
from ninja.responses import NinjaJSONEncoder

from . import queries
from .page_sql import images_of, post_row

_READER_FIELDS = ("thanked_by_me", "is_mine", "can_edit")


def _encode(value: Any) -> str:
    return json.dumps(value, cls=NinjaJSONEncoder)


@functools.lru_cache(maxsize=getattr(settings, "ENTRAIDE_FEED_JSON_MEMO", 20_000))
def _post_json_prefix(row: tuple) -> tuple[str, int, Any]:
    """A post's JSON without its closing brace and the reader's flags; with its author id and creation time."""
    from .api import post_json  # the one definition of a post's JSON (api imports this module)

    view = queries.post_view(post_row(row), images_of(row), member_id=None, thanked=False, now=timezone.now())
    body = post_json(view)
    for name in _READER_FIELDS:
        del body[name]
    text = _encode(body)
    return text[:-1], view.author_id, view.created_at


def _flags(thanked: bool, mine: bool, can_edit: bool) -> str:
    return (f', "thanked_by_me": {"true" if thanked else "false"}, "is_mine": {"true" if mine else "false"}, '
            f'"can_edit": {"true" if can_edit else "false"}}}')


def feed_body(member, **arguments: Any) -> str:
    """The JSON text of `GET /api/v1/feed` (FeedOut), for the arguments of `queries.feed_rows` (its filters, and
    what the token's query read): the queries of feed_rows."""
    rows, thanked, next_cursor = queries.feed_rows(member, **arguments)
    member_id = getattr(member, "id", None)
    now = timezone.now()
    items = []
    for row in rows:
        prefix, author_id, created_at = _post_json_prefix(row)
        mine = member_id is not None and author_id == member_id
        can_edit = queries.editable_by(author_id, member_id, created_at, now)
        items.append(prefix + _flags(row[0] in thanked, mine, can_edit))
    return '{"items": [' + ", ".join(items) + '], "next_cursor": ' + _encode(next_cursor) + "}"
