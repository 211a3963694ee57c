"""Verifying one's address with the code from a posted letter."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from entraide.accounts.actions import do_issue_letters
from entraide.accounts.factories import PASSWORD, MemberFactory
from entraide.places.models import Neighbourhood

from .helpers import NEIGHBOURHOOD_URL, log_in, submit

pytestmark = pytest.mark.browser


def test_letter_code_verifies_the_member(page, paris, settings):
    settings.ENTRAIDE_REQUIRE_VERIFICATION = True
    combat = Neighbourhood.objects.get(city=paris, name="Combat")
    member = MemberFactory(neighbourhood=combat, language="en", user__email="nour@example.org")
    [letter] = do_issue_letters(combat)  # an operator prints the letters; the plaintext code is on paper only
    assert letter.member == member

    log_in(page, "nour@example.org", PASSWORD)
    expect(page).to_have_url(NEIGHBOURHOOD_URL)
    banner = page.locator("p.banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("not verified")
    with page.expect_navigation():
        banner.locator("a[href='/verify/']").click()

    code = page.locator("#id_letter-code")
    expect(page.get_by_label("Code").first).to_have_id("id_letter-code")
    code.fill(("B" if letter.code[0] == "A" else "A") + letter.code[1:])  # one character off
    submit(page, "form:has(#id_letter-code)")

    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_have_attribute("aria-describedby", re.compile(r"(^|\s)id_letter-code_error(\s|$)"))
    expect(page.locator("#id_letter-code_error")).to_contain_text("not right")
    expect(page.locator("p.banner")).to_be_visible()

    code.fill(letter.code.lower())  # typed from paper, in lower case
    submit(page, "form:has(#id_letter-code)")

    expect(page).to_have_url(NEIGHBOURHOOD_URL)
    expect(page.locator("ul.messages li.success")).to_contain_text("verified")
    expect(page.locator("p.banner")).to_have_count(0)
    page.goto("/verify/")
    expect(page.locator("p.banner")).to_have_count(0)
    expect(page.locator("#id_letter-code")).to_have_count(0)  # nothing left to verify
    member.refresh_from_db()
    assert member.is_verified and member.verification_method == "letter"
