"""Browser fixtures: Debian's chromium driven by Playwright (sync API) against pytest-django's live server.

Every test here is marked ``browser``. The browser is started once per test module (``--dist loadfile`` keeps a
module on one xdist worker); each test gets a fresh context (cookies, storage) so journeys never leak into each
other.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 15_000  # generous: CI machines run these next to other suites
# What a person's browser sends; the UI language is pinned so assertions don't depend on translations in progress.
ENGLISH = {"Accept-Language": "en"}


def _chromium_path() -> str | None:
    path = os.environ.get("ENTRAIDE_CHROMIUM") or "/usr/bin/chromium"
    return path if os.path.exists(path) else shutil.which("chromium")


@pytest.fixture(scope="module")
def browser():
    """Chromium, for one test module.

    While Playwright's sync API is started, an asyncio loop runs in this thread and Django refuses ORM calls
    ("You cannot call this from an async context"). The override is scoped to the modules that drive a browser,
    and Playwright is stopped after each, so the rest of the suite keeps Django's check.
    """
    executable = _chromium_path()
    if not executable:
        pytest.fail("Debian's chromium is needed for browser tests: apt-get install chromium (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 costs ~0.6 s a hash and these journeys sign up and log in a lot; hashing is tested elsewhere.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def site(live_server, transactional_db):
    """Base URL of the live server (the server thread and the test share the transactional test database)."""
    return live_server.url


class PageErrors:
    """Uncaught script errors and console errors of every page opened in a context."""

    def __init__(self):
        self.errors: list[str] = []

    def watch(self, page):
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: self.errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error" and "Failed to load resource" not in msg.text else None)


class ForeignRequests:
    """Every request a context makes to a host other than the live server: recorded and aborted.

    Everything the pages need (htmx, Leaflet, styles, fonts) must be served by the site
    itself, so that no third party learns who reads which neighbourhood; a CDN link anywhere fails the test.
    """

    def __init__(self, site: str):
        origin = urlsplit(site)
        self.origin = (origin.scheme, origin.netloc)
        self.urls: list[str] = []
        # A regex is matched by Playwright's driver, not by a Python callback: same-site requests are not slowed.
        self.pattern = re.compile(r"^(?!(?:" + re.escape(site.rstrip("/")) + r"(?:[/?#]|$)|data:|blob:|about:))")

    def is_foreign(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about", "chrome-error"):
            return False
        return (parts.scheme, parts.netloc) != self.origin

    def _record(self, url: str) -> None:
        if self.is_foreign(url) and url not in self.urls:
            self.urls.append(url)

    def _abort(self, route) -> None:
        self._record(route.request.url)
        route.abort("blockedbyclient")

    def install(self, context) -> None:
        context.route(self.pattern, self._abort)
        context.on("request", lambda request: self._record(request.url))  # what a route might not see
        context.on("page", lambda page: page.on("websocket", lambda ws: self._record(ws.url)))


@pytest.fixture
def foreign_requests(site) -> ForeignRequests:
    """The requests to other hosts made by the pages of this test (the test fails at its end if there are any)."""
    return ForeignRequests(site)


@pytest.fixture
def new_context(browser, site, foreign_requests):
    """Factory of fresh browser contexts (``new_context(java_script_enabled=False)``), closed after the test.

    Pages opened in these contexts must not raise script errors nor request anything from another host than the
    live server; both are checked when the test ends.
    """
    contexts, errors = [], PageErrors()

    def make(**options):
        options.setdefault("base_url", site)
        options.setdefault("extra_http_headers", ENGLISH)
        options.setdefault("viewport", {"width": 1280, "height": 900})
        options.setdefault("service_workers", "block")  # a service worker's fetches would bypass the routes
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", errors.watch)
        foreign_requests.install(context)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not errors.errors, "script errors in the browser:\n" + "\n".join(errors.errors)
    assert not foreign_requests.urls, ("requests to other hosts than the live server (vendor these files):\n"
                                       + "\n".join(foreign_requests.urls))


@pytest.fixture
def page(new_context):
    """A page with JavaScript on, in English."""
    return new_context().new_page()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
