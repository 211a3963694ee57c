"""Steps shared by the browser journeys (selectors are ids, names and roles: they hold in any UI language)."""
from __future__ import annotations

import re

from playwright.sync_api import expect

NEIGHBOURHOOD_URL = re.compile(r"/n/\d+/$")
PASSWORD = "correct horse battery staple 42"


def fill_signup(page, *, email: str, name: str, password: str = PASSWORD, address: str = "",
                lat: float | None = None, lon: float | None = None) -> None:
    """Open the sign-up page and fill it the way a person would (the coordinates sit in a closed <details>)."""
    page.goto("/accounts/signup/")
    page.locator("#id_email").fill(email)
    page.locator("#id_password1").fill(password)
    page.locator("#id_display_name").fill(name)
    if address:
        page.locator("#id_address").fill(address)
    if lat is not None:
        page.locator("main form details > summary").click()
        page.locator("#id_lat").fill(str(lat))
        page.locator("#id_lon").fill(str(lon))


def submit(page, form: str = "main form") -> None:
    """Click the form's submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").first.click()


def log_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    submit(page)


def watch_dialogs(page, dialogs: list):
    """Record (and dismiss) every alert/confirm/prompt of `page`: injected script would show up here."""
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return page


def fill_composer(page, *, body: str, title: str = "", nearby: bool = True, crisis: bool = False,
                  tags: str = "", pictures: list | None = None):
    """Open /feed/ and fill its composer; the composer's locator, to submit it."""
    page.goto("/feed/")
    composer = page.locator("#composer")
    if title:
        composer.get_by_label("Title").fill(title)
    composer.get_by_label("Message").fill(body)
    if nearby:
        composer.get_by_label("My neighbourhood and nearby ones").check()
    if crisis:
        composer.locator("input[name=crisis_tag]").check()
    if tags:
        composer.get_by_label("Tags").fill(tags)
    if pictures:
        composer.get_by_label("Pictures").set_input_files([str(p) for p in pictures])
    return composer


def compose(page, **fields) -> None:
    """Write a post with the composer of /feed/ (a plain form: the page reloads) and check it is published."""
    composer = fill_composer(page, **fields)
    with page.expect_navigation():
        composer.locator("button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text("Your post is published.")


def saint_gervais_pair(paris, writer: str, reader: str) -> tuple:
    """Two verified English-speaking members of Saint-Gervais, e.g. ("Alice Martin", "Bruno Petit"); emails are
    the first names, lower case, at example.org."""
    from entraide.accounts.factories import MemberFactory
    from entraide.places.models import Neighbourhood

    saint_gervais = Neighbourhood.objects.get(city=paris, name="Saint-Gervais")
    return tuple(MemberFactory(neighbourhood=saint_gervais, verified=True, language="en", display_name=name,
                               user__email=f"{name.split()[0].lower()}@example.org") for name in (writer, reader))
