"""Which open WebSockets hear an event, and what they hear (issue 5, live updates).

Group names (the consumer joins them, `consumers.groups_for`):
- `member.<id>`: what is addressed to one member (a match, a message, a notification, a request's status);
- `hood.<id>.all`: the home members of a neighbourhood, who read every post there;
- `hood.<id>.nearby`: the members next door who chose to read it, who read only posts open to nearby readers.
This mirrors `feed.queries._scope_q`, so nobody hears about a post they could not open.

What goes out is an allow-list: a type missing from `MEMBER_FIELDS` or `FEED_FIELDS` is never sent, and only the
listed fields of its data are (e.g. `request.proposed` loses `helper_ids`: one helper must not learn who else was
asked; `thanks.added` loses who thanked). Feed events carry their `neighbourhood_id`, which every reader of the post
sees on it anyway.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

logger = logging.getLogger(__name__)

# Addressed events: sent to the groups of `member_ids` only, never to a neighbourhood.
MEMBER_FIELDS: dict[str, tuple[str, ...]] = {
    "request.proposed": ("request_id", "urgency", "notified_at"),
    "request.updated": ("request_id", "status", "kind"),
    "message.created": ("conversation_id", "message_id", "author_id"),
    "conversation.created": ("conversation_id", "kind", "request_id"),
    "notification.created": ("notification_id", "type", "unread_count"),
}
# Feed events: sent to the neighbourhood's readers, by audience.
FEED_FIELDS: dict[str, tuple[str, ...]] = {
    "post.created": ("post_id", "author_id", "category", "audience"),
    "post.updated": ("post_id",),
    "post.deleted": ("post_id",),
    "comment.created": ("comment_id", "post_id", "author_id", "parent_id"),
    "comment.updated": ("comment_id", "post_id"),
    "comment.deleted": ("comment_id", "post_id"),
    "thanks.added": ("post_id", "comment_id"),
}
# Events after which a member's connections must recompute the neighbourhoods they listen to.
REJOIN_TYPES = frozenset({"member.moved"})

EVENT_MESSAGE = "live.event"  # handled by LiveConsumer.live_event
REJOIN_MESSAGE = "live.rejoin"  # handled by LiveConsumer.live_rejoin


def member_group(member_id: int) -> str:
    return f"member.{member_id}"


def hood_group(neighbourhood_id: int, audience: str) -> str:
    """`audience` is "all" (home readers) or "nearby" (readers next door)."""
    return f"hood.{neighbourhood_id}.{audience}"


def frame(type: str, data: dict[str, Any]) -> str:
    return json.dumps({"type": type, "data": data}, separators=(",", ":"), default=str)


def plan(event: dict) -> list[tuple[str, dict]]:
    """The (group, channel-layer message) pairs one event becomes; empty for anything private."""
    type_, data = event["type"], event.get("data") or {}
    if type_ in REJOIN_TYPES:
        return [(member_group(m), {"type": REJOIN_MESSAGE}) for m in event.get("member_ids") or []]
    if type_ in MEMBER_FIELDS:
        # The frame is serialised once here, not once per listening connection.
        text = frame(type_, {k: data.get(k) for k in MEMBER_FIELDS[type_]})
        return [(member_group(m), {"type": EVENT_MESSAGE, "text": text}) for m in event.get("member_ids") or []]
    if type_ in FEED_FIELDS and event.get("neighbourhood_id"):
        hood = event["neighbourhood_id"]
        fields = {k: data.get(k) for k in FEED_FIELDS[type_]} | {"neighbourhood_id": hood}
        message = {"type": EVENT_MESSAGE, "text": frame(type_, fields)}
        pairs = [(hood_group(hood, "all"), message)]
        # Without a known audience, only home readers hear it: never tell someone about what they cannot read.
        if data.get("audience") == "nearby":
            pairs.append((hood_group(hood, "nearby"), message))
        return pairs
    return []


def rejoin(member_id: int) -> None:
    """Make the member's open connections recompute their groups (they moved, or changed what they read)."""
    send([(member_group(member_id), {"type": REJOIN_MESSAGE})])


async def _send_all(layer, pairs: list[tuple[str, dict]]) -> None:
    # One group failing (a Redis hiccup) must not silence the groups after it.
    for group, message in pairs:
        try:
            await layer.group_send(group, message)
        except Exception as exc:  # noqa: BLE001 - logged, and the next group still hears it
            _log(exc)


# The event loop of the ASGI server this process is, if it is one (`entraide serve` sets it). Sends are then
# handed to it: the in-memory layer only delivers to consumers waiting on its own loop, and a background job
# running in a plain thread of that process is a case asgiref cannot route.
server_loop: asyncio.AbstractEventLoop | None = None


def send(pairs: list[tuple[str, dict]]) -> None:
    """One group_send per group, all from one event loop; a layer failure never breaks the write that published.

    In a server process the sends are handed to its loop and the write does not wait for them. Elsewhere (a
    gunicorn worker, a script, a job consumer with Redis) `async_to_sync` runs them on a loop of its own, and
    channels-redis carries them to the server processes.
    """
    if not pairs:
        return
    try:
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        if layer is None:
            return
        loop = server_loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(_send_all(layer, pairs), loop).add_done_callback(_log_failure)
            return
        async_to_sync(_send_all)(layer, pairs)
    except Exception as exc:  # noqa: BLE001 - the write is committed; a missed live update is not worth failing it
        _log(exc)


def _log(exc: BaseException) -> None:
    # The type only: a message could quote event data.
    logger.warning("live fan-out failed: %s", type(exc).__name__)


def _log_failure(future) -> None:
    if not future.cancelled() and future.exception() is not None:
        _log(future.exception())
