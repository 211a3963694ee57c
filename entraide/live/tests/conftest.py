"""Fixtures of the live-update tests: members of two neighbouring quartiers and a far one, their credentials, and
a way to drive the real ASGI application (entraide.asgi) with channels' WebsocketCommunicator.

Every test here uses a transactional database: the consumer reads the database through database_sync_to_async
and events go out on commit, as in production. pytest-asyncio is not installed; each scenario is one coroutine
run with asgiref's async_to_sync, so the database calls it makes run in the test's own thread.
"""
from __future__ import annotations

import hashlib
import json
import secrets

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from entraide.accounts.factories import MemberFactory
from entraide.accounts.models import ApiToken
from entraide.live import fanout

PATH = "/ws/v1/events"
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.fixture(autouse=True)
def _empty_layer():
    async_to_sync(get_channel_layer().flush)()
    yield
    async_to_sync(get_channel_layer().flush)()


@pytest.fixture
def alice(neighbourhood):
    """Saint-Gervais, verified."""
    return MemberFactory(neighbourhood=neighbourhood, verified=True, display_name="Alice Martin")


@pytest.fixture
def bruno(neighbourhood):
    """Saint-Gervais, verified: Alice's neighbour."""
    return MemberFactory(neighbourhood=neighbourhood, verified=True, display_name="Bruno Petit")


@pytest.fixture
def nadia(nearby, neighbourhood):
    """Saint-Merri, next door; she chose to read Saint-Gervais."""
    member = MemberFactory(neighbourhood=nearby, verified=True, display_name="Nadia Benali")
    member.reads_nearby.add(neighbourhood)
    return member


@pytest.fixture
def zoe(far):
    """Combat, in the 19e: far from everyone above."""
    return MemberFactory(neighbourhood=far, verified=True, display_name="Zoé Durand")


def token_for(member) -> str:
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=member.user, key_hash=hashlib.sha256(token.encode()).hexdigest())
    return token


def session_cookie(member) -> bytes:
    client = Client()
    client.force_login(member.user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def communicator(*, token: str | None = None, member=None, headers: list | None = None,
                 query: str = "") -> WebsocketCommunicator:
    """A client of /ws/v1/events: bearer header for `token`, session cookie + same-site Origin for `member`."""
    from entraide.asgi import application

    headers = list(headers or [])
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if member is not None:
        headers += [(b"cookie", session_cookie(member)), ORIGIN]
    return WebsocketCommunicator(application, PATH + (f"?{query}" if query else ""), headers=headers)


async def frame(comm: WebsocketCommunicator) -> dict:
    return json.loads(await comm.receive_from(timeout=5))


async def frame_of(comm: WebsocketCommunicator, type_: str) -> dict:
    """The next frame of that type, skipping the notifications other subscribers create for the same write (the
    notifications app turns a message or a match into a `notification.created` for the same member)."""
    while True:
        message = await frame(comm)
        if message["type"] == type_ or message["type"] != "notification.created":
            return message


MARKER = "__marker__"


async def nothing_until_marker(comm: WebsocketCommunicator, member_id: int) -> None:
    """Assert the connection received nothing so far: a marker sent now to the member's own group must be the next
    frame (one channel's messages arrive in order), with no waiting on a clock."""
    await get_channel_layer().group_send(fanout.member_group(member_id),
                                         {"type": fanout.EVENT_MESSAGE, "text": MARKER})
    assert await comm.receive_from(timeout=5) == MARKER


def run(scenario, *args):
    """Run an async scenario (a coroutine function) to completion from a sync test."""
    return async_to_sync(scenario)(*args)
