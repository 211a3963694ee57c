"""Who hears about what (connected in apps.NotificationsConfig.ready to entraide.core.events.event_published).

Subscribers run after the write committed; a failure here is logged (its type only) and never reaches the
member who wrote. Emails that were written but not sent are caught by the minute sweep.
"""
from __future__ import annotations

import logging
from typing import Any

from django.urls import reverse

from . import actions
from .models import NotificationType

logger = logging.getLogger(__name__)

# request.updated kinds -> the history entries that say who did it.
_ACTOR_KINDS = {"accepted": ["accepted"], "withdrawn": ["helper_withdrew", "requester_withdrew"],
                "helper_done": ["helper_done"], "completed": ["completed"], "thanked": ["thanked"],
                "cancelled": ["cancelled"], "expired": ["expired"], "updated": ["updated"]}


def on_event(sender: Any = None, *, event: dict, **kwargs: Any) -> None:
    handler = _HANDLERS.get(event["type"])
    if handler is None:
        return
    try:
        handler(event)
    except Exception as exc:  # noqa: BLE001 - a notification must never break (or undo) the member's write
        logger.error("notifications: %s subscriber failed: %s", event["type"], type(exc).__name__)


def request_url(request_id: int) -> str:
    return reverse("aid_request", args=[request_id])


def conversation_url(conversation_id: int) -> str:
    return reverse("messaging_thread", args=[conversation_id])


def post_url(post_id: int, comment_id: int | None = None) -> str:
    url = reverse("post", args=[post_id])
    return f"{url}#comment-{comment_id}" if comment_id else url


def _on_proposed(event: dict) -> None:
    from entraide.aid.models import HelpRequest

    data = event["data"]
    req = HelpRequest.objects.select_related("requester").filter(id=data["request_id"]).first()
    if req is None:
        return
    urgent = data.get("urgency", req.urgency) == "urgent"
    payload = {"request_id": req.id, "help_type": req.type, "urgency": req.urgency,
               "name": req.on_behalf_of or req.requester.public_name}
    actions.notify(list(data.get("helper_ids") or event["member_ids"]), NotificationType.MATCH, payload=payload,
                   url=request_url(req.id), thread=f"request:{req.id}", neighbourhood_id=req.neighbourhood_id,
                   urgent=urgent, dedupe=lambda m: f"match:{req.id}:{m.id}")


def _on_request_updated(event: dict) -> None:
    from entraide.aid.models import HelpRequest, RequestEvent

    data = event["data"]
    kind = data.get("kind", "")
    req = HelpRequest.objects.select_related("helper").filter(id=data["request_id"]).first()
    if req is None or kind not in _ACTOR_KINDS:
        return
    step = (RequestEvent.objects.filter(request=req, kind__in=_ACTOR_KINDS[kind]).order_by("-id")
            .values("id", "actor_id").first()) or {"id": 0, "actor_id": None}
    recipients = [m for m in event["member_ids"] if m != step["actor_id"]]

    def payload(member) -> dict:
        role = "requester" if member.id == req.requester_id else "helper" if member.id == req.helper_id else "asked"
        # Only the requester learns who helps: helpers asked but not chosen are not told who was.
        return {"request_id": req.id, "help_type": req.type, "kind": kind, "status": req.status, "role": role,
                "name": req.helper.public_name if req.helper_id and role == "requester" else ""}

    actions.notify(recipients, NotificationType.REQUEST_UPDATE, payload=payload, url=request_url(req.id),
                   thread=f"request:{req.id}", neighbourhood_id=req.neighbourhood_id,
                   dedupe=lambda m: f"request_update:{req.id}:{kind}:{step['id']}:{m.id}")


def _on_message(event: dict) -> None:
    from entraide.accounts.models import Member

    data = event["data"]
    author = Member.objects.filter(id=data["author_id"]).only("display_name").first()
    recipients = [m for m in event["member_ids"] if m != data["author_id"]]
    thread = f"conversation:{data['conversation_id']}"
    payload = {"conversation_id": data["conversation_id"], "message_id": data["message_id"],
               "name": author.public_name if author else ""}
    actions.notify(recipients, NotificationType.MESSAGE, payload=payload, url=conversation_url(data["conversation_id"]),
                   thread=thread, neighbourhood_id=event.get("neighbourhood_id"), coalesce=True,
                   dedupe=lambda m: f"message:{thread}:{m.id}:{data['message_id']}")


def _on_comment(event: dict) -> None:
    from entraide.feed.models import Comment
    from entraide.feed.queries import visible_posts

    data = event["data"]
    comment = Comment.objects.select_related("author", "post", "parent").filter(id=data["comment_id"]).first()
    if comment is None:
        return
    post = comment.post
    targets: dict[int, str] = {}
    if comment.parent_id and comment.parent.author_id != comment.author_id:
        targets[comment.parent.author_id] = "comment"
    if post.author_id != comment.author_id:
        targets.setdefault(post.author_id, "post")
    from entraide.accounts.models import Member

    # Someone who moved away no longer reads the post: no notification pointing at a page they cannot open.
    readers = [m for m in Member.objects.filter(id__in=targets)
               if visible_posts(m).filter(id=post.id).exists()]
    for member in readers:
        actions.notify([member.id], NotificationType.REPLY,
                       payload={"post_id": post.id, "comment_id": comment.id, "name": comment.author.public_name,
                                "title": post.title[:140], "to": targets[member.id]},
                       url=post_url(post.id, comment.id), thread=f"post:{post.id}",
                       neighbourhood_id=post.neighbourhood_id, dedupe=lambda m: f"reply:{comment.id}:{m.id}")


def _on_post(event: dict) -> None:
    if event["data"].get("category") != "urgent":
        return
    from . import fanout

    fanout.schedule(event["data"]["post_id"])


_HANDLERS = {"request.proposed": _on_proposed, "request.updated": _on_request_updated, "message.created": _on_message,
             "comment.created": _on_comment, "post.created": _on_post}
