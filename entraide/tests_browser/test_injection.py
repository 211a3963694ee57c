"""What members type is shown as text to other members, never run as markup or script."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from entraide.accounts.factories import PASSWORD, MemberFactory
from entraide.places.models import Neighbourhood

from .helpers import NEIGHBOURHOOD_URL, fill_signup, log_in, submit

pytestmark = pytest.mark.browser

# Neighbours see a first name and an initial, so payloads without spaces are shown whole.
IMG = "<img/src=x/onerror=alert(1)>"
SCRIPT = "<script>window.__pwned=1</script>"
IMG_WITH_SPACES = "<img src=x onerror=alert(1)>"  # shown as "<img O."


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
