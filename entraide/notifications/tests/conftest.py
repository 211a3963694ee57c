"""Fixtures of the notification tests: members of Saint-Gervais, its neighbour and a far quartier; jobs run in
process (huey immediate mode) so what a job does is visible at once; events run as after a commit."""
from __future__ import annotations

import pytest
from django.test import Client

from entraide.accounts.factories import MemberFactory
from entraide.core import events


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.ENTRAIDE_SITE_URL = "https://entraide.example"
    settings.ENTRAIDE_QUIET_HOURS = ""  # most tests send at once; quiet-hour tests set theirs


@pytest.fixture
def after_commit(django_capture_on_commit_callbacks):
    """`with after_commit():` runs what commits would run (subscribers, jobs enqueued on commit)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def home(neighbourhood):
    return neighbourhood


def member(neighbourhood, name: str, **kw):
    kw.setdefault("language", "en")
    return MemberFactory(neighbourhood=neighbourhood, verified=True, display_name=name, **kw)


@pytest.fixture
def alice(home):
    return member(home, "Alice Martin", user__email="alice@example.org")


@pytest.fixture
def bob(home):
    return member(home, "Bruno Lefèvre", user__email="bob@example.org")


@pytest.fixture
def nadia(nearby):
    return member(nearby, "Nadia Benali", user__email="nadia@example.org")


@pytest.fixture
def zoe(far):
    return member(far, "Zoé Petit", user__email="zoe@example.org")


@pytest.fixture
def published():
    """Events heard by subscribers (only after commit)."""
    seen: list[dict] = []

    def receiver(sender, event, **kwargs):
        seen.append(event)

    events.event_published.connect(receiver)
    yield seen
    events.event_published.disconnect(receiver)


def client_for(m) -> Client:
    client = Client()
    client.force_login(m.user)
    return client
