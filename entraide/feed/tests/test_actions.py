"""Writes on the feed: who may post, comment and thank, what is refused, and that nothing is half-written."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from entraide.accounts.factories import MemberFactory
from entraide.feed import actions
from entraide.feed.tests.helpers import refused
from entraide.feed.factories import CommentFactory, CrisisFactory, PostFactory
from entraide.feed.models import Comment, KindnessPrompt, Post, PostImage, PostTag, Thanks


def post(member, **kwargs):
    kwargs.setdefault("category", "general")
    kwargs.setdefault("body", "Bonjour les voisins")
    return actions.do_create_post(member, **kwargs)


# --- posting ----------------------------------------------------------------------------------------------------

def test_a_verified_member_publishes_a_post_in_their_home_neighbourhood(alice, home, published,
                                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = actions.do_create_post(alice, category="give_lend", title="  Perceuse  à prêter ",
                                         body="Je prête une **perceuse**.", audience="nearby",
                                         tags=["#Bricolage", "bricolage", "Outils Été"])
    created.refresh_from_db()
    assert created.neighbourhood_id == home.id
    assert created.title == "Perceuse à prêter"
    assert created.body_html == "<p>Je prête une <strong>perceuse</strong>.</p>"
    assert created.tags == ["bricolage", "outils-ete"]
    assert set(PostTag.objects.filter(post=created).values_list("tag", flat=True)) == {"bricolage", "outils-ete"}
    assert PostTag.objects.filter(post=created, neighbourhood=home).count() == 2
    assert [e["type"] for e in published] == ["post.created"]
    assert published[0]["neighbourhood_id"] == home.id
    assert published[0]["data"]["post_id"] == created.id


def test_the_event_is_not_heard_when_the_transaction_is_rolled_back(alice, published,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        post(alice)
    assert callbacks and published == []


def test_an_unverified_member_cannot_post_comment_or_thank(pending, alice):
    existing = PostFactory(author=alice)
    with refused("verification_required", 403):
        post(pending)
    with refused("verification_required", 403):
        actions.do_create_comment(pending, existing.id, body="Moi aussi")
    with refused("verification_required", 403):
        actions.do_thank_post(pending, existing.id)
    assert Post.objects.count() == 1 and Comment.objects.count() == 0 and Thanks.objects.count() == 0


def test_an_unverified_member_can_post_when_the_operator_relaxed_verification(pending, alice, settings):
    settings.ENTRAIDE_REQUIRE_VERIFICATION = False
    mine = post(pending)
    theirs = PostFactory(author=alice)
    comment = actions.do_create_comment(pending, theirs.id, body="Bienvenue")
    actions.do_thank_post(pending, theirs.id)
    assert mine.author_id == pending.id and comment.author_id == pending.id
    assert Post.objects.get(id=theirs.id).thanks_count == 1


@pytest.mark.parametrize("category", ["", "URGENT", "party", "general "])
def test_an_unknown_category_is_refused(alice, category):
    with refused("invalid_category", 422) as info:
        post(alice, category=category)
    assert "category" in info.value.fields
    assert not Post.objects.exists()


def test_an_unknown_audience_is_refused(alice):
    with refused("invalid_audience", 422):
        post(alice, audience="everyone")


@pytest.mark.parametrize("body", ["", "   ", "\n\t", "\x00\x01"])
def test_an_empty_body_is_refused(alice, body):
    with refused("body_required", 422):
        post(alice, body=body)


def test_a_body_over_5000_characters_is_refused(alice):
    post(alice, body="a" * 5000)
    with refused("body_too_long", 422):
        post(alice, body="a" * 5001)


def test_a_title_over_140_characters_is_refused(alice):
    with refused("title_too_long", 422):
        post(alice, title="t" * 141)


def test_an_urgent_alert_over_140_characters_is_refused(alice):
    post(alice, category="urgent", body="Fuite de gaz rue Vieille-du-Temple, évitez le secteur." + "!" * 80)
    with refused("urgent_too_long", 422):
        post(alice, category="urgent", body="x" * 141)
    assert Post.objects.count() == 1


def test_more_than_five_tags_are_refused(alice):
    with refused("too_many_tags", 422):
        post(alice, tags=["a", "b", "c", "d", "e", "f"])


def test_a_post_can_join_an_active_crisis_by_its_tag(alice):
    crisis = CrisisFactory(tag="canicule-2026")
    created = post(alice, crisis_tag="canicule-2026")
    assert created.crisis_id == crisis.id


def test_an_unknown_or_ended_or_elsewhere_crisis_is_refused(alice, paris):
    from entraide.places.models import City

    CrisisFactory(tag="finie", starts_at=timezone.now() - timedelta(days=5), ends_at=timezone.now() - timedelta(days=1))
    lyon = City.objects.create(name="Lyon", country="FR")
    CrisisFactory(tag="crue-lyon", cities=[lyon])
    for tag in ("inconnue", "finie", "crue-lyon"):
        with refused("unknown_crisis", 422):
            post(alice, crisis_tag=tag)
    assert not Post.objects.exists()


def test_script_in_title_body_and_tags_is_stored_as_text_and_rendered_inert(alice):
    created = post(alice, title="<script>alert('t')</script>",
                   body="<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3))",
                   tags=["<script>alert(4)</script>"])
    created.refresh_from_db()
    assert created.title == "<script>alert('t')</script>"  # plain text; escaped wherever it is shown
    assert "<script" not in created.body_html and "<img" not in created.body_html
    assert "javascript:" not in created.body_html.replace("[x](javascript:alert(3))", "")
    assert 'href="javascript' not in created.body_html
    assert created.tags == ["script-alert-4-script"]


# --- kindness ---------------------------------------------------------------------------------------------------

def counts():
    return {o: KindnessPrompt.objects.filter(outcome=o).count() for o in KindnessPrompt.Outcome.values}


def test_an_insult_triggers_the_kindness_check_and_writes_nothing_but_the_count(alice, home):
    with refused("kindness_check", 422) as info:
        post(alice, body="Le voisin du 3e est un CRÉTIN")
    assert info.value.fields["body"] == ["cretin"]
    assert not Post.objects.exists()
    assert counts() == {"shown": 1, "published_anyway": 0, "reworded": 0}
    assert KindnessPrompt.objects.get().neighbourhood_id == home.id


def test_publishing_anyway_after_the_kindness_check_is_counted(alice):
    with refused("kindness_check"):
        post(alice, body="Quel connard a garé sa voiture ici")
    created = post(alice, body="Quel connard a garé sa voiture ici", confirm_kindness=True)
    assert created.pk
    assert counts() == {"shown": 1, "published_anyway": 1, "reworded": 0}


def test_rewording_after_the_kindness_check_is_counted(alice):
    with refused("kindness_check"):
        post(alice, title="Idiot", body="Qui a garé sa voiture ici")
    post(alice, title="Voiture", body="Qui a garé sa voiture devant la sortie ?", confirm_kindness=True)
    assert counts() == {"shown": 1, "published_anyway": 0, "reworded": 1}
    assert KindnessPrompt.objects.filter(kind="post").count() == 2


def test_the_kindness_check_applies_to_comments_and_edits(alice, bob):
    target = PostFactory(author=alice)
    with refused("kindness_check"):
        actions.do_create_comment(bob, target.id, body="You moron")
    comment = actions.do_create_comment(bob, target.id, body="Merci !")
    with refused("kindness_check"):
        actions.do_edit_comment(bob, comment.id, body="Merci, abruti")
    with refused("kindness_check"):
        actions.do_edit_post(alice, target.id, body="Fils de pute")
    assert KindnessPrompt.objects.filter(kind="comment", outcome="shown").count() == 2
    assert KindnessPrompt.objects.filter(kind="post", outcome="shown").count() == 1
    assert Comment.objects.get().body == "Merci !"


def test_ordinary_words_do_not_trigger_the_kindness_check(alice):
    post(alice, title="Conseil", body="Pros and cons of the new bakery; concert ce soir, et il fait une tare de 2 kg")


def test_a_client_that_always_confirms_inflates_no_kindness_count(alice, bob):
    # It never sees a reminder, so neither its harsh texts nor its gentle ones answer one.
    for _ in range(2):  # within the limit of five posts a minute
        post(alice, body="Quel connard a garé sa voiture ici", confirm_kindness=True)
        post(alice, body="Qui a garé sa voiture ici ?", confirm_kindness=True)
    target = PostFactory(author=alice)
    comment = actions.do_create_comment(bob, target.id, body="Espèce de crétin", confirm_kindness=True)
    actions.do_create_comment(bob, target.id, body="Merci beaucoup", confirm_kindness=True)
    actions.do_edit_comment(bob, comment.id, body="Pauvre idiot", confirm_kindness=True)
    actions.do_edit_post(alice, target.id, body="Bonjour à tous", confirm_kindness=True)
    assert Post.objects.count() == 5 and Comment.objects.count() == 2
    assert not KindnessPrompt.objects.exists()


def test_one_reminder_is_answered_once(alice):
    with refused("kindness_check"):
        post(alice, body="Quel connard a garé sa voiture ici")
    post(alice, body="Quel connard a garé sa voiture ici", confirm_kindness=True)
    post(alice, body="Encore ce connard", confirm_kindness=True)
    post(alice, body="Qui a garé sa voiture ici ?", confirm_kindness=True)
    assert counts() == {"shown": 1, "published_anyway": 1, "reworded": 0}


def test_rewording_or_publishing_a_comment_anyway_after_the_reminder_is_counted_as_a_comment(alice, bob):
    target = PostFactory(author=alice)
    with refused("kindness_check"):
        actions.do_create_comment(bob, target.id, body="Espèce de crétin")
    actions.do_create_comment(bob, target.id, body="Je ne suis pas d'accord", confirm_kindness=True)
    with refused("kindness_check"):
        actions.do_create_comment(bob, target.id, body="Quel abruti")
    actions.do_create_comment(bob, target.id, body="Quel abruti", confirm_kindness=True)
    outcomes = sorted(KindnessPrompt.objects.filter(kind="comment").values_list("outcome", flat=True))
    assert outcomes == ["published_anyway", "reworded", "shown", "shown"]
    assert not KindnessPrompt.objects.filter(kind="post").exists()


def test_a_reminder_counts_only_for_the_member_and_the_kind_it_was_shown_for(alice, bob):
    target = PostFactory(author=alice)
    with refused("kindness_check"):
        post(alice, body="Bande d'abrutis")
    post(bob, body="Bande d'abrutis", confirm_kindness=True)  # Bob was shown nothing
    actions.do_create_comment(alice, target.id, body="Bande d'abrutis", confirm_kindness=True)  # not a post
    assert counts() == {"shown": 1, "published_anyway": 0, "reworded": 0}
    post(alice, body="Bonjour les voisins, soyez prudents", confirm_kindness=True)
    assert counts() == {"shown": 1, "published_anyway": 0, "reworded": 1}


def test_an_answer_after_the_reminder_expired_is_not_counted(alice, monkeypatch):
    import time

    from entraide.feed import kindness

    monkeypatch.setattr(kindness, "PENDING_SECONDS", 1)
    with refused("kindness_check"):
        post(alice, body="Quel connard a garé sa voiture ici")
    time.sleep(1.2)
    post(alice, body="Qui a garé sa voiture ici ?", confirm_kindness=True)
    assert counts() == {"shown": 1, "published_anyway": 0, "reworded": 0}


def test_an_answer_refused_for_another_reason_leaves_the_reminder_pending(alice):
    with refused("kindness_check"):
        post(alice, body="Quel connard a garé sa voiture ici")
    with refused("too_many_tags", 422):
        post(alice, body="Qui a garé sa voiture ici ?", tags=list("abcdef"), confirm_kindness=True)
    post(alice, body="Qui a garé sa voiture ici ?", confirm_kindness=True)
    assert counts() == {"shown": 1, "published_anyway": 0, "reworded": 1}


# --- rate limits ------------------------------------------------------------------------------------------------

def test_a_member_can_publish_five_posts_a_minute(alice, bob):
    for _ in range(5):
        post(alice)
    with refused("rate_limited", 429) as info:
        post(alice)
    assert 1 <= info.value.retry_after <= 60
    post(bob)  # per member
    assert Post.objects.filter(author=alice).count() == 5


def test_a_member_can_publish_three_urgent_alerts_a_day(alice, monkeypatch):
    monkeypatch.setattr(actions, "POST_LIMIT", (100, 60))  # not the per-minute limit we test here
    for _ in range(3):
        post(alice, category="urgent", body="Coupure d'eau")
    post(alice, category="general", body="Ordinary posts are still allowed")
    with refused("rate_limited", 429) as info:
        post(alice, category="urgent", body="Coupure d'eau")
    assert info.value.retry_after > 60


def test_a_member_can_write_twenty_comments_a_minute(alice, bob):
    target = PostFactory(author=alice)
    for i in range(20):
        actions.do_create_comment(bob, target.id, body=f"Commentaire {i}")
    with refused("rate_limited", 429):
        actions.do_create_comment(bob, target.id, body="Un de trop")
    assert Post.objects.get(id=target.id).comment_count == 20


# --- editing and deleting ---------------------------------------------------------------------------------------

def test_the_author_edits_a_post_within_the_window(alice, published, django_capture_on_commit_callbacks):
    created = post(alice, body="Avant", tags=["vieux"])
    with django_capture_on_commit_callbacks(execute=True):
        edited = actions.do_edit_post(alice, created.id, body="*Après*", tags=["neuf"], category="advice")
    edited.refresh_from_db()
    assert edited.body == "*Après*" and edited.body_html == "<p><em>Après</em></p>"
    assert edited.category == "advice" and edited.edited_at is not None
    assert list(PostTag.objects.filter(post=edited).values_list("tag", flat=True)) == ["neuf"]
    assert "post.updated" in [e["type"] for e in published]


def test_someone_else_cannot_edit_or_delete_a_post(alice, bob):
    created = post(alice)
    with refused("not_author", 403):
        actions.do_edit_post(bob, created.id, body="Piraté")
    with refused("not_author", 403):
        actions.do_delete_post(bob, created.id)
    assert Post.objects.get(id=created.id).body == "Bonjour les voisins"


def test_a_post_cannot_be_edited_after_the_window(alice, settings):
    settings.ENTRAIDE_EDIT_WINDOW_MINUTES = 30
    created = post(alice)
    Post.objects.filter(id=created.id).update(created_at=timezone.now() - timedelta(minutes=31))
    with refused("edit_window_closed", 403):
        actions.do_edit_post(alice, created.id, body="Trop tard")
    actions.do_delete_post(alice, created.id)  # deleting stays possible
    assert not Post.objects.exists()


def test_a_member_of_another_neighbourhood_gets_404_on_every_write(alice, zoe):
    created = post(alice, audience="nearby")
    comment = CommentFactory(post=created, author=alice)
    for attempt in (lambda: actions.do_edit_post(zoe, created.id, body="x"),
                    lambda: actions.do_delete_post(zoe, created.id),
                    lambda: actions.do_create_comment(zoe, created.id, body="x"),
                    lambda: actions.do_thank_post(zoe, created.id),
                    lambda: actions.do_thank_comment(zoe, comment.id),
                    lambda: actions.do_edit_comment(zoe, comment.id, body="x"),
                    lambda: actions.do_delete_comment(zoe, comment.id)):
        with refused("not_found", 404):
            attempt()


def moved(member, neighbourhood):
    """The member moved house: another home, and nothing read nearby any more. Fetched afresh."""
    member.neighbourhood = neighbourhood
    member.save(update_fields=["neighbourhood"])
    member.reads_nearby.clear()
    return type(member).objects.get(id=member.id)


def test_an_author_who_moved_away_can_still_delete_their_old_post(alice, bob, home, far, published,
                                                                  django_capture_on_commit_callbacks):
    created = post(alice, audience="nearby")
    actions.do_create_comment(bob, created.id, body="Merci !")
    alice = moved(alice, far)
    with refused("not_found", 404):  # out of her reach now: she can neither read nor edit it
        actions.do_edit_post(alice, created.id, body="x")
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_delete_post(alice, created.id)
    assert not Post.objects.exists() and not Comment.objects.exists()
    assert [(e["type"], e["neighbourhood_id"]) for e in published] == [("post.deleted", home.id)]


def test_an_author_who_moved_away_can_still_delete_their_old_comment(alice, bob, home, far):
    created = post(alice)
    mine = actions.do_create_comment(bob, created.id, body="Je passe demain")
    actions.do_create_comment(alice, created.id, body="Merci", parent_id=mine.id)
    other = actions.do_create_comment(alice, created.id, body="Autre chose")
    bob = moved(bob, far)
    with refused("not_found", 404):
        actions.do_edit_comment(bob, mine.id, body="x")
    actions.do_delete_comment(bob, mine.id)
    assert list(Comment.objects.values_list("id", flat=True)) == [other.id]
    assert Post.objects.get(id=created.id).comment_count == 1


def test_after_a_move_others_still_cannot_delete_the_authors_old_content(alice, bob, zoe, far, nadia, home):
    created = post(alice, audience="nearby")
    comment = actions.do_create_comment(alice, created.id, body="Précision")
    moved(alice, far)
    for attempt in (lambda: actions.do_delete_post(zoe, created.id),
                    lambda: actions.do_delete_comment(zoe, comment.id),
                    lambda: actions.do_delete_post(nadia, created.id),  # next door, not reading Saint-Gervais
                    lambda: actions.do_delete_comment(nadia, comment.id)):
        with refused("not_found", 404):
            attempt()
    with refused("not_author", 403):  # Bob can read them: he is told he is not the author
        actions.do_delete_post(bob, created.id)
    with refused("not_author", 403):
        actions.do_delete_comment(bob, comment.id)
    assert Post.objects.filter(id=created.id).exists() and Comment.objects.filter(id=comment.id).exists()


def test_deleting_a_post_removes_its_comments_and_thanks(alice, bob):
    created = post(alice)
    comment = actions.do_create_comment(bob, created.id, body="Super")
    actions.do_thank_post(bob, created.id)
    actions.do_thank_comment(alice, comment.id)
    actions.do_delete_post(alice, created.id)
    assert not Post.objects.exists() and not Comment.objects.exists() and not Thanks.objects.exists()


# --- comments ---------------------------------------------------------------------------------------------------

def test_comments_and_replies_count_on_the_post(alice, bob, published, django_capture_on_commit_callbacks):
    created = post(alice)
    with django_capture_on_commit_callbacks(execute=True):
        top = actions.do_create_comment(bob, created.id, body="Je peux aider")
        reply = actions.do_create_comment(alice, created.id, body="Merci", parent_id=top.id)
        reply_to_reply = actions.do_create_comment(bob, created.id, body="De rien", parent_id=reply.id)
    assert reply.parent_id == top.id
    assert reply_to_reply.parent_id == top.id  # one level of replies
    assert top.neighbourhood_id == created.neighbourhood_id
    assert Post.objects.get(id=created.id).comment_count == 3
    # Notifications of the replies are announced too; the feed's own events are these.
    assert [e["type"] for e in published if e["type"].startswith("comment.")] == ["comment.created"] * 3


def test_a_reply_to_a_comment_of_another_post_is_refused(alice, bob):
    first, second = post(alice), post(alice)
    other = actions.do_create_comment(bob, second.id, body="Ailleurs")
    with refused("invalid_parent", 422):
        actions.do_create_comment(bob, first.id, body="x", parent_id=other.id)
    with refused("invalid_parent", 422):
        actions.do_create_comment(bob, first.id, body="x", parent_id=999999)
    assert Post.objects.get(id=first.id).comment_count == 0


def test_a_comment_over_2000_characters_is_refused(alice):
    created = post(alice)
    with refused("body_too_long", 422):
        actions.do_create_comment(alice, created.id, body="c" * 2001)


def test_deleting_a_comment_removes_its_replies_from_the_count(alice, bob):
    created = post(alice)
    top = actions.do_create_comment(bob, created.id, body="Top")
    actions.do_create_comment(alice, created.id, body="Réponse", parent_id=top.id)
    actions.do_create_comment(alice, created.id, body="Autre")
    with refused("not_author", 403):
        actions.do_delete_comment(alice, top.id)
    actions.do_delete_comment(bob, top.id)
    assert Post.objects.get(id=created.id).comment_count == 1
    assert Comment.objects.count() == 1


def test_only_the_author_edits_a_comment_and_only_within_the_window(alice, bob):
    created = post(alice)
    comment = actions.do_create_comment(bob, created.id, body="Avant")
    with refused("not_author", 403):
        actions.do_edit_comment(alice, comment.id, body="Piraté")
    edited = actions.do_edit_comment(bob, comment.id, body="**Après**")
    assert edited.body_html == "<p><strong>Après</strong></p>" and edited.edited_at
    Comment.objects.filter(id=comment.id).update(created_at=timezone.now() - timedelta(hours=2))
    with refused("edit_window_closed", 403):
        actions.do_edit_comment(bob, comment.id, body="Trop tard")


def test_script_in_a_comment_is_rendered_inert(alice, bob):
    created = post(alice)
    comment = actions.do_create_comment(bob, created.id, body='<script>alert(1)</script><a href="javascript:x">y</a>')
    assert "<script" not in comment.body_html and "<a" not in comment.body_html
    assert comment.body.startswith("<script>")


def test_a_nearby_reader_may_comment_and_thank_a_nearby_post_but_not_a_neighbourhood_only_one(alice, nadia, home):
    nadia.reads_nearby.add(home)
    open_post = post(alice, audience="nearby")
    closed_post = post(alice, audience="neighbourhood")
    comment = actions.do_create_comment(nadia, open_post.id, body="Je passe demain")
    assert comment.neighbourhood_id == home.id
    actions.do_thank_post(nadia, open_post.id)
    with refused("not_found", 404):
        actions.do_create_comment(nadia, closed_post.id, body="x")
    with refused("not_found", 404):
        actions.do_thank_post(nadia, closed_post.id)


def test_a_nearby_post_stays_hidden_from_a_neighbour_who_did_not_choose_to_read_it(alice, nadia):
    open_post = post(alice, audience="nearby")
    with refused("not_found", 404):
        actions.do_create_comment(nadia, open_post.id, body="x")


# --- thanks -----------------------------------------------------------------------------------------------------

def test_thanking_twice_counts_once(alice, bob, published, django_capture_on_commit_callbacks):
    created = post(alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert actions.do_thank_post(bob, created.id).thanks_count == 1
        assert actions.do_thank_post(bob, created.id).thanks_count == 1
    assert Thanks.objects.count() == 1
    assert [e["type"] for e in published] == ["thanks.added"]
    assert published[0]["data"]["recipient_id"] == alice.id


def test_one_cannot_thank_oneself(alice, bob):
    created = post(alice)
    comment = actions.do_create_comment(bob, created.id, body="Ok")
    with refused("cannot_thank_self", 409):
        actions.do_thank_post(alice, created.id)
    with refused("cannot_thank_self", 409):
        actions.do_thank_comment(bob, comment.id)


def test_thanking_a_comment_counts_on_the_comment_not_the_post(alice, bob):
    created = post(alice)
    comment = actions.do_create_comment(bob, created.id, body="Ok")
    assert actions.do_thank_comment(alice, comment.id).thanks_count == 1
    assert actions.do_thank_comment(alice, comment.id).thanks_count == 1
    assert Post.objects.get(id=created.id).thanks_count == 0
    thanks = Thanks.objects.get()
    assert thanks.post_id == created.id and thanks.comment_id == comment.id


def test_counters_are_exact_after_many_thanks_and_comments(alice, home):
    created = post(alice)
    neighbours = MemberFactory.create_batch(12, neighbourhood=home, verified=True)
    for n in neighbours:
        actions.do_thank_post(n, created.id)
        actions.do_thank_post(n, created.id)
        actions.do_create_comment(n, created.id, body="Merci")
    created.refresh_from_db()
    assert created.thanks_count == 12 == Thanks.objects.filter(post=created).count()
    assert created.comment_count == 12 == Comment.objects.filter(post=created).count()


# --- nothing half-written ---------------------------------------------------------------------------------------

def test_a_post_with_a_bad_image_leaves_nothing_behind(alice, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .test_images import jpeg_bytes

    good = SimpleUploadedFile("a.jpg", jpeg_bytes((300, 200)), content_type="image/jpeg")
    bad = SimpleUploadedFile("b.jpg", b"not really a picture", content_type="image/jpeg")
    with refused("invalid_image", 422):
        post(alice, images=[good, bad], tags=["x"])
    assert not Post.objects.exists() and not PostImage.objects.exists() and not PostTag.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_a_failure_while_storing_removes_the_post_and_the_files_already_written(alice, media_root, monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .test_images import jpeg_bytes

    def boom(*args, **kwargs):  # fails after the post and its pictures were written
        raise RuntimeError("disk full")

    monkeypatch.setattr(actions, "_count_kindness", boom)
    files = [SimpleUploadedFile(f"{i}.jpg", jpeg_bytes((100, 100)), content_type="image/jpeg") for i in range(2)]
    with pytest.raises(RuntimeError):
        post(alice, images=files)
    assert not Post.objects.exists() and not PostImage.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


# --- search hooks -----------------------------------------------------------------------------------------------

def test_writes_keep_the_search_index_in_step(alice, bob, monkeypatch):
    from entraide.feed import search

    calls: list[tuple[str, int]] = []
    for name in ("index_post", "index_comment"):
        monkeypatch.setattr(search, name, lambda obj, name=name: calls.append((name, obj.id)))
    for name in ("unindex_post", "unindex_comment"):
        monkeypatch.setattr(search, name, lambda obj_id, name=name: calls.append((name, obj_id)))
    created = post(alice)
    comment = actions.do_create_comment(bob, created.id, body="Ok")
    actions.do_edit_post(alice, created.id, body="Modifié")
    reply = actions.do_create_comment(alice, created.id, body="Merci", parent_id=comment.id)
    actions.do_delete_comment(bob, comment.id)
    actions.do_delete_post(alice, created.id)
    assert calls == [("index_post", created.id), ("index_comment", comment.id), ("index_post", created.id),
                     ("index_comment", reply.id), ("unindex_comment", comment.id), ("unindex_comment", reply.id),
                     ("unindex_post", created.id)]


def test_a_post_and_its_comments_can_be_found_then_disappear_from_search_when_deleted(alice, bob):
    from entraide.feed import search

    created = post(alice, title="Perceuse", body="Je prête une perceuse à percussion")
    actions.do_create_comment(bob, created.id, body="Une perceuse, génial")
    assert {h.kind for h in search.search(bob, "perceuse").items} == {"post", "comment"}
    actions.do_delete_post(alice, created.id)
    assert search.search(bob, "perceuse").items == []


# --- PostgreSQL: concurrency ------------------------------------------------------------------------------------

def _run_in_threads(functions):
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(functions))

    def run(fn):
        try:
            barrier.wait()
            fn()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in functions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_thanks_and_comments_keep_exact_counters(alice, home):
    created = post(alice)
    neighbours = MemberFactory.create_batch(10, neighbourhood=home, verified=True)
    work = []
    for n in neighbours:
        work.append(lambda n=n: actions.do_thank_post(n, created.id))
        work.append(lambda n=n: actions.do_thank_post(n, created.id))  # the same member twice at once
        work.append(lambda n=n: actions.do_create_comment(n, created.id, body="Présent"))
    errors = _run_in_threads(work)
    assert errors == []
    created.refresh_from_db()
    assert created.thanks_count == 10 == Thanks.objects.filter(post=created).count()
    assert created.comment_count == 10 == Comment.objects.filter(post=created).count()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_never_exceed_four_pictures(alice, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .test_images import jpeg_bytes

    created = post(alice)
    data = jpeg_bytes((120, 80))
    work = [lambda: actions.do_add_post_image(alice, created.id, SimpleUploadedFile("p.jpg", data))
            for _ in range(8)]
    errors = _run_in_threads(work)
    assert PostImage.objects.filter(post=created).count() == 4
    assert len(errors) == 4 and all(getattr(e, "code", None) == "too_many_images" for e in errors)
    assert len([p for p in media_root.rglob("*") if p.is_file()]) == 4
