"""`GET /api/v1/feed` with a token reads the reader's scope in the token's own query on PostgreSQL (feed/api.py,
queries.py scope_prefetch_request): what it saves is a round trip, never a check. On SQLite the two queries stay (a
query is no round trip there); every behaviour below holds on both. Transactional, as test_page_cache.py: the page
cache is off inside a transaction. The readers kept in memory on PostgreSQL (reader_cache.py, test_reader_cache.py)
are off here: these tests are about the query that fills them.
"""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from entraide.accounts.actions import do_update_profile
from entraide.accounts.factories import MemberFactory
from entraide.accounts.models import ApiToken, Member
from entraide.accounts.queries import token_lookup
from entraide.feed import actions, queries
from entraide.feed.page_sql import parse_scope_versions, scope_versions, scope_versions_of

from .test_api import Api, error
from .test_page_cache import page_queries, per_cached_page

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def reader_cache_off(settings):
    settings.ENTRAIDE_READER_CACHE = False


@pytest.fixture(autouse=True)
def users_without_profiles():
    """Accounts with no member row first, so that user ids and member ids differ: the SQL must not mix them up."""
    for n in range(3):
        get_user_model().objects.create_user(username=f"sans-profil-{n}", email=f"sans-profil-{n}@example.org")


def prefetched(captured) -> int:
    """The statements that read a scope inside the token's query (page_sql.scope_versions_of)."""
    return sum("CAST(kind AS TEXT)" in q["sql"] for q in captured.captured_queries)


def items(api: Api, **params) -> list[tuple[int, bool]]:
    response = api.get("/feed", params)
    assert response.status_code == 200, response.content
    return [(i["id"], i["thanked_by_me"]) for i in response.json()["items"]]


def test_a_second_read_through_the_api_runs_no_page_query_and_on_postgresql_only_the_tokens(alice, bob):
    post = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    actions.do_thank_post(bob, post.id)
    api = Api(bob)
    assert items(api) == [(post.id, True)]  # fills the cache, and marks the token used
    with CaptureQueriesContext(connection) as captured:
        assert items(api) == [(post.id, True)]
    # PostgreSQL: the token, with bob's scope, its clocks and his thanks among his last page's posts.
    assert len(captured) == per_cached_page()
    assert page_queries(captured) == 0


def test_the_thanks_read_with_a_token_are_its_holders(alice, bob, home):
    carol = MemberFactory(neighbourhood=home, verified=True)
    post = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    actions.do_thank_post(bob, post.id)
    bobs, carols = Api(bob), Api(carol)
    reads = []
    for _round in range(2):  # bob's first read fills the cache; the others are served from it
        for api, expected in ((bobs, [(post.id, True)]), (carols, [(post.id, False)])):
            with CaptureQueriesContext(connection) as captured:
                assert items(api) == expected
            reads.append(page_queries(captured))
    assert reads == [1, 0, 0, 0]


def test_a_category_page_is_prefetched_under_its_own_reader(alice, bob):
    advice = actions.do_create_post(alice, category="advice", body="Aérez le matin")
    general = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    api = Api(bob)
    assert [i for i, _t in items(api)] == [general.id, advice.id]
    assert [i for i, _t in items(api, category="advice")] == [advice.id]
    with CaptureQueriesContext(connection) as captured:
        assert [i for i, _t in items(api, category="advice")] == [advice.id]
        assert [i for i, _t in items(api)] == [general.id, advice.id]
    assert len(captured) == 2 * per_cached_page() and page_queries(captured) == 0


def test_a_deleted_token_is_refused_even_with_its_page_kept(alice, bob):
    actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    api = Api(bob)
    assert api.get("/feed").status_code == 200
    ApiToken.objects.filter(user=bob.user).delete()
    error(api.get("/feed"), 401, "not_authenticated")


def test_a_deactivated_account_is_refused(alice, bob):
    api = Api(bob)
    assert api.get("/feed").status_code == 200
    get_user_model().objects.filter(pk=bob.user_id).update(is_active=False)
    error(api.get("/feed"), 401, "not_authenticated")


def test_a_member_who_moved_reads_their_new_neighbourhood_at_once(alice, bob, nadia, nearby):
    ours = actions.do_create_post(alice, category="general", body="À Saint-Gervais")
    theirs = actions.do_create_post(nadia, category="general", body="À Saint-Merri")
    api = Api(bob)
    assert items(api) == [(ours.id, False)]
    Member.objects.filter(pk=bob.pk).update(neighbourhood=nearby)
    assert items(api) == [(theirs.id, False)]


def test_a_nearby_choice_stops_counting_once_the_member_moved_away_from_it(alice, nadia, nearby, far):
    theirs = actions.do_create_post(nadia, category="general", body="Fête à Saint-Merri", audience="nearby")
    do_update_profile(alice, reads_nearby=[nearby.id])
    api = Api(alice)
    assert items(api) == [(theirs.id, False)]
    assert items(api) == [(theirs.id, False)]  # served from the cache, the scope read with the token
    Member.objects.filter(pk=alice.pk).update(neighbourhood=far)  # Combat is not next to Saint-Merri
    assert items(api) == []


def test_the_token_decides_whose_feed_it_is_whatever_the_session(alice, bob, home):
    carol = MemberFactory(neighbourhood=home, verified=True)
    post = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    actions.do_thank_post(carol, post.id)
    api = Api(bob)
    api.client.force_login(carol.user)
    for _twice in range(2):
        assert items(api) == [(post.id, False)]  # bob's thanks, not carol's


def test_a_nearby_choice_withdrawn_is_no_longer_read(alice, nadia, nearby):
    theirs = actions.do_create_post(nadia, category="general", body="Fête à Saint-Merri", audience="nearby")
    do_update_profile(alice, reads_nearby=[nearby.id])
    api = Api(alice)
    assert items(api) == [(theirs.id, False)]
    do_update_profile(alice, reads_nearby=[])
    assert items(api) == []


def test_an_account_without_a_profile_is_refused(bob):
    api = Api(bob)
    Member.objects.filter(pk=bob.pk).delete()
    error(api.get("/feed"), 403, "no_profile")


def test_odd_query_strings_read_their_scope_themselves(alice, bob):
    post = actions.do_create_post(alice, category="general", body="Qui a une échelle ?", tags=["vélo"])
    api = Api(bob)
    for params in ({"tag": "vélo"}, {"limit": 7}, {"cursor": queries.encode_cursor(post.created_at, post.id + 1)}):
        for _twice in range(2):
            with CaptureQueriesContext(connection) as captured:
                assert items(api, **params) == [(post.id, False)], params
            assert prefetched(captured) == 0, params
    assert items(api, scope="home") == [(post.id, False)]
    error(api.get("/feed", {"scope": "everywhere"}), 422, "invalid_input")
    error(api.get("/feed", {"category": "money"}), 422, "invalid_category")


def test_the_scope_read_with_the_token_is_the_scope_read_alone(alice, nadia, home, nearby):
    """scope_versions_of (inside the token's query) answers what scope_versions answers."""
    other = home.nearby.exclude(pk=nearby.pk).first()
    do_update_profile(alice, reads_nearby=[nearby.id, other.id])
    posts = [actions.do_create_post(nadia, category="general", body=f"Message {n}", audience="nearby").id
             for n in range(3)]
    actions.do_thank_post(alice, posts[1])
    token = Api(alice).headers["Authorization"].split()[1]
    user, text = token_lookup(token, scope_versions_of("m.id", "m.neighbourhood_id", posts))
    assert user.member.pk == alice.pk
    expected = scope_versions(alice, posts)
    assert parse_scope_versions(text, alice.neighbourhood_id) == expected
    assert expected[0][0][0] == home.id and {n for n, _v in expected[0]} == {home.id, nearby.id, other.id}
    assert expected[1] == {posts[1]}


def test_a_prefetch_for_someone_else_is_not_used(alice, bob, home):
    """feed_rows takes a prefetched scope only for its own reader: never another member's neighbourhoods."""
    far_reader = MemberFactory(neighbourhood=home.nearby.first(), verified=True)
    mine = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    theirs = actions.do_create_post(far_reader, category="general", body="Ailleurs")
    readable, thanked = scope_versions(far_reader)
    foreign = queries.ScopePrefetch(far_reader.id, (bob.id, "all", None), None, readable, thanked)
    rows = queries.feed_rows(bob, prefetched=foreign).rows
    assert [r[0] for r in rows] == [mine.id] and theirs.id not in [r[0] for r in rows]
