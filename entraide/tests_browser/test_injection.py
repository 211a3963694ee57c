"""What members type is shown as text to other members, never run as markup or script."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from entraide.accounts.factories import PASSWORD, MemberFactory
from entraide.feed.actions import do_create_post
from entraide.feed.factories import CrisisFactory, PostFactory
from entraide.feed.models import SearchLog
from entraide.feed.search import TRENDING_MIN_COUNT
from entraide.places.models import Neighbourhood

from .helpers import saint_gervais_pair, NEIGHBOURHOOD_URL, compose, fill_signup, log_in, submit, watch_dialogs

pytestmark = pytest.mark.browser

# Neighbours see a first name and an initial, so payloads without spaces are shown whole.
IMG = "<img/src=x/onerror=alert(1)>"
SCRIPT = "<script>window.__pwned=1</script>"
IMG_WITH_SPACES = "<img src=x onerror=alert(1)>"  # shown as "<img O."
# Breaking out of an attribute value or of <title>, then running script.
BREAKOUT = "\"><img src=x onerror=alert('q')></title><script>window.__pwned=1</script>"
JS_LINK = "[click me](javascript:alert('link'))"
NOTHING_RAN = ("typeof window.__pwned === 'undefined'"
               " && document.querySelectorAll('img[src=\"x\"], [onerror], [onload]').length === 0")


def inert(page) -> None:
    """The page is loaded and nothing injected became an element or ran."""
    page.wait_for_load_state("load")
    expect(page.locator("main script, main img[src=x], main [onerror], main [onload]")).to_have_count(0)
    assert page.evaluate(NOTHING_RAN)


@pytest.fixture
def neighbours(paris):
    """Mallory writes the payloads, Vera reads: both verified, in Saint-Gervais."""
    return saint_gervais_pair(paris, "Mallory Roux", "Vera Blanc")


def test_markup_in_display_names_is_inert(new_context, paris, gazetteer):
    dialogs = []

    def watch(page):
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        return page

    # The payloads go in through the sign-up form (no script needed for that).
    signup = new_context(java_script_enabled=False).new_page()
    for i, name in enumerate([IMG, SCRIPT, IMG_WITH_SPACES]):
        fill_signup(signup, email=f"mallory{i}@example.org", name=name, address="67 av simon bolivar")
        submit(signup)
        expect(signup).to_have_url(NEIGHBOURHOOD_URL)
        signup.context.clear_cookies()  # logged out

    # A neighbour with JavaScript on reads the neighbourhood page.
    combat = Neighbourhood.objects.get(city=paris, name="Combat")
    MemberFactory(neighbourhood=combat, language="en", user__email="viewer@example.org")
    viewer = watch(new_context().new_page())
    log_in(viewer, "viewer@example.org", PASSWORD)
    expect(viewer).to_have_url(NEIGHBOURHOOD_URL)
    expect(viewer.get_by_role("heading", level=1)).to_contain_text("Combat")
    people = viewer.locator("ul.people")
    expect(people).to_contain_text(IMG)
    expect(people).to_contain_text(SCRIPT)
    expect(people).to_contain_text("<img O.")
    expect(people.locator("img, script")).to_have_count(0)
    viewer.wait_for_load_state("load")
    assert viewer.evaluate("typeof window.__pwned") == "undefined"
    assert viewer.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0

    # The author's own pages show the name too.
    author = watch(new_context().new_page())
    log_in(author, "mallory1@example.org")
    for path in ["/me/", "/me/settings/"]:
        author.goto(path)
        author.wait_for_load_state("load")
        expect(author.locator("main script")).to_have_count(0)
        assert author.evaluate("typeof window.__pwned") == "undefined"
    expect(author.locator("#id_display_name")).to_have_value(SCRIPT)
    assert dialogs == []


def test_markup_in_tags_and_comments_is_inert(new_context, neighbours):
    mallory, _vera = neighbours
    dialogs: list[str] = []
    # The actions fold tags to plain words; a row holding raw markup (an import, an older version) must still be
    # shown as text, so one is written straight to the database.
    PostFactory(author=mallory, title="Atelier vélo", tags=[IMG, SCRIPT, "<svg/onload=alert('tag')>"])

    author = watch_dialogs(new_context().new_page(), dialogs)
    log_in(author, "mallory@example.org", PASSWORD)
    compose(author, title="Troc de graines", body="Graines de tomates à échanger.",
            tags=f"{IMG}, <svg/onload=alert('tag')>")
    typed = author.locator("#feed-list article.post").filter(has_text="Troc de graines").locator("ul.tags")
    expect(typed.locator("li")).to_have_text(["#img-src-x-onerror-alert-1", "#svg-onload-alert-tag"])
    inert(author)

    # Comments and a reply, through the htmx form.
    author.get_by_role("link", name="Atelier vélo").click()
    expect(author.get_by_role("heading", level=1)).to_have_text("Atelier vélo")
    for body in [SCRIPT, f"{IMG_WITH_SPACES} {JS_LINK}"]:
        author.locator("#id_comment_body").fill(body)
        author.get_by_role("button", name="Comment", exact=True).click()
        expect(author.locator("#comment-list")).to_contain_text(body.split()[0])
    author.locator("details.reply summary").first.click()
    author.locator("details.reply textarea").first.fill(BREAKOUT)
    author.locator("details.reply button[type=submit]").first.click()
    expect(author.locator("ol.replies")).to_contain_text(BREAKOUT)
    inert(author)

    # Vera reads all of it as text, with JavaScript on.
    vera = watch_dialogs(new_context().new_page(), dialogs)
    log_in(vera, "vera@example.org", PASSWORD)
    vera.goto("/feed/")
    tags = vera.locator("#feed-list article.post").filter(has_text="Atelier vélo").locator("ul.tags")
    expect(tags.locator("li")).to_have_text([f"#{IMG}", f"#{SCRIPT}", "#<svg/onload=alert('tag')>"])
    expect(tags.locator("a").first).to_have_attribute("href", "/feed/?tag=%3Cimg/src%3Dx/onerror%3Dalert%281%29%3E")
    inert(vera)
    # Following the tag echoes it in the filter box, as a value.
    with vera.expect_navigation():
        tags.locator("a").nth(1).click()
    expect(vera.locator("#filter-tag")).to_have_value(SCRIPT)
    inert(vera)

    vera.goto("/feed/")
    vera.get_by_role("link", name="Atelier vélo").click()
    comments = vera.locator("#comment-list")
    expect(comments).to_contain_text(SCRIPT)
    expect(comments).to_contain_text(IMG_WITH_SPACES)
    expect(comments).to_contain_text(JS_LINK)  # not a link: only http(s) and mailto links are made
    expect(comments).to_contain_text(BREAKOUT)
    expect(comments.locator("a[href^='javascript:' i]")).to_have_count(0)
    inert(vera)
    assert dialogs == []


def test_a_search_query_echoed_back_is_inert(new_context, neighbours, paris):
    mallory, vera = neighbours
    dialogs: list[str] = []
    do_create_post(mallory, category="general", title="Sécurité", body=f"Ne collez jamais ceci : {BREAKOUT}")
    for _ in range(TRENDING_MIN_COUNT):  # a raw term in the logs (stored terms are folded words) is shown as text
        SearchLog.objects.create(neighbourhood=vera.neighbourhood, city=paris, term=SCRIPT)

    page = watch_dialogs(new_context().new_page(), dialogs)
    log_in(page, "vera@example.org", PASSWORD)
    page.goto("/feed/")
    page.locator("#feed-q").fill(BREAKOUT)
    with page.expect_navigation():
        page.locator("#feed-q").press("Enter")

    expect(page.locator("#search-q")).to_have_value(BREAKOUT)  # echoed as the value, not out of it
    expect(page).to_have_title(f"Search: {BREAKOUT} · Entraide")  # and inside <title>, not out of it
    results = page.locator("ol.results")
    expect(results).to_contain_text("Sécurité")
    expect(results.locator(".snippet")).to_contain_text("window.__pwned=1")
    expect(results.locator(".snippet mark").first).to_be_visible()  # the only markup in a snippet
    expect(results.locator(".snippet *:not(mark)")).to_have_count(0)
    trending = page.locator("section.trending")
    expect(trending.get_by_role("link", name=SCRIPT).first).to_be_visible()
    inert(page)

    # The same query as a link (the address bar, a shared URL) gives the same.
    page.goto("/search/?q=" + BREAKOUT.replace("#", "%23"))
    expect(page.locator("#search-q")).to_have_value(BREAKOUT)
    inert(page)
    assert dialogs == []


def test_markup_in_a_crisis_name_and_banner_is_inert(new_context, neighbours, paris):
    dialogs: list[str] = []
    name = "</title><script>window.__pwned=1</script>Canicule"
    banner = "<img src=x onerror=alert('banner')> Buvez de l'eau."
    CrisisFactory(name=name, tag="canicule", banner=banner, description=f"Conseils {SCRIPT}", cities=[paris])

    page = watch_dialogs(new_context().new_page(), dialogs)
    log_in(page, "vera@example.org", PASSWORD)
    strip = page.locator("p.banner.crisis")
    expect(strip).to_contain_text(name)
    expect(strip).to_contain_text(banner)
    expect(strip.locator("script, img")).to_have_count(0)
    inert(page)

    page.goto("/feed/")  # the composer offers the crisis by its name
    expect(page.locator("#composer .crisis-choice")).to_contain_text(f"This is about: {name}")
    expect(page.locator("#composer .crisis-choice script")).to_have_count(0)
    inert(page)

    with page.expect_navigation():
        strip.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page).to_have_title(f"{name} · Entraide")
    expect(page.locator("main .lead")).to_have_text(banner)
    expect(page.locator("main .crisis-description")).to_contain_text(SCRIPT)
    expect(page.locator("head script, body script:not([src])")).to_have_count(0)
    inert(page)
    assert dialogs == []
