"""Feed pages kept in memory (feed/page_cache.py) never show a feed as it was, only as it is.

Transactional tests: the cache is off inside a transaction (a test's usual one included), so these commit for real,
as a server does, and read the feed through the API twice or more, the first read filling the cache.
"""
from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from entraide.accounts.actions import do_update_profile
from entraide.accounts.factories import MemberFactory
from entraide.accounts.models import Member
from entraide.core.changes import listener
from entraide.feed import actions, page_cache, queries
from entraide.feed.models import Crisis, FeedClock, Post, PostImage
from entraide.places.models import Neighbourhood

from .test_api import Api

pytestmark = pytest.mark.django_db(transaction=True)


def feed(member, **params) -> list[dict]:
    response = Api(member).get("/feed", params)
    assert response.status_code == 200, response.content
    return response.json()["items"]


def item(member, post_id: int) -> dict | None:
    return next((i for i in feed(member) if i["id"] == post_id), None)


def version(neighbourhood_id: int) -> int:
    clock = FeedClock.objects.filter(neighbourhood_id=neighbourhood_id).first()
    return clock.version if clock else 0


def test_a_second_read_of_the_same_page_does_not_run_the_page_query(alice, bob):
    actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    first = queries.feed_page(bob)
    with CaptureQueriesContext(connection) as captured:
        second = queries.feed_page(bob)
    assert [p.id for p in second.items] == [p.id for p in first.items]
    assert len(captured) == 1  # the scope with its clocks and bob's thanks among the posts of his last page
    assert page_queries(captured) == 0


def test_thanks_that_come_with_the_scope_are_the_readers_own(alice, bob, home):
    carol = MemberFactory(neighbourhood=home, verified=True)
    thanked = actions.do_create_post(alice, category="general", body="Merci pour les courses !")
    other = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    actions.do_thank_post(bob, thanked.id)
    actions.do_thank_post(carol, other.id)
    queries.feed_page(bob)
    queries.feed_page(carol)
    for reader, mine in ((bob, thanked.id), (carol, other.id)):
        with CaptureQueriesContext(connection) as captured:
            page = queries.feed_page(reader)
        assert len(captured) == 1
        assert {p.id: p.thanked_by_me for p in page.items} == {post: post == mine for post in (thanked.id, other.id)}


def test_a_reader_served_a_page_kept_for_someone_else_gets_their_thanks_in_a_second_query(alice, bob, home):
    carol = MemberFactory(neighbourhood=home, verified=True)
    post = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    actions.do_thank_post(bob, post.id)
    queries.feed_page(carol)  # keeps the page
    with CaptureQueriesContext(connection) as captured:
        page = queries.feed_page(bob)
    assert [(p.id, p.thanked_by_me) for p in page.items] == [(post.id, True)]
    assert len(captured) == 2 and page_queries(captured) == 0


def test_thanks_read_with_the_scope_are_never_those_of_another_page(alice, bob, nadia, home, nearby):
    """Bob's last page was his home's alone; he reads Saint-Merri again, whose page with his home Carol keeps."""
    theirs = actions.do_create_post(nadia, category="general", body="Fête à Saint-Merri", audience="nearby")
    ours = actions.do_create_post(alice, category="general", body="Fête à Saint-Gervais")
    do_update_profile(bob, reads_nearby=[nearby.id])
    actions.do_thank_post(bob, theirs.id)
    do_update_profile(bob, reads_nearby=[])
    assert [(i["id"], i["thanked_by_me"]) for i in feed(bob)] == [(ours.id, False)]
    carol = MemberFactory(neighbourhood=home, verified=True)
    do_update_profile(carol, reads_nearby=[nearby.id])
    assert {i["id"] for i in feed(carol)} == {theirs.id, ours.id}  # keeps the page of both
    do_update_profile(bob, reads_nearby=[nearby.id])
    with CaptureQueriesContext(connection) as captured:
        items = feed(bob)
    assert page_queries(captured) == 0
    assert {i["id"]: i["thanked_by_me"] for i in items} == {theirs.id: True, ours.id: False}


def test_every_reader_of_a_cached_page_gets_their_own_thanks(alice, bob, home):
    carol = MemberFactory(neighbourhood=home, verified=True)
    post = actions.do_create_post(alice, category="general", body="Merci pour les courses !")
    assert item(bob, post.id)["thanked_by_me"] is False
    actions.do_thank_post(carol, post.id)
    assert item(carol, post.id)["thanked_by_me"] is True
    assert item(bob, post.id)["thanked_by_me"] is False
    assert item(bob, post.id)["thanks_count"] == 1


def test_a_comment_counts_at_once_on_a_cached_page(alice, bob):
    post = actions.do_create_post(alice, category="advice", body="Où trouver des masques ?")
    assert item(bob, post.id)["comment_count"] == 0
    actions.do_create_comment(alice, post.id, body="À la pharmacie de la rue Vieille-du-Temple")
    assert item(bob, post.id)["comment_count"] == 1


def test_an_edit_and_a_deletion_show_at_once(alice, bob):
    post = actions.do_create_post(alice, category="general", body="Vide-grenier samedi")
    assert item(bob, post.id)["body"] == "Vide-grenier samedi"
    actions.do_edit_post(alice, post.id, body="Vide-grenier dimanche")
    assert item(bob, post.id)["body"] == "Vide-grenier dimanche"
    actions.do_delete_post(alice, post.id)
    assert item(bob, post.id) is None


def test_a_new_post_nearby_shows_to_its_readers_at_once(alice, nadia, home):
    nadia.reads_nearby.add(home)
    assert feed(nadia, scope="nearby") == []
    post = actions.do_create_post(alice, category="general", body="Fête des voisins", audience="nearby")
    assert [i["id"] for i in feed(nadia, scope="nearby")] == [post.id]


def test_a_reader_who_stops_reading_nearby_no_longer_gets_its_page(alice, nadia, home):
    do_update_profile(nadia, reads_nearby=[home.id])
    post = actions.do_create_post(alice, category="general", body="Fête des voisins", audience="nearby")
    assert item(nadia, post.id) is not None
    do_update_profile(nadia, reads_nearby=[])
    assert item(nadia, post.id) is None


def test_pinning_a_post_shows_at_once(alice, bob):
    older = actions.do_create_post(alice, category="general", body="Consignes de la mairie")
    actions.do_create_post(alice, category="general", body="Un autre message")
    assert feed(bob)[0]["id"] != older.id
    Post.objects.filter(pk=older.pk).update(pinned=True, official=True)
    assert feed(bob)[0]["id"] == older.id and feed(bob)[0]["pinned"] is True


def test_renaming_an_author_a_neighbourhood_or_a_crisis_shows_at_once(alice, bob, home):
    crisis = Crisis.objects.create(name="COVID-19", tag="covid-19", banner="Restez chez vous",
                                   starts_at="2020-03-16T12:00:00Z")
    post = actions.do_create_post(alice, category="general", body="Courses pour les aînés", crisis_tag="covid-19")
    before = item(bob, post.id)
    assert before["author"] == "Alice M." and before["crisis"] == "covid-19"
    do_update_profile(alice, display_name="Alix Martin")
    assert item(bob, post.id)["author"] == "Alix M."
    Neighbourhood.objects.filter(pk=home.pk).update(name="Saint-Gervais (4e)")
    assert item(bob, post.id)["neighbourhood"]["name"] == "Saint-Gervais (4e)"
    crisis.tag = "covid"
    crisis.save()
    assert item(bob, post.id)["crisis"] == "covid"


def test_a_picture_added_or_removed_shows_at_once(alice, bob):
    post = actions.do_create_post(alice, category="give_lend", body="Je donne un vélo d'enfant")
    assert item(bob, post.id)["images"] == []
    image = PostImage.objects.create(post=post, neighbourhood_id=post.neighbourhood_id, image="posts/velo.jpg",
                                     width=640, height=480)
    assert [(i["width"], i["height"]) for i in item(bob, post.id)["images"]] == [(640, 480)]
    image.delete()
    assert item(bob, post.id)["images"] == []


def test_a_page_read_inside_a_transaction_that_rolls_back_is_not_kept(alice, bob, home):
    kept = actions.do_create_post(alice, category="general", body="Un message qui reste")
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            Post.objects.filter(pk=kept.pk).update(body="Jamais publié", body_html="<p>Jamais publié</p>")
            assert queries.feed_page(bob).items[0].body == "Jamais publié"
            raise RuntimeError("rolled back")
    assert version(home.id) >= 1
    # The version the rolled-back update took is taken again by the next change: it must find no page under it.
    Post.objects.filter(pk=kept.pk).update(body="Corrigé", body_html="<p>Corrigé</p>")
    assert item(bob, kept.id)["body"] == "Corrigé"


def test_every_change_a_page_shows_moves_its_neighbourhood_clock(alice, bob, home):
    start = version(home.id)
    post = actions.do_create_post(alice, category="general", body="Atelier vélo", tags=["réparation"])
    after_post = version(home.id)
    assert after_post > start  # the post and its tag rows
    actions.do_create_comment(bob, post.id, body="J'y serai")
    assert version(home.id) > after_post
    step = version(home.id)
    actions.do_thank_post(bob, post.id)
    assert version(home.id) > step
    step = version(home.id)
    Post.objects.filter(pk=post.pk).delete()
    assert version(home.id) > step


def test_a_change_elsewhere_leaves_a_neighbourhood_clock_alone(alice, zoe, home, far):
    actions.do_create_post(alice, category="general", body="Atelier vélo")
    step = version(home.id)
    actions.do_create_post(zoe, category="general", body="Ailleurs dans Paris")
    Member.objects.filter(pk=alice.pk).update(language="en")  # not shown in a feed
    assert version(home.id) == step and version(far.id) >= 1


def test_no_page_is_kept_when_the_cache_is_off(alice, bob, settings):
    settings.ENTRAIDE_FEED_PAGE_CACHE_MB = 0
    actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    queries.feed_page(bob)
    with CaptureQueriesContext(connection) as captured:
        queries.feed_page(bob)
    assert page_queries(captured) == 1
    page_cache.put("probe", 1, ([], []), 100)
    assert page_cache.get("probe", 1) is None


def page_queries(captured) -> int:
    return sum(q["sql"].startswith("SELECT u.top") for q in captured.captured_queries)  # page_sql.page_rows


def per_cached_page() -> int:
    """Queries of an API request for a cached page, once its reader has read it before: none on PostgreSQL, where
    the process keeps the reader (feed/reader_cache.py), or one with that off, which reads the scope with the token
    (queries.py scope_prefetch_request); on SQLite the token, then the scope."""
    if connection.vendor == "postgresql":
        return 0 if settings.ENTRAIDE_READER_CACHE else 1
    return 2


def test_the_api_serves_a_second_read_from_the_cache(alice, bob):
    post = actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    api = Api(bob)
    if connection.vendor == "postgresql" and settings.ENTRAIDE_READER_CACHE:
        assert listener.sync()  # this process listens (its thread connects as the first request comes)
    assert api.get("/feed").status_code == 200  # fills the cache, and marks the token used
    with CaptureQueriesContext(connection) as captured:
        assert [i["id"] for i in api.get("/feed").json()["items"]] == [post.id]
    assert page_queries(captured) == 0
    assert len(captured) == per_cached_page()


def test_pages_behind_a_cursor_a_tag_or_an_odd_size_are_read_afresh(alice, bob):
    for n in range(3):
        actions.do_create_post(alice, category="general", body=f"Message {n}", tags=["vélo"])
    cursor = queries.feed_rows(bob, limit=2).next_cursor
    for params in ({"cursor": cursor, "limit": 2}, {"tag": "vélo"}, {"limit": 7}):
        feed(bob, **params)
        with CaptureQueriesContext(connection) as captured:
            feed(bob, **params)
        assert page_queries(captured) == 1, params


def test_readers_of_other_neighbourhoods_never_get_each_others_page(alice, bob, nadia, home, nearby):
    """Alice reads Saint-Merri next door, Bob does not: the same home, two scopes, two pages."""
    do_update_profile(alice, reads_nearby=[nearby.id])
    theirs = actions.do_create_post(nadia, category="general", body="Fête à Saint-Merri", audience="nearby")
    ours = actions.do_create_post(bob, category="general", body="Fête à Saint-Gervais")
    assert {i["id"] for i in feed(alice)} == {theirs.id, ours.id}
    assert [i["id"] for i in feed(bob)] == [ours.id]
    assert [i["id"] for i in feed(nadia)] == [theirs.id]  # her home's page, not Alice's nearby one
    assert [i["id"] for i in feed(alice, scope="home")] == [ours.id]


def test_two_readers_of_different_neighbours_at_equal_versions_get_their_own_pages(alice, home, nearby):
    """Same home, each reading another neighbour whose clock stands at the same number: the scope is in the key."""
    other = home.nearby.exclude(pk=nearby.pk).first()
    carol = MemberFactory(neighbourhood=home, verified=True)
    do_update_profile(alice, reads_nearby=[nearby.id])
    do_update_profile(carol, reads_nearby=[other.id])
    theirs = actions.do_create_post(MemberFactory(neighbourhood=nearby, verified=True), category="general",
                                    body="À Saint-Merri", audience="nearby")
    elsewhere = actions.do_create_post(MemberFactory(neighbourhood=other, verified=True), category="general",
                                       body="Ailleurs", audience="nearby")
    FeedClock.objects.filter(neighbourhood_id__in=[nearby.id, other.id]).update(version=7)  # as it may happen
    assert [i["id"] for i in feed(alice)] == [theirs.id]
    assert [i["id"] for i in feed(carol)] == [elsewhere.id]


def test_the_clock_triggers_come_back_after_any_migration(alice, home):
    from django.apps import apps

    from entraide.feed.apps import _create_clock_triggers
    from entraide.feed.clock import drop_triggers

    drop_triggers(connection)
    actions.do_create_post(alice, category="general", body="Pendant la migration")
    step = version(home.id)
    _create_clock_triggers(apps.get_app_config("feed"), using="default")
    actions.do_create_post(alice, category="general", body="Après la migration")
    assert version(home.id) > step


def test_every_table_and_column_a_page_shows_has_a_clock_trigger(alice, bob):
    """A guard for whoever adds to page_sql.page_rows: what it reads must move the clock (feed/clock.py)."""
    import re

    from entraide.feed import clock

    actions.do_create_post(alice, category="general", body="Qui a une échelle ?")
    with CaptureQueriesContext(connection) as captured:
        queries.feed_page(bob)
    (sql,) = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT u.top")]
    tables = dict(re.findall(r'(?:FROM|JOIN) "?(\w+)"? (\w+)\b', sql))  # table -> alias
    own_row = set(clock._OWN_ROW)
    watched = {table: column for table, column, _select in clock._NAMES}
    per_reader = {"feed_thanks"}  # the reader's thanks: never part of a kept page
    for table, alias in tables.items():
        assert table in own_row | set(watched) | per_reader, f"{table} has no clock trigger"
        if table in watched:
            columns = set(re.findall(rf"\b{alias}\.(\w+)", sql)) - {"id"}
            assert columns <= {watched[table]}, f"{table}.{columns} shown but only {watched[table]} moves the clock"
