"""Search and trending searches: GET /api/v1/search and GET /api/v1/search/trending."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from entraide.accounts.queries import member_of
from entraide.core import ratelimit
from entraide.core.api import ErrorOut, json_ok, member_auth
from entraide.core.errors import EntraideError

from . import search as search_service

router = Router(tags=["search"])
errors: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut}


class SearchHitOut(Schema):
    kind: str = Field(description="post or comment")
    post_id: int
    comment_id: int | None = Field(description="set when the hit is a comment; link to the post and this comment")
    title: str = Field(description="the post's title (plain text: escape it)")
    snippet_html: str = Field(description="an excerpt, HTML-escaped, with <mark> around the matching words")
    author_name: str
    neighbourhood_name: str
    created_at: datetime
    rank: float = Field(description="relevance, higher first; comparable within one result list only")


class SearchPageOut(Schema):
    items: list[SearchHitOut]
    next_cursor: str | None


class TermCountOut(Schema):
    term: str
    count: int


class TrendingOut(Schema):
    neighbourhood: list[TermCountOut]
    city: list[TermCountOut]


def _member(request):
    member = member_of(request.user)
    if member is None:
        raise EntraideError("no_profile", _("This account has no member profile."), status=403)
    return member


@router.get("/search", response={200: SearchPageOut, **errors}, auth=member_auth,
            summary="Search the posts and comments you may read")
def search_view(request, q: str = Query("", description="words to look for; accents and case do not matter"),
                cursor: str | None = None, limit: int = Query(20, ge=1, le=50)):
    member = _member(request)
    ratelimit.hit("search", str(member.pk), limit=60, window_s=60)
    page = search_service.search(member, q, cursor=cursor, limit=limit)
    return json_ok({"items": [{"kind": h.kind, "post_id": h.post_id, "comment_id": h.comment_id, "title": h.title,
                               "snippet_html": str(h.snippet_html), "author_name": h.author_name,
                               "neighbourhood_name": h.neighbourhood_name, "created_at": h.created_at, "rank": h.rank}
                              for h in page.items],
                    "next_cursor": page.next_cursor})


@router.get("/search/trending", response={200: TrendingOut, **errors}, auth=member_auth,
            summary="The most searched terms of the last 7 days, in your neighbourhood and your city")
def trending_view(request):
    trend = search_service.trending(_member(request))
    return {"neighbourhood": [{"term": t, "count": n} for t, n in trend.neighbourhood],
            "city": [{"term": t, "count": n} for t, n in trend.city]}
