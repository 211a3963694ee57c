"""Who hears what: real writes (entraide.feed.actions, accounts) reaching open connections, and nobody else."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from entraide.accounts.actions import do_move_home, do_update_profile
from entraide.core import events
from entraide.feed import actions as feed

from .conftest import communicator, frame, frame_of, nothing_until_marker, run, token_for

pytestmark = pytest.mark.django_db(transaction=True)


def post(member, audience="neighbourhood", body="Qui a vu un chat roux rue Vieille-du-Temple ?"):
    return database_sync_to_async(feed.do_create_post)(member, category="lost_found", body=body, audience=audience)


def publish(type_, data, **where):
    """An event as another app publishes it: inside a transaction, delivered on commit."""
    def inner():
        with transaction.atomic():
            events.publish(type_, data, **where)
    return database_sync_to_async(inner)()


async def opened(token):
    comm = communicator(token=token)
    assert (await comm.connect())[0]
    return comm


def test_a_member_hears_a_post_of_their_home_neighbourhood_with_its_public_fields_only(alice, bruno):
    token = token_for(bruno)

    async def scenario():
        comm = await opened(token)
        created = await post(alice)
        assert await frame(comm) == {"type": "post.created", "data": {
            "post_id": created.id, "author_id": alice.id, "category": "lost_found", "audience": "neighbourhood",
            "neighbourhood_id": alice.neighbourhood_id}}
        await comm.disconnect()

    run(scenario)


def test_a_nearby_reader_hears_posts_open_to_nearby_readers_but_not_the_others(alice, nadia):
    token = token_for(nadia)

    async def scenario():
        comm = await opened(token)
        await post(alice, audience="neighbourhood", body="Pour Saint-Gervais seulement.")
        shared = await post(alice, audience="nearby", body="Pour les voisins aussi.")
        message = await frame(comm)  # the first frame: the neighbourhood-only post never came before it
        assert message["type"] == "post.created" and message["data"]["post_id"] == shared.id
        await nothing_until_marker(comm, nadia.id)
        await comm.disconnect()

    run(scenario)


def test_a_member_next_door_who_did_not_choose_to_read_hears_nothing(alice, nearby):
    from entraide.accounts.factories import MemberFactory

    karim = MemberFactory(neighbourhood=nearby, verified=True)
    token = token_for(karim)

    async def scenario():
        comm = await opened(token)
        await post(alice, audience="nearby")
        await nothing_until_marker(comm, karim.id)
        await comm.disconnect()

    run(scenario)


def test_a_far_member_hears_nothing_of_another_neighbourhood(alice, zoe):
    token = token_for(zoe)

    async def scenario():
        comm = await opened(token)
        await post(alice, audience="nearby")
        await nothing_until_marker(comm, zoe.id)
        await comm.disconnect()

    run(scenario)


def test_comments_and_thanks_follow_the_audience_of_their_post(alice, bruno, nadia):
    private = feed.do_create_post(alice, category="general", body="Entre nous.", audience="neighbourhood")
    shared = feed.do_create_post(alice, category="general", body="Avec les voisins.", audience="nearby")
    tokens = token_for(bruno), token_for(nadia)

    async def scenario():
        home, next_door = await opened(tokens[0]), await opened(tokens[1])
        await database_sync_to_async(feed.do_create_comment)(bruno, private.id, body="Bonne idée.")
        await database_sync_to_async(feed.do_thank_post)(bruno, private.id)
        comment = await database_sync_to_async(feed.do_create_comment)(bruno, shared.id, body="Je viens.")
        await database_sync_to_async(feed.do_thank_post)(bruno, shared.id)
        heard = [await frame(home) for _ in range(4)]
        assert [m["type"] for m in heard] == ["comment.created", "thanks.added"] * 2
        first = await frame(next_door)
        assert first == {"type": "comment.created", "data": {
            "comment_id": comment.id, "post_id": shared.id, "author_id": bruno.id, "parent_id": None,
            "neighbourhood_id": alice.neighbourhood_id}}
        thanks = await frame(next_door)
        # Who thanked is not broadcast: the count is what pages show.
        assert thanks == {"type": "thanks.added", "data": {"post_id": shared.id, "comment_id": None,
                                                           "neighbourhood_id": alice.neighbourhood_id}}
        await nothing_until_marker(next_door, nadia.id)
        await home.disconnect()
        await next_door.disconnect()

    run(scenario)


def test_a_deleted_neighbourhood_only_post_is_not_announced_next_door(alice, bruno, nadia):
    private = feed.do_create_post(alice, category="general", body="Entre nous.", audience="neighbourhood")
    tokens = token_for(bruno), token_for(nadia)

    async def scenario():
        home, next_door = await opened(tokens[0]), await opened(tokens[1])
        await database_sync_to_async(feed.do_delete_post)(alice, private.id)
        assert await frame(home) == {"type": "post.deleted", "data": {
            "post_id": private.id, "neighbourhood_id": alice.neighbourhood_id}}
        await nothing_until_marker(next_door, nadia.id)
        await home.disconnect()
        await next_door.disconnect()

    run(scenario)


def test_every_open_connection_of_a_member_hears_it(alice, bruno):
    tokens = token_for(bruno), token_for(bruno)

    async def scenario():
        tabs = [await opened(t) for t in tokens]
        created = await post(alice)
        for tab in tabs:
            assert (await frame(tab))["data"]["post_id"] == created.id
            await tab.disconnect()

    run(scenario)


def test_a_message_reaches_the_participants_only(alice, bruno, zoe):
    from entraide.accounts.factories import MemberFactory

    claire = MemberFactory(neighbourhood=alice.neighbourhood, verified=True)  # same neighbourhood, not in it
    tokens = {m.id: token_for(m) for m in (alice, bruno, claire)}

    async def scenario():
        comms = {member_id: await opened(t) for member_id, t in tokens.items()}
        data = {"conversation_id": 7, "message_id": 70, "author_id": alice.id}
        await publish("message.created", data, member_ids=[alice.id, bruno.id])
        for member_id in (alice.id, bruno.id):  # the author too: their other tabs
            assert await frame_of(comms[member_id], "message.created") == {"type": "message.created", "data": data}
        await nothing_until_marker(comms[claire.id], claire.id)
        for comm in comms.values():
            await comm.disconnect()

    run(scenario)


def test_a_match_reaches_each_helper_asked_without_telling_who_else_was_asked(alice, bruno, nadia):
    tokens = token_for(bruno), token_for(nadia), token_for(alice)

    async def scenario():
        helper1, helper2, requester = [await opened(t) for t in tokens]
        await publish("request.proposed", {"request_id": 5, "helper_ids": [bruno.id, nadia.id], "urgency": "urgent",
                                           "notified_at": "2025-01-01T10:00:00+00:00"},
                      neighbourhood_id=alice.neighbourhood_id, member_ids=[bruno.id, nadia.id])
        for comm in (helper1, helper2):
            message = await frame_of(comm, "request.proposed")
            assert message == {"type": "request.proposed", "data": {
                "request_id": 5, "urgency": "urgent", "notified_at": "2025-01-01T10:00:00+00:00"}}
        await nothing_until_marker(requester, alice.id)
        for comm in (helper1, helper2, requester):
            await comm.disconnect()

    run(scenario)


def test_private_events_reach_nobody(alice, bruno):
    token = token_for(bruno)

    async def scenario():
        comm = await opened(token)
        hood = alice.neighbourhood_id
        await publish("request.created", {"request_id": 1, "type": "groceries", "urgency": "normal"},
                      neighbourhood_id=hood)
        await publish("request.escalated", {"request_id": 1, "urgency": "urgent", "at_risk": True},
                      neighbourhood_id=hood)
        await publish("message.reported", {"message_id": 3, "conversation_id": 2}, neighbourhood_id=hood)
        await publish("member.joined", {"member_id": alice.id}, neighbourhood_id=hood)
        await publish("offer.created", {"helper_id": bruno.id}, neighbourhood_id=hood, member_ids=[bruno.id])
        await nothing_until_marker(comm, bruno.id)
        await comm.disconnect()

    run(scenario)


def test_a_member_who_moves_hears_their_new_neighbourhood_and_no_longer_the_old_one(alice, bruno, zoe, far):
    token = token_for(bruno)

    async def scenario():
        comm = await opened(token)
        await database_sync_to_async(do_move_home)(bruno, lat=far.centroid_lat, lon=far.centroid_lon)
        await nothing_until_marker(comm, bruno.id)  # the marker comes after the re-join, on the same channel
        await post(alice, audience="nearby")  # the old neighbourhood
        here = await post(zoe)  # the new one
        assert (await frame(comm))["data"]["post_id"] == here.id
        await comm.disconnect()

    run(scenario)


def test_a_member_who_stops_reading_a_nearby_neighbourhood_stops_hearing_it_and_vice_versa(alice, nadia, nearby):
    from entraide.accounts.factories import MemberFactory

    karim = MemberFactory(neighbourhood=nearby, verified=True)  # does not read Saint-Gervais yet
    tokens = token_for(nadia), token_for(karim)

    async def scenario():
        stops, starts = await opened(tokens[0]), await opened(tokens[1])
        await database_sync_to_async(do_update_profile)(nadia, reads_nearby=[])
        await database_sync_to_async(do_update_profile)(karim, reads_nearby=[alice.neighbourhood_id])
        await nothing_until_marker(stops, nadia.id)
        await nothing_until_marker(starts, karim.id)
        shared = await post(alice, audience="nearby")
        assert (await frame(starts))["data"]["post_id"] == shared.id
        await nothing_until_marker(stops, nadia.id)
        await stops.disconnect()
        await starts.disconnect()

    run(scenario)


def test_a_closed_connection_leaves_its_groups(bruno):
    token = token_for(bruno)
    layer = get_channel_layer()

    async def scenario():
        comm = await opened(token)
        assert any(layer.groups.values())
        await comm.disconnect()
        assert not any(layer.groups.values())

    run(scenario)


def test_a_failing_channel_layer_never_breaks_the_write(alice, monkeypatch, caplog):
    class Broken:
        async def group_send(self, group, message):
            raise ConnectionError("redis://:secret@host is down")

    monkeypatch.setattr("channels.layers.get_channel_layer", lambda *a, **k: Broken())
    created = feed.do_create_post(alice, category="general", body="Toujours publié.")
    assert created.pk is not None
    assert "live fan-out failed: ConnectionError" in caplog.text
    assert "secret" not in caplog.text


@pytest.mark.parametrize("change", ["member_clear", "neighbourhood_remove", "neighbourhood_clear"])
def test_whichever_side_of_reads_nearby_is_changed_the_reader_stops_hearing_it(alice, nadia, change):
    token = token_for(nadia)
    neighbourhood = alice.neighbourhood

    def stop_reading():
        if change == "member_clear":
            nadia.reads_nearby.clear()
        elif change == "neighbourhood_remove":
            neighbourhood.nearby_readers.remove(nadia)
        else:  # post_clear carries no member ids: who read it must be noted before
            neighbourhood.nearby_readers.clear()

    async def scenario():
        comm = await opened(token)
        await database_sync_to_async(stop_reading)()
        await nothing_until_marker(comm, nadia.id)  # after the re-join, on the same channel
        await post(alice, audience="nearby")
        await nothing_until_marker(comm, nadia.id)
        await comm.disconnect()

    run(scenario)


def test_a_reader_added_from_the_neighbourhoods_side_starts_hearing_it(alice, nearby):
    from entraide.accounts.factories import MemberFactory

    karim = MemberFactory(neighbourhood=nearby, verified=True)
    token = token_for(karim)

    async def scenario():
        comm = await opened(token)
        await database_sync_to_async(alice.neighbourhood.nearby_readers.add)(karim)
        await nothing_until_marker(comm, karim.id)
        shared = await post(alice, audience="nearby")
        assert (await frame(comm))["data"]["post_id"] == shared.id
        await comm.disconnect()

    run(scenario)
