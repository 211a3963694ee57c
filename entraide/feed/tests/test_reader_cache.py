"""On PostgreSQL each process keeps the feed's token readers and the feed clocks in memory, and forgets what changes
as PostgreSQL announces it (feed/reader_cache.py, core/changes.py). What it saves is the one query of a cached page;
every change must still take effect on the next request once it has been heard.

A notification arrives shortly after its commit, not at once: `heard` makes each request first wait for every
notification committed before it (listener.sync, a barrier), so that these tests do not depend on timing.
Transactional: notifications are sent at commit only, and the page cache is off inside a transaction.
"""
from __future__ import annotations

import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from entraide.accounts.actions import do_update_profile
from entraide.accounts.factories import MemberFactory
from entraide.accounts.models import ApiToken, Member
from entraide.core.changes import listener
from entraide.feed import actions, reader_cache
from entraide.feed.models import FeedClock, Thanks
from entraide.places.models import Neighbourhood

from .test_api import Api, error
from .test_page_cache import page_queries

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def heard(monkeypatch, settings):
    settings.ENTRAIDE_READER_CACHE = True
    monkeypatch.setattr(listener, "in_step", listener.sync)


def items(api: Api, **params) -> list[tuple[int, bool]]:
    response = api.get("/feed", params)
    assert response.status_code == 200, response.content
    return [(i["id"], i["thanked_by_me"]) for i in response.json()["items"]]


def read(api: Api, **params) -> tuple[list[tuple[int, bool]], int, int]:
    """The page, the queries it cost and how many of them read posts."""
    with CaptureQueriesContext(connection) as captured:
        page = items(api, **params)
    return page, len(captured), page_queries(captured)


def test_a_kept_reader_reads_a_kept_page_without_any_query(alice, bob):
    post = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    actions.do_thank_post(bob, post.id)
    api = Api(bob)
    assert read(api)[0] == [(post.id, True)]  # the token's query, then the page's
    assert read(api) == ([(post.id, True)], 0, 0)


def test_each_token_holder_keeps_their_own_thanks(alice, bob, home):
    carol = MemberFactory(neighbourhood=home, verified=True)
    post = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    actions.do_thank_post(bob, post.id)
    bobs, carols = Api(bob), Api(carol)
    for _round in range(2):
        assert items(bobs) == [(post.id, True)]
        assert items(carols) == [(post.id, False)]
    assert read(bobs) == ([(post.id, True)], 0, 0)
    assert read(carols) == ([(post.id, False)], 0, 0)


def test_a_new_post_shows_on_the_next_read_without_reading_the_token_again(alice, bob):
    first = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    api = Api(bob)
    items(api)
    second = actions.do_create_post(alice, category="general", body="Et une perceuse ?")  # moves the clock
    page, queries, page_reads = read(api)
    assert [i for i, _t in page] == [second.id, first.id]
    assert (queries, page_reads) == (1, 1)  # the page only: the token and the scope were kept


def test_thanks_given_through_another_request_show_at_once(alice, bob):
    post = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    api = Api(bob)
    items(api), items(api)
    actions.do_thank_post(bob, post.id)  # as another process would: only its notifications tell this one
    assert items(api) == [(post.id, True)]
    assert read(api)[1] == 0
    Thanks.objects.filter(member=bob).delete()  # no count, no clock moved: only the thanks' own notification
    assert items(api) == [(post.id, False)]


def test_a_deleted_token_is_refused_on_the_next_read(alice, bob):
    actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    api = Api(bob)
    items(api), items(api)
    ApiToken.objects.filter(user=bob.user).delete()
    error(api.get("/feed"), 401, "not_authenticated")


def test_a_deactivated_account_is_refused_on_the_next_read(alice, bob):
    api = Api(bob)
    items(api), items(api)
    get_user_model().objects.filter(pk=bob.user_id).update(is_active=False)
    error(api.get("/feed"), 401, "not_authenticated")


def test_a_member_who_moved_reads_their_new_neighbourhood_on_the_next_read(alice, bob, nadia, nearby):
    ours = actions.do_create_post(alice, category="general", body="À Saint-Gervais")
    theirs = actions.do_create_post(nadia, category="general", body="À Saint-Merri")
    api = Api(bob)
    items(api), items(api)
    Member.objects.filter(pk=bob.pk).update(neighbourhood=nearby)
    assert items(api) == [(theirs.id, False)]
    assert ours.id not in [i for i, _t in items(api)]


def test_a_withdrawn_nearby_choice_stops_counting_on_the_next_read(alice, bob, nadia, nearby):
    theirs = actions.do_create_post(nadia, category="general", body="Fête à Saint-Merri", audience="nearby")
    do_update_profile(bob, reads_nearby=[nearby.id])
    api = Api(bob)
    assert items(api) == [(theirs.id, False)]
    assert read(api)[1] == 0
    do_update_profile(Member.objects.get(pk=bob.pk), reads_nearby=[])
    assert items(api) == []


def test_neighbourhoods_no_longer_adjacent_stop_counting_on_the_next_read(bob, nadia, home, nearby):
    theirs = actions.do_create_post(nadia, category="general", body="Fête à Saint-Merri", audience="nearby")
    do_update_profile(bob, reads_nearby=[nearby.id])
    api = Api(bob)
    items(api), items(api)
    Neighbourhood.nearby.through.objects.filter(from_neighbourhood=home, to_neighbourhood=nearby).delete()
    assert theirs.id not in [i for i, _t in items(api)]


def test_a_lost_listener_makes_every_read_query_again_until_it_listens_again(alice, bob, monkeypatch):
    post = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    api = Api(bob)
    items(api), items(api)
    monkeypatch.delattr(listener, "in_step")  # no barrier: the plain poll of every request
    assert reader_cache._readers
    with connection.cursor() as cursor:  # as a restart of PostgreSQL would (waiting until the session has ended)
        cursor.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                       "WHERE application_name = 'entraide listener' AND datname = current_database()")
        assert cursor.fetchall() == [(True,)]
    ApiToken.objects.filter(user=bob.user).delete()  # unheard: nobody listens
    error(api.get("/feed"), 401, "not_authenticated")  # read from the database, not from memory
    assert reader_cache._readers == {}  # forgotten when the session's end was seen
    assert listener.sync()  # listening again (the thread reconnects)
    second = Api(bob)
    assert items(second) == [(post.id, False)]  # listening again: kept anew
    assert read(second) == ([(post.id, False)], 0, 0)


def test_inside_a_transaction_the_token_is_read_from_the_database(alice, bob):
    actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    api = Api(bob)
    items(api), items(api)
    with transaction.atomic():
        ApiToken.objects.filter(user=bob.user).delete()  # not committed, so not announced
        error(api.get("/feed"), 401, "not_authenticated")
        transaction.set_rollback(True)
    assert len(items(api)) == 1


def test_with_the_setting_off_every_read_runs_the_tokens_query(alice, bob, settings):
    actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    settings.ENTRAIDE_READER_CACHE = False
    api = Api(bob)
    items(api)
    assert read(api)[1:] == (1, 0)


def test_the_triggers_announce_each_kind_of_change(alice, bob, home, nearby):
    heard_payloads: list[str] = []
    listener.subscribe(heard_payloads.extend, lambda: None)
    try:
        listener.sync()
        Api(bob)  # a new token announces nothing: nobody can have kept it
        ApiToken.objects.filter(user=bob.user).delete()
        do_update_profile(alice, reads_nearby=[nearby.id])
        get_user_model().objects.filter(pk=bob.user_id).update(first_name="Bruno")
        post = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
        actions.do_thank_post(bob, post.id)
        Neighbourhood.nearby.through.objects.filter(from_neighbourhood=home, to_neighbourhood=nearby).delete()
        listener.sync()
    finally:
        listener._subscribers.pop()
    ours = [p for p in heard_payloads if not p.startswith("sync:")]
    assert ours[0] == f"u:{bob.user_id}"  # the token's deletion
    assert f"m:{alice.id}" in ours  # her nearby choice
    assert f"u:{bob.user_id}" in ours[1:]  # his account
    assert any(p.startswith(f"n:{home.id}:") for p in ours)  # the new post's clock
    assert f"m:{bob.id}" in ours  # his thanks
    assert ours[-1] == "*"  # adjacency


def test_a_query_read_before_a_change_was_heard_is_not_kept(alice, bob, monkeypatch):
    actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    api = Api(bob)
    mark = reader_cache.active()
    assert mark is not None
    reader_cache._on_payloads([f"u:{bob.user_id}"])  # heard while the request's query ran (another thread)
    with monkeypatch.context() as patched:
        patched.setattr(reader_cache, "active", lambda: mark)  # the request's mark, taken before
        items(api)
    assert read(api)[1:] == (1, 0)  # not kept: the token's query again (the page was)
    assert read(api)[1:] == (0, 0)


def test_payloads_that_are_not_its_own_are_ignored():
    reader_cache._on_payloads(["", "n:x:1", "u:", "m:abc", "hello", "sync:123"])
    assert reader_cache._readers == {}


def eventually(condition, seconds: float = 5.0) -> bool:
    """Whether `condition()` holds within `seconds` (for what the listener's thread does on its own)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_the_listeners_thread_hears_changes_while_no_request_comes(alice, bob):
    api = Api(bob)
    items(api), items(api)
    assert reader_cache._readers
    ApiToken.objects.filter(user=bob.user).delete()
    assert eventually(lambda: reader_cache._readers == {})  # no request: the thread read the notification


def test_a_session_that_stopped_listening_is_noticed_and_everything_forgotten(alice, bob):
    api = Api(bob)
    items(api), items(api)
    with listener._lock:
        listener._conn.execute("UNLISTEN *")  # as a pooler handing the session's questions to another would look
    assert eventually(lambda: reader_cache._readers == {})  # the heartbeat asked, and the listener started again
    assert listener.sync()


def test_a_deleted_clock_makes_the_process_forget_every_clock(alice, bob, home):
    actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    api = Api(bob)
    items(api), items(api)
    assert reader_cache._clocks
    FeedClock.objects.filter(neighbourhood_id=home.id).delete()  # a version that may start again lower
    listener.sync()
    assert reader_cache._clocks == {} and reader_cache._readers == {}


def test_without_its_triggers_the_process_does_not_listen(alice, bob, monkeypatch):
    actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    monkeypatch.delattr(listener, "in_step")  # the plain poll: a barrier would wait for a connection that never comes
    listener.close()
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER entraide_changes_thanks ON feed_thanks")
    try:
        api = Api(bob)
        assert not listener.sync(timeout=1)  # it would never hear of thanks: it does not listen at all
        items(api)
        assert read(api)[1:] == (1, 0)  # the token's query every time
    finally:
        listener.close()
        with connection.cursor() as cursor:
            for sql in reader_cache.trigger_statements():
                cursor.execute(sql)
    assert listener.sync()
