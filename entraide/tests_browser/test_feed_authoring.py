"""An author looks after her posts: edits one within the window, deletes one, is reminded once to be kind, adds a
picture."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from entraide.accounts.factories import PASSWORD
from entraide.feed.models import KindnessPrompt, Post, PostImage

from .helpers import saint_gervais_pair, compose, fill_composer, log_in, watch_dialogs

pytestmark = pytest.mark.browser

POST_URL = re.compile(r"/feed/posts/(\d+)/$")


@pytest.fixture
def neighbours(paris):
    """Alice writes, Bruno reads: both verified, in Saint-Gervais."""
    return saint_gervais_pair(paris, "Alice Martin", "Bruno Petit")


def card(page, title: str):
    return page.locator("#feed-list article.post").filter(has=page.get_by_role("link", name=title, exact=True))


def test_editing_a_post_within_the_window_marks_it_edited(new_context, neighbours, settings, artifacts):
    settings.ENTRAIDE_EDIT_WINDOW_MINUTES = 60
    alice = new_context().new_page()
    log_in(alice, "alice@example.org", PASSWORD)
    compose(alice, title="Perceuse à prêter", body="Je prête ma perceuse le samedi.")
    post = card(alice, "Perceuse à prêter")
    expect(post.locator(".edited")).to_have_count(0)

    with alice.expect_navigation():
        post.get_by_role("link", name="Edit").click()
    expect(alice.get_by_role("heading", level=1)).to_have_text("Edit my post")
    expect(alice.get_by_label("Message")).to_have_value("Je prête ma perceuse le samedi.")
    alice.get_by_label("Message").fill("Je prête ma perceuse le samedi et le dimanche.")
    with alice.expect_navigation():
        alice.get_by_role("button", name="Save", exact=True).click()

    expect(alice).to_have_url(POST_URL)
    expect(alice.locator("ul.messages li.success")).to_contain_text("Your post is updated.")
    expect(alice.locator("article.post .body")).to_have_text("Je prête ma perceuse le samedi et le dimanche.")
    expect(alice.locator("article.post .edited")).to_have_text("edited")
    alice.screenshot(path=str(artifacts / "feed-post-edited.png"), full_page=True)

    # Bruno reads the new text with the mark, and cannot edit someone else's post.
    bruno = new_context().new_page()
    log_in(bruno, "bruno@example.org", PASSWORD)
    bruno.goto("/feed/")
    theirs = card(bruno, "Perceuse à prêter")
    expect(theirs.locator(".body")).to_contain_text("et le dimanche")
    expect(theirs.locator(".edited")).to_be_visible()
    expect(theirs.get_by_role("link", name="Edit")).to_have_count(0)
    expect(theirs.get_by_role("link", name="Delete")).to_have_count(0)

    # An hour later the window is closed: no more Edit link, and the form is refused.
    Post.objects.filter(title="Perceuse à prêter").update(created_at=timezone.now() - timedelta(minutes=61))
    alice.goto("/feed/")
    expect(card(alice, "Perceuse à prêter").get_by_role("link", name="Edit")).to_have_count(0)
    response = alice.goto(f"/feed/posts/{Post.objects.get(title='Perceuse à prêter').id}/edit/")
    assert response.status == 403
    expect(alice.locator("ul.messages")).to_contain_text("can no longer be edited")
    expect(alice.get_by_label("Message")).to_have_count(0)


def test_deleting_ones_post_removes_it_for_everyone(new_context, neighbours, artifacts):
    alice = new_context().new_page()
    log_in(alice, "alice@example.org", PASSWORD)
    compose(alice, title="Chaton trouvé", body="Un chaton gris attend son maître rue de Rivoli.")
    compose(alice, title="Vide-grenier", body="Vide-grenier dimanche place Baudoyer.")
    post_id = Post.objects.get(title="Chaton trouvé").id

    # She changes her mind once, then deletes it for good.
    with alice.expect_navigation():
        card(alice, "Chaton trouvé").get_by_role("link", name="Delete").click()
    expect(alice.get_by_role("heading", level=1)).to_have_text("Delete my post")
    expect(alice.locator("blockquote.quote")).to_contain_text("Un chaton gris")
    with alice.expect_navigation():
        alice.get_by_role("link", name="No, keep it").click()
    expect(alice).to_have_url(re.compile(rf"/feed/posts/{post_id}/$"))
    assert Post.objects.filter(id=post_id).exists()

    alice.goto("/feed/")
    with alice.expect_navigation():
        card(alice, "Chaton trouvé").get_by_role("link", name="Delete").click()
    alice.screenshot(path=str(artifacts / "feed-post-delete-confirm.png"), full_page=True)
    with alice.expect_navigation():
        alice.get_by_role("button", name="Yes, delete").click()

    expect(alice).to_have_url(re.compile(r"/feed/$"))
    expect(alice.locator("ul.messages li.success")).to_contain_text("Your post is deleted.")
    expect(alice.locator("#feed-list")).not_to_contain_text("Chaton trouvé")
    expect(alice.locator("#feed-list")).to_contain_text("Vide-grenier")  # only that one went
    assert not Post.objects.filter(id=post_id).exists()

    bruno = new_context().new_page()
    log_in(bruno, "bruno@example.org", PASSWORD)
    bruno.goto("/feed/")
    expect(bruno.locator("#feed-list")).to_contain_text("Vide-grenier")
    expect(bruno.locator("#feed-list")).not_to_contain_text("Chaton trouvé")
    assert bruno.goto(f"/feed/posts/{post_id}/").status == 404
    bruno.goto("/search/?q=chaton")
    expect(bruno.locator("main")).to_contain_text("Nothing found")  # gone from the search index too


def test_the_kindness_reminder_asks_once_and_the_author_can_still_publish(new_context, neighbours, artifacts):
    dialogs: list[str] = []
    alice = watch_dialogs(new_context().new_page(), dialogs)
    log_in(alice, "alice@example.org", PASSWORD)
    body = "Le voisin du 3e qui laisse ses sacs dans l'escalier est un idiot."
    composer = fill_composer(alice, title="Les sacs dans l'escalier", body=body)
    with alice.expect_navigation():
        composer.get_by_role("button", name="Publish", exact=True).click()

    # Not published yet: a reminder names the word, the text is kept, the button now says "Publish anyway".
    reminder = alice.locator("#composer .kindness[role=alert]")
    expect(reminder).to_be_visible()
    expect(reminder.locator("q")).to_have_text(["idiot"])
    expect(alice.locator("ul.messages")).to_have_count(0)
    expect(composer.get_by_label("Message")).to_have_value(body)
    expect(composer.get_by_label("Title")).to_have_value("Les sacs dans l'escalier")
    expect(composer.get_by_label("My neighbourhood and nearby ones")).to_be_checked()
    assert not Post.objects.exists()
    alice.screenshot(path=str(artifacts / "feed-kindness-reminder.png"), full_page=True)

    # She keeps her words: one more click publishes, no second reminder.
    with alice.expect_navigation():
        composer.get_by_role("button", name="Publish anyway").click()
    expect(alice.locator("ul.messages li.success")).to_contain_text("Your post is published.")
    expect(alice.locator("#composer .kindness")).to_have_count(0)
    expect(alice.locator("#composer").get_by_role("button", name="Publish", exact=True)).to_be_visible()
    expect(card(alice, "Les sacs dans l'escalier").locator(".body")).to_have_text(body)
    assert Post.objects.get().body == body
    # Asked once, answered once; only the outcomes are counted, never the text nor the author.
    assert sorted(KindnessPrompt.objects.values_list("outcome", flat=True)) == ["published_anyway", "shown"]
    assert dialogs == []


def test_a_picture_uploaded_with_a_post_is_shown_in_the_feed(new_context, neighbours, settings, tmp_path, artifacts):
    settings.MEDIA_ROOT = tmp_path / "media"
    picture = tmp_path / "potager.png"
    Image.new("RGB", (64, 48), (40, 160, 60)).save(picture)

    alice = new_context().new_page()
    log_in(alice, "alice@example.org", PASSWORD)
    compose(alice, title="Notre potager", body="Les tomates sont mûres, servez-vous.", pictures=[picture])
    [stored] = PostImage.objects.all()
    assert (stored.width, stored.height) == (64, 48)

    bruno = new_context().new_page()
    log_in(bruno, "bruno@example.org", PASSWORD)
    bruno.goto("/feed/")
    image = card(bruno, "Notre potager").locator("ul.images img")
    expect(image).to_have_count(1)
    expect(image).to_have_attribute("alt", "Picture attached to the post")
    expect(image).to_have_attribute("src", re.compile(r"^/feed/images/\d+/$"))
    image.scroll_into_view_if_needed()
    # The picture really loads (decoded pixels, not a broken-image icon).
    bruno.wait_for_function("img => img.complete && img.naturalWidth === 64 && img.naturalHeight === 48",
                            arg=image.element_handle())
    bruno.screenshot(path=str(artifacts / "feed-post-picture.png"), full_page=True)

    # Its address gives the picture itself, re-encoded by the site, to neighbours only.
    src = image.get_attribute("src")
    response = bruno.context.request.get(src)
    assert response.ok
    assert response.headers["content-type"] == "image/png"
    assert response.body()[:8] == b"\x89PNG\r\n\x1a\n"
    stranger = new_context()
    assert stranger.request.get(src, max_redirects=0).status == 302  # to the login page
