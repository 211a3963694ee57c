"""Who may open /ws/v1/events, and what happens to what a client sends."""
from __future__ import annotations

import json

import pytest

from .conftest import ORIGIN, communicator, frame, run, session_cookie, token_for

pytestmark = pytest.mark.django_db(transaction=True)

PING = json.dumps({"type": "ping"})


async def _opens_and_pongs(comm) -> None:
    connected, _ = await comm.connect()
    assert connected
    await comm.send_to(text_data=PING)
    assert await frame(comm) == {"type": "pong"}
    await comm.disconnect()


async def _refused(comm) -> tuple[dict, int]:
    """The error frame and the close code of a connection the server refuses."""
    connected, _ = await comm.connect()
    assert connected  # accepted only to say why
    error = await frame(comm)
    closing = await comm.receive_output(timeout=5)
    assert closing["type"] == "websocket.close"
    await comm.wait()
    return error, closing["code"]


def test_a_member_connects_with_the_session_cookie_of_a_page_of_the_site(alice):
    run(_opens_and_pongs, communicator(member=alice))


def test_a_member_connects_with_a_bearer_token_in_the_authorization_header_and_no_origin(alice):
    run(_opens_and_pongs, communicator(token=token_for(alice)))


def test_a_member_connects_with_the_token_query_parameter(alice):
    run(_opens_and_pongs, communicator(query=f"token={token_for(alice)}"))


def test_an_invalid_token_is_closed_with_4401_and_says_not_authenticated(alice):
    error, code = run(_refused, communicator(token="not-a-token"))
    assert code == 4401
    assert error == {"type": "error", "data": {"code": "not_authenticated"}}


def test_an_invalid_token_never_falls_back_to_the_session_cookie(alice):
    # Otherwise any site could add ?token=x to skip the origin check and ride on the visitor's cookie.
    headers = [(b"cookie", session_cookie(alice)), (b"origin", b"https://evil.example")]
    _, code = run(_refused, communicator(headers=headers, query="token=x"))
    assert code == 4401


def test_a_token_of_a_deactivated_account_is_refused(alice):
    token = token_for(alice)
    alice.user.is_active = False
    alice.user.save()
    _, code = run(_refused, communicator(token=token))
    assert code == 4401


def test_no_credentials_at_all_is_closed_with_4401(db):
    error, code = run(_refused, communicator(headers=[ORIGIN]))
    assert code == 4401
    assert error["data"]["code"] == "not_authenticated"


def test_a_user_without_a_member_profile_is_closed_with_4401(django_user_model):
    user = django_user_model.objects.create_user(username="staff", email="staff@example.org", password="x" * 12)
    from django.test import Client

    client = Client()
    client.force_login(user)
    headers = [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()), ORIGIN]
    _, code = run(_refused, communicator(headers=headers))
    assert code == 4401


def test_a_session_cookie_from_another_site_is_refused_with_4403(alice):
    # Cross-site WebSocket hijacking: a page elsewhere opening our WebSocket with the visitor's cookie.
    headers = [(b"cookie", session_cookie(alice)), (b"origin", b"https://evil.example")]
    error, code = run(_refused, communicator(headers=headers))
    assert code == 4403
    assert error["data"]["code"] == "bad_origin"


def test_a_session_cookie_without_any_origin_is_refused_with_4403(alice):
    headers = [(b"cookie", session_cookie(alice))]
    _, code = run(_refused, communicator(headers=headers))
    assert code == 4403


def test_the_origin_may_be_another_port_of_an_allowed_host(alice):
    # Redis mode: pages on :8000, WebSockets on :8001 of the same host.
    headers = [(b"cookie", session_cookie(alice)), (b"origin", b"http://localhost:8001")]
    run(_opens_and_pongs, communicator(headers=headers))


@pytest.mark.parametrize("bad", [
    {"text_data": "not json"},
    {"text_data": "[1, 2, 3]"},
    {"text_data": '"ping"'},
    {"text_data": '{"type": "subscribe", "group": "hood.1.all"}'},
    {"text_data": '{"no": "type"}'},
    {"text_data": json.dumps({"type": "ping", "pad": "x" * 10_000})},
    {"bytes_data": b"\x00\x01binary"},
    {"text_data": "[" * 3000},  # nests deeper than json recurses: a RecursionError, not a ValueError
])
def test_a_malformed_frame_is_answered_bad_frame_and_the_connection_is_kept(alice, bad):
    comm = communicator(token=token_for(alice))

    async def scenario():
        assert (await comm.connect())[0]
        await comm.send_to(**bad)
        assert await frame(comm) == {"type": "error", "data": {"code": "bad_frame"}}
        await comm.send_to(text_data=PING)  # still open, still answering
        assert await frame(comm) == {"type": "pong"}
        await comm.disconnect()

    run(scenario)


def test_an_unknown_path_is_not_a_websocket_endpoint(alice):
    from channels.testing import WebsocketCommunicator

    from entraide.asgi import application

    async def scenario():
        comm = WebsocketCommunicator(application, "/ws/v1/other", headers=[ORIGIN])
        with pytest.raises(ValueError):  # URLRouter: no route found
            await comm.connect()

    run(scenario)


def test_a_session_of_a_deactivated_account_is_refused(alice):
    cookie = session_cookie(alice)
    alice.user.is_active = False
    alice.user.save()
    _, code = run(_refused, communicator(headers=[(b"cookie", cookie), ORIGIN]))
    assert code == 4401


def test_a_wildcard_in_allowed_hosts_does_not_make_every_site_an_origin_of_ours(alice, settings):
    settings.ALLOWED_HOSTS = ["*"]
    headers = [(b"cookie", session_cookie(alice)), (b"host", b"entraide.example.org"),
               (b"origin", b"https://evil.example")]
    _, code = run(_refused, communicator(headers=headers))
    assert code == 4403


def test_with_a_wildcard_the_host_connected_to_is_still_an_origin_of_ours_on_any_port(alice, settings):
    settings.ALLOWED_HOSTS = ["*"]
    headers = [(b"cookie", session_cookie(alice)), (b"host", b"entraide.example.org:8001"),
               (b"origin", b"https://entraide.example.org")]
    run(_opens_and_pongs, communicator(headers=headers))


def test_an_origin_of_csrf_trusted_origins_may_use_the_session(alice, settings):
    # Pages on www., WebSockets behind the proxy on live.: the operator trusts the pages' origin.
    settings.ALLOWED_HOSTS = ["live.example.org"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.example.org"]
    headers = [(b"cookie", session_cookie(alice)), (b"host", b"live.example.org"),
               (b"origin", b"https://www.example.org")]
    run(_opens_and_pongs, communicator(headers=headers))
    settings.CSRF_TRUSTED_ORIGINS = ["https://www.example.org"]
    headers[2] = (b"origin", b"https://www.example.org.evil.example")
    _, code = run(_refused, communicator(headers=headers))
    assert code == 4403


def test_a_flood_of_frames_is_answered_up_to_the_budget_then_dropped_and_the_connection_is_kept(alice, monkeypatch):
    from entraide.live import consumers

    burst, over = consumers.FRAME_BURST, 30
    calls = []

    def clock():  # time stands still while the client floods (one reading at connect, one per frame), then moves
        calls.append(None)
        return 0.0 if len(calls) <= 1 + burst + over else 1000.0

    monkeypatch.setattr(consumers, "clock", clock)
    comm = communicator(token=token_for(alice))

    async def scenario():
        assert (await comm.connect())[0]
        for _ in range(burst + over):
            await comm.send_to(text_data=PING)
        await comm.send_to(text_data="not json")  # read once time has moved: the budget has refilled
        for _ in range(burst):
            assert await frame(comm) == {"type": "pong"}
        # The next answer is to the last frame: the pings over budget got none, and the connection is still open.
        assert await frame(comm) == {"type": "error", "data": {"code": "bad_frame"}}
        await comm.disconnect()

    run(scenario)


def test_frames_make_no_database_query(alice, monkeypatch, django_assert_max_num_queries):
    from entraide.live import consumers

    monkeypatch.setattr(consumers, "FRAME_BURST", 1000)
    comm = communicator(token=token_for(alice))

    async def scenario():
        assert (await comm.connect())[0]
        for _ in range(50):
            await comm.send_to(text_data="not json")
        for _ in range(50):
            assert (await frame(comm))["data"] == {"code": "bad_frame"}
        await comm.disconnect()

    with django_assert_max_num_queries(10):  # connecting reads the token and the groups; the frames nothing
        run(scenario)


def test_an_open_connection_of_an_account_deactivated_since_is_closed_with_4401_at_its_next_rejoin(alice):
    from channels.db import database_sync_to_async

    from entraide.live import fanout

    comm = communicator(token=token_for(alice))

    def deactivate():
        alice.user.is_active = False
        alice.user.save()

    async def scenario():
        assert (await comm.connect())[0]
        await database_sync_to_async(deactivate)()
        await database_sync_to_async(fanout.rejoin)(alice.id)
        assert await frame(comm) == {"type": "error", "data": {"code": "not_authenticated"}}
        closing = await comm.receive_output(timeout=5)
        assert closing["type"] == "websocket.close" and closing["code"] == 4401
        await comm.wait()

    run(scenario)
