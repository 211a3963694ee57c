"""The feed API: posts, comments, thanks, pictures and crises (mounted at /api/v1 by entraide/api.py)."""
from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime
from typing import Any, Literal

from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import SessionAuth

from entraide.accounts.models import Member
from entraide.accounts.queries import member_of
from entraide.core.api import BearerAuth, ErrorOut, member_auth
from entraide.core.errors import EntraideError

from . import actions, feed_json, queries, reader_cache
from .models import Audience, Category

router = Router(tags=["feed"])
errors: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut,
                          422: ErrorOut, 429: ErrorOut}

# Enumerations documented in the schema but checked by the actions, so that a wrong value answers with its
# own code (invalid_category, invalid_audience) rather than a generic invalid_input.
_CATEGORY = Field(..., description="One of: " + ", ".join(Category.values),
                  json_schema_extra={"enum": list(Category.values)})


class NeighbourhoodMini(Schema):
    id: int
    name: str


class ImageOut(Schema):
    url: str
    width: int
    height: int


class PostOut(Schema):
    id: int
    author: str = Field(description="The author's public name: first name and initial")
    neighbourhood: NeighbourhoodMini
    category: str
    audience: str
    title: str
    body: str = Field(description="As typed (Markdown subset)")
    body_html: str = Field(description="Rendered and sanitised")
    tags: list[str]
    crisis: str | None = Field(description="Tag of the crisis the post belongs to")
    pinned: bool
    official: bool
    created_at: datetime
    edited_at: datetime | None
    comment_count: int
    thanks_count: int
    thanked_by_me: bool
    is_mine: bool
    can_edit: bool
    images: list[ImageOut]


class FeedOut(Schema):
    items: list[PostOut]
    next_cursor: str | None


class PostIn(Schema):
    category: str = _CATEGORY
    title: str = ""
    body: str
    audience: str = Field("neighbourhood", json_schema_extra={"enum": list(Audience.values)})
    tags: list[str] = []
    crisis_tag: str | None = None
    confirm_kindness: bool = Field(False, description="Publish even though the kindness check flagged words")


class PostPatch(Schema):
    category: str | None = Field(None, json_schema_extra={"enum": list(Category.values)})
    title: str | None = None
    body: str | None = None
    tags: list[str] | None = None
    confirm_kindness: bool = False


class CommentOut(Schema):
    id: int
    post_id: int
    parent_id: int | None
    author: str
    body: str
    body_html: str
    thanks_count: int
    thanked_by_me: bool
    created_at: datetime
    edited_at: datetime | None
    is_mine: bool
    can_edit: bool
    replies: list["CommentOut"] = []


CommentOut.model_rebuild()


class CommentsOut(Schema):
    items: list[CommentOut]
    next_cursor: str | None


class CommentIn(Schema):
    body: str
    parent_id: int | None = None
    confirm_kindness: bool = False


class CommentPatch(Schema):
    body: str
    confirm_kindness: bool = False


class ThanksOut(Schema):
    thanks_count: int
    thanked_by_me: bool


class CrisisOut(Schema):
    id: int
    name: str
    tag: str
    banner: str
    description: str
    starts_at: datetime
    ends_at: datetime | None


def post_json(view: queries.PostView) -> dict[str, Any]:
    """A post as PostOut describes it (tests hold the two together)."""
    return {
        "id": view.id, "author": view.author_name,
        "neighbourhood": {"id": view.neighbourhood_id, "name": view.neighbourhood_name},
        "category": view.category, "audience": view.audience, "title": view.title, "body": view.body,
        "body_html": view.body_html, "tags": view.tags, "crisis": view.crisis_tag, "pinned": view.pinned,
        "official": view.official, "created_at": view.created_at, "edited_at": view.edited_at,
        "comment_count": view.comment_count, "thanks_count": view.thanks_count, "thanked_by_me": view.thanked_by_me,
        "is_mine": view.is_mine, "can_edit": view.can_edit,
        "images": [{"url": i.url, "width": i.width, "height": i.height} for i in view.images],
    }


def post_out(view: queries.PostView) -> PostOut:
    return PostOut.model_validate(post_json(view))


def comment_out(view: queries.CommentView) -> CommentOut:
    return CommentOut(
        id=view.id, post_id=view.post_id, parent_id=view.parent_id, author=view.author_name, body=view.body,
        body_html=view.body_html, thanks_count=view.thanks_count, thanked_by_me=view.thanked_by_me,
        created_at=view.created_at, edited_at=view.edited_at, is_mine=view.is_mine, can_edit=view.can_edit,
        replies=[comment_out(r) for r in view.replies],
    )


def _member(request) -> Member:
    member = member_of(request.user)
    if member is None:
        raise EntraideError("no_profile", _("This account has no member profile."), status=403)
    return member


def _feed_token_lookup(request, token: str):
    """The token's user, with the reader's scope and thanks read in the same query (queries.scope_prefetch_request),
    or kept from an earlier request (reader_cache.py): the feed is the busiest request, and on PostgreSQL each query
    is a round trip to another process."""
    reader_id = hashlib.sha256(token.encode()).digest()  # whom the page cache remembers, not the token itself
    wanted = queries.scope_prefetch_request(reader_id, request.GET)
    user, prefetch = reader_cache.feed_reader(reader_id.hex(), wanted)
    if user is not None:
        request.feed_reader_id = reader_id
        request.feed_prefetch = prefetch
    return user


_feed_auth = [BearerAuth(_feed_token_lookup), SessionAuth()]


@router.get("/feed", response={200: FeedOut, **errors}, auth=_feed_auth, summary="My neighbourhood feed")
def feed(request, scope: Literal["all", "home", "nearby"] = "all",
         category: str | None = Query(None, description="One of: " + ", ".join(Category.values)),
         tag: str | None = Query(None, max_length=100),
         crisis: str | None = Query(None, max_length=50,
                                    description="'true' for posts of any active crisis, or one crisis tag"),
         cursor: str | None = Query(None, max_length=200),
         limit: int = Query(queries.DEFAULT_PAGE, ge=1, le=queries.MAX_PAGE)):
    crisis_filter: bool | str = False
    if crisis:
        crisis_filter = True if crisis.lower() in {"true", "1", "yes"} else crisis
    body = feed_json.feed_body(_member(request), scope=scope, category=category or None, tag=tag or None,
                               crisis=crisis_filter, cursor=cursor or None, limit=limit,
                               reader_id=getattr(request, "feed_reader_id", None),
                               prefetched=getattr(request, "feed_prefetch", None))
    return HttpResponse(body, content_type="application/json; charset=utf-8")


@router.post("/posts", response={201: PostOut, **errors}, auth=member_auth, summary="Publish a post")
def create_post(request, payload: PostIn):
    member = _member(request)
    post = actions.do_create_post(member, category=payload.category, title=payload.title, body=payload.body,
                                  audience=payload.audience, tags=payload.tags, crisis_tag=payload.crisis_tag,
                                  confirm_kindness=payload.confirm_kindness)
    return Status(201, post_out(queries.get_post(member, post.id)))


@router.get("/posts/{post_id}", response={200: PostOut, **errors}, auth=member_auth, summary="One post")
def get_post(request, post_id: int):
    return post_out(queries.get_post(_member(request), post_id))


@router.patch("/posts/{post_id}", response={200: PostOut, **errors}, auth=member_auth,
              summary="Edit my post (within the edit window)")
def edit_post(request, post_id: int, payload: PostPatch):
    member = _member(request)
    actions.do_edit_post(member, post_id, title=payload.title, body=payload.body, category=payload.category,
                         tags=payload.tags, confirm_kindness=payload.confirm_kindness)
    return post_out(queries.get_post(member, post_id))


@router.delete("/posts/{post_id}", response={204: None, **errors}, auth=member_auth, summary="Delete my post")
def delete_post(request, post_id: int):
    actions.do_delete_post(_member(request), post_id)
    return Status(204, None)


@router.post("/posts/{post_id}/images", response={201: PostOut, **errors}, auth=member_auth,
             summary="Add a picture to my post (at most four)")
def add_image(request, post_id: int, image: File[UploadedFile]):
    member = _member(request)
    actions.do_add_post_image(member, post_id, image)
    return Status(201, post_out(queries.get_post(member, post_id)))


@router.get("/images/{image_id}", response={200: None, **errors}, auth=member_auth, url_name="feed_image",
            summary="A picture of a post I can read (JPEG or PNG)")
def image(request, image_id: int):
    row = queries.image_for(_member(request), image_id)
    content_type = mimetypes.guess_type(row.image.name)[0] or "application/octet-stream"
    response = FileResponse(row.image.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/posts/{post_id}/comments", response={200: CommentsOut, **errors}, auth=member_auth,
            summary="Comments of a post, oldest first, with their replies")
def list_comments(request, post_id: int, cursor: str | None = Query(None, max_length=200),
                  limit: int = Query(50, ge=1, le=queries.MAX_PAGE)):
    page = queries.comments_page(_member(request), post_id, cursor=cursor or None, limit=limit)
    return {"items": [comment_out(c) for c in page.items], "next_cursor": page.next_cursor}


@router.post("/posts/{post_id}/comments", response={201: CommentOut, **errors}, auth=member_auth,
             summary="Comment on a post, or reply to a comment")
def create_comment(request, post_id: int, payload: CommentIn):
    member = _member(request)
    comment = actions.do_create_comment(member, post_id, body=payload.body, parent_id=payload.parent_id,
                                        confirm_kindness=payload.confirm_kindness)
    return Status(201, comment_out(queries.get_comment(member, comment.id)))


@router.patch("/comments/{comment_id}", response={200: CommentOut, **errors}, auth=member_auth,
              summary="Edit my comment (within the edit window)")
def edit_comment(request, comment_id: int, payload: CommentPatch):
    member = _member(request)
    actions.do_edit_comment(member, comment_id, body=payload.body, confirm_kindness=payload.confirm_kindness)
    return comment_out(queries.get_comment(member, comment_id))


@router.delete("/comments/{comment_id}", response={204: None, **errors}, auth=member_auth,
               summary="Delete my comment (and its replies)")
def delete_comment(request, comment_id: int):
    actions.do_delete_comment(_member(request), comment_id)
    return Status(204, None)


@router.post("/posts/{post_id}/thanks", response={200: ThanksOut, **errors}, auth=member_auth,
             summary="Thank the author of a post (once)")
def thank_post(request, post_id: int):
    post = actions.do_thank_post(_member(request), post_id)
    return ThanksOut(thanks_count=post.thanks_count, thanked_by_me=True)


@router.post("/comments/{comment_id}/thanks", response={200: ThanksOut, **errors}, auth=member_auth,
             summary="Thank the author of a comment (once)")
def thank_comment(request, comment_id: int):
    comment = actions.do_thank_comment(_member(request), comment_id)
    return ThanksOut(thanks_count=comment.thanks_count, thanked_by_me=True)


@router.get("/crises", response={200: list[CrisisOut], **errors}, auth=member_auth, summary="Crises going on here")
def crises(request):
    return [CrisisOut(id=c.id, name=c.name, tag=c.tag, banner=c.banner, description=c.description,
                      starts_at=c.starts_at, ends_at=c.ends_at) for c in queries.active_crises(_member(request))]
