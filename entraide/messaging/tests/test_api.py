"""The conversations API: answers and their schemas, bad input and its codes, who gets a 404."""
from __future__ import annotations

import pytest
from django.test import Client

from entraide.accounts.factories import MemberFactory
from entraide.aid import actions as aid
from entraide.aid.factories import HelpOfferFactory
from entraide.messaging import actions
from entraide.messaging.models import Block, Conversation, Message, MessageReport

from .conftest import Api, error, ok, picture, window

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_alice(alice):
    return Api(alice)


@pytest.fixture
def as_bob(bob):
    return Api(bob)


@pytest.fixture
def chat(as_alice, bob):
    return ok(as_alice.post("/conversations", {"participant_id": bob.id}), 201)


def test_starting_a_conversation_answers_201_then_200_with_the_same_one(as_alice, as_bob, alice, bob):
    first = ok(as_alice.post("/conversations", {"participant_id": bob.id}), 201)
    assert first["kind"] == "direct" and first["request_id"] is None
    assert first["other"] == {"id": bob.id, "name": "Bruno L."}
    assert first["last_message"] is None and first["unread_count"] == 0
    again = ok(as_bob.post("/conversations", {"participant_id": alice.id}), 200)
    assert again["id"] == first["id"] and again["other"] == {"id": alice.id, "name": "Alice M."}


@pytest.mark.parametrize("body", [{}, {"participant_id": None, "request_id": None}, {"participant_id": 1,
                                                                                     "request_id": 2}])
def test_a_start_needs_exactly_one_of_participant_or_request(as_alice, body):
    error(as_alice.post("/conversations", body), 422, "participant_or_request")
    assert not Conversation.objects.exists()


def test_a_start_with_malformed_json_or_wrong_types_is_refused(as_alice):
    error(as_alice.post("/conversations", raw='{"participant_id": '), 400, "bad_request")
    error(as_alice.post("/conversations", {"participant_id": "someone"}), 422, "invalid_input")


def test_a_start_towards_a_far_or_unknown_member_is_a_404(as_alice, zoe):
    error(as_alice.post("/conversations", {"participant_id": zoe.id}), 404, "not_found")
    error(as_alice.post("/conversations", {"participant_id": 999_999}), 404, "not_found")


def test_an_unverified_member_gets_403_with_its_code(pending, bob):
    error(Api(pending).post("/conversations", {"participant_id": bob.id}), 403, "verification_required")


def test_a_blocked_pair_cannot_start(as_alice, alice, bob):
    ok(Api(bob).post(f"/members/{alice.id}/block"), 204)
    error(as_alice.post("/conversations", {"participant_id": bob.id}), 403, "blocked")


def test_without_authentication_everything_is_a_401(chat):
    anonymous = Client()
    for method, path in (("get", "/conversations"), ("post", "/conversations"),
                         ("get", f"/conversations/{chat['id']}/messages"),
                         ("post", f"/conversations/{chat['id']}/messages"),
                         ("post", f"/conversations/{chat['id']}/read")):
        response = getattr(anonymous, method)("/api/v1" + path)
        error(response, 401, "not_authenticated")


def test_writing_and_reading_messages(as_alice, as_bob, alice, bob, chat):
    sent = ok(as_alice.post(f"/conversations/{chat['id']}/messages", {"body": "Bonjour Bruno"}), 201)
    assert sent["author"] == {"id": alice.id, "name": "Alice M."} and sent["mine"] is True
    assert sent["conversation_id"] == chat["id"] and sent["images"] == [] and sent["body"] == "Bonjour Bruno"
    listed = ok(as_bob.get(f"/conversations/{chat['id']}/messages"))
    assert [(m["id"], m["mine"]) for m in listed["items"]] == [(sent["id"], False)] and listed["next_cursor"] is None
    inbox = ok(as_bob.get("/conversations"))
    [line] = inbox["items"]
    assert line["unread_count"] == 1 and inbox["next_cursor"] is None
    assert line["last_message"] == {"id": sent["id"], "author": {"id": alice.id, "name": "Alice M."},
                                    "preview": "Bonjour Bruno", "mine": False}
    read = ok(as_bob.post(f"/conversations/{chat['id']}/read"))
    assert read == {"conversation_id": chat["id"], "last_read_message_id": sent["id"], "unread_count": 0,
                    "unread_total": 0}


def test_messages_are_cursor_paginated_oldest_first_and_stable_under_inserts(as_alice, alice, chat):
    ids = [actions.do_send_message(alice, chat["id"], f"m{i}").id for i in range(5)]
    first = ok(as_alice.get(f"/conversations/{chat['id']}/messages", {"limit": 2}))
    assert [m["id"] for m in first["items"]] == ids[3:]
    actions.do_send_message(alice, chat["id"], "nouveau")
    second = ok(as_alice.get(f"/conversations/{chat['id']}/messages", {"limit": 2, "cursor": first["next_cursor"]}))
    assert [m["id"] for m in second["items"]] == ids[1:3]
    third = ok(as_alice.get(f"/conversations/{chat['id']}/messages", {"limit": 2, "cursor": second["next_cursor"]}))
    assert [m["id"] for m in third["items"]] == ids[:1] and third["next_cursor"] is None
    after = ok(as_alice.get(f"/conversations/{chat['id']}/messages", {"after": ids[3]}))
    assert [m["body"] for m in after["items"]] == ["m4", "nouveau"]
    error(as_alice.get(f"/conversations/{chat['id']}/messages", {"cursor": "not-a-cursor"}), 422, "invalid_cursor")


def test_a_non_participant_gets_404_on_read_send_and_read_mark(chat, neighbourhood, alice):
    actions.do_send_message(alice, chat["id"], "Privé")
    outsider = Api(MemberFactory(neighbourhood=neighbourhood, verified=True))
    error(outsider.get(f"/conversations/{chat['id']}/messages"), 404, "not_found")
    error(outsider.post(f"/conversations/{chat['id']}/messages", {"body": "Coucou"}), 404, "not_found")
    error(outsider.post(f"/conversations/{chat['id']}/read"), 404, "not_found")
    error(outsider.post("/conversations/999999/messages", {"body": "Coucou"}), 404, "not_found")
    assert ok(outsider.get("/conversations"))["items"] == []
    assert Message.objects.count() == 1


def test_bad_message_bodies_get_their_codes(as_alice, chat, settings):
    error(as_alice.post(f"/conversations/{chat['id']}/messages", {"body": "   "}), 422, "empty_body")
    settings.ENTRAIDE_MESSAGE_MAX_CHARS = 20
    body = error(as_alice.post(f"/conversations/{chat['id']}/messages", {"body": "x" * 21}), 422, "body_too_long")
    assert "body" in body["fields"]
    error(as_alice.post(f"/conversations/{chat['id']}/messages", {}), 422, "invalid_input")
    error(as_alice.post(f"/conversations/{chat['id']}/messages", raw="{nope"), 400, "bad_request")
    assert not Message.objects.exists()


def test_a_message_flood_answers_429_with_retry_after(as_alice, chat):
    for i in range(actions.MESSAGE_LIMITS[0][0]):
        ok(as_alice.post(f"/conversations/{chat['id']}/messages", {"body": f"spam {i}"}), 201)
    response = as_alice.post(f"/conversations/{chat['id']}/messages", {"body": "encore"})
    error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_a_blocked_member_cannot_send_and_unblocking_restores_it(as_alice, as_bob, alice, bob, chat):
    ok(as_bob.post(f"/members/{alice.id}/block"), 204)
    assert Block.objects.filter(blocker=bob, blocked=alice).exists()
    error(as_alice.post(f"/conversations/{chat['id']}/messages", {"body": "Salut"}), 403, "blocked")
    ok(as_bob.delete(f"/members/{alice.id}/block"), 204)
    ok(as_alice.post(f"/conversations/{chat['id']}/messages", {"body": "Salut"}), 201)
    error(as_bob.post(f"/members/{bob.id}/block"), 422, "cannot_block_self")
    error(as_bob.post("/members/999999/block"), 404, "not_found")


def test_reporting_a_message(as_alice, as_bob, alice, chat):
    message = actions.do_send_message(alice, chat["id"], "Vilain message")
    report = ok(as_bob.post(f"/messages/{message.id}/report", {"reason": "Menaçant"}), 201)
    assert report["message_id"] == message.id and report["status"] == "open"
    assert MessageReport.objects.get().reason == "Menaçant"
    error(as_alice.post(f"/messages/{message.id}/report"), 422, "own_message")
    error(as_bob.post("/messages/999999/report"), 404, "not_found")


def test_a_request_conversation_through_the_api(alice, bob, neighbourhood):
    HelpOfferFactory(helper=bob, types=["groceries"])
    req = aid.do_create_request(alice, type="groceries", description="Courses", **window())
    error(Api(alice).post("/conversations", {"request_id": req.id}), 409, "not_matched")
    aid.do_accept(bob, req.id)
    started = ok(Api(bob).post("/conversations", {"request_id": req.id}), 201)
    assert started["kind"] == "request" and started["request_id"] == req.id
    assert started["other"] == {"id": alice.id, "name": "Alice M."}
    assert ok(Api(alice).post("/conversations", {"request_id": req.id}), 200)["id"] == started["id"]
    error(Api(alice).post("/conversations", {"request_id": 999_999}), 404, "not_found")


def test_a_helper_asked_but_beaten_to_it_is_not_involved(alice, bob, neighbourhood, settings):
    settings.ENTRAIDE_AID_NOTIFY_FIRST = 2
    carla = MemberFactory(neighbourhood=neighbourhood, verified=True)
    HelpOfferFactory(helper=bob, types=["groceries"])
    HelpOfferFactory(helper=carla, types=["groceries"])
    req = aid.do_create_request(alice, type="groceries", description="Courses", **window())
    aid.do_accept(bob, req.id)
    error(Api(carla).post("/conversations", {"request_id": req.id}), 403, "not_involved")


def test_a_message_picture_is_served_to_participants_only(alice, bob, chat, neighbourhood, media_root):
    message = actions.do_send_message(alice, chat["id"], "Photo", images=[picture()])
    [view] = ok(Api(bob).get(f"/conversations/{chat['id']}/messages"))["items"]
    [image] = view["images"]
    assert (image["width"], image["height"]) == (64, 48)
    response = Api(bob).client.get(image["url"], headers=Api(bob).headers)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, max-age=3600"
    outsider = Api(MemberFactory(neighbourhood=neighbourhood, verified=True))
    error(outsider.client.get(image["url"], headers=outsider.headers), 404, "not_found")
    assert message.images.count() == 1


def test_a_message_with_a_picture_through_the_api(as_alice, bob, chat, neighbourhood, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/api/v1/conversations/{chat['id']}/messages/with-picture"
    sent = ok(as_alice.client.post(url, {"body": "Le colis", "image": picture()}, headers=as_alice.headers), 201)
    assert sent["body"] == "Le colis" and [(i["width"], i["height"]) for i in sent["images"]] == [(64, 48)]
    [seen] = ok(Api(bob).get(f"/conversations/{chat['id']}/messages"))["items"]
    assert seen["id"] == sent["id"] and len(seen["images"]) == 1
    # Not a picture: refused with the feed's code, and nothing written.
    fake = SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg")
    error(as_alice.client.post(url, {"body": "Encore", "image": fake}, headers=as_alice.headers), 422,
          "invalid_image")
    outsider = Api(MemberFactory(neighbourhood=neighbourhood, verified=True))
    error(outsider.client.post(url, {"body": "Moi aussi", "image": picture()}, headers=outsider.headers), 404,
          "not_found")
    assert Message.objects.count() == 1


def test_every_endpoint_is_documented_with_its_schemas(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    expected = {"/api/v1/conversations": {"get", "post"},
                "/api/v1/conversations/{conversation_id}/messages": {"get", "post"},
                "/api/v1/conversations/{conversation_id}/messages/with-picture": {"post"},
                "/api/v1/conversations/{conversation_id}/read": {"post"},
                "/api/v1/members/{member_id}/block": {"post", "delete"},
                "/api/v1/messages/{message_id}/report": {"post"},
                "/api/v1/message-images/{image_id}": {"get"}}
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            responses = paths[path][method]["responses"]
            assert {"401", "404", "422", "429"} <= set(responses), (path, method)
    components = schema["components"]["schemas"]
    assert {"MessageOut", "MessagesOut", "ConversationOut", "ConversationsOut", "ConversationIn", "MessageIn",
            "ReadOut", "ReportOut"} <= set(components)
    assert set(components["MessageOut"]["properties"]) == {"id", "conversation_id", "author", "body", "created_at",
                                                           "images", "mine"}
    assert components["ConversationOut"]["properties"]["kind"]["enum"] == ["direct", "request"]


@pytest.mark.parametrize("path", ["/conversations/{big}/messages", "/conversations/{big}/read",
                                  "/messages/{big}/report", "/members/{big}/block"])
def test_a_huge_id_in_a_path_is_a_404_with_its_code(as_alice, path):
    big = 10 ** 30
    error(as_alice.post(path.format(big=big), {"body": "x"} if "messages" in path else None), 404, "not_found")


def test_a_huge_id_in_a_read_is_a_404_and_unblocking_one_too(as_alice):
    error(as_alice.get(f"/conversations/{10 ** 30}/messages"), 404, "not_found")
    error(as_alice.delete(f"/members/{10 ** 30}/block"), 404, "not_found")
