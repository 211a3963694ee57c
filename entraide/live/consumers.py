"""`/ws/v1/events`: one WebSocket per open page or client, sending `{"type", "data"}` JSON text frames.

The connection listens to the groups of `fanout`: its member's own, `hood.<home>.all`, and `hood.<n>.nearby` for
each nearby neighbourhood the member chose to read (`places.queries.readable_neighbourhood_ids`, the feed's
scope). When the member moves or changes that choice, `live.rejoin` makes every open connection recompute them.

Clients may send `{"type": "ping"}` (answered `{"type": "pong"}`, to keep proxies from closing an idle
connection). Anything else (not JSON, not an object, binary, an unknown type, too large, nested too deep) is
answered `{"type": "error", "data": {"code": "bad_frame"}}` and otherwise ignored: the connection stays open.
A client sending more than its frame budget (a burst of FRAME_BURST, then FRAME_RATE a second) gets no answer
and no parsing until the budget refills: a flood costs the server a counter per frame, never a database query.
Frames above MAX_WS_MESSAGE_BYTES (serve.py) are refused by uvicorn itself, which closes with 1009.

Credentials are checked when the connection opens and again whenever it re-joins (a move, a change of what the
member reads): a deactivated account or a deleted member is then closed with 4401. A token revoked or a session
ended while a connection is open is noticed only at the next connection; until then it hears ids and types only
(never a body or a name), and every fetch of the content checks the credentials again.
"""
from __future__ import annotations

import json
import time
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
FRAME_BURST = 20  # frames a client may send at once (a page pings every 25 s)
FRAME_RATE = 1.0  # frames a second the budget refills by
clock = time.monotonic  # module-level so that tests can stand still in time


def groups_for(member: Any) -> set[str]:
    """The groups a member's connection listens to (a database read: call it through database_sync_to_async);
    empty when the member is gone or their account deactivated."""
    from entraide.accounts.models import Member
    from entraide.places.queries import readable_neighbourhood_ids

    fresh = Member.objects.filter(pk=member.pk, user__is_active=True).only("id", "neighbourhood_id").first()
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
        self.member = None
        self.budget, self.budget_at = float(FRAME_BURST), clock()
        refusal = self.scope.get("live_refusal")
        member = self.scope.get("live_member")
        if refusal or member is None:
            await self._refuse(refusal or "not_authenticated", accepted=False)
            return
        self.member = member
        # Joined before accepting: once open, the connection hears everything from then on.
        if await self._join():
            await self.accept()

    async def _refuse(self, code: str, *, accepted: bool) -> None:
        """Accepted (if need be) only to say why, with a code a client can act on, then closed."""
        self.member = None
        if not accepted:
            await self.accept()
        await self.send(json.dumps({"type": "error", "data": {"code": code}}))
        await self.close(code=REFUSALS.get(code, CLOSE_NOT_AUTHENTICATED))

    async def _join(self, *, accepted: bool = False) -> bool:
        """Listen to the member's groups as they are now; False (and closed) when the member may no longer."""
        wanted = await database_sync_to_async(groups_for)(self.member)
        if not wanted:
            await self._leave()
            await self._refuse("not_authenticated", accepted=accepted)
            return False
        for group in wanted - self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        for group in self.joined - wanted:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = wanted
        return True

    async def _leave(self) -> None:
        for group in getattr(self, "joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)
        self.joined = set()

    async def disconnect(self, code: int) -> None:
        await self._leave()

    def _within_budget(self) -> bool:
        now = clock()
        self.budget = min(float(FRAME_BURST), self.budget + (now - self.budget_at) * FRAME_RATE)
        self.budget_at = now
        if self.budget < 1:
            return False
        self.budget -= 1
        return True

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.member is None or not self._within_budget():  # refused and closing, or flooding
            return
        if text_data is not None and len(text_data) <= MAX_FRAME_CHARS:
            try:
                message = json.loads(text_data)
            except (ValueError, RecursionError):  # "[[[[..." nests deeper than the parser recurses
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
            if self.member is not None:  # not after a refusal: what was already queued stays unsaid
                await self.send(message["text"])
        elif message["type"] == "websocket.receive":
            await self.websocket_receive(message)
        else:
            await super().dispatch(message)

    # --- channel layer messages (see fanout) ---------------------------------------------------------------------

    async def live_event(self, message: dict) -> None:
        if self.member is not None:
            await self.send(message["text"])

    async def live_rejoin(self, message: dict) -> None:
        if self.member is not None:
            await self._join(accepted=True)
