"""A helper hears about a neighbour's request: the bell counts it, the notifications page lists it, one click leads
to the request; a notification arriving while the page is open refreshes the bell (htmx, on the live event)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from entraide.accounts.factories import PASSWORD, MemberFactory
from entraide.aid import actions
from entraide.aid.factories import HelpOfferFactory
from entraide.notifications.models import Notification
from entraide.places.models import Neighbourhood

from .helpers import log_in

pytestmark = pytest.mark.browser




def neighbour(place, name: str, north_m: float = 0.0):
    return MemberFactory(neighbourhood=place, verified=True, language="en", display_name=name,
                         user__email=f"{name.split()[0].lower()}@example.org",
                         lat=place.centroid_lat + north_m / 111_195.0, lon=place.centroid_lon)


def ask(requester, description: str):
    now = timezone.now()
    return actions.do_create_request(requester, type="pharmacy", description=description, window_start=now,
                                     window_end=now + timedelta(hours=6))


def test_a_helper_sees_the_match_in_the_bell_and_reaches_the_request(page, paris, settings):
    settings.ENTRAIDE_QUIET_HOURS = ""
    saint_gervais = Neighbourhood.objects.get(city=paris, name="Saint-Gervais")
    jeanne = neighbour(saint_gervais, "Jeanne Petit")
    paul = neighbour(saint_gervais, "Paul Aidant", north_m=300)
    HelpOfferFactory(helper=paul, types=["pharmacy"])

    log_in(page, "paul@example.org", PASSWORD)
    page.goto("/feed/")
    bell = page.locator("#notification-bell")
    expect(bell).to_be_visible()
    expect(page.locator("#bell-count")).to_have_count(0)

    req = ask(jeanne, "Récupérer mon ordonnance à la pharmacie")
    assert Notification.objects.filter(recipient=paul, type="match").count() == 1
    page.reload()
    expect(page.locator("#bell-count")).to_contain_text("1")

    with page.expect_navigation():
        page.locator("#notification-bell").click()
    expect(page).to_have_url(re.compile(r"/notifications/$"))
    item = page.locator("#notification-list li").first
    expect(item).to_contain_text("Jeanne P. asks for help nearby: Pharmacy run")
    with page.expect_navigation():
        item.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/aid/requests/{req.id}/$"))
    expect(page.locator("main")).to_contain_text("Récupérer mon ordonnance à la pharmacie")
    expect(page.locator("#bell-count")).to_have_count(0)

    # Another request while the page is open: the live event refreshes the bell (dispatched here as live.js does;
    # the live server of these tests is WSGI, without WebSockets).
    ask(neighbour(saint_gervais, "Marc Voisin", north_m=-200), "Aller chercher des médicaments")
    page.evaluate("""() => document.body.dispatchEvent(new CustomEvent('live-notification-created',
                     {detail: {type: 'match', unread_count: 1}}))""")
    expect(page.locator("#bell-count")).to_contain_text("1")
