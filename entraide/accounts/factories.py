from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from entraide.places import geo

from .models import Member, VerificationState

PASSWORD = "a-long-test-password"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.Sequence(lambda n: f"member{n}@example.org")
    password = factory.django.Password(PASSWORD)


class MemberFactory(factory.django.DjangoModelFactory):
    """A member living at the representative point of `neighbourhood` (pass lat/lon for another home)."""

    class Meta:
        model = Member

    user = factory.SubFactory(UserFactory)
    display_name = factory.Sequence(lambda n: f"Alice Martin{n}")
    address_text = factory.Sequence(lambda n: f"{n + 1} Rue de Rivoli, 75004 Paris")
    lat = factory.LazyAttribute(lambda o: o.neighbourhood.centroid_lat)
    lon = factory.LazyAttribute(lambda o: o.neighbourhood.centroid_lon)
    blurred_cell = factory.LazyAttribute(lambda o: geo.blur(o.lat, o.lon).cell)
    street_name = "Rue de Rivoli"
    location_precision = "housenumber"
    verification_state = VerificationState.PENDING

    class Params:
        verified = factory.Trait(verification_state=VerificationState.VERIFIED, verification_method="operator")
