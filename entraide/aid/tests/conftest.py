"""Fixtures of the mutual-aid tests: a requester in Saint-Gervais, helpers at known walking distances."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from entraide.accounts.factories import MemberFactory


def member_at(neighbourhood, name: str, *, north_m: float = 0.0, verified: bool = True, **kw):
    """A member living `north_m` metres north of the neighbourhood's representative point."""
    lat = neighbourhood.centroid_lat + north_m / 111_195.0
    return MemberFactory(neighbourhood=neighbourhood, display_name=name, lat=lat, lon=neighbourhood.centroid_lon,
                         verified=verified, **kw)


@pytest.fixture
def home(neighbourhood):
    return neighbourhood


@pytest.fixture
def requester(home):
    return member_at(home, "Jeanne Petit", address_text="12 Rue François Miron, 75004 Paris")


@pytest.fixture
def window():
    now = timezone.now()
    return {"window_start": now, "window_end": now + timedelta(hours=6)}
