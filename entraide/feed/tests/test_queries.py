"""Reads of the feed: who sees what, in which order, page after page, at a constant cost."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from entraide.core.errors import EntraideError, NotFound
from entraide.feed import actions, queries
from entraide.feed.factories import CommentFactory, CrisisFactory, PostFactory
from entraide.feed.models import Post, PostImage, Thanks
from entraide.places.models import City



def ids(page) -> list[int]:
    return [item.id for item in page.items]


def all_pages(member, **kwargs) -> list[int]:
    seen, cursor = [], None
    while True:
        page = queries.feed_page(member, cursor=cursor, **kwargs)
        seen += ids(page)
        if not page.next_cursor:
            return seen
        cursor = page.next_cursor


# --- scope ------------------------------------------------------------------------------------------------------

def test_a_member_sees_every_post_of_their_home_neighbourhood(alice, bob):
    mine = PostFactory(author=alice)
    theirs = PostFactory(author=bob, audience="nearby")
    assert ids(queries.feed_page(alice)) == [theirs.id, mine.id]


def test_posts_of_another_neighbourhood_stay_invisible_unless_nearby_chosen_and_open_to_nearby(alice, nadia, zoe, home):
    closed = PostFactory(author=alice, audience="neighbourhood")
    open_ = PostFactory(author=alice, audience="nearby")
    # Nadia lives next door but did not choose to read Saint-Gervais; Zoé lives far away.
    for reader in (nadia, zoe):
        assert ids(queries.feed_page(reader)) == []
        for post in (closed, open_):
            with pytest.raises(NotFound):
                queries.get_post(reader, post.id)
            with pytest.raises(NotFound):
                queries.comments_page(reader, post.id)
    # Zoé cannot choose a far neighbourhood; even if the row existed she would see nothing.
    zoe.reads_nearby.add(home)
    assert ids(queries.feed_page(zoe)) == []
    nadia.reads_nearby.add(home)
    assert ids(queries.feed_page(nadia)) == [open_.id]
    assert queries.get_post(nadia, open_.id).neighbourhood_name == "Saint-Gervais"
    with pytest.raises(NotFound):
        queries.get_post(nadia, closed.id)


def test_scopes_home_and_nearby_split_the_feed(alice, nadia, nearby):
    alice.reads_nearby.add(nearby)
    home_post = PostFactory(author=alice)
    nearby_open = PostFactory(author=nadia, audience="nearby")
    PostFactory(author=nadia, audience="neighbourhood")
    assert ids(queries.feed_page(alice)) == [nearby_open.id, home_post.id]
    assert ids(queries.feed_page(alice, scope="home")) == [home_post.id]
    assert ids(queries.feed_page(alice, scope="nearby")) == [nearby_open.id]
    with pytest.raises(EntraideError) as info:
        queries.feed_page(alice, scope="city")
    assert info.value.code == "invalid_scope"


def test_comments_and_images_of_an_invisible_post_answer_404(alice, zoe, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .test_images import jpeg_bytes

    post = actions.do_create_post(alice, category="general", body="x", audience="nearby",
                                  images=[SimpleUploadedFile("a.jpg", jpeg_bytes((40, 40)))])
    comment = CommentFactory(post=post, author=alice)
    image = PostImage.objects.get()
    assert queries.image_for(alice, image.id) == image
    with pytest.raises(NotFound):
        queries.image_for(zoe, image.id)
    with pytest.raises(NotFound):
        queries.get_comment(zoe, comment.id)
    with pytest.raises(NotFound):
        queries.comments_page(zoe, post.id)


# --- order, cursor, filters -------------------------------------------------------------------------------------

def test_the_feed_is_newest_first_and_cursor_pages_are_stable_under_inserts(alice, bob):
    older = [PostFactory(author=alice) for _ in range(12)]
    first = queries.feed_page(alice, limit=5)
    assert ids(first) == [p.id for p in reversed(older)][:5]
    # Neighbours keep posting while Alice scrolls.
    newer = [PostFactory(author=bob) for _ in range(3)]
    second = queries.feed_page(alice, limit=5, cursor=first.next_cursor)
    PostFactory(author=bob)
    third = queries.feed_page(alice, limit=5, cursor=second.next_cursor)
    seen = ids(first) + ids(second) + ids(third)
    assert seen == [p.id for p in reversed(older)]
    assert third.next_cursor is None
    assert not set(seen) & {p.id for p in newer}


def test_posts_created_in_the_same_instant_are_neither_skipped_nor_repeated(alice):
    posts = [PostFactory(author=alice) for _ in range(7)]
    instant = timezone.now() - timedelta(minutes=5)
    Post.objects.filter(id__in=[p.id for p in posts]).update(created_at=instant)
    assert all_pages(alice, limit=2) == sorted((p.id for p in posts), reverse=True)


def test_a_malformed_cursor_is_refused(alice):
    for cursor in ("nope", "!!!", queries.encode_cursor(timezone.now(), 1)[:-3] + "@@@"):
        with pytest.raises(EntraideError) as info:
            queries.feed_page(alice, cursor=cursor)
        assert info.value.code == "invalid_cursor"


def test_pinned_posts_of_home_come_first_on_the_first_page_only(alice, bob):
    pinned = PostFactory(author=bob, pinned=True, official=True)
    regular = [PostFactory(author=alice) for _ in range(4)]
    first = queries.feed_page(alice, limit=2)
    assert ids(first)[0] == pinned.id and first.items[0].pinned and first.items[0].official
    assert ids(first)[1:] == [regular[3].id, regular[2].id]
    rest = queries.feed_page(alice, limit=10, cursor=first.next_cursor)
    assert pinned.id not in ids(rest)
    assert ids(rest) == [regular[1].id, regular[0].id]


def test_category_and_tag_filters(alice, bob):
    advice = PostFactory(author=alice, category="advice", tags=["jardin"])
    lost = PostFactory(author=bob, category="lost_found", tags=["chat", "jardin"])
    PostFactory(author=bob, category="general")
    assert ids(queries.feed_page(alice, category="advice")) == [advice.id]
    assert ids(queries.feed_page(alice, tag="#Jardin")) == [lost.id, advice.id]
    assert ids(queries.feed_page(alice, tag="chat", category="lost_found")) == [lost.id]
    assert ids(queries.feed_page(alice, tag="vélo")) == []
    with pytest.raises(EntraideError) as info:
        queries.feed_page(alice, category="party")
    assert info.value.code == "invalid_category"


def test_the_crisis_filter_keeps_posts_of_active_crises(alice):
    heat = CrisisFactory(tag="canicule")
    old = CrisisFactory(tag="crue", starts_at=timezone.now() - timedelta(days=9), ends_at=timezone.now() - timedelta(days=2))
    during = PostFactory(author=alice, crisis=heat)
    before = PostFactory(author=alice, crisis=old)
    PostFactory(author=alice)
    assert ids(queries.feed_page(alice, crisis=True)) == [during.id]
    assert ids(queries.feed_page(alice, crisis="crue")) == [before.id]
    assert queries.feed_page(alice, crisis=True).items[0].crisis_tag == "canicule"


def test_active_crises_are_instance_wide_ones_and_those_of_the_members_city(alice, paris):
    lyon = City.objects.create(name="Lyon", country="FR")
    everywhere = CrisisFactory(name="Grand froid")
    here = CrisisFactory(name="Crue de la Seine", cities=[paris])
    CrisisFactory(name="Crue du Rhône", cities=[lyon])
    CrisisFactory(name="Finie", ends_at=timezone.now() - timedelta(hours=1))
    CrisisFactory(name="Future", starts_at=timezone.now() + timedelta(days=1))
    assert {c.id for c in queries.active_crises(alice)} == {everywhere.id, here.id}
    assert {c.id for c in queries.active_crises()} == {everywhere.id}


# --- what a post view says --------------------------------------------------------------------------------------

def test_a_post_view_tells_who_wrote_it_by_public_name_and_what_the_reader_did(alice, bob):
    post = PostFactory(author=alice, title="Perceuse")
    Thanks.objects.create(member=bob, post=post, neighbourhood_id=post.neighbourhood_id)
    for_bob = queries.get_post(bob, post.id)
    assert for_bob.author_name == "Alice M." and for_bob.thanked_by_me and not for_bob.is_mine and not for_bob.can_edit
    for_alice = queries.get_post(alice, post.id)
    assert not for_alice.thanked_by_me and for_alice.is_mine and for_alice.can_edit
    Post.objects.filter(id=post.id).update(created_at=timezone.now() - timedelta(days=1))
    assert not queries.get_post(alice, post.id).can_edit


def test_comments_come_oldest_first_with_their_replies_and_pages(alice, bob):
    post = PostFactory(author=alice)
    tops = [actions.do_create_comment(bob, post.id, body=f"c{i}") for i in range(3)]
    reply = actions.do_create_comment(alice, post.id, body="réponse", parent_id=tops[0].id)
    actions.do_thank_comment(alice, tops[1].id)
    page = queries.comments_page(alice, post.id, limit=2)
    assert [c.id for c in page.items] == [tops[0].id, tops[1].id]
    assert [r.id for r in page.items[0].replies] == [reply.id]
    assert page.items[1].thanked_by_me and page.items[1].thanks_count == 1
    assert page.items[0].replies[0].is_mine and page.items[0].author_name == "Bruno L."
    rest = queries.comments_page(alice, post.id, cursor=page.next_cursor)
    assert [c.id for c in rest.items] == [tops[2].id] and rest.next_cursor is None


# --- cost -------------------------------------------------------------------------------------------------------

@pytest.fixture
def busy_feed(alice, nadia, nearby, home, settings, tmp_path):
    """60 posts over two neighbourhoods, with pictures, tags, thanks and a pinned one; 56 of them (the pinned one
    included) belong to a crisis going on, the 4 others to one that ended."""
    settings.MEDIA_ROOT = tmp_path
    alice.reads_nearby.add(nearby)
    going_on = CrisisFactory(tag="canicule")
    ended = CrisisFactory(tag="crue", starts_at=timezone.now() - timedelta(days=9),
                          ends_at=timezone.now() - timedelta(days=2))
    posts = []
    for i in range(60):
        author = alice if i % 2 else nadia
        posts.append(PostFactory(author=author, audience="nearby", tags=["x"], pinned=i == 3 and author == alice,
                                 crisis=ended if i % 15 == 0 else going_on))
    for post in posts[::3]:
        PostImage.objects.create(post=post, neighbourhood_id=post.neighbourhood_id, image="posts/x.jpg",
                                 width=10, height=10)
    for post in posts[::2]:  # Nadia's: Alice thanked them
        Thanks.objects.create(member=alice, post=post, neighbourhood_id=post.neighbourhood_id)
    return posts


@pytest.mark.parametrize("kwargs", [{}, {"tag": "x"}, {"category": "general"}, {"crisis": True}])
def test_a_feed_page_costs_the_same_few_queries_for_5_or_50_posts(alice, busy_feed, django_assert_max_num_queries,
                                                                   kwargs):
    alice = type(alice).objects.get(id=alice.id)  # nothing cached on the member
    counts = []
    for limit in (5, 50):
        # Readable neighbourhoods, then the page with its pictures and the reader's thanks (issue 3: at most 6).
        with django_assert_max_num_queries(2), CaptureQueriesContext(connection) as ctx:
            page = queries.feed_page(alice, limit=limit, **kwargs)
        counts.append(len(ctx))
        assert len(page.items) == limit + 1  # plus the pinned post
        assert page.items[0].pinned and page.next_cursor
        assert any(item.images for item in page.items) and any(item.thanked_by_me for item in page.items)
        assert {item.author_name for item in page.items} == {"Alice M.", "Nadia B."}
        if kwargs.get("crisis"):
            assert {item.crisis_tag for item in page.items} == {"canicule"}  # none of the ended crisis
    assert counts[0] == counts[1]


def test_a_following_page_costs_no_more(alice, busy_feed, django_assert_max_num_queries):
    first = queries.feed_page(alice, limit=5)
    with django_assert_max_num_queries(2):
        queries.feed_page(alice, limit=50, cursor=first.next_cursor)


def test_a_feed_page_shows_each_posts_pictures_in_their_order(alice, bob):
    with_pictures, without = PostFactory(author=bob), PostFactory(author=bob)
    for position, width in ((2, 30), (0, 10), (1, 20)):
        PostImage.objects.create(post=with_pictures, neighbourhood_id=with_pictures.neighbourhood_id,
                                 image=f"posts/{width}.jpg", width=width, height=5, position=position)
    items = {item.id: item for item in queries.feed_page(alice).items}
    assert [image.width for image in items[with_pictures.id].images] == [10, 20, 30]
    assert items[without.id].images == []
    assert items[with_pictures.id].images[0].url.endswith(f"/{items[with_pictures.id].images[0].id}")


def test_thanking_a_comment_does_not_mark_its_post_thanked_on_the_feed(alice, bob):
    post = PostFactory(author=bob)
    comment = actions.do_create_comment(bob, post.id, body="Je passe à 18 h")
    actions.do_thank_comment(alice, comment.id)
    item = next(item for item in queries.feed_page(alice).items if item.id == post.id)
    assert item.thanked_by_me is False
    actions.do_thank_post(alice, post.id)
    item = next(item for item in queries.feed_page(alice).items if item.id == post.id)
    assert item.thanked_by_me is True
