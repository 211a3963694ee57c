"""The neighbourhood index answers exactly what a brute-force polygon test answers, only faster.

Most of these tests build `NeighbourhoodIndex` straight from the shipped GeoJSON files (no database);
the `get_index()` tests at the end go through the database.
"""
from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import h3
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, shape
from shapely.geometry.base import BaseGeometry

from entraide.places import geo
from entraide.places.geo import NeighbourhoodIndex, blur

DATA = Path(__file__).resolve().parents[3] / "data"
M_PER_DEG_LAT = 111_320.0


@lru_cache(maxsize=None)
def load_geometries(filename: str) -> tuple[BaseGeometry, ...]:
    with open(DATA / filename, encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    return tuple(shape(feature["geometry"]) for feature in features)


@lru_cache(maxsize=None)
def index_for(filename: str) -> NeighbourhoodIndex:
    # Ids deliberately differ from positions (and are not in order) so that a position leaking out as an id shows.
    geometries = load_geometries(filename)
    return NeighbourhoodIndex(ids_for(len(geometries)), list(geometries))


def ids_for(count: int) -> list[int]:
    return [1000 + 7 * (count - i) for i in range(count)]


def brute_force(geometries: tuple[BaseGeometry, ...] | list[BaseGeometry], ids: list[int],
                lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Reference answer, polygon by polygon with no index: the first polygon that contains the point;
    for a point exactly on a border, the first polygon that touches it; else -1."""
    contains = np.full(len(lats), -1, dtype=np.int64)
    touches = np.full(len(lats), -1, dtype=np.int64)
    for position in range(len(geometries) - 1, -1, -1):  # backwards, so the first polygon is written last
        geometry = geometries[position]
        inside = shapely.contains_xy(geometry, lons, lats)
        on_border = shapely.intersects_xy(geometry, lons, lats) & ~inside
        contains[inside] = position
        touches[on_border] = position
    positions = np.where(contains >= 0, contains, touches)
    id_array = np.asarray(ids, dtype=np.int64)
    return np.where(positions >= 0, id_array[np.maximum(positions, 0)], -1)


def random_points_in_bbox(geometries, count: int, seed: int, margin: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = shapely.total_bounds(list(geometries))
    rng = np.random.default_rng(seed)
    lons = rng.uniform(minx - margin, maxx + margin, count)
    lats = rng.uniform(miny - margin, maxy + margin, count)
    return lats, lons


def points_near_borders(geometries, per_polygon: int, seed: int, max_offset_m: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Points spread along every exterior ring, each pushed a random 0 to `max_offset_m` metres in a random direction."""
    rng = np.random.default_rng(seed)
    lats: list[np.ndarray] = []
    lons: list[np.ndarray] = []
    for geometry in geometries:
        for polygon in shapely.get_parts(geometry):
            ring = polygon.exterior
            along = rng.uniform(0, 1, per_polygon)
            on_ring = shapely.get_coordinates(shapely.line_interpolate_point(ring, along, normalized=True))
            distance = rng.uniform(0, max_offset_m, per_polygon)
            angle = rng.uniform(0, 2 * math.pi, per_polygon)
            dlat = distance * np.sin(angle) / M_PER_DEG_LAT
            dlon = distance * np.cos(angle) / (M_PER_DEG_LAT * np.cos(np.radians(on_ring[:, 1])))
            lats.append(on_ring[:, 1] + dlat)
            lons.append(on_ring[:, 0] + dlon)
    return np.concatenate(lats), np.concatenate(lons)


def vertices(geometries, every: int = 1) -> tuple[np.ndarray, np.ndarray]:
    coords = shapely.get_coordinates(list(geometries))[::every]
    return coords[:, 1].copy(), coords[:, 0].copy()


def locate_each(index: NeighbourhoodIndex, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    found = [index.locate(lat, lon) for lat, lon in zip(lats.tolist(), lons.tolist())]
    return np.array([-1 if f is None else f for f in found], dtype=np.int64)


def assert_same(actual: np.ndarray, expected: np.ndarray, lats: np.ndarray, lons: np.ndarray) -> None:
    wrong = np.flatnonzero(actual != expected)
    assert len(wrong) == 0, (
        f"{len(wrong)} of {len(expected)} points disagree, e.g. "
        + ", ".join(f"({lats[i]:.8f}, {lons[i]:.8f}): got {actual[i]}, expected {expected[i]}" for i in wrong[:5])
    )


DATASETS = ["paris-quartiers.geojson", "ile-de-france-communes.geojson"]


@pytest.mark.parametrize("filename", DATASETS)
def test_locate_agrees_with_a_brute_force_polygon_test_on_random_points(filename):
    geometries = load_geometries(filename)
    index = index_for(filename)
    lats, lons = random_points_in_bbox(geometries, 20_000, seed=1)
    expected = brute_force(geometries, ids_for(len(geometries)), lats, lons)
    # The sample must exercise both answers, or agreement would prove little.
    assert (expected >= 0).sum() > 5_000 and (expected == -1).sum() > 500
    assert_same(locate_each(index, lats, lons), expected, lats, lons)
    assert_same(index.locate_many(lats, lons), expected, lats, lons)


@pytest.mark.parametrize("filename", DATASETS)
def test_locate_agrees_with_a_brute_force_polygon_test_a_few_metres_from_borders(filename):
    geometries = load_geometries(filename)
    index = index_for(filename)
    lats, lons = points_near_borders(geometries, per_polygon=60 if len(geometries) < 200 else 8, seed=2)
    expected = brute_force(geometries, ids_for(len(geometries)), lats, lons)
    grid_labels = index.grid[((lats - index.miny) / index.cell).astype(int), ((lons - index.minx) / index.cell).astype(int)]
    # These points are meant for the exact path: nearly all of them must land in boundary cells.
    assert (grid_labels == geo.MIXED).mean() > 0.95
    assert_same(locate_each(index, lats, lons), expected, lats, lons)
    assert_same(index.locate_many(lats, lons), expected, lats, lons)


@pytest.mark.parametrize("filename", DATASETS)
def test_points_exactly_on_borders_go_to_the_first_neighbourhood_touching_them(filename):
    geometries = load_geometries(filename)
    index = index_for(filename)
    lats, lons = vertices(geometries, every=1 if len(geometries) < 200 else 7)
    expected = brute_force(geometries, ids_for(len(geometries)), lats, lons)
    # Every vertex lies on some border, so every one of them belongs somewhere.
    assert (expected >= 0).all()
    assert_same(locate_each(index, lats, lons), expected, lats, lons)
    assert_same(index.locate_many(lats, lons), expected, lats, lons)


def test_locate_many_equals_locate_point_by_point():
    geometries = load_geometries("paris-quartiers.geojson")
    index = index_for("paris-quartiers.geojson")
    random_lats, random_lons = random_points_in_bbox(geometries, 5_000, seed=3, margin=0.05)
    border_lats, border_lons = points_near_borders(geometries, per_polygon=20, seed=4, max_offset_m=2.0)
    vertex_lats, vertex_lons = vertices(geometries, every=5)
    lats = np.concatenate([random_lats, border_lats, vertex_lats, [0.0, 90.0, -90.0, np.nan]])
    lons = np.concatenate([random_lons, border_lons, vertex_lons, [0.0, 180.0, -180.0, 2.35]])
    assert_same(index.locate_many(lats, lons), locate_each(index, lats, lons), lats, lons)


def test_locate_many_keeps_the_shape_of_its_input():
    index = index_for("paris-quartiers.geojson")
    lats = np.array([[48.8566, 0.0], [48.8462, 48.8566]])
    lons = np.array([[2.3522, 0.0], [2.3464, 2.3522]])
    result = index.locate_many(lats, lons)
    assert result.shape == (2, 2)
    assert result[0, 1] == -1
    assert result[0, 0] == result[1, 1] == index.locate(48.8566, 2.3522) != -1


def test_the_real_paris_quartiers_are_found_by_their_own_inner_points():
    geometries = load_geometries("paris-quartiers.geojson")
    ids = ids_for(len(geometries))
    index = index_for("paris-quartiers.geojson")
    for position, geometry in enumerate(geometries):
        point = geometry.representative_point()
        assert index.locate(point.y, point.x) == ids[position]


def test_points_outside_the_bounding_box_are_outside_every_neighbourhood():
    index = index_for("paris-quartiers.geojson")
    far = [(0.0, 0.0), (48.8566, 10.0), (60.0, 2.35), (-48.8566, -2.35), (90.0, 180.0), (-90.0, -180.0),
           (48.8566, index.minx - 1e-9), (index.miny - 1e-9, 2.35)]
    for lat, lon in far:
        assert index.locate(lat, lon) is None
    lats = np.array([p[0] for p in far])
    lons = np.array([p[1] for p in far])
    assert (index.locate_many(lats, lons) == -1).all()


def test_not_a_number_is_outside_every_neighbourhood():
    index = index_for("paris-quartiers.geojson")
    assert index.locate(math.nan, 2.35) is None
    assert index.locate(48.85, math.nan) is None
    assert (index.locate_many(np.array([math.nan, 48.85]), np.array([2.35, math.inf])) == -1).all()


def donut_and_island() -> tuple[list[int], list[BaseGeometry]]:
    """A square quartier around a park (its hole) with a smaller quartier inside the park, near Paris."""
    outer = [(2.30, 48.80), (2.40, 48.80), (2.40, 48.90), (2.30, 48.90)]
    hole = [(2.33, 48.83), (2.37, 48.83), (2.37, 48.87), (2.33, 48.87)]
    island = Polygon([(2.34, 48.84), (2.36, 48.84), (2.36, 48.86), (2.34, 48.86)])
    return [11, 22], [Polygon(outer, [hole]), island]


def test_points_in_a_hole_are_outside_unless_another_neighbourhood_fills_it():
    ids, geometries = donut_and_island()
    index = NeighbourhoodIndex(ids, geometries)
    cases = {
        (48.81, 2.31): 11,   # in the donut
        (48.835, 2.335): None,  # in the hole, outside the island
        (48.865, 2.365): None,
        (48.85, 2.35): 22,   # on the island
        (48.95, 2.35): None,  # beyond the donut
    }
    for (lat, lon), expected in cases.items():
        assert index.locate(lat, lon) == expected, (lat, lon)
    lats = np.array([p[0] for p in cases])
    lons = np.array([p[1] for p in cases])
    assert index.locate_many(lats, lons).tolist() == [-1 if e is None else e for e in cases.values()]


def test_the_hole_agrees_with_a_brute_force_polygon_test_everywhere():
    ids, geometries = donut_and_island()
    index = NeighbourhoodIndex(ids, geometries)
    lats, lons = random_points_in_bbox(geometries, 20_000, seed=5, margin=0.005)
    expected = brute_force(geometries, ids, lats, lons)
    assert (expected == -1).sum() > 1_000 and (expected == 11).sum() > 1_000 and (expected == 22).sum() > 500
    assert_same(locate_each(index, lats, lons), expected, lats, lons)
    assert_same(index.locate_many(lats, lons), expected, lats, lons)


def test_where_polygons_overlap_the_first_one_wins_on_both_paths():
    # A big polygon listed after a small one it covers: the raster cells inside the small one are not
    # crossed by any boundary of the big one, so this checks the raster and the exact test agree.
    small = Polygon([(2.34, 48.84), (2.36, 48.84), (2.36, 48.86), (2.34, 48.86)])
    big = Polygon([(2.30, 48.80), (2.40, 48.80), (2.40, 48.90), (2.30, 48.90)])
    index = NeighbourhoodIndex([5, 6], [small, big])
    assert index.locate(48.85, 2.35) == 5
    assert index.locate(48.8401, 2.3401) == 5
    assert index.locate(48.81, 2.31) == 6
    assert index.locate_many(np.array([48.85, 48.8401, 48.81]), np.array([2.35, 2.3401, 2.31])).tolist() == [5, 5, 6]
    lats, lons = random_points_in_bbox([small, big], 5_000, seed=6, margin=0.0)
    expected = brute_force([small, big], [5, 6], lats, lons)
    assert_same(locate_each(index, lats, lons), expected, lats, lons)
    assert_same(index.locate_many(lats, lons), expected, lats, lons)


def test_an_index_with_no_neighbourhoods_finds_nothing():
    index = NeighbourhoodIndex([], [])
    assert index.locate(48.85, 2.35) is None
    assert index.locate_many(np.array([48.85, 0.0]), np.array([2.35, 0.0])).tolist() == [-1, -1]


PARIS_BOUNDS = shapely.total_bounds(list(load_geometries("paris-quartiers.geojson")))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lat=st.floats(min_value=PARIS_BOUNDS[1] - 0.01, max_value=PARIS_BOUNDS[3] + 0.01, allow_nan=False),
    lon=st.floats(min_value=PARIS_BOUNDS[0] - 0.01, max_value=PARIS_BOUNDS[2] + 0.01, allow_nan=False),
)
def test_any_point_around_paris_is_answered_like_the_brute_force_test(lat, lon):
    geometries = load_geometries("paris-quartiers.geojson")
    index = index_for("paris-quartiers.geojson")
    expected = int(brute_force(geometries, ids_for(len(geometries)), np.array([lat]), np.array([lon]))[0])
    found = index.locate(lat, lon)
    assert (-1 if found is None else found) == expected
    assert index.locate_many(np.array([lat]), np.array([lon])).tolist() == [expected]


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0, max_value=79), along=st.floats(min_value=0, max_value=1),
       offset_m=st.floats(min_value=-3, max_value=3), vertical=st.booleans())
def test_any_point_near_a_paris_border_is_answered_like_the_brute_force_test(position, along, offset_m, vertical):
    geometries = load_geometries("paris-quartiers.geojson")
    index = index_for("paris-quartiers.geojson")
    point = shapely.line_interpolate_point(geometries[position].exterior, along, normalized=True)
    lat, lon = point.y, point.x
    if vertical:
        lat += offset_m / M_PER_DEG_LAT
    else:
        lon += offset_m / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
    expected = int(brute_force(geometries, ids_for(len(geometries)), np.array([lat]), np.array([lon]))[0])
    found = index.locate(lat, lon)
    assert (-1 if found is None else found) == expected
    assert index.locate_many(np.array([lat]), np.array([lon])).tolist() == [expected]


# --- blur ---------------------------------------------------------------------------------------------

def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


def test_blur_gives_the_same_answer_every_time_for_the_same_point():
    first = blur(48.85661, 2.35222)
    for _ in range(5):
        assert blur(48.85661, 2.35222) == first


def test_blur_returns_the_centre_of_the_resolution_9_cell_holding_the_point():
    blurred = blur(48.85661, 2.35222)
    assert h3.get_resolution(blurred.cell) == 9
    assert h3.latlng_to_cell(48.85661, 2.35222, 9) == blurred.cell
    # The published point sits in the same cell, so blurring it again changes nothing.
    assert h3.latlng_to_cell(blurred.lat, blurred.lon, 9) == blurred.cell
    assert blur(blurred.lat, blurred.lon) == blurred
    assert geo.cell_centre(blurred.cell) == (blurred.lat, blurred.lon)


def test_nearby_points_in_the_same_cell_blur_to_the_same_point():
    centre = blur(48.8462, 2.3464)
    rng = np.random.default_rng(7)
    seen = 0
    for _ in range(200):
        # Within 30 m of the centre: well inside a cell whose centre-to-edge distance is about 150 m.
        d = rng.uniform(0, 30)
        a = rng.uniform(0, 2 * math.pi)
        lat = centre.lat + d * math.sin(a) / M_PER_DEG_LAT
        lon = centre.lon + d * math.cos(a) / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
        assert blur(lat, lon) == centre
        seen += 1
    assert seen == 200


def test_points_in_different_cells_blur_to_different_points():
    a = blur(48.8462, 2.3464)
    b = blur(48.8462 + 500 / M_PER_DEG_LAT, 2.3464)  # 500 m north: another cell for sure
    assert a.cell != b.cell
    assert (a.lat, a.lon) != (b.lat, b.lon)


def test_the_blurred_point_differs_from_the_exact_one_but_stays_within_200_metres():
    rng = np.random.default_rng(8)
    distances = []
    for lat, lon in zip(rng.uniform(48.816, 48.902, 500), rng.uniform(2.225, 2.469, 500)):
        blurred = blur(float(lat), float(lon))
        distances.append(distance_m(lat, lon, blurred.lat, blurred.lon))
    distances = np.array(distances)
    assert (distances > 0).all()
    assert distances.max() < 200
    # Blurring that hid nothing would be useless: on average the point moves tens of metres.
    assert distances.mean() > 40


# --- the process-wide index, through the database -------------------------------------------------------

def saint_gervais_point() -> tuple[float, float]:
    with open(DATA / "paris-quartiers.geojson", encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    feature = next(f for f in features if f["properties"]["l_qu"] == "Saint-Gervais")
    point = shape(feature["geometry"]).representative_point()
    return point.y, point.x


@pytest.mark.django_db
def test_get_index_sees_neighbourhoods_imported_after_it_was_built_once_invalidated():
    from entraide.places.actions import do_import_neighbourhoods
    from entraide.places.models import Neighbourhood

    lat, lon = saint_gervais_point()
    empty = geo.get_index()
    assert empty.locate(lat, lon) is None

    do_import_neighbourhoods(DATA / "paris-quartiers.geojson", name_field="l_qu", code_field="c_quinsee", city="Paris")
    # Within the stamp-check interval the process keeps the index it has (cheap calls)...
    assert geo.get_index() is empty
    geo.invalidate_index()
    fresh = geo.get_index()
    assert fresh is not empty
    assert fresh.locate(lat, lon) == Neighbourhood.objects.get(name="Saint-Gervais").id
    # ... and, once built, the same index is served again.
    assert geo.get_index() is fresh


@pytest.mark.django_db
def test_an_import_invalidates_the_index_when_it_commits(django_capture_on_commit_callbacks):
    from entraide.places.actions import do_import_neighbourhoods
    from entraide.places.models import Neighbourhood

    lat, lon = saint_gervais_point()
    assert geo.get_index().locate(lat, lon) is None
    with django_capture_on_commit_callbacks(execute=True):
        do_import_neighbourhoods(DATA / "paris-quartiers.geojson", name_field="l_qu", code_field="c_quinsee", city="Paris")
    assert geo.get_index().locate(lat, lon) == Neighbourhood.objects.get(name="Saint-Gervais").id


@pytest.mark.django_db
def test_get_index_notices_a_change_made_elsewhere_after_the_check_interval(monkeypatch, paris):
    from entraide.places.models import Neighbourhood

    lat, lon = saint_gervais_point()
    saint_gervais = Neighbourhood.objects.get(name="Saint-Gervais")
    before = geo.get_index()
    assert before.locate(lat, lon) == saint_gervais.id
    # Another process deleting the row does not call invalidate_index() here; the stamp check must see it.
    Neighbourhood.objects.filter(id=saint_gervais.id).delete()
    monkeypatch.setattr(geo, "STAMP_CHECK_SECONDS", 0.0)
    after = geo.get_index()
    assert after is not before
    assert after.locate(lat, lon) is None
    assert len(after.ids) == 79


@pytest.mark.django_db
def test_the_index_from_the_database_matches_the_one_built_from_the_file(paris):
    from entraide.places.models import Neighbourhood

    geometries = load_geometries("paris-quartiers.geojson")
    lats, lons = random_points_in_bbox(geometries, 5_000, seed=9)
    by_code = dict(Neighbourhood.objects.values_list("code", "id"))
    with open(DATA / "paris-quartiers.geojson", encoding="utf-8") as handle:
        codes = [str(f["properties"]["c_quinsee"]) for f in json.load(handle)["features"]]
    expected = brute_force(geometries, [by_code[c] for c in codes], lats, lons)
    assert_same(geo.get_index().locate_many(lats, lons), expected, lats, lons)
