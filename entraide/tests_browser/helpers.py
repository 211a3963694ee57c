"""Steps shared by the browser journeys (selectors are ids, names and roles: they hold in any UI language)."""
from __future__ import annotations

import re

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
