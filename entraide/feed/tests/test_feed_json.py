"""The feed API's memoised post JSON (feed/feed_json.py) never shows a post as it was, only as it is."""
from __future__ import annotations

from datetime import timedelta

import json

import pytest
from django.utils import timezone

from entraide.accounts.models import Member
from entraide.core.api import json_ok
from entraide.feed import actions, feed_json, queries
from entraide.feed.api import FeedOut, post_json
from entraide.feed.factories import PostFactory
from entraide.feed.models import Post
from entraide.places.models import Neighbourhood

from .test_api import Api

pytestmark = pytest.mark.django_db


def feed(member) -> list[dict]:
    response = Api(member).get("/feed")
    assert response.status_code == 200, response.content
    FeedOut.model_validate(response.json())
    return response.json()["items"]


def by_id(items: list[dict], post_id: int) -> dict:
    return next(item for item in items if item["id"] == post_id)


def test_the_memoised_body_is_what_the_post_views_give(alice, bob, nadia):
    mine = actions.do_create_post(alice, category="advice", title="Pharmacie", body="Ouverte **dimanche**",
                                  tags=["santé"])
    theirs = actions.do_create_post(bob, category="general", body="Bonjour")
    actions.do_thank_post(alice, theirs.id)
    for _turn in range(2):  # the second reading comes from the memo
        page = queries.feed_page(alice)
        expected = json.loads(json_ok({"items": [post_json(v) for v in page.items],
                                       "next_cursor": page.next_cursor}).content)
        assert {"items": feed(alice), "next_cursor": None} == expected
    assert by_id(feed(alice), mine.id)["can_edit"] is True
    assert by_id(feed(alice), theirs.id)["thanked_by_me"] is True


def test_each_reader_gets_their_own_flags_on_the_same_memoised_post(alice, bob):
    post = actions.do_create_post(alice, category="general", body="Qui a une perceuse ?")
    actions.do_thank_post(bob, post.id)
    feed_json._post_json_prefix.cache_clear()
    mine, theirs = by_id(feed(alice), post.id), by_id(feed(bob), post.id)
    assert feed_json._post_json_prefix.cache_info().hits >= 1
    assert (mine["is_mine"], mine["can_edit"], mine["thanked_by_me"]) == (True, True, False)
    assert (theirs["is_mine"], theirs["can_edit"], theirs["thanked_by_me"]) == (False, False, True)


def test_counts_edits_and_renames_show_at_once(alice, bob, home):
    post = actions.do_create_post(alice, category="general", title="Avant", body="Texte")
    assert by_id(feed(bob), post.id)["comment_count"] == 0
    actions.do_create_comment(bob, post.id, body="Merci !")
    actions.do_thank_post(bob, post.id)
    actions.do_edit_post(alice, post.id, title="Après")
    Member.objects.filter(pk=alice.pk).update(display_name="Alicia Martin")
    Neighbourhood.objects.filter(pk=home.pk).update(name="Saint-Gervais (4e)")
    item = by_id(feed(bob), post.id)
    assert (item["comment_count"], item["thanks_count"], item["title"]) == (1, 1, "Après")
    assert item["edited_at"] is not None
    assert item["author"] == "Alicia M."
    assert item["neighbourhood"]["name"] == "Saint-Gervais (4e)"


def test_the_edit_window_closes_even_while_the_post_is_memoised(alice, settings):
    post = actions.do_create_post(alice, category="general", body="Je prête un escabeau")
    assert by_id(feed(alice), post.id)["can_edit"] is True
    settings.ENTRAIDE_EDIT_WINDOW_MINUTES = 0
    Post.objects.filter(pk=post.pk).update(created_at=post.created_at)  # the same row: a memo hit
    assert by_id(feed(alice), post.id)["can_edit"] is False


def test_a_deleted_or_re_scoped_post_leaves_the_feed_at_once(alice, nadia, home):
    nadia.reads_nearby.add(home)
    kept = actions.do_create_post(alice, category="general", body="Pour les voisins", audience="nearby")
    gone = actions.do_create_post(alice, category="general", body="Bientôt effacé", audience="nearby")
    assert {kept.id, gone.id} <= {item["id"] for item in feed(nadia)}
    actions.do_delete_post(alice, gone.id)
    Post.objects.filter(pk=kept.pk).update(audience="neighbourhood")
    ids = {item["id"] for item in feed(nadia)}
    assert gone.id not in ids and kept.id not in ids


def test_an_old_post_of_mine_is_not_editable(alice):
    post = PostFactory(author=alice, neighbourhood=alice.neighbourhood)
    Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(days=2))
    item = by_id(feed(alice), post.id)
    assert item["is_mine"] is True and item["can_edit"] is False


def test_a_picture_added_to_a_memoised_post_shows_at_once(alice, bob):
    from entraide.feed.models import PostImage

    post = actions.do_create_post(alice, category="give_lend", body="Je donne un vélo d'enfant")
    assert by_id(feed(bob), post.id)["images"] == []
    image = PostImage.objects.create(post=post, neighbourhood_id=post.neighbourhood_id, image="posts/velo.jpg",
                                     width=640, height=480)
    images = by_id(feed(bob), post.id)["images"]
    assert [(i["width"], i["height"]) for i in images] == [(640, 480)]
    assert images[0]["url"].endswith(f"/{image.id}")
    image.delete()
    assert by_id(feed(bob), post.id)["images"] == []
