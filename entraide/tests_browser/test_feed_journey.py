"""Two neighbours in adjacent quartiers use the feed: post, read, comment and thank (htmx), search, crisis filter."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from entraide.accounts.factories import PASSWORD, MemberFactory
from entraide.feed.factories import CrisisFactory
from entraide.places.models import Neighbourhood

from .helpers import log_in

pytestmark = pytest.mark.browser

ECOLES = "Les écoles du quartier cherchent des bénévoles pour la kermesse."
FAN = "Qui peut prêter un ventilateur à une voisine âgée ?"
SCRIPT_TITLE = "<img src=x onerror=alert('title')>"
SCRIPT_BODY = "<script>window.__pwned=1; alert('body')</script> <img src=x onerror=alert('img')>"


def watch_dialogs(page, dialogs: list):
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return page


def compose(page, *, body: str, title: str = "", nearby: bool = True, crisis: bool = False) -> None:
    """Write a post with the composer of /feed/ (a plain form: the page reloads)."""
    page.goto("/feed/")
    composer = page.locator("#composer")
    if title:
        composer.get_by_label("Title").fill(title)
    composer.get_by_label("Message").fill(body)
    if nearby:
        composer.get_by_label("My neighbourhood and nearby ones").check()
    if crisis:
        composer.locator("input[name=crisis_tag]").check()
    with page.expect_navigation():
        composer.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("Your post is published.")


def test_neighbours_share_comment_thank_search_and_filter_a_crisis(new_context, paris):
    saint_gervais = Neighbourhood.objects.get(city=paris, name="Saint-Gervais")
    saint_merri = Neighbourhood.objects.get(city=paris, name="Saint-Merri")
    assert saint_merri in saint_gervais.nearby.all()
    MemberFactory(neighbourhood=saint_gervais, verified=True, language="en", display_name="Alice Martin",
                  user__email="alice@example.org")
    MemberFactory(neighbourhood=saint_merri, verified=True, language="en", display_name="Nadia Benali",
                  user__email="nadia@example.org")
    CrisisFactory(name="Heatwave", tag="heatwave", banner="Check on your isolated neighbours.", cities=[paris])
    dialogs: list[str] = []

    # Nadia, in Saint-Merri, chooses to read Saint-Gervais too.
    nadia = watch_dialogs(new_context().new_page(), dialogs)
    log_in(nadia, "nadia@example.org", PASSWORD)
    nadia.goto("/me/settings/")
    nadia.get_by_label("Saint-Gervais").check()
    with nadia.expect_navigation():
        nadia.get_by_role("button", name="Save", exact=True).click()

    # Alice, in Saint-Gervais, posts for her quartier and the nearby ones: one about schools, one about the
    # heatwave, and one that tries to inject markup.
    alice = watch_dialogs(new_context().new_page(), dialogs)
    log_in(alice, "alice@example.org", PASSWORD)
    expect(alice.locator(".banner.crisis")).to_contain_text("Check on your isolated neighbours.")
    compose(alice, title="Kermesse", body=ECOLES)
    compose(alice, body=FAN, crisis=True)
    compose(alice, title=SCRIPT_TITLE, body=SCRIPT_BODY)

    # Nadia sees them in her feed; the injected markup is shown as text, and nothing runs.
    nadia.goto("/feed/")
    posts = nadia.locator("#feed-list")
    expect(posts).to_contain_text(ECOLES)
    expect(posts).to_contain_text(FAN)
    expect(posts).to_contain_text(SCRIPT_TITLE)
    expect(posts).to_contain_text("<script>window.__pwned=1;")
    expect(posts.locator("script, img[src=x]")).to_have_count(0)
    nadia.wait_for_load_state("load")
    assert nadia.evaluate("typeof window.__pwned") == "undefined"

    # She opens the school post, comments and thanks it: htmx updates the page in place.
    nadia.get_by_role("link", name="Kermesse").click()
    expect(nadia.get_by_role("heading", level=1)).to_have_text("Kermesse")
    nadia.wait_for_load_state("load")
    nadia.evaluate("window.__samePage = true")
    nadia.locator("#id_comment_body").fill("Je peux tenir le stand de crêpes.")
    nadia.get_by_role("button", name="Comment", exact=True).click()
    expect(nadia.locator("#comment-list")).to_contain_text("Je peux tenir le stand de crêpes.")
    expect(nadia.locator("#comments-title")).to_contain_text("(1)")
    expect(nadia.locator("article.post .actions a[href$='#comments']")).to_have_text("1 comment")
    expect(nadia.locator("#id_comment_body")).to_have_value("")
    thanks = nadia.locator("article.post form.thanks")
    expect(thanks.locator(".thanks-count")).to_have_text("0 thanks")
    thanks.get_by_role("button", name="Thank").click()
    expect(nadia.locator("article.post form.thanks .thanks-count")).to_have_text("1 thanks")
    expect(nadia.locator("article.post form.thanks button")).to_have_attribute("aria-pressed", "true")
    assert nadia.evaluate("window.__samePage") is True  # no reload, no navigation

    # Alice sees the comment and the thanks on her post.
    alice.goto("/feed/")
    alice.get_by_role("link", name="Kermesse").click()
    expect(alice.locator("#comment-list")).to_contain_text("Je peux tenir le stand de crêpes.")
    expect(alice.locator("article.post .thanks-count")).to_have_text("1 thanks")

    # Nadia searches in French: "école" finds the post about "écoles".
    nadia.goto("/feed/")
    nadia.locator("#feed-q").fill("école")
    with nadia.expect_navigation():
        nadia.locator("#feed-q").press("Enter")
    results = nadia.locator("ol.results")
    expect(results).to_contain_text("Kermesse")
    expect(results.locator("mark").first).to_have_text("écoles")

    # The crisis filter shows only the heatwave post.
    nadia.goto("/feed/")
    with nadia.expect_navigation():
        nadia.get_by_role("link", name="Only crisis posts").click()
    expect(nadia.locator("#feed-list article.post")).to_have_count(1)
    expect(nadia.locator("#feed-list")).to_contain_text(FAN)
    expect(nadia.locator("#feed-list")).not_to_contain_text(ECOLES)

    # The crisis page lists it too.
    nadia.locator(".banner.crisis a").click()
    expect(nadia.get_by_role("heading", level=1)).to_have_text("Heatwave")
    expect(nadia.locator("#feed-list")).to_contain_text(FAN)

    # Nothing injected ever ran on any page.
    nadia.goto("/feed/")
    nadia.get_by_role("link", name=SCRIPT_TITLE).click()
    nadia.wait_for_load_state("load")
    expect(nadia.locator("article.post .body")).to_contain_text("<script>")
    assert nadia.evaluate("typeof window.__pwned") == "undefined"
    assert nadia.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert dialogs == []


def test_load_more_and_reply_work_without_javascript(new_context, paris):
    saint_gervais = Neighbourhood.objects.get(city=paris, name="Saint-Gervais")
    author = MemberFactory(neighbourhood=saint_gervais, verified=True, language="en", user__email="a@example.org")
    MemberFactory(neighbourhood=saint_gervais, verified=True, language="en", user__email="b@example.org")
    from entraide.feed.factories import PostFactory

    for i in range(22):
        PostFactory(author=author, title=f"Annonce {i:02d}", body=f"Texte {i:02d}")
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, "b@example.org", PASSWORD)
    page.goto("/feed/")
    expect(page.locator("#feed-list article.post")).to_have_count(20)
    with page.expect_navigation():
        page.get_by_role("link", name="Load more posts").click()
    expect(page.locator("#feed-list")).to_contain_text("Annonce 00")

    page.get_by_role("link", name="Annonce 00").click()
    page.locator("#id_comment_body").fill("Premier !")
    with page.expect_navigation():
        page.get_by_role("button", name="Comment", exact=True).click()
    expect(page.locator("#comment-list")).to_contain_text("Premier !")
    page.locator("details.reply summary").first.click()
    page.locator("details.reply textarea").first.fill("Une réponse")
    with page.expect_navigation():
        page.locator("details.reply button[type=submit]").first.click()
    expect(page.locator("ol.replies")).to_contain_text("Une réponse")
    with page.expect_navigation():
        page.locator("article.post").get_by_role("button", name="Thank").click()
    expect(page.locator("article.post .thanks-count")).to_have_text("1 thanks")
