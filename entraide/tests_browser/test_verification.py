"""Verifying one's address: the code from a posted letter, one check of the browser's position, an invitation."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from entraide.accounts.actions import do_create_invitation, do_issue_letters
from entraide.accounts.factories import PASSWORD, MemberFactory
from entraide.places import geo
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


def test_position_checked_once_inside_the_neighbourhood_verifies_the_member(new_context, paris, settings, artifacts):
    settings.ENTRAIDE_REQUIRE_VERIFICATION = True
    combat = Neighbourhood.objects.get(city=paris, name="Combat")
    elsewhere = Neighbourhood.objects.get(city=paris, name="Saint-Gervais")
    member = MemberFactory(neighbourhood=combat, language="en", user__email="ines@example.org")
    home = (member.lat, member.lon)
    # Standing a little away from the stored home, still inside Combat's polygon.
    inside = {"latitude": combat.centroid_lat + 0.0004, "longitude": combat.centroid_lon - 0.0004, "accuracy": 25}
    outside = {"latitude": elsewhere.centroid_lat, "longitude": elsewhere.centroid_lon, "accuracy": 25}
    index = geo.get_index()
    assert index.locate(inside["latitude"], inside["longitude"]) == combat.id
    assert index.locate(outside["latitude"], outside["longitude"]) == elsewhere.id

    # She first tries from work, in another quartier: the browser shares that position.
    context = new_context(geolocation=outside, permissions=["geolocation"])
    page = context.new_page()
    log_in(page, "ines@example.org", PASSWORD)
    page.locator("p.banner a[href='/verify/']").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify my address")
    button = page.get_by_role("button", name="Check my position")
    expect(button).to_be_enabled()
    with page.expect_navigation():
        button.click()

    expect(page).to_have_url(re.compile(r"/verify/$"))
    expect(page.locator("#geolocation-form [role=alert]")).to_contain_text("not seem to be in your neighbourhood")
    expect(page.locator("p.banner")).to_be_visible()
    member.refresh_from_db()
    assert not member.is_verified

    # At home, the same button confirms her address.
    context.set_geolocation(inside)
    with page.expect_navigation():
        page.get_by_role("button", name="Check my position").click()

    expect(page).to_have_url(NEIGHBOURHOOD_URL)
    expect(page.locator("ul.messages li.success")).to_contain_text("verified")
    expect(page.locator("p.banner:not(.crisis)")).to_have_count(0)
    page.screenshot(path=str(artifacts / "verification-geolocation.png"), full_page=True)
    page.goto("/me/")
    expect(page.locator("dl.facts")).to_contain_text("verified")
    page.goto("/verify/")
    expect(page.get_by_role("button", name="Check my position")).to_have_count(0)  # nothing left to verify
    member.refresh_from_db()
    assert member.is_verified and member.verification_method == "geolocation"
    assert (member.lat, member.lon) == home  # the position was checked, not stored


def test_invitation_code_from_a_verified_neighbour_verifies_the_member(new_context, paris, settings, artifacts):
    settings.ENTRAIDE_REQUIRE_VERIFICATION = True
    combat = Neighbourhood.objects.get(city=paris, name="Combat")
    MemberFactory(neighbourhood=combat, verified=True, language="en", display_name="Yasmine Haddad",
                  user__email="yasmine@example.org")
    newcomer = MemberFactory(neighbourhood=combat, language="en", user__email="paul@example.org")
    # A code from a verified member of another quartier does not vouch for an address in Combat.
    stranger = MemberFactory(neighbourhood=Neighbourhood.objects.get(city=paris, name="Saint-Gervais"),
                             verified=True, language="en")
    foreign_code = do_create_invitation(stranger).code

    # Yasmine, verified, creates an invitation code from her profile.
    yasmine = new_context().new_page()
    log_in(yasmine, "yasmine@example.org", PASSWORD)
    yasmine.goto("/me/")
    with yasmine.expect_navigation():
        yasmine.get_by_role("link", name="Invite a neighbour").click()
    with yasmine.expect_navigation():
        yasmine.get_by_role("button", name="Create an invitation code").click()
    expect(yasmine.locator("ul.messages li.success")).to_contain_text("New invitation code:")
    row = yasmine.locator("table tbody tr")
    expect(row).to_have_count(1)
    code = row.locator("code").text_content().strip()
    assert code and code in yasmine.locator("ul.messages li.success").text_content()
    expect(row.locator("td").nth(2)).to_have_text("no")

    # Paul, not verified yet, types the code she gave him.
    paul = new_context().new_page()
    log_in(paul, "paul@example.org", PASSWORD)
    paul.goto("/me/invitations/")
    expect(paul.locator("main")).to_contain_text("Only verified members can invite neighbours.")
    expect(paul.get_by_role("button", name="Create an invitation code")).to_have_count(0)
    with paul.expect_navigation():
        paul.locator("main a[href='/verify/']").click()
    field = paul.locator("#id_invitation-code")
    expect(paul.get_by_label("Code").nth(1)).to_have_id("id_invitation-code")

    field.fill(foreign_code)
    submit(paul, "form:has(#id_invitation-code)")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(paul.locator("#id_invitation-code_error")).to_contain_text("not valid for your neighbourhood")
    newcomer.refresh_from_db()
    assert not newcomer.is_verified

    field.fill(f"{code[:5].lower()}-{code[5:].lower()}")  # copied by hand, with a dash
    submit(paul, "form:has(#id_invitation-code)")

    expect(paul).to_have_url(NEIGHBOURHOOD_URL)
    expect(paul.locator("ul.messages li.success")).to_contain_text("verified")
    expect(paul.locator("p.banner:not(.crisis)")).to_have_count(0)
    paul.screenshot(path=str(artifacts / "verification-invitation.png"), full_page=True)
    newcomer.refresh_from_db()
    assert newcomer.is_verified and newcomer.verification_method == "invitation"

    # Now verified, Paul may vouch for others in turn; Yasmine sees her code used.
    paul.goto("/me/invitations/")
    expect(paul.get_by_role("button", name="Create an invitation code")).to_be_visible()
    yasmine.reload()
    expect(yasmine.locator("table tbody tr td").nth(2)).to_have_text("yes")
