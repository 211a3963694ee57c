"""Turning what a person typed (or the pin they placed) into a home inside one neighbourhood."""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from entraide.core.errors import EntraideError
from entraide.places import geo
from entraide.places.models import Neighbourhood
from entraide.places.queries import locate

# Only these are precise enough to say which neighbourhood someone lives in; coarser answers ask for a pin.
PRECISE = {"housenumber", "street", "pin"}
# Well-formed input that cannot place a home: 422, like the schema's own validation errors (DESIGN.md, API).
UNPROCESSABLE = 422


@dataclass
class Home:
    lat: float
    lon: float
    address_text: str
    street_name: str
    precision: str
    neighbourhood: Neighbourhood


def resolve_home(*, address: str | None = None, lat: float | None = None, lon: float | None = None) -> Home:
    """Locate a home by pin (lat/lon wins when given) or by typed address; refuse clearly when it cannot."""
    address = (address or "").strip()
    if lat is not None or lon is not None:
        if lat is None or lon is None or not geo.valid_lat_lon(lat, lon):
            raise EntraideError("invalid_coordinates",
                                _("Latitude must be between -90 and 90 and longitude between -180 and 180."),
                                fields={"lat": [_("Out of range.")], "lon": [_("Out of range.")]}, status=UNPROCESSABLE)
        street_name, precision = "", "pin"
    elif address:
        from entraide.places.geocoding import geocode

        candidates = geocode(address, limit=1)
        if not candidates:
            raise EntraideError("address_not_found",
                                _("We could not find this address. Check it, or place the pin on the map."),
                                fields={"address": [_("Address not found.")]}, status=UNPROCESSABLE)
        best = candidates[0]
        if best.precision not in PRECISE:
            raise EntraideError("address_imprecise",
                                _("We only found the area (%(label)s). Please give the street and number, or place the pin on your home.")
                                % {"label": best.label},
                                fields={"address": [_("Not precise enough.")]}, status=UNPROCESSABLE)
        lat, lon, street_name, precision = best.lat, best.lon, best.street, best.precision
    else:
        raise EntraideError("address_required", _("Give your address or place the pin on the map."),
                            fields={"address": [_("This field is required.")]}, status=UNPROCESSABLE)
    neighbourhood = locate(lat, lon)
    if neighbourhood is None:
        raise EntraideError("not_covered",
                            _("This place is not covered yet. You can join the waiting list for your area."),
                            fields={"address": [_("Not covered yet.")]}, status=UNPROCESSABLE)
    return Home(lat=lat, lon=lon, address_text=address, street_name=street_name, precision=precision,
                neighbourhood=neighbourhood)
