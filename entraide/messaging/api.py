"""The conversations API (mounted at /api/v1 by entraide/api.py).

Thin over `actions` (every write and its checks) and `queries` (every read, scoped to the participants): a
conversation one does not take part in answers 404, a refusal answers the action's own stable code.
"""
from __future__ import annotations

import mimetypes
from datetime import datetime
from typing import Any

from django.http import FileResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile

from entraide.accounts.models import Member
from entraide.accounts.queries import member_of
from entraide.core.api import ErrorOut, member_auth
from entraide.core.errors import EntraideError, invalid

from . import actions, queries
from .models import ConversationKind, ReportStatus

router = Router(tags=["messaging"])
errors: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut,
                          422: ErrorOut, 429: ErrorOut}


# --- schemas ------------------------------------------------------------------------------------------------------

class MemberMini(Schema):
    id: int
    name: str = Field(description="Public name: first name and initial")


class ImageOut(Schema):
    url: str
    width: int
    height: int


class MessageOut(Schema):
    id: int
    conversation_id: int
    author: MemberMini
    body: str = Field(description="Plain text, as written")
    created_at: datetime
    images: list[ImageOut]
    mine: bool


class MessagesOut(Schema):
    items: list[MessageOut] = Field(description="Oldest first")
    next_cursor: str | None = Field(description="Older messages, if any")


class LastMessageOut(Schema):
    id: int
    author: MemberMini
    preview: str = Field(description=f"The first {queries.PREVIEW_CHARS} characters or so")
    mine: bool


class ConversationOut(Schema):
    id: int
    kind: str = Field(json_schema_extra={"enum": list(ConversationKind.values)})
    request_id: int | None = Field(description="The help request it is about (kind request)")
    other: MemberMini | None = Field(description="The other participant; null while a request has no helper")
    last_message: LastMessageOut | None
    last_message_at: datetime = Field(description="Latest activity: the last message, else the creation")
    unread_count: int
    created_at: datetime


class ConversationsOut(Schema):
    items: list[ConversationOut]
    next_cursor: str | None


class ConversationIn(Schema):
    participant_id: int | None = Field(None, description="Start (or find) the conversation with this member")
    request_id: int | None = Field(None, description="Start (or find) the conversation of this help request")


class MessageIn(Schema):
    body: str = Field(..., description="1 to ENTRAIDE_MESSAGE_MAX_CHARS (4,000) characters")


class ReadIn(Schema):
    up_to_message_id: int | None = Field(None, ge=1, description="Default: the latest message")


class ReadOut(Schema):
    conversation_id: int
    last_read_message_id: int
    unread_count: int
    unread_total: int = Field(description="Over all my conversations")


class ReportIn(Schema):
    reason: str = Field("", description=f"Optional, at most {actions.MAX_REASON} characters")


class ReportOut(Schema):
    id: int
    message_id: int
    status: str = Field(json_schema_extra={"enum": list(ReportStatus.values)})
    created_at: datetime


def _member(request) -> Member:
    member = member_of(request.user)
    if member is None:
        raise EntraideError("no_profile", _("This account has no member profile."), status=403)
    return member


def _mini(member_id: int | None, name: str) -> dict | None:
    return {"id": member_id, "name": name} if member_id is not None else None


def conversation_json(view: queries.ConversationView) -> dict[str, Any]:
    last = None
    if view.last_message_id is not None:
        last = {"id": view.last_message_id, "author": _mini(view.last_message_author_id, view.last_message_author_name),
                "preview": view.last_message_preview, "mine": view.last_message_mine}
    return {"id": view.id, "kind": view.kind, "request_id": view.request_id,
            "other": _mini(view.other_id, view.other_name), "last_message": last,
            "last_message_at": view.last_message_at, "unread_count": view.unread_count, "created_at": view.created_at}


def message_json(view: queries.MessageView) -> dict[str, Any]:
    return {"id": view.id, "conversation_id": view.conversation_id,
            "author": {"id": view.author_id, "name": view.author_name}, "body": view.body,
            "created_at": view.created_at, "mine": view.mine,
            "images": [{"url": i.url, "width": i.width, "height": i.height} for i in view.images]}


def _conversation_out(member: Member, conversation_id: int) -> dict[str, Any]:
    return conversation_json(queries.conversation_view(member, conversation_id))


# --- conversations ------------------------------------------------------------------------------------------------

@router.get("/conversations", response={200: ConversationsOut, **errors}, auth=member_auth,
            summary="My conversations, latest activity first, with unread counts")
def list_conversations(request, cursor: str | None = Query(None, max_length=200),
                       limit: int = Query(30, ge=1, le=queries.MAX_PAGE)):
    page = queries.conversations_for(_member(request), cursor=cursor or None, limit=limit)
    return {"items": [conversation_json(v) for v in page.items], "next_cursor": page.next_cursor}


@router.post("/conversations", response={200: ConversationOut, 201: ConversationOut, **errors}, auth=member_auth,
             summary="Start a conversation with a member, or about a help request (201; 200 if it already existed)")
def start_conversation(request, payload: ConversationIn):
    member = _member(request)
    if (payload.participant_id is None) == (payload.request_id is None):
        raise invalid("participant_or_request", _("Give either participant_id or request_id."), "participant_id")
    if payload.participant_id is not None:
        conversation, created = actions.do_start_direct(member, payload.participant_id)
    else:
        conversation, created = actions.do_start_for_request(member, payload.request_id)
    return Status(201 if created else 200, _conversation_out(member, conversation.id))


@router.get("/conversations/{conversation_id}/messages", response={200: MessagesOut, **errors}, auth=member_auth,
            summary="Messages of a conversation I take part in, oldest first")
def list_messages(request, conversation_id: int, cursor: str | None = Query(None, max_length=200),
                  after: int | None = Query(None, ge=0, description="Only messages after this id (catching up)"),
                  limit: int = Query(50, ge=1, le=queries.MAX_PAGE)):
    page = queries.messages_page(_member(request), conversation_id, cursor=cursor or None, after=after, limit=limit)
    return {"items": [message_json(m) for m in page.items], "next_cursor": page.next_cursor}


@router.post("/conversations/{conversation_id}/messages", response={201: MessageOut, **errors}, auth=member_auth,
             summary="Write in a conversation I take part in")
def send_message(request, conversation_id: int, payload: MessageIn):
    member = _member(request)
    message = actions.do_send_message(member, conversation_id, payload.body)
    return Status(201, message_json(queries.message_view(queries.message_in_scope(member, message.id), member)))


@router.post("/conversations/{conversation_id}/messages/with-picture", response={201: MessageOut, **errors},
             auth=member_auth, summary="Write in a conversation with a picture (multipart: body and image)")
def send_message_with_picture(request, conversation_id: int, body: Form[str], image: File[UploadedFile]):
    # One picture a request, as for posts: the request body limit allows one image (core.middleware).
    member = _member(request)
    message = actions.do_send_message(member, conversation_id, body, [image])
    return Status(201, message_json(queries.message_view(queries.message_in_scope(member, message.id), member)))


@router.post("/conversations/{conversation_id}/read", response={200: ReadOut, **errors}, auth=member_auth,
             summary="Mark a conversation read (up to a message; never backwards)")
def mark_read(request, conversation_id: int, payload: ReadIn | None = None):
    member = _member(request)
    row = actions.do_mark_read(member, conversation_id, payload.up_to_message_id if payload else None)
    return {"conversation_id": conversation_id, "last_read_message_id": row.last_read_message_id,
            "unread_count": row.unread_count, "unread_total": queries.unread_total(member)}


@router.get("/message-images/{image_id}", response={200: None, **errors}, auth=member_auth, url_name="message_image",
            summary="A picture of a message in a conversation I take part in (JPEG or PNG)")
def message_image(request, image_id: int):
    row = queries.image_for(_member(request), image_id)
    content_type = mimetypes.guess_type(row.image.name)[0] or "application/octet-stream"
    try:
        handle = row.image.open("rb")
    except OSError:
        raise EntraideError("not_found", _("Not found."), status=404) from None
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- blocks and reports -------------------------------------------------------------------------------------------

@router.post("/members/{member_id}/block", response={204: None, **errors}, auth=member_auth,
             summary="Block a member: neither of us can start a conversation or write to the other")
def block_member(request, member_id: int):
    actions.do_block(_member(request), member_id)
    return Status(204, None)


@router.delete("/members/{member_id}/block", response={204: None, **errors}, auth=member_auth,
               summary="Lift my block")
def unblock_member(request, member_id: int):
    actions.do_unblock(_member(request), member_id)
    return Status(204, None)


@router.post("/messages/{message_id}/report", response={201: ReportOut, **errors}, auth=member_auth,
             summary="Report a message to the moderators (once per message)")
def report_message(request, message_id: int, payload: ReportIn | None = None):
    report = actions.do_report_message(_member(request), message_id, payload.reason if payload else "")
    return Status(201, {"id": report.id, "message_id": report.message_id, "status": report.status,
                        "created_at": report.created_at})
