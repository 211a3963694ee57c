"""Run in a subprocess by test_consumer_kill: migrate a fresh SQLite database, then notify one member.

Its environment points Django at its own database, job queue (ENTRAIDE_VAR_DIR) and email backend. The match
notification's email is written to the outbox and its sending job enqueued on commit, as in production.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entraide.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from entraide.accounts.models import Member
    from entraide.notifications import actions
    from entraide.places.models import City, Neighbourhood

    city = City.objects.create(name="Paris")
    square = {"type": "Polygon", "coordinates": [[[2.35, 48.85], [2.36, 48.85], [2.36, 48.86], [2.35, 48.85]]]}
    place = Neighbourhood.objects.create(city=city, name="Saint-Gervais", code="4", geometry=square, min_lon=2.35,
                                         min_lat=48.85, max_lon=2.36, max_lat=48.86, centroid_lat=48.855,
                                         centroid_lon=2.355)
    user = get_user_model().objects.create_user(username="paul", email="paul@example.org", password=None)
    paul = Member.objects.create(user=user, display_name="Paul Aidant", language="fr", lat=48.855, lon=2.355,
                                 blurred_cell="891fb466257ffff", neighbourhood=place)
    actions.notify([paul.id], "match", payload={"request_id": 1, "help_type": "pharmacy", "name": "Jeanne P."},
                   url="/aid/requests/1/", thread="request:1", dedupe=lambda m: f"match:1:{m.id}")
    print("ready", flush=True)


if __name__ == "__main__":
    sys.exit(main())
