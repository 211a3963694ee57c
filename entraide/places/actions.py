"""Writes on places: neighbourhood imports (operators) and the waiting list (visitors)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from django.db import transaction
from django.utils.translation import gettext as _

from entraide.core import ratelimit
from entraide.core.errors import EntraideError

from . import geo
from .models import City, Neighbourhood, WaitlistEntry
from .neighbourhood_import import adjacency, geometry_fields, load_feature_collection, parse_features

Progress = Callable[[int], None]


@dataclass
class ImportResult:
    city: str
    created: int = 0
    updated: int = 0
    nearby_pairs: int = 0
    repaired: list[str] = field(default_factory=list)


def do_import_neighbourhoods(path: str | Path, *, name_field: str, code_field: str | None = None,
                             city: str = "Paris", country: str = "FR",
                             progress: Progress | None = None) -> ImportResult:
    """Import every feature or none. Re-importing a file updates the neighbourhoods it already created."""
    import shapely.geometry

    data = load_feature_collection(path)
    parsed = parse_features(data["features"], name_field=name_field, code_field=code_field)
    result = ImportResult(city=city, repaired=parsed.repaired)
    with transaction.atomic():
        city_obj, _created = City.objects.get_or_create(name=city, country=country)
        existing = {n.code: n for n in Neighbourhood.objects.filter(city=city_obj)}
        touched_ids: list[int] = []
        for feature in parsed.features:
            fields = geometry_fields(feature.geometry)
            neighbourhood = existing.get(feature.code)
            if neighbourhood is None:
                neighbourhood = Neighbourhood.objects.create(city=city_obj, name=feature.name, code=feature.code, **fields)
                result.created += 1
            else:
                for key, value in fields.items():
                    setattr(neighbourhood, key, value)
                neighbourhood.name = feature.name
                neighbourhood.save()
                result.updated += 1
            touched_ids.append(neighbourhood.id)
            if progress:
                progress(1)
        # Adjacency is computed against every neighbourhood, so two imports (a city and its suburbs) connect.
        everything = list(Neighbourhood.objects.values_list("id", "geometry"))
        ids = [row[0] for row in everything]
        shapes = [shapely.geometry.shape(row[1]) for row in everything]
        position = {nid: i for i, nid in enumerate(ids)}
        pairs = adjacency(shapes, [position[t] for t in touched_ids])
        Through = Neighbourhood.nearby.through
        Through.objects.filter(from_neighbourhood_id__in=touched_ids).delete()
        Through.objects.filter(to_neighbourhood_id__in=touched_ids).delete()
        rows = []
        for i, j in pairs:
            rows.append(Through(from_neighbourhood_id=ids[i], to_neighbourhood_id=ids[j]))
            rows.append(Through(from_neighbourhood_id=ids[j], to_neighbourhood_id=ids[i]))
        Through.objects.bulk_create(rows, ignore_conflicts=True)
        result.nearby_pairs = len(pairs)
        transaction.on_commit(geo.invalidate_index)
    return result


_AREA = re.compile(r"\b(\d{5})\s+([^,\d][^,]*)$")


def area_of(label: str) -> str:
    """The "postcode town" tail of a geocoder label ("67 Av. X, 75019 Paris" gives "75019 Paris"), else nothing."""
    match = _AREA.search((label or "").strip())
    return f"{match.group(1)} {match.group(2).strip()}"[:200] if match else ""


def do_join_waitlist(*, email: str, lat: float, lon: float, area_label: str = "", language: str = "fr",
                     ip: str = "") -> WaitlistEntry:
    """Keep an email, a blurred cell and at most a postcode and town: never the address or the exact point."""
    if not geo.valid_lat_lon(lat, lon):
        raise EntraideError("invalid_coordinates", _("Latitude must be between -90 and 90 and longitude between -180 and 180."), status=422,
                            fields={"lat": [_("Out of range.")]})
    ratelimit.hit("waitlist", ip or email, limit=10, window_s=3600)
    blurred = geo.blur(lat, lon)
    entry, _created = WaitlistEntry.objects.get_or_create(
        email=email.strip().lower(), blurred_cell=blurred.cell,
        defaults={"area_label": area_of(area_label), "language": language},
    )
    return entry
