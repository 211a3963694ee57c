"""Reading a GeoJSON FeatureCollection of neighbourhood polygons, checking and repairing each one."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import h3
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from django.utils.text import slugify

# Equal-area-ish scale at Paris latitude, good enough for reporting surfaces in m².
_M_PER_DEG_LAT = 111_320.0
# About 1 m²: anything smaller is a sliver or a line drawn as a polygon, not a neighbourhood.
MIN_AREA_DEG2 = 1e-10


class GeoJSONError(Exception):
    """The file cannot be imported; `problems` lists each bad feature by index and name."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass
class ParsedFeature:
    index: int
    name: str
    code: str
    geometry: BaseGeometry
    repaired: str = ""


@dataclass
class ParseReport:
    features: list[ParsedFeature] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)


def load_feature_collection(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise GeoJSONError(f"{path}: no such file")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GeoJSONError(f"{path}: not valid JSON ({exc})")
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise GeoJSONError(f"{path}: not a GeoJSON FeatureCollection")
    return data


def _polygonal(geometry: BaseGeometry) -> BaseGeometry | None:
    """Keep the polygon parts of a repaired geometry (make_valid may add stray lines or points)."""
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    if geometry.geom_type == "GeometryCollection":
        parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon")]
        if parts:
            return shapely.union_all(parts)
    return None


def parse_features(features: Iterable[dict], *, name_field: str, code_field: str | None) -> ParseReport:
    report = ParseReport()
    problems: list[str] = []
    seen_codes: set[str] = set()
    for index, feature in enumerate(features):
        props = (feature or {}).get("properties") or {}
        name = str(props.get(name_field) or "").strip()
        label = f"feature {index} ({name or 'no name'})"
        if not name:
            problems.append(f"{label}: property '{name_field}' is missing or empty")
            continue
        raw = (feature or {}).get("geometry")
        if not raw or raw.get("type") not in ("Polygon", "MultiPolygon"):
            problems.append(f"{label}: geometry must be a Polygon or MultiPolygon, got {raw.get('type') if raw else 'none'}")
            continue
        try:
            geometry = shape(raw)
        except Exception as exc:  # shapely raises several types for malformed coordinates
            problems.append(f"{label}: unreadable coordinates ({exc})")
            continue
        if geometry.is_empty:
            problems.append(f"{label}: empty geometry")
            continue
        bx0, by0, bx1, by1 = geometry.bounds
        if not (-180 <= bx0 <= bx1 <= 180 and -90 <= by0 <= by1 <= 90):
            problems.append(f"{label}: coordinates out of range (expects WGS84 longitude/latitude)")
            continue
        repaired = ""
        if not geometry.is_valid:
            reason = shapely.is_valid_reason(geometry)
            fixed = _polygonal(shapely.make_valid(geometry))
            if fixed is None or fixed.is_empty:
                problems.append(f"{label}: invalid polygon that cannot be repaired ({reason})")
                continue
            geometry = fixed
            repaired = reason
            report.repaired.append(f"{label}: repaired ({reason})")
        if geometry.area < MIN_AREA_DEG2:
            problems.append(f"{label}: the polygon has (almost) no area")
            continue
        code = str(props.get(code_field) or "").strip() if code_field else ""
        if code_field and not code:
            problems.append(f"{label}: property '{code_field}' is missing or empty")
            continue
        code = code or slugify(name) or str(index)
        if code in seen_codes:
            problems.append(f"{label}: code '{code}' appears twice in the file")
            continue
        seen_codes.add(code)
        report.features.append(ParsedFeature(index, name, code, geometry, repaired))
    if problems:
        raise GeoJSONError(f"{len(problems)} feature(s) cannot be imported; nothing was changed", problems)
    if not report.features:
        raise GeoJSONError("the collection has no features")
    return report


def geometry_fields(geometry: BaseGeometry) -> dict[str, Any]:
    """The stored columns derived from a polygon."""
    minx, miny, maxx, maxy = geometry.bounds
    centroid = geometry.representative_point() if not geometry.centroid.within(geometry) else geometry.centroid
    mid_lat = (miny + maxy) / 2

    area_m2 = geometry.area * _M_PER_DEG_LAT * _M_PER_DEG_LAT * math.cos(math.radians(mid_lat))
    return {
        "geometry": json.loads(json.dumps(mapping(geometry))),  # tuples to lists, as stored JSON reads back
        "min_lon": minx, "min_lat": miny, "max_lon": maxx, "max_lat": maxy,
        "centroid_lat": round(centroid.y, 6), "centroid_lon": round(centroid.x, 6),
        "area_m2": round(area_m2, 1),
        "h3_cover": h3_cover(geometry),
    }


def h3_cover(geometry: BaseGeometry, resolution: int = 9) -> list[str]:
    cells = h3.h3shape_to_cells_experimental(h3.geo_to_h3shape(mapping(geometry)), resolution, contain="overlap")
    return sorted(h3.compact_cells(cells))


def adjacency(geometries: list[BaseGeometry], new_indexes: Iterable[int], tolerance_deg: float = 2e-5) -> set[tuple[int, int]]:
    """Pairs (i, j), i < j, of polygons that touch or nearly touch (real borders have slivers and gaps of a metre or two)."""
    tree = shapely.STRtree(geometries)
    pairs: set[tuple[int, int]] = set()
    for i in new_indexes:
        for j in tree.query(geometries[i].buffer(tolerance_deg), predicate="intersects"):
            j = int(j)
            if j != i:
                pairs.add((min(i, j), max(i, j)))
    return pairs
