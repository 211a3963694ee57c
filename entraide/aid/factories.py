from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from entraide.places import geo

from .models import HelpOffer, HelpRequest, types_to_mask


class HelpOfferFactory(factory.django.DjangoModelFactory):
    """An active offer by `helper` (required) at their blurred home point; pass `types=[...]`."""

    class Meta:
        model = HelpOffer
        exclude = ("types",)

    types = ("groceries", "pharmacy")
    type_mask = factory.LazyAttribute(lambda o: types_to_mask(list(o.types)))
    neighbourhood = factory.LazyAttribute(lambda o: o.helper.neighbourhood)
    radius_m = 1000
    slots = factory.LazyFunction(list)
    capacity_per_week = 3
    blurred_cell = factory.LazyAttribute(lambda o: o.helper.blurred_cell)
    lat = factory.LazyAttribute(lambda o: geo.cell_centre(o.helper.blurred_cell)[0])
    lon = factory.LazyAttribute(lambda o: geo.cell_centre(o.helper.blurred_cell)[1])


class HelpRequestFactory(factory.django.DjangoModelFactory):
    """A waiting request by `requester` (required), written directly: no matching runs (use the actions for that)."""

    class Meta:
        model = HelpRequest

    neighbourhood = factory.LazyAttribute(lambda o: o.requester.neighbourhood)
    type = "groceries"
    description = factory.Sequence(lambda n: f"Courses pour la semaine, liste numéro {n}")
    window_start = factory.LazyFunction(timezone.now)
    window_end = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    blurred_cell = factory.LazyAttribute(lambda o: o.requester.blurred_cell)
    lat = factory.LazyAttribute(lambda o: geo.cell_centre(o.requester.blurred_cell)[0])
    lon = factory.LazyAttribute(lambda o: geo.cell_centre(o.requester.blurred_cell)[1])
