"""Neighbours help each other: an at-risk neighbour asks for a pharmacy run, the nearest suitable helper takes it,
sees the address, does it; the requester confirms and thanks. And the help map: markers, the list, the filter."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from entraide.accounts.factories import PASSWORD, MemberFactory
from entraide.aid.factories import HelpOfferFactory, HelpRequestFactory
from entraide.aid.models import HelpRequest, MatchProposal, RequestStatus
from entraide.places.models import Neighbourhood

from .helpers import log_in, submit

pytestmark = pytest.mark.browser

ADDRESS = "12 Rue François Miron, 75004 Paris"
ORDONNANCE = "Récupérer mon ordonnance à la pharmacie de la rue Saint-Antoine."
REQUEST_URL = re.compile(r"/aid/requests/\d+/$")


def neighbour(saint_gervais, name: str, *, north_m: float = 0.0, **kw):
    """A verified English-speaking member of Saint-Gervais, living `north_m` metres north of its centre; their
    email is their first name, lower case, at example.org."""
    return MemberFactory(neighbourhood=saint_gervais, verified=True, language="en", display_name=name,
                         user__email=f"{name.split()[0].lower()}@example.org",
                         lat=saint_gervais.centroid_lat + north_m / 111_195.0, lon=saint_gervais.centroid_lon, **kw)


def test_an_at_risk_neighbour_gets_a_pharmacy_run_from_the_nearest_helper(new_context, paris, settings, artifacts):
    settings.ENTRAIDE_AID_NOTIFY_FIRST = 1  # one helper asked at a time: the nearest suitable one
    saint_gervais = Neighbourhood.objects.get(city=paris, name="Saint-Gervais")
    neighbour(saint_gervais, "Jeanne Petit", address_text=ADDRESS)
    paul = neighbour(saint_gervais, "Paul Aidant", north_m=300)
    zoe = neighbour(saint_gervais, "Zoe Lointaine", north_m=900)
    rex = neighbour(saint_gervais, "Rex Promeneur", north_m=100)
    HelpOfferFactory(helper=paul, types=["pharmacy", "groceries"])
    HelpOfferFactory(helper=zoe, types=["pharmacy"], radius_m=2000)
    HelpOfferFactory(helper=rex, types=["pet_walking"])  # nearer, but not for pharmacy runs

    # Jeanne, at risk, asks through the form; without JavaScript, as the core flows must work.
    jeanne = new_context(java_script_enabled=False).new_page()
    log_in(jeanne, "jeanne@example.org", PASSWORD)
    jeanne.goto("/aid/")
    with jeanne.expect_navigation():
        jeanne.get_by_role("link", name="Ask for help").click()
    form = jeanne.locator("#ask-form")
    form.get_by_label("What kind of help").select_option("pharmacy")
    form.get_by_label("What you need").fill(ORDONNANCE)
    form.get_by_label("I am at risk").check()
    expect(form.get_by_label("My address")).to_be_checked()
    expect(form.locator("#money-notice")).to_contain_text("Money never transits through Entraide")
    jeanne.screenshot(path=str(artifacts / "aid-ask.png"), full_page=True)
    submit(jeanne, "#ask-form")
    expect(jeanne).to_have_url(REQUEST_URL)
    expect(jeanne.locator("#request-status")).to_contain_text("Asked to nearby helpers")
    request_url = jeanne.url

    req = HelpRequest.objects.get()
    assert req.at_risk and req.type == "pharmacy"
    assert list(MatchProposal.objects.filter(request=req).values_list("helper_id", flat=True)) == [paul.id]

    # Zoe, further away, was not asked.
    zoe_page = new_context().new_page()
    log_in(zoe_page, "zoe@example.org", PASSWORD)
    zoe_page.goto("/aid/")
    expect(zoe_page.locator("#asked")).to_contain_text("Nobody asked you for help at the moment.")

    # Paul sees it among the requests he was asked to take, accepts, and gets Jeanne's address.
    helper = new_context().new_page()
    log_in(helper, "paul@example.org", PASSWORD)
    helper.get_by_role("link", name="Help", exact=True).click()
    asked = helper.locator("#asked-list")
    expect(asked).to_contain_text(ORDONNANCE)
    expect(asked).to_contain_text("Jeanne P.")
    helper.screenshot(path=str(artifacts / "aid-home.png"), full_page=True)
    with helper.expect_navigation():
        asked.get_by_role("button", name=re.compile(r"^Accept")).click()
    expect(helper).to_have_url(request_url)
    contact = helper.locator("#contact")
    expect(contact).to_contain_text(ADDRESS)
    expect(contact).to_contain_text("Shown to you only while the task is active.")
    expect(helper.locator("#request-status")).to_contain_text("You are helping")
    helper.screenshot(path=str(artifacts / "aid-helper-contact.png"), full_page=True)

    # He does the run and says so.
    with helper.expect_navigation():
        helper.get_by_role("button", name="It's done").click()
    expect(helper.locator("#request-status")).to_contain_text("The helper says it is done")

    # Jeanne confirms and thanks him.
    jeanne.goto("/aid/")
    with jeanne.expect_navigation():
        jeanne.locator("#my-requests-list a").first.click()
    expect(jeanne.locator("#request-status")).to_contain_text("waiting for the requester's confirmation")
    jeanne.get_by_label("A thank-you message (optional)").fill("Merci Paul, vous m'avez sauvé la journée !")
    with jeanne.expect_navigation():
        jeanne.get_by_role("button", name="Confirm it's done").click()
    expect(jeanne.locator("#request-status .status-text")).to_have_text("Done")
    expect(jeanne.locator("#request-thanks")).to_contain_text("Merci Paul, vous m'avez sauvé la journée !")
    expect(jeanne.locator("#request-history")).to_contain_text("Done, confirmed by the requester")
    expect(jeanne.locator("#contact")).to_have_count(0)

    # Paul sees the thanks; the address is gone now that the task is over.
    helper.reload()
    expect(helper.locator("#request-status .status-text")).to_have_text("Done")
    expect(helper.locator("#request-thanks")).to_contain_text("Merci Paul")
    expect(helper.locator("#contact")).to_have_count(0)
    expect(helper.locator("main")).not_to_contain_text(ADDRESS)
    req.refresh_from_db()
    assert req.status == RequestStatus.DONE and req.helper_id == paul.id
    assert req.thanks == "Merci Paul, vous m'avez sauvé la journée !"


def test_the_help_map_shows_markers_and_the_list_and_filters_by_type(new_context, paris, artifacts):
    saint_gervais = Neighbourhood.objects.get(city=paris, name="Saint-Gervais")
    viewer = neighbour(saint_gervais, "Alice Martin")
    for name, north, kind, text in [("Anne Garde", 200, "childcare", "Garder Léo mercredi après-midi"),
                                    ("Gus Courses", 500, "groceries", "Pâtes, riz et lait"),
                                    ("Bea Chien", 900, "pet_walking", "Promener Rex le soir")]:
        HelpRequestFactory(requester=neighbour(saint_gervais, name, north_m=north, address_text=f"{north} Rue X"),
                           type=kind, description=text)
    HelpOfferFactory(helper=neighbour(saint_gervais, "Carl Nounou", north_m=-400), types=["childcare"])

    page = new_context().new_page()
    log_in(page, "alice@example.org", PASSWORD)
    page.goto("/aid/")
    with page.expect_navigation():
        page.get_by_role("link", name="Help map").click()
    expect(page.locator("#aid-map.leaflet-container")).to_be_visible()
    expect(page.locator("#aid-map path.aid-request")).to_have_count(3)
    expect(page.locator("#aid-map path.aid-helper")).to_have_count(1)
    items = page.locator("#aid-request-list > li")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("Garder Léo")  # nearest first
    expect(items.last).to_contain_text("Promener Rex")
    for address in ("200 Rue X", "500 Rue X", "900 Rue X"):
        expect(page.locator("body")).not_to_contain_text(address)

    # A marker opens a popup linking to its request, written as text.
    page.locator("#aid-map path.aid-request").first.click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup.get_by_role("link")).to_have_count(1)
    page.screenshot(path=str(artifacts / "aid-map.png"), full_page=True)

    # The filter is a plain GET form: only childcare, on the map and in the list.
    page.locator("#aid-filter").get_by_label("Childcare", exact=True).check()
    with page.expect_navigation():
        page.locator("#aid-filter").get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/aid/map/\?type=childcare$"))
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Garder Léo")
    expect(page.locator("#aid-map path.aid-request")).to_have_count(1)
    expect(page.locator("#aid-filter").get_by_label("Childcare", exact=True)).to_be_checked()
    expect(page.locator("#aid-helper-list")).to_contain_text("Carl N.")

    # Without JavaScript the list is all there, and no empty map box is left.
    plain = new_context(java_script_enabled=False).new_page()
    log_in(plain, "alice@example.org", PASSWORD)
    plain.goto("/aid/map/?type=groceries")
    expect(plain.locator("#aid-request-list > li")).to_have_count(1)
    expect(plain.locator("#aid-request-list")).to_contain_text("Pâtes, riz et lait")
    expect(plain.locator("#aid-map")).to_be_hidden()
    assert viewer.id  # the viewer saw everything from their own blurred point
