"""Neighbours use the feed: post, read, comment and thank (htmx), search, crisis filter, load more posts (with and
without JavaScript), trending searches."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from entraide.accounts.factories import PASSWORD, MemberFactory
from entraide.feed.factories import CrisisFactory
from entraide.places.models import Neighbourhood

from .helpers import compose, log_in, watch_dialogs

pytestmark = pytest.mark.browser

ECOLES = "Les écoles du quartier cherchent des bénévoles pour la kermesse."
FAN = "Qui peut prêter un ventilateur à une voisine âgée ?"
SCRIPT_TITLE = "<img src=x onerror=alert('title')>"
SCRIPT_BODY = "<script>window.__pwned=1; alert('body')</script> <img src=x onerror=alert('img')>"


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


def test_load_more_with_javascript_appends_the_next_page_in_place(page, paris, artifacts):
    saint_gervais = Neighbourhood.objects.get(city=paris, name="Saint-Gervais")
    author = MemberFactory(neighbourhood=saint_gervais, verified=True, language="en", user__email="a@example.org")
    MemberFactory(neighbourhood=saint_gervais, verified=True, language="en", user__email="b@example.org")
    from entraide.feed.factories import PostFactory

    for i in range(23):
        PostFactory(author=author, title=f"Annonce {i:02d}", body=f"Texte {i:02d}")
    log_in(page, "b@example.org", PASSWORD)
    page.goto("/feed/")
    posts = page.locator("#feed-list > li > article.post")
    expect(posts).to_have_count(20)
    expect(page.locator("#feed-list")).not_to_contain_text("Annonce 02")
    page.wait_for_load_state("load")
    page.evaluate("window.__samePage = true")
    feed_url = page.url

    with page.expect_response(lambda r: "cursor=" in r.url and r.request.headers.get("hx-request") == "true"):
        page.get_by_role("link", name="Load more posts").click()

    expect(posts).to_have_count(23)  # appended to the same list, not a nested page
    expect(posts.last).to_contain_text("Annonce 00")
    titles = [t.strip() for t in page.locator("#feed-list .post-title").all_text_contents()]
    assert titles == [f"Annonce {i:02d}" for i in range(22, -1, -1)]  # newest first, none twice, none missing
    expect(page.locator("#load-more")).to_have_count(0)  # nothing left to load
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    assert page.url == feed_url
    assert page.evaluate("window.__samePage") is True  # no reload, no navigation
    page.screenshot(path=str(artifacts / "feed-load-more.png"), full_page=True)


def test_a_term_searched_by_several_neighbours_trends_on_the_search_page(page, paris, artifacts):
    from entraide.feed.actions import do_create_post
    from entraide.feed.models import SearchLog
    from entraide.feed.search import TRENDING_MIN_COUNT

    saint_gervais = Neighbourhood.objects.get(city=paris, name="Saint-Gervais")
    combat = Neighbourhood.objects.get(city=paris, name="Combat")
    author = MemberFactory(neighbourhood=saint_gervais, verified=True, language="en")
    MemberFactory(neighbourhood=saint_gervais, verified=True, language="en", user__email="salome@example.org")
    do_create_post(author, category="general", title="Ventilateur à donner", body=FAN)  # indexed for search
    # Searches already made this week by other neighbours (logs keep no searcher): one short of trending here...
    for _ in range(TRENDING_MIN_COUNT - 1):
        SearchLog.objects.create(neighbourhood=saint_gervais, city=paris, term="ventilateur")
    for _ in range(TRENDING_MIN_COUNT - 2):  # ...two short...
        SearchLog.objects.create(neighbourhood=saint_gervais, city=paris, term="perceuse")
    # ...and, across the city, a term searched often in another quartier.
    for _ in range(TRENDING_MIN_COUNT):
        SearchLog.objects.create(neighbourhood=combat, city=paris, term="canicule")

    log_in(page, "salome@example.org", PASSWORD)
    page.goto("/search/")
    trending = page.locator("section.trending")
    here, city = trending.locator(".trending-cols > div").nth(0), trending.locator(".trending-cols > div").nth(1)
    expect(here).to_contain_text("Not enough searches yet.")
    expect(city.get_by_role("link")).to_have_text(["canicule"])

    # Salomé searches "perceuse" twice (one person: counted once) and "Ventilateurs" once (the same word as
    # "ventilateur").
    for q in ["perceuse", "perceuse", "Ventilateurs"]:
        page.locator("#search-q").fill(q)
        with page.expect_navigation():
            page.locator("#search-q").press("Enter")
        expect(page.locator("#search-q")).to_have_value(q)
    expect(page.locator("ol.results")).to_contain_text("Ventilateur à donner")

    expect(here.get_by_role("link")).to_have_text(["ventilateur"])  # perceuse: still one search short
    expect(city.get_by_role("link")).to_have_text(["canicule", "ventilateur"])
    page.screenshot(path=str(artifacts / "search-trending.png"), full_page=True)

    # A trending term is a link to its search.
    with page.expect_navigation():
        here.get_by_role("link", name="ventilateur").click()
    expect(page.locator("#search-q")).to_have_value("ventilateur")
    expect(page.locator("ol.results")).to_contain_text("Ventilateur à donner")
