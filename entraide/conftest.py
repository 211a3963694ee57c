"""Fixtures shared by every app's tests: real neighbourhoods, members, API clients."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache

from entraide.places import geo

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(autouse=True)
def _fresh_process_state():
    # Rate-limit counters, the neighbourhood index, feed pages and readers live in process memory; tests must not
    # share them.
    from entraide.core.changes import listener
    from entraide.feed import page_cache

    cache.clear()
    geo.invalidate_index()
    page_cache.clear()  # keyed on clock versions, which start again in every test's database
    yield
    geo.invalidate_index()
    page_cache.clear()
    listener.close()  # forgets the readers kept (feed/reader_cache.py); an open session would keep the test database


@pytest.fixture(autouse=True)
def _jobs_in_process():
    # Jobs enqueued on commit run where they are enqueued, in memory: no test writes to the real queue under var/.
    from huey.contrib.djhuey import HUEY

    before = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = before


_stash: dict[str, list] = {}


@pytest.fixture
def paris(db):
    """The 80 real quartiers of Paris, with their nearby links.

    The first test imports the file for real; later tests re-insert the same rows, which is much faster.
    """
    from entraide.places.actions import do_import_neighbourhoods
    from entraide.places.models import City, Neighbourhood

    Through = Neighbourhood.nearby.through
    if not _stash:
        do_import_neighbourhoods(DATA / "paris-quartiers.geojson", name_field="l_qu", code_field="c_quinsee",
                                 city="Paris")
        _stash["city"] = list(City.objects.filter(name="Paris"))
        _stash["neighbourhoods"] = list(Neighbourhood.objects.filter(city__name="Paris"))
        _stash["nearby"] = list(Through.objects.all())
    else:
        City.objects.bulk_create(_stash["city"])
        Neighbourhood.objects.bulk_create(_stash["neighbourhoods"])
        Through.objects.bulk_create(_stash["nearby"])
    return City.objects.get(name="Paris")


@pytest.fixture
def neighbourhood(paris):
    """Saint-Gervais, in the 4th arrondissement."""
    from entraide.places.models import Neighbourhood

    return Neighbourhood.objects.get(city=paris, name="Saint-Gervais")

@pytest.fixture
def nearby(paris):
    """Saint-Merri, next to Saint-Gervais."""
    from entraide.places.models import Neighbourhood

    return Neighbourhood.objects.get(city=paris, name="Saint-Merri")


@pytest.fixture
def far(paris):
    """Combat, in the 19e: not next to Saint-Gervais."""
    from entraide.places.models import Neighbourhood

    return Neighbourhood.objects.get(city=paris, name="Combat")


@pytest.fixture
def gazetteer(db):
    """The real BAN address sample."""
    from entraide.places.gazetteer import import_addresses

    import_addresses(DATA / "paris-adresses-sample.csv")


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need row locks and real concurrency: they run in the PostgreSQL pass only."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    kept = [item for item in items if item.get_closest_marker("postgres") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("postgres")])
        items[:] = kept
