"""The pages load nothing from other hosts: every browser test fails on a request that leaves the live server.

The check itself lives in conftest.py (``ForeignRequests``, installed on every context); this file shows that it
notices the usual ways a page reaches a third party, and that the site's own pages pass it.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CDN = "https://cdn.example.net"
INJECT = f"""() => {{
  const script = document.createElement("script"); script.src = "{CDN}/htmx.min.js"; document.head.append(script);
  const img = new Image(); img.src = "http://tiles.example.org/1/2/3.png"; document.body.append(img);
  const link = document.createElement("link"); link.rel = "stylesheet"; link.href = "{CDN}/leaflet.css";
  document.head.append(link);
  return fetch("https://analytics.example.com/hit").then(() => "reached", () => "blocked");
}}"""


def test_requests_to_other_hosts_are_blocked_and_reported(page, foreign_requests, site):
    page.goto("/accounts/signup/")
    expect(page.locator("#map.leaflet-container")).to_be_visible()  # Leaflet, htmx and the styles came from the site
    assert foreign_requests.urls == []

    assert page.evaluate(INJECT) == "blocked"  # the fetch never got an answer
    for _ in range(100):  # the script, picture and style sheet requests are reported as they start
        if len(foreign_requests.urls) >= 4:
            break
        page.wait_for_timeout(50)
    assert sorted(foreign_requests.urls) == sorted([
        f"{CDN}/htmx.min.js", "http://tiles.example.org/1/2/3.png", f"{CDN}/leaflet.css",
        "https://analytics.example.com/hit"])
    # The same host on another port is another site too; the live server itself is not foreign.
    host, port = site.rsplit(":", 1)
    assert foreign_requests.is_foreign(f"{host}:{int(port) + 1}/")
    assert not foreign_requests.is_foreign(site + "/static/vendor/htmx/htmx.min.js")
    foreign_requests.urls.clear()  # seen: the fixture would otherwise fail this test at its end
