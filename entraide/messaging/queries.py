"""Reads of private conversations, scoped to their participants (DESIGN.md, the one access rule).

A member reads a conversation only while they take part in it (`Participant.left_at` empty), and only the
messages written since they joined. A request's conversation is also checked against the request itself at
read time: whoever is no longer its requester or its helper gets a 404, even before the subscriber has moved them
out. Lists cost a fixed number of queries whatever their length.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q, Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from entraide.accounts.models import Member
from entraide.core.errors import EntraideError, NotFound
from entraide.feed.queries import decode_cursor, encode_cursor
from entraide.places.queries import readable_neighbourhood_ids

from .models import Block, Conversation, ConversationKind, Message, MessageImage, Participant

MAX_PAGE = 100
PREVIEW_CHARS = 80
MAX_ID = 2 ** 63 - 1


def valid_id(value: object) -> int:
    """An id from a URL or a body as a database key; anything that cannot be one is simply not found.

    Without it, a huge number reaches SQLite as an OverflowError (a 500) instead of a 404.
    """
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < value <= MAX_ID:
        raise NotFound()
    return value


def participation(member: Member | None, conversation_id: int) -> Participant:
    """The member's row in a conversation they take part in, with the conversation (and its request); else 404."""
    if member is None:
        raise NotFound()
    conversation_id = valid_id(conversation_id)
    row = (Participant.objects.select_related("conversation", "conversation__request")
           .filter(conversation_id=conversation_id, member=member, left_at__isnull=True).first())
    if row is None:
        raise NotFound()
    req = row.conversation.request
    if row.conversation.kind == ConversationKind.REQUEST and member.id not in (req.requester_id, req.helper_id):
        raise NotFound()
    return row


def conversation_in_scope(member: Member | None, conversation_id: int) -> Conversation:
    row = participation(member, conversation_id)
    conversation = row.conversation
    conversation.me = row
    return conversation


def active_member_ids(conversation_id: int, *, exclude: int | None = None) -> list[int]:
    qs = Participant.objects.filter(conversation_id=conversation_id, left_at__isnull=True)
    if exclude is not None:
        qs = qs.exclude(member_id=exclude)
    return sorted(qs.values_list("member_id", flat=True))


def share_a_conversation(a: int, b: int) -> bool:
    return Participant.objects.filter(member_id=b, conversation__participants__member_id=a).exists()


def blocked_between(member_id: int, others: Iterable[int]) -> bool:
    """Whether a block stands between the member and any of the others, whoever made it."""
    others = [o for o in others if o != member_id]
    if not others:
        return False
    return Block.objects.filter(Q(blocker_id=member_id, blocked_id__in=others)
                                | Q(blocker_id__in=others, blocked_id=member_id)).exists()


def contactable(member: Member, member_id: int) -> Member:
    """Another active member one may start a conversation with, or already talks with; else 404."""
    other = Member.objects.filter(id=valid_id(member_id), user__is_active=True).first()
    if other is None or other.id == member.id or not (
            other.neighbourhood_id in readable_neighbourhood_ids(member) or share_a_conversation(member.id, other.id)):
        raise NotFound()
    return other


def is_blocked_by(member: Member, other_id: int) -> bool:
    return Block.objects.filter(blocker=member, blocked_id=other_id).exists()


def unread_total(member: Member | None) -> int:
    """Unread messages over all the member's conversations: one SUM over their own participant rows."""
    if member is None:
        return 0
    total = Participant.objects.filter(member=member, left_at__isnull=True).aggregate(n=Sum("unread_count"))["n"]
    return int(total or 0)


# --- the inbox ----------------------------------------------------------------------------------------------------

@dataclass
class ConversationView:
    id: int
    kind: str
    request_id: int | None
    other_id: int | None  # None: a request nobody helps with at the moment
    other_name: str
    last_message_id: int | None
    last_message_preview: str
    last_message_author_id: int | None
    last_message_author_name: str
    last_message_mine: bool
    last_message_at: datetime
    unread_count: int
    created_at: datetime


@dataclass
class ConversationPage:
    items: list[ConversationView]
    next_cursor: str | None


def _preview(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1].rstrip() + "…"


def _inbox_rows(member: Member):
    return (Participant.objects.filter(member=member, left_at__isnull=True)
            .select_related("conversation", "conversation__last_message", "conversation__last_message__author"))


def _views(member: Member, rows: list[Participant]) -> list[ConversationView]:
    """The inbox lines of these participant rows: one query for the other participants, whatever their number."""
    others: dict[int, Member] = {}
    if rows:
        for p in (Participant.objects.filter(conversation_id__in=[r.conversation_id for r in rows], left_at__isnull=True)
                  .exclude(member=member).select_related("member").order_by("id")):
            others.setdefault(p.conversation_id, p.member)
    items = []
    for row in rows:
        c = row.conversation
        other = others.get(c.id)
        last = c.last_message if c.last_message_id and c.last_message_id > row.since_message_id else None
        items.append(ConversationView(
            id=c.id, kind=c.kind, request_id=c.request_id, other_id=other.id if other else None,
            other_name=other.public_name if other else "",
            last_message_id=last.id if last else None, last_message_preview=_preview(last.body) if last else "",
            last_message_author_id=last.author_id if last else None,
            last_message_author_name=last.author.public_name if last else "",
            last_message_mine=bool(last and last.author_id == member.id), last_message_at=c.last_message_at,
            unread_count=row.unread_count, created_at=c.created_at))
    return items


def conversations_for(member: Member, *, cursor: str | None = None, limit: int = 30) -> ConversationPage:
    """The member's conversations, latest activity first: two queries whatever the page size."""
    rows = _inbox_rows(member).order_by("-conversation__last_message_at", "-conversation_id")
    if cursor:
        at, pk = decode_cursor(cursor)
        rows = rows.filter(Q(conversation__last_message_at__lt=at)
                           | Q(conversation__last_message_at=at, conversation_id__lt=pk))
    rows = list(rows[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].conversation.last_message_at, rows[-1].conversation_id) if more else None
    return ConversationPage(_views(member, rows), next_cursor)


def conversation_view(member: Member, conversation_id: int) -> ConversationView:
    """One inbox line (after a start, for the API's answer); 404 outside the member's conversations."""
    participation(member, conversation_id)
    return _views(member, list(_inbox_rows(member).filter(conversation_id=conversation_id)))[0]


def other_participant(conversation: Conversation, member: Member) -> Member | None:
    row = (Participant.objects.filter(conversation=conversation, left_at__isnull=True).exclude(member=member)
           .select_related("member").order_by("id").first())
    return row.member if row else None


# --- messages -----------------------------------------------------------------------------------------------------

@dataclass
class ImageView:
    id: int
    url: str
    width: int
    height: int


@dataclass
class MessageView:
    id: int
    conversation_id: int
    author_id: int
    author_name: str
    body: str
    created_at: datetime
    mine: bool
    images: list[ImageView] = field(default_factory=list)


@dataclass
class MessagePage:
    items: list[MessageView]  # oldest first
    next_cursor: str | None  # the page of older messages


def encode_message_cursor(message_id: int) -> str:
    return base64.urlsafe_b64encode(f"m{message_id}".encode()).decode().rstrip("=")


def decode_message_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        if not raw.startswith("m"):
            raise ValueError(raw)
        value = int(raw[1:])
        if value < 1:
            raise ValueError(raw)
        return value
    except (ValueError, UnicodeError, binascii.Error):
        raise EntraideError("invalid_cursor", _("This page link is no longer valid."), status=422,
                            fields={"cursor": [_("Invalid cursor.")]}) from None


def image_url(image_id: int) -> str:
    return reverse("api:message_image", kwargs={"image_id": image_id})


def message_view(message: Message, member: Member) -> MessageView:
    return MessageView(id=message.id, conversation_id=message.conversation_id, author_id=message.author_id,
                       author_name=message.author.public_name, body=message.body, created_at=message.created_at,
                       mine=message.author_id == member.id,
                       images=[ImageView(i.id, image_url(i.id), i.width, i.height) for i in message.images.all()])


def messages_page(member: Member, conversation_id: int, *, cursor: str | None = None, after: int | None = None,
                  limit: int = 50) -> MessagePage:
    """A page of a conversation, oldest first: the latest `limit` messages, or older ones (`cursor`), or the
    ones written after a message id (`after`, for a page catching up). Three queries whatever the page size."""
    me = participation(member, conversation_id)
    qs = (Message.objects.filter(conversation_id=me.conversation_id, id__gt=me.since_message_id)
          .select_related("author").prefetch_related("images"))
    if after is not None:
        rows = list(qs.filter(id__gt=after).order_by("id")[:limit])
        return MessagePage([message_view(m, member) for m in rows], None)
    if cursor:
        qs = qs.filter(id__lt=decode_message_cursor(cursor))
    rows = list(qs.order_by("-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_message_cursor(rows[-1].id) if more else None
    return MessagePage([message_view(m, member) for m in reversed(rows)], next_cursor)


def message_in_scope(member: Member, message_id: int) -> Message:
    """A message the member may read (a conversation they take part in, written since they joined); else 404."""
    message = Message.objects.select_related("author").filter(id=valid_id(message_id)).first()
    if message is None:
        raise NotFound()
    me = participation(member, message.conversation_id)
    if message.id <= me.since_message_id:
        raise NotFound()
    return message


def image_for(member: Member, image_id: int) -> MessageImage:
    row = MessageImage.objects.select_related("message").filter(id=valid_id(image_id)).first()
    if row is None:
        raise NotFound()
    message_in_scope(member, row.message_id)
    return row
