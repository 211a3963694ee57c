"""The routing table itself: which groups an event goes to, with which fields (no database)."""
from __future__ import annotations

import json

import pytest

from entraide.live import fanout


def texts(pairs):
    return {group: json.loads(message["text"]) for group, message in pairs}


def test_a_post_for_nearby_readers_goes_to_home_and_nearby_groups_once_each():
    pairs = fanout.plan({"type": "post.created", "neighbourhood_id": 3, "member_ids": [],
                         "data": {"post_id": 1, "author_id": 2, "category": "general", "audience": "nearby"}})
    assert [g for g, _ in pairs] == ["hood.3.all", "hood.3.nearby"]
    assert pairs[0][1] is pairs[1][1]  # serialised once


def test_a_feed_event_without_a_known_audience_reaches_home_readers_only():
    pairs = fanout.plan({"type": "comment.updated", "neighbourhood_id": 3, "member_ids": [],
                         "data": {"comment_id": 1, "post_id": 2}})
    assert [g for g, _ in pairs] == ["hood.3.all"]


def test_addressed_events_go_to_their_members_and_never_to_a_neighbourhood():
    pairs = fanout.plan({"type": "request.updated", "neighbourhood_id": 3, "member_ids": [4, 5],
                         "data": {"request_id": 9, "status": "matched", "kind": "accepted"}})
    assert texts(pairs) == {g: {"type": "request.updated", "data": {"request_id": 9, "status": "matched",
                                                                    "kind": "accepted"}}
                            for g in ("member.4", "member.5")}


def test_fields_outside_the_allow_list_are_dropped():
    pairs = fanout.plan({"type": "request.proposed", "neighbourhood_id": 3, "member_ids": [4],
                         "data": {"request_id": 9, "helper_ids": [4, 5, 6], "urgency": "low", "notified_at": "t",
                                  "address": "12 rue X"}})
    assert texts(pairs)["member.4"]["data"] == {"request_id": 9, "urgency": "low", "notified_at": "t"}


@pytest.mark.parametrize("type_", ["member.joined", "member.verified", "offer.created", "offer.updated",
                                   "request.created", "request.escalated", "message.reported", "something.new"])
def test_private_and_unknown_events_are_never_sent(type_):
    assert fanout.plan({"type": type_, "neighbourhood_id": 3, "member_ids": [4], "data": {"x": 1}}) == []


def test_a_move_is_a_control_message_to_the_member_not_a_frame():
    assert fanout.plan({"type": "member.moved", "neighbourhood_id": 3, "member_ids": [4],
                        "data": {"member_id": 4, "new_neighbourhood": True}}) == [
        ("member.4", {"type": fanout.REJOIN_MESSAGE})]


def test_send_makes_one_group_send_per_group_from_plain_sync_code(monkeypatch):
    calls = []

    class Layer:
        async def group_send(self, group, message):
            calls.append(group)

    monkeypatch.setattr("channels.layers.get_channel_layer", lambda *a, **k: Layer())
    fanout.send([("hood.1.all", {"type": "live.event", "text": "{}"}), ("hood.1.nearby", {"type": "x"})])
    assert calls == ["hood.1.all", "hood.1.nearby"]


def test_in_a_server_process_sends_are_handed_to_the_server_loop_even_from_a_plain_thread(monkeypatch):
    # Embedded mode: a background job (a huey thread) publishes; the in-memory layer lives on the server's loop.
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    server = threading.Thread(target=loop.run_forever, daemon=True)
    server.start()
    sent = threading.Event()
    seen_on = []

    class Layer:
        async def group_send(self, group, message):
            seen_on.append(threading.current_thread())
            sent.set()

    monkeypatch.setattr("channels.layers.get_channel_layer", lambda *a, **k: Layer())
    monkeypatch.setattr(fanout, "server_loop", loop)
    try:
        fanout.send([("member.1", {"type": "live.event", "text": "{}"})])
        assert sent.wait(5)
        assert seen_on == [server]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        server.join(5)
        loop.close()


def test_a_group_that_fails_does_not_silence_the_groups_after_it(monkeypatch, caplog):
    calls = []

    class Flaky:
        async def group_send(self, group, message):
            calls.append(group)
            if group == "hood.1.all":
                raise ConnectionError("redis://:secret@host timed out")

    monkeypatch.setattr("channels.layers.get_channel_layer", lambda *a, **k: Flaky())
    fanout.send([("hood.1.all", {"type": "live.event", "text": "{}"}), ("hood.1.nearby", {"type": "live.event"})])
    assert calls == ["hood.1.all", "hood.1.nearby"]
    assert "live fan-out failed: ConnectionError" in caplog.text and "secret" not in caplog.text


def test_without_a_running_server_loop_sends_run_on_a_loop_of_their_own(monkeypatch):
    # The server stopped (lifespan shutdown) or never started: a job finishing then still publishes safely.
    import asyncio

    stopped = asyncio.new_event_loop()
    calls = []

    class Layer:
        async def group_send(self, group, message):
            calls.append(asyncio.get_running_loop() is not stopped)

    monkeypatch.setattr("channels.layers.get_channel_layer", lambda *a, **k: Layer())
    monkeypatch.setattr(fanout, "server_loop", stopped)
    try:
        fanout.send([("member.1", {"type": "live.event", "text": "{}"})])
    finally:
        stopped.close()
    assert calls == [True]
