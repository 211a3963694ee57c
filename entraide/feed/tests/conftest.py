"""Fixtures shared by the feed's tests: two neighbouring quartiers, a far one, and their members."""
from __future__ import annotations

import pytest

from entraide.accounts.factories import MemberFactory
from entraide.core import events


@pytest.fixture
def home(neighbourhood):
    """Saint-Gervais."""
    return neighbourhood


@pytest.fixture
def alice(home):
    return MemberFactory(neighbourhood=home, verified=True, display_name="Alice Martin")


@pytest.fixture
def bob(home):
    return MemberFactory(neighbourhood=home, verified=True, display_name="Bruno Lefèvre")


@pytest.fixture
def pending(home):
    return MemberFactory(neighbourhood=home, display_name="Paul Pending")


@pytest.fixture
def nadia(nearby):
    """A verified member of the nearby neighbourhood."""
    return MemberFactory(neighbourhood=nearby, verified=True, display_name="Nadia Benali")


@pytest.fixture
def zoe(far):
    """A verified member of a far neighbourhood."""
    return MemberFactory(neighbourhood=far, verified=True, display_name="Zoé Petit")


@pytest.fixture
def published():
    """Events heard by subscribers (only after commit)."""
    seen: list[dict] = []

    def receiver(sender, event, **kwargs):
        seen.append(event)

    events.event_published.connect(receiver)
    yield seen
    events.event_published.disconnect(receiver)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"
