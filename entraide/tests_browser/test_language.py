"""The interface language: French unless the browser asks for English, and switchable from the header."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import submit

pytestmark = pytest.mark.browser


def test_french_by_default_and_switch_to_english(new_context):
    # A browser asking for a language we do not have gets the site's default.
    page = new_context(extra_http_headers={"Accept-Language": "de-DE,de;q=0.9"}).new_page()
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("#lang-select")).to_have_value("fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Entre voisins, on s’entraide")
    expect(page.locator("header.site nav").get_by_role("link", name="Se connecter")).to_be_visible()

    page.locator("#lang-select").select_option("en")
    submit(page, "header form.lang")

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#lang-select")).to_have_value("en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Neighbours helping neighbours")
    page.goto("/accounts/signup/")  # the choice sticks
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.locator("#lang-select").select_option("fr")
    submit(page, "header form.lang")
    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Rejoignez vos voisins")
