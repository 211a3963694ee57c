"""With REDIS_URL, a write in one process reaches a WebSocket held by another (channels-redis, the layer that
entraide/settings.py sets then). CI runs Redis on 127.0.0.1:6379; this uses database 12 of it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from channels.db import database_sync_to_async

from .conftest import communicator, frame, nothing_until_marker, run, token_for

pytestmark = pytest.mark.django_db(transaction=True)
REDIS_URL = "redis://127.0.0.1:6379/12"

# Another process: Django with REDIS_URL set, announcing a post as entraide.feed.actions would after its commit.
PUBLISHER = textwrap.dedent("""
    import json, sys
    import django
    django.setup()
    from entraide.core import events
    event = json.loads(sys.argv[1])
    events.event_published.send(sender=None, event=event)
""")


@pytest.fixture
def redis_layer(settings):
    # Overriding the setting makes channels drop its layers, so the next use builds the Redis one.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                                           "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}]}}}
    yield


def publish_elsewhere(event: dict, tmp_path) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "entraide.settings", "REDIS_URL": REDIS_URL,
           "ENTRAIDE_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite3'}"}
    subprocess.run([sys.executable, "-c", PUBLISHER, json.dumps(event)], env=env, check=True, timeout=60)


def test_a_post_announced_by_another_process_reaches_an_open_connection_through_redis(redis_layer, alice, bruno,
                                                                                      zoe, tmp_path):
    token, far_token = token_for(bruno), token_for(zoe)
    event = {"type": "post.created", "neighbourhood_id": alice.neighbourhood_id, "member_ids": [],
             "data": {"post_id": 4242, "author_id": alice.id, "category": "general", "audience": "neighbourhood"}}

    async def scenario():
        near, far = communicator(token=token), communicator(token=far_token)
        assert (await near.connect())[0] and (await far.connect())[0]
        await database_sync_to_async(publish_elsewhere)(event, tmp_path)
        received = await frame(near)
        assert received["type"] == "post.created" and received["data"]["post_id"] == 4242
        await nothing_until_marker(far, zoe.id)  # a marker through Redis too: the post never came before it
        await near.disconnect()
        await far.disconnect()

    run(scenario)
