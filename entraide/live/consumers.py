"""`/ws/v1/events`: one WebSocket per open page or client, sending `{"type", "data"}` JSON text frames.

The connection listens to the groups of `fanout`: its member's own, `hood.<home>.all`, and `hood.<n>.nearby` for
each nearby neighbourhood the member chose to read (`places.queries.readable_neighbourhood_ids`, the feed's
scope). When the member moves or changes that choice, `live.rejoin` makes every open connection recompute them.

Clients may send `{"type": "ping"}` (answered `{"type": "pong"}`, to keep proxies from closing an idle
connection). Anything else (not JSON, not an object, binary, an unknown type, too large) is answered
`{"type": "error", "data": {"code": "bad_frame"}}` and otherwise ignored: the connection stays open.
"""
from __future__ import annotations

import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from . import fanout

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_BAD_ORIGIN = 4403
MAX_FRAME_CHARS = 4096  # a ping is 15 characters; nothing a client sends needs more
PONG = json.dumps({"type": "pong"})
BAD_FRAME = json.dumps({"type": "error", "data": {"code": "bad_frame"}})
REFUSALS = {"not_authenticated": CLOSE_NOT_AUTHENTICATED, "bad_origin": CLOSE_BAD_ORIGIN}


def groups_for(member: Any) -> set[str]:
    """The groups a member's connection listens to (a database read: call it through database_sync_to_async)."""
    from entraide.accounts.models import Member
    from entraide.places.queries import readable_neighbourhood_ids

    fresh = Member.objects.filter(pk=member.pk).only("id", "neighbourhood_id").first()
    if fresh is None:
        return set()
    groups = {fanout.member_group(fresh.id)}
    readable = readable_neighbourhood_ids(fresh)
    if readable:
        home, *chosen = readable
        groups.add(fanout.hood_group(home, "all"))
        groups.update(fanout.hood_group(n, "nearby") for n in chosen)
    return groups


class LiveConsumer(AsyncWebsocketConsumer):
    groups: list[str] = []  # joined by hand in connect, from the member's scope

    async def connect(self) -> None:
        self.joined: set[str] = set()
        refusal = self.scope.get("live_refusal")
        member = self.scope.get("live_member")
        if refusal or member is None:
            # Accepted only to say why, with a code a client can act on, then closed.
            code = refusal or "not_authenticated"
            await self.accept()
            await self.send(json.dumps({"type": "error", "data": {"code": code}}))
            await self.close(code=REFUSALS.get(code, CLOSE_NOT_AUTHENTICATED))
            return
        self.member = member
        await self._join()  # before accepting: once open, the connection hears everything from then on
        await self.accept()

    async def _join(self) -> None:
        wanted = await database_sync_to_async(groups_for)(self.member)
        for group in wanted - self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        for group in self.joined - wanted:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = wanted

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = set()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if not self.joined:  # refused and closing
            return
        if text_data is not None and len(text_data) <= MAX_FRAME_CHARS:
            try:
                message = json.loads(text_data)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("type") == "ping":
                await self.send(PONG)
                return
        await self.send(BAD_FRAME)

    async def dispatch(self, message: dict) -> None:
        # Channels closes stale database connections before every handler, a hop to its one sync thread each time:
        # at one per frame that hop was the whole cost of a fan-out (bench/live.py). Forwarding an event and
        # answering a ping touch no database; connecting and re-joining still go through it.
        if message["type"] == fanout.EVENT_MESSAGE:
            await self.send(message["text"])
        elif message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    # --- channel layer messages (see fanout) ---------------------------------------------------------------------

    async def live_event(self, message: dict) -> None:
        await self.send(message["text"])

    async def live_rejoin(self, message: dict) -> None:
        await self._join()
