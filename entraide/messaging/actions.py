"""Every write of private conversations: start, send, read, block, report (DESIGN.md, the one access rule).

Only verified members start a conversation (or everyone while verification is relaxed); a member who was written
to may answer. Someone who is not an active participant gets a 404 whatever they try, so a conversation's
existence never leaks. A block, either way, stops both starting and writing. Everything is checked (pictures
included) before anything is written; events go out after commit: `conversation.created`, `message.created`
(to every participant, the author included, so their other tabs update) and `message.reported` (the moderation
hook).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from entraide.accounts.models import Member
from entraide.accounts.permissions import require_can_act
from entraide.aid.models import HelpRequest, RequestStatus
from entraide.aid.queries import request_in_scope
from entraide.core import events, ratelimit
from entraide.core.errors import Conflict, Forbidden, NotFound, invalid
from entraide.core.text import clean_text
from entraide.feed import images as image_files
from entraide.places.queries import readable_neighbourhood_ids

from . import queries
from .models import (Block, Conversation, ConversationKind, Message, MessageImage, MessageReport, Participant,
                     pair_key)

MAX_IMAGES = 4
MAX_REASON = 500
MESSAGE_LIMITS = ((20, 60), (200, 24 * 3600))  # per member: 20 a minute, 200 a day
START_LIMIT = (30, 3600)  # per member: 30 new conversations an hour
REPORT_LIMIT = (20, 3600)  # per member: 20 reports an hour
# A request's conversation opens once a helper is matched, and stays open after so they can say thanks.
TALKING_STATUSES = (RequestStatus.MATCHED, RequestStatus.DONE)


def max_chars() -> int:
    return int(getattr(settings, "ENTRAIDE_MESSAGE_MAX_CHARS", 4000))


def _check_body(body: str | None) -> str:
    body = clean_text(body)
    if not body:
        raise invalid("empty_body", _("Write something first."), "body")
    limit = max_chars()
    if len(body) > limit:
        raise invalid("body_too_long", _("This message is too long (at most %(n)d characters).") % {"n": limit},
                      "body")
    return body


def _refuse_if_blocked(member_id: int, others: Iterable[int]) -> None:
    if queries.blocked_between(member_id, others):
        raise Forbidden("blocked", _("You cannot write to this neighbour."))


def request_closed(conversation: Conversation) -> bool:
    """A request's conversation becomes read-only once the request is cancelled or expired."""
    return (conversation.kind == ConversationKind.REQUEST
            and conversation.request.status not in TALKING_STATUSES)


def _refuse_if_closed(conversation: Conversation) -> None:
    if request_closed(conversation):
        raise Conflict("request_closed", _("This request is closed: the conversation can be read, not continued."))


def _participant(conversation: Conversation, member: Member, *, since: int = 0) -> Participant:
    return Participant(conversation=conversation, member=member, neighbourhood_id=member.neighbourhood_id,
                       since_message_id=since, last_read_message_id=since)


# --- starting -----------------------------------------------------------------------------------------------------

def do_start_direct(member: Member, participant_id: int) -> tuple[Conversation, bool]:
    """Open the one conversation between `member` and another neighbour; (conversation, created)."""
    require_can_act(member)
    participant_id = queries.valid_id(participant_id)
    if participant_id == member.id:
        raise invalid("cannot_message_self", _("You cannot start a conversation with yourself."), "participant_id")
    other = Member.objects.filter(id=participant_id, user__is_active=True).first()
    if other is None:
        raise NotFound()
    key = pair_key(member.id, other.id)
    existing = Conversation.objects.filter(pair_key=key).first()
    if existing is None and other.neighbourhood_id not in readable_neighbourhood_ids(member):
        raise NotFound()
    _refuse_if_blocked(member.id, [other.id])
    if existing is not None:
        return existing, False
    ratelimit.hit("conversation_start", str(member.id), limit=START_LIMIT[0], window_s=START_LIMIT[1])
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(kind=ConversationKind.DIRECT, pair_key=key,
                                                       neighbourhood_id=member.neighbourhood_id,
                                                       last_message_at=timezone.now())
            Participant.objects.bulk_create([_participant(conversation, member), _participant(conversation, other)])
            events.publish("conversation.created", {"conversation_id": conversation.id, "kind": conversation.kind,
                                                    "request_id": None},
                           neighbourhood_id=conversation.neighbourhood_id, member_ids=sorted([member.id, other.id]))
    except IntegrityError:
        # The other side started it at the same instant: theirs is the one conversation of the pair.
        return Conversation.objects.get(pair_key=key), False
    return conversation, True


def sync_request_participants(conversation: Conversation, req: HelpRequest) -> None:
    """The requester and the request's current helper take part; anyone else (a helper who withdrew) leaves.

    A helper who joins later reads from the moment they join, not what was said to the helper before them.
    """
    wanted = {req.requester_id} | ({req.helper_id} if req.helper_id else set())
    now = timezone.now()
    rows = {p.member_id: p for p in Participant.objects.filter(conversation=conversation)}
    gone = [p.id for m, p in rows.items() if m not in wanted and p.left_at is None]
    if gone:
        Participant.objects.filter(id__in=gone).update(left_at=now, unread_count=0)
    since = conversation.last_message_id or 0
    for member_id in wanted:
        row = rows.get(member_id)
        if row is None:
            Participant.objects.create(conversation=conversation, member_id=member_id,
                                       neighbourhood_id=Member.objects.values_list("neighbourhood_id", flat=True)
                                       .get(id=member_id),
                                       since_message_id=since, last_read_message_id=since)
        elif row.left_at is not None:
            Participant.objects.filter(id=row.id).update(left_at=None, since_message_id=since,
                                                         last_read_message_id=since, unread_count=0)


def do_start_for_request(member: Member, request_id: int) -> tuple[Conversation, bool]:
    """Open the conversation of a help request, between its requester and its matched helper."""
    require_can_act(member)
    with transaction.atomic():
        # Locked: a withdrawal at the same moment must not leave the old helper in the conversation.
        req = request_in_scope(member, request_id, for_update=True)
        if member.id not in (req.requester_id, req.helper_id):
            raise Forbidden("not_involved", _("Only the requester and the helper can talk about this request."))
        if req.status not in TALKING_STATUSES or req.helper_id is None:
            raise Conflict("not_matched", _("You can write once a helper has taken the request."))
        other_id = req.helper_id if member.id == req.requester_id else req.requester_id
        _refuse_if_blocked(member.id, [other_id])
        conversation = Conversation.objects.select_for_update().filter(request=req).first()
        created = conversation is None
        if created:
            conversation = Conversation.objects.create(kind=ConversationKind.REQUEST, request=req,
                                                       neighbourhood_id=req.neighbourhood_id,
                                                       last_message_at=timezone.now())
        sync_request_participants(conversation, req)
        if created:
            events.publish("conversation.created", {"conversation_id": conversation.id, "kind": conversation.kind,
                                                    "request_id": req.id},
                           neighbourhood_id=conversation.neighbourhood_id,
                           member_ids=sorted([req.requester_id, req.helper_id]))
    return conversation, created


# --- messages -----------------------------------------------------------------------------------------------------

def _store_images(message: Message, cleaned: list[image_files.CleanImage], stored: list[str]) -> None:
    for position, picture in enumerate(cleaned):
        image_files.store(MessageImage(message=message, neighbourhood_id=message.neighbourhood_id,
                                       width=picture.width, height=picture.height, position=position), picture, stored)


def _remove_files(names: list[str]) -> None:
    image_files.remove_files(MessageImage, names)


def _read_up_to(participant_id: int, member_id: int, conversation_id: int, message_id: int) -> Participant:
    """Move the read mark forward (never back) and count what is left unread, under the row's lock."""
    row = Participant.objects.select_for_update().get(pk=participant_id)
    if message_id > row.last_read_message_id:
        row.last_read_message_id = message_id
        row.unread_count = (Message.objects
                            .filter(conversation_id=conversation_id, id__gt=max(message_id, row.since_message_id))
                            .exclude(author_id=member_id).count())
        row.save(update_fields=["last_read_message_id", "unread_count"])
    return row


def do_send_message(member: Member, conversation_id: int, body: str, images: Sequence = ()) -> Message:
    """Write in a conversation one takes part in; the others' unread counts go up by one."""
    me = queries.participation(member, conversation_id)
    _refuse_if_closed(me.conversation)
    body = _check_body(body)
    images = list(images or ())
    if len(images) > MAX_IMAGES:
        raise invalid("too_many_images", _("At most %(n)d pictures per message.") % {"n": MAX_IMAGES}, "images")
    others = queries.active_member_ids(me.conversation_id, exclude=member.id)
    _refuse_if_blocked(member.id, others)
    # Counted before the pictures are decoded: a flood of uploads is refused before it costs any work.
    for limit, window in MESSAGE_LIMITS:
        ratelimit.hit(f"message_{window}", str(member.id), limit=limit, window_s=window)
    cleaned = [image_files.clean(f) for f in images]  # every picture checked before anything is written
    conversation = me.conversation
    stored: list[str] = []
    try:
        with transaction.atomic():
            message = Message.objects.create(conversation=conversation, neighbourhood_id=conversation.neighbourhood_id,
                                             author=member, body=body)
            _store_images(message, cleaned, stored)
            # Conditional: two messages written at once leave the newer one as the conversation's last.
            (Conversation.objects.filter(pk=conversation.pk)
             .filter(Q(last_message__isnull=True) | Q(last_message_id__lt=message.id))
             .update(last_message=message, last_message_at=message.created_at))
            Participant.objects.filter(conversation=conversation, left_at__isnull=True).exclude(
                member_id=member.id).update(unread_count=F("unread_count") + 1)
            _read_up_to(me.id, member.id, conversation.id, message.id)  # writing in a thread is reading it
            events.publish("message.created", {"conversation_id": conversation.id, "message_id": message.id,
                                               "author_id": member.id},
                           neighbourhood_id=conversation.neighbourhood_id, member_ids=sorted([member.id, *others]))
    except BaseException:
        _remove_files(stored)
        raise
    return message


def do_mark_read(member: Member, conversation_id: int, up_to_message_id: int | None = None) -> Participant:
    """Mark the conversation read, up to a given message (default: the latest). The mark never moves back."""
    me = queries.participation(member, conversation_id)
    with transaction.atomic():
        latest = (Message.objects.filter(conversation_id=me.conversation_id).order_by("-id")
                  .values_list("id", flat=True).first()) or 0
        target = latest if up_to_message_id is None else min(int(up_to_message_id), latest)
        return _read_up_to(me.id, member.id, me.conversation_id, target)


# --- blocks and reports -------------------------------------------------------------------------------------------

def do_block(member: Member, member_id: int) -> Block:
    """Block a neighbour one can see (or one shares a conversation with): no conversation, no message either way."""
    if int(member_id) == member.id:
        raise invalid("cannot_block_self", _("You cannot block yourself."), "member_id")
    other = queries.contactable(member, member_id)
    with transaction.atomic():
        block, _created = Block.objects.get_or_create(blocker=member, blocked=other,
                                                      defaults={"neighbourhood_id": member.neighbourhood_id})
    return block


def do_unblock(member: Member, member_id: int) -> None:
    """Lift one's own block (nothing happens if there was none)."""
    Block.objects.filter(blocker=member, blocked_id=queries.valid_id(member_id)).delete()


def do_report_message(member: Member, message_id: int, reason: str = "") -> MessageReport:
    """Report a message someone else wrote in a conversation one takes part in (once per message)."""
    reason = clean_text(reason)
    if len(reason) > MAX_REASON:
        raise invalid("reason_too_long", _("At most %(n)d characters, please.") % {"n": MAX_REASON}, "reason")
    message = queries.message_in_scope(member, message_id)
    if message.author_id == member.id:
        raise invalid("own_message", _("You cannot report your own message."), "message_id")
    ratelimit.hit("message_report", str(member.id), limit=REPORT_LIMIT[0], window_s=REPORT_LIMIT[1])
    with transaction.atomic():
        report, created = MessageReport.objects.get_or_create(
            message=message, reporter=member,
            defaults={"neighbourhood_id": message.neighbourhood_id, "reason": reason})
        if created:
            events.publish("message.reported", {"message_id": message.id, "conversation_id": message.conversation_id},
                           neighbourhood_id=message.neighbourhood_id)
    return report
