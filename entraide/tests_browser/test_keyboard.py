"""The sign-up form works with the keyboard alone, and every input has a label."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from entraide.accounts.models import Member

from .helpers import NEIGHBOURHOOD_URL

pytestmark = pytest.mark.browser

FOCUSED_ID = "document.activeElement && document.activeElement.id"


def tab_to(page, element_id: str, limit: int = 40) -> int:
    """Press Tab until `element_id` has the focus; how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_ID) == element_id:
            return presses
    raise AssertionError(f"#{element_id} cannot be reached with Tab (focus is on {page.evaluate(FOCUSED_ID)!r})")


def test_every_signup_input_has_a_label(page, paris):
    page.goto("/accounts/signup/")
    for label, element_id in [("Email", "id_email"), ("Password", "id_password1"), ("Your name", "id_display_name"),
                              ("Your address", "id_address"), ("Latitude", "id_lat"), ("Longitude", "id_lon")]:
        expect(page.get_by_label(label)).to_have_id(element_id)
    # Whatever the wording, every visible control of the form has a label of its own...
    inputs = page.locator("main form input:not([type=hidden]), main form select, main form textarea")
    assert inputs.count() >= 6
    for i in range(inputs.count()):
        element_id = inputs.nth(i).get_attribute("id")
        text = page.locator(f"label[for='{element_id}']").text_content().replace("*", "").strip()
        assert text, f"#{element_id} has no label"
        expect(page.get_by_label(text)).to_have_id(element_id)
    # ...and the hints it points to with aria-describedby exist and hold the hint (the password rules are a list).
    for element_id in ["id_password1", "id_display_name", "id_address"]:
        described_by = page.locator(f"#{element_id}").get_attribute("aria-describedby")
        assert described_by, f"#{element_id} has no hint"
        for hint_id in described_by.split():
            expect(page.locator(f"[id='{hint_id}']")).not_to_be_empty()
    expect(page.locator("#id_password1_helptext li").first).to_be_attached()


def test_signup_with_the_keyboard_only(page, paris, gazetteer):
    page.goto("/accounts/signup/")
    expect(page.locator("#map.leaflet-container")).to_be_visible()

    tab_to(page, "id_email")
    page.keyboard.type("kim@example.org")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED_ID) == "id_password1"
    page.keyboard.type("correct horse battery staple 42")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED_ID) == "id_display_name"
    page.keyboard.type("Kim Nguyen")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED_ID) == "id_address"
    page.keyboard.type("67 av simon bolivar", delay=15)

    # The suggestions come next in the tab order; Enter picks one and places the pin.
    expect(page.locator("#suggestions button.candidate").first).to_be_visible()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className + ' ' + document.activeElement.textContent")
    assert "candidate" in focused and "67 Avenue Simon Bolivar" in focused, focused
    page.keyboard.press("Enter")
    expect(page.locator("#id_lat")).not_to_have_value("")
    expect(page.locator("#id_address")).to_be_focused()  # the focus does not get lost with the closed list

    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits the form from the address field

    expect(page).to_have_url(NEIGHBOURHOOD_URL)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Combat")
    assert Member.objects.get(user__email="kim@example.org").neighbourhood.name == "Combat"
