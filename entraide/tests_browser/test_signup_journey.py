"""Joining: sign-up with and without JavaScript, and a home outside every neighbourhood."""
from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import expect

from entraide.accounts.models import Member
from entraide.conftest import DATA
from entraide.places.gazetteer import import_postcodes
from entraide.places.models import WaitlistEntry

from .helpers import NEIGHBOURHOOD_URL, fill_signup, submit

pytestmark = pytest.mark.browser

ADDRESS_TYPED = "67 av simon bolivar"  # how people type it; the BAN sample holds 67 Avenue Simon Bolivar, 75019


def test_signup_with_javascript_pin_from_suggestion(page, paris, gazetteer, artifacts):
    page.goto("/accounts/signup/")
    page.locator("#id_email").fill("camille@example.org")
    page.locator("#id_password1").fill("correct horse battery staple 42")
    page.locator("#id_display_name").fill("Camille Durand")
    expect(page.locator("#map.leaflet-container")).to_be_visible()  # the pin map is up

    page.locator("#id_address").press_sequentially(ADDRESS_TYPED, delay=15)
    suggestion = page.locator("#suggestions button.candidate").filter(has_text="67 Avenue Simon Bolivar").first
    expect(suggestion).to_be_visible()
    expect(suggestion).to_contain_text("Combat")  # each suggestion says which neighbourhood it falls in
    suggestion.click()

    expect(page.locator("#id_lat")).to_have_value(re.compile(r"^48\.8763\d*$"))
    expect(page.locator("#id_lon")).to_have_value(re.compile(r"^2\.3771\d*$"))
    expect(page.locator("#id_address")).to_have_value(re.compile(r"^67 Avenue Simon Bolivar"))
    expect(page.locator("#suggestions button.candidate")).to_have_count(0)  # the list closes
    expect(page.locator("#map .leaflet-marker-icon")).to_have_count(1)  # and the pin is on the map

    submit(page)

    expect(page).to_have_url(NEIGHBOURHOOD_URL)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Combat")
    expect(page.locator("#map.leaflet-container")).to_be_visible()
    expect(page.locator("#map path.leaflet-interactive").first).to_be_visible()  # the quartier's outline
    expect(page.locator("main")).to_contain_text("1 member")
    page.screenshot(path=str(artifacts / "signup-journey.png"), full_page=True)

    member = Member.objects.select_related("neighbourhood").get(user__email="camille@example.org")
    assert member.neighbourhood.name == "Combat"
    assert (round(member.lat, 4), round(member.lon, 4)) == (48.8764, 2.3772)


def test_signup_without_javascript_geocodes_on_the_server(new_context, paris, gazetteer):
    page = new_context(java_script_enabled=False).new_page()
    fill_signup(page, email="noscript@example.org", name="Sami Benali", address=ADDRESS_TYPED)
    expect(page.locator("#suggestions")).to_be_empty()  # nothing client-side happened

    submit(page)

    expect(page).to_have_url(NEIGHBOURHOOD_URL)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Combat")
    expect(page.locator("#map")).to_be_attached()
    expect(page.locator("main")).to_contain_text("1 member")
    member = Member.objects.select_related("neighbourhood").get(user__email="noscript@example.org")
    assert member.neighbourhood.name == "Combat"
    assert member.street_name == "Avenue Simon Bolivar"


@pytest.fixture
def lyon_postcodes(db, tmp_path):
    """The GeoNames rows of 69002 (Lyon), so the waiting list can place a typed Lyon address."""

    source = DATA / "geonames-postcodes-fr.csv"
    subset = tmp_path / "postcodes-69002.csv"
    with source.open(newline="", encoding="utf-8") as src, subset.open("w", newline="", encoding="utf-8") as out:
        reader, writer = csv.reader(src), csv.writer(out)
        writer.writerow(next(reader))
        writer.writerows(row for row in reader if row[1] == "69002")
    assert import_postcodes(subset) >= 1


def test_pin_outside_every_neighbourhood_leads_to_the_waiting_list(page, paris, gazetteer, lyon_postcodes, artifacts):
    fill_signup(page, email="lea@example.org", name="Léa Morel", address="Place Bellecour, 69002 Lyon",
                lat=45.76, lon=4.83)

    submit(page)

    address = page.locator("#id_address")
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(address).to_have_attribute("aria-describedby", re.compile(r"(^|\s)id_address_error(\s|$)"))
    error = page.locator("#id_address_error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("not covered")
    assert not Member.objects.filter(user__email="lea@example.org").exists()
    error.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "signup-not-covered.png"))

    waitlist = page.locator(".field:has(#id_address) a[href^='/waitlist/']")
    expect(waitlist).to_be_visible()
    with page.expect_navigation():
        waitlist.click()

    expect(page).to_have_url(re.compile(r"/waitlist/\?address="))
    expect(page.locator("#id_address")).to_have_value("Place Bellecour, 69002 Lyon")
    page.locator("#id_email").fill("lea@example.org")
    submit(page)

    expect(page.locator("ul.messages li.success")).to_contain_text("waiting list")
    assert WaitlistEntry.objects.filter(email="lea@example.org").count() == 1
