"""Importing neighbourhood polygons: all or nothing, with repairs and problems reported feature by feature."""
from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import h3
import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import shape

from entraide.places import actions
from entraide.places.actions import do_import_neighbourhoods
from entraide.places.models import City, Neighbourhood
from entraide.places.neighbourhood_import import GeoJSONError

DATA = Path(__file__).resolve().parents[3] / "data"
PARIS = DATA / "paris-quartiers.geojson"
PETITE_COURONNE = DATA / "petite-couronne-communes.geojson"
Through = Neighbourhood.nearby.through


def import_paris(**kwargs: Any) -> actions.ImportResult:
    return do_import_neighbourhoods(PARIS, name_field="l_qu", code_field="c_quinsee", city="Paris", **kwargs)


def import_petite_couronne() -> actions.ImportResult:
    return do_import_neighbourhoods(PETITE_COURONNE, name_field="nom", code_field="code", city="Petite couronne")


def paris_features() -> list[dict]:
    with open(PARIS, encoding="utf-8") as handle:
        return json.load(handle)["features"]


def nearby_names(name: str, city: str = "Paris") -> set[str]:
    return set(Neighbourhood.objects.get(name=name, city__name=city).nearby.values_list("name", flat=True))


def row_counts() -> tuple[int, int, int]:
    return City.objects.count(), Neighbourhood.objects.count(), Through.objects.count()


def square(lon: float, lat: float, size: float = 0.01) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]


def feature(name: str | None, geometry: dict | None, code: str | None = None) -> dict:
    props: dict[str, Any] = {}
    if name is not None:
        props["name"] = name
    if code is not None:
        props["code"] = code
    return {"type": "Feature", "properties": props, "geometry": geometry}


def polygon(coordinates: list) -> dict:
    return {"type": "Polygon", "coordinates": coordinates}


def write(tmp_path: Path, content: Any, filename: str = "areas.geojson") -> Path:
    path = tmp_path / filename
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return path


def collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


# Two squares side by side near Paris, sharing one edge.
WEST = polygon(square(2.30, 48.80))
EAST = polygon(square(2.31, 48.80))
# A bowtie: its two edges cross at (2.31, 48.81). make_valid turns it into two triangles.
BOWTIE = polygon([[[2.40, 48.80], [2.42, 48.82], [2.42, 48.80], [2.40, 48.82], [2.40, 48.80]]])
# A "polygon" whose points all lie on one line: there is no surface to repair it into.
FLAT = polygon([[[2.50, 48.80], [2.52, 48.80], [2.51, 48.80], [2.50, 48.80]]])


# --- the real Paris quartiers --------------------------------------------------------------------------

@pytest.mark.django_db
def test_importing_paris_creates_the_80_quartiers_with_their_names_in_one_city():
    steps: list[int] = []
    result = import_paris(progress=steps.append)
    assert (result.created, result.updated, result.repaired) == (80, 0, [])
    assert sum(steps) == 80
    paris = City.objects.get()
    assert (paris.name, paris.country) == ("Paris", "FR")
    expected = {str(f["properties"]["c_quinsee"]): f["properties"]["l_qu"] for f in paris_features()}
    stored = dict(Neighbourhood.objects.filter(city=paris).values_list("code", "name"))
    assert stored == expected
    assert "Saint-Gervais" in stored.values() and "Belleville" in stored.values()


@pytest.mark.django_db
def test_each_quartier_keeps_its_polygon_bounding_box_centroid_area_and_h3_cover():
    import_paris()
    by_code = {n.code: n for n in Neighbourhood.objects.all()}
    for f in paris_features():
        original = shape(f["geometry"])
        n = by_code[str(f["properties"]["c_quinsee"])]
        assert shape(n.geometry).equals(original)
        assert (n.min_lon, n.min_lat, n.max_lon, n.max_lat) == pytest.approx(original.bounds, abs=1e-9)
        assert original.contains(shapely.Point(n.centroid_lon, n.centroid_lat)), n.name
        # The file carries the surface computed by the Ville de Paris, in m².
        assert n.area_m2 == pytest.approx(f["properties"]["surface"], rel=0.01), n.name
        cells = set(h3.uncompact_cells(n.h3_cover, 9))
        assert h3.latlng_to_cell(n.centroid_lat, n.centroid_lon, 9) in cells, n.name


@pytest.mark.django_db
def test_nearby_links_are_symmetric():
    import_paris()
    links = set(Through.objects.values_list("from_neighbourhood_id", "to_neighbourhood_id"))
    assert links
    assert all((b, a) in links for a, b in links)
    assert all(a != b for a, b in links)


@pytest.mark.django_db
def test_saint_gervais_is_nearby_the_quartiers_around_it_and_no_farther_ones():
    import_paris()
    assert nearby_names("Saint-Gervais") == {"Saint-Merri", "Notre-Dame", "Archives", "Sainte-Avoie", "Arsenal"}
    assert nearby_names("Saint-Merri") >= {"Saint-Gervais", "Sainte-Avoie"}
    assert "Saint-Gervais" not in nearby_names("Auteuil")


@pytest.mark.django_db
def test_quartiers_that_share_a_border_are_nearby_and_nearby_ones_really_are_close():
    result = import_paris()
    rows = list(Neighbourhood.objects.values_list("id", "geometry"))
    ids = [r[0] for r in rows]
    geometries = [shape(r[1]) for r in rows]
    nearby = {(a, b) for a, b in Through.objects.values_list("from_neighbourhood_id", "to_neighbourhood_id")}
    touching = set()
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            distance = geometries[i].distance(geometries[j])
            if distance < 1e-7:
                touching.add((ids[i], ids[j]))
            if (ids[i], ids[j]) in nearby:
                # The import tolerates slivers of a couple of metres (2e-5 degree), never more.
                assert distance < 3e-5
    assert touching
    assert all(pair in nearby for pair in touching)
    assert result.nearby_pairs == len(nearby) // 2
    # Every quartier of a city has neighbours; none is nearby half the city.
    for n in Neighbourhood.objects.all():
        assert 2 <= n.nearby.count() <= 12, n.name


@pytest.mark.django_db
def test_a_second_import_links_paris_quartiers_to_the_suburban_communes_across_the_boundary():
    import_paris()
    paris_links = Through.objects.count()
    result = import_petite_couronne()
    assert result.created == 123
    assert nearby_names("Amérique") >= {"Pantin", "Pré-Saint-Gervais", "Lilas", "Combat", "Belleville"}
    assert nearby_names("Pont-de-Flandre") >= {"Pantin", "Aubervilliers"}
    assert nearby_names("Charonne") >= {"Bagnolet", "Montreuil"}
    assert "Amérique" in nearby_names("Pantin", city="Petite couronne")
    # Central quartiers stay among themselves.
    assert nearby_names("Saint-Gervais") == {"Saint-Merri", "Notre-Dame", "Archives", "Sainte-Avoie", "Arsenal"}
    # Links between Paris quartiers survive the second import.
    paris_ids = list(Neighbourhood.objects.filter(city__name="Paris").values_list("id", flat=True))
    assert Through.objects.filter(from_neighbourhood_id__in=paris_ids, to_neighbourhood_id__in=paris_ids).count() == paris_links
    links = set(Through.objects.values_list("from_neighbourhood_id", "to_neighbourhood_id"))
    assert all((b, a) in links for a, b in links)


@pytest.mark.django_db
def test_the_cross_boundary_links_do_not_depend_on_the_import_order():
    import_petite_couronne()
    import_paris()
    assert nearby_names("Amérique") >= {"Pantin", "Pré-Saint-Gervais", "Lilas"}
    # Re-importing Paris recomputes its links against every neighbourhood, so the suburbs stay linked.
    import_paris()
    assert nearby_names("Amérique") >= {"Pantin", "Pré-Saint-Gervais", "Lilas"}


@pytest.mark.django_db
def test_reimporting_a_file_updates_the_neighbourhoods_instead_of_duplicating_them(tmp_path):
    import_paris()
    ids_before = dict(Neighbourhood.objects.values_list("code", "id"))
    links_before = set(Through.objects.values_list("from_neighbourhood_id", "to_neighbourhood_id"))

    features = paris_features()
    renamed = next(f for f in features if f["properties"]["l_qu"] == "Saint-Gervais")
    renamed["properties"]["l_qu"] = "Saint-Gervais (Marais)"
    result = do_import_neighbourhoods(write(tmp_path, collection(*features)), name_field="l_qu",
                                      code_field="c_quinsee", city="Paris")

    assert (result.created, result.updated) == (0, 80)
    assert City.objects.count() == 1
    assert dict(Neighbourhood.objects.values_list("code", "id")) == ids_before
    assert Neighbourhood.objects.get(id=ids_before[str(renamed["properties"]["c_quinsee"])]).name == "Saint-Gervais (Marais)"
    assert set(Through.objects.values_list("from_neighbourhood_id", "to_neighbourhood_id")) == links_before


@pytest.mark.django_db
def test_a_reimport_with_a_moved_border_updates_the_stored_polygon(tmp_path):
    write(tmp_path, collection(feature("West", WEST, "w"), feature("East", EAST, "e")))
    do_import_neighbourhoods(tmp_path / "areas.geojson", name_field="name", code_field="code", city="Testville")
    west = Neighbourhood.objects.get(code="w")
    assert set(west.nearby.values_list("code", flat=True)) == {"e"}
    # Move West away: it is bigger, elsewhere, and no longer touches East.
    write(tmp_path, collection(feature("West", polygon(square(2.20, 48.80, 0.02)), "w"), feature("East", EAST, "e")))
    do_import_neighbourhoods(tmp_path / "areas.geojson", name_field="name", code_field="code", city="Testville")
    west.refresh_from_db()
    assert Neighbourhood.objects.count() == 2
    assert (west.min_lon, west.max_lon) == pytest.approx((2.20, 2.22))
    assert west.area_m2 > 4 * Neighbourhood.objects.get(code="e").area_m2 * 0.99
    assert not west.nearby.exists()
    assert not Through.objects.exists()


@pytest.mark.django_db
def test_without_a_code_field_the_code_comes_from_the_name(tmp_path):
    path = write(tmp_path, collection(feature("Les Halles", WEST), feature("Beaubourg", EAST)))
    do_import_neighbourhoods(path, name_field="name", city="Testville")
    assert set(Neighbourhood.objects.values_list("code", flat=True)) == {"les-halles", "beaubourg"}
    do_import_neighbourhoods(path, name_field="name", city="Testville")
    assert Neighbourhood.objects.count() == 2


# --- the management command and the console script -------------------------------------------------------

@pytest.mark.django_db
def test_the_import_neighbourhoods_command_imports_paris_and_says_what_it_did():
    out = StringIO()
    call_command("import_neighbourhoods", str(PARIS), name_field="l_qu", code_field="c_quinsee", city="Paris",
                 stdout=out, verbosity=0)
    assert Neighbourhood.objects.filter(city__name="Paris").count() == 80
    pairs = Through.objects.count() // 2
    assert f"Paris: 80 created, 0 updated, {pairs} nearby pairs" in out.getvalue()


# The console script closes database connections when it ends, as Django commands do: no wrapping transaction.
@pytest.mark.django_db(transaction=True)
def test_the_entraide_console_script_maps_import_neighbourhoods_to_the_command(tmp_path, capsys):
    from entraide.cli import main

    path = write(tmp_path, collection(feature("West", WEST, "w"), feature("East", EAST, "e")))
    main(["import-neighbourhoods", str(path), "--name-field", "name", "--code-field", "code",
          "--city", "Testville", "--verbosity", "0"])
    assert "Testville: 2 created, 0 updated, 1 nearby pairs" in capsys.readouterr().out
    assert set(Neighbourhood.objects.values_list("city__name", "name")) == {("Testville", "West"), ("Testville", "East")}


# The console script closes database connections when it ends, as Django commands do: no wrapping transaction.
@pytest.mark.django_db(transaction=True)
def test_the_console_script_exits_with_an_error_listing_the_problems(tmp_path, capsys):
    from entraide.cli import main

    path = write(tmp_path, collection(feature("West", WEST, "w"), feature(None, EAST, "e")))
    with pytest.raises(SystemExit) as exit_info:
        main(["import-neighbourhoods", str(path), "--name-field", "name", "--code-field", "code", "--verbosity", "0"])
    assert exit_info.value.code != 0
    assert "feature 1 (no name): property 'name' is missing or empty" in capsys.readouterr().err
    assert Neighbourhood.objects.count() == 0


@pytest.mark.django_db
def test_the_command_reports_repaired_polygons_by_index_and_name(tmp_path):
    path = write(tmp_path, collection(feature("West", WEST, "w"), feature("Bowtie", BOWTIE, "b")))
    out = StringIO()
    call_command("import_neighbourhoods", str(path), name_field="name", code_field="code", city="Testville",
                 stdout=out, verbosity=0)
    assert "feature 1 (Bowtie): repaired (Self-intersection" in out.getvalue()
    assert "2 created" in out.getvalue()


# --- bad input ---------------------------------------------------------------------------------------------

def assert_import_refused(path: Path, *fragments: str, name_field: str = "name", code_field: str | None = "code") -> None:
    """Both entry points refuse the file, name every fragment, and leave the database as it was."""
    before = row_counts()
    names_before = sorted(Neighbourhood.objects.values_list("name", flat=True))
    with pytest.raises(GeoJSONError) as refused:
        do_import_neighbourhoods(path, name_field=name_field, code_field=code_field, city="Testville")
    text = "\n".join([str(refused.value), *refused.value.problems])
    for fragment in fragments:
        assert fragment in text
    with pytest.raises(CommandError) as command_refused:
        call_command("import_neighbourhoods", str(path), name_field=name_field, code_field=code_field,
                     city="Testville", verbosity=0)
    for fragment in fragments:
        assert fragment in str(command_refused.value)
    assert row_counts() == before
    assert sorted(Neighbourhood.objects.values_list("name", flat=True)) == names_before


@pytest.mark.django_db
def test_a_missing_file_is_refused(tmp_path):
    assert_import_refused(tmp_path / "nowhere.geojson", "no such file")


@pytest.mark.django_db
def test_a_file_that_is_not_json_is_refused(tmp_path):
    assert_import_refused(write(tmp_path, '{"type": "FeatureCollection", "features": [}'), "not valid JSON")


@pytest.mark.django_db
@pytest.mark.parametrize("content", [
    {"type": "Feature", "properties": {"name": "West"}, "geometry": WEST},
    [{"type": "Feature", "properties": {"name": "West"}, "geometry": WEST}],
    {"type": "FeatureCollection"},
    {"type": "FeatureCollection", "features": {"name": "West"}},
])
def test_json_that_is_not_a_feature_collection_is_refused(tmp_path, content):
    assert_import_refused(write(tmp_path, content), "not a GeoJSON FeatureCollection")


@pytest.mark.django_db
def test_an_empty_feature_collection_is_refused(tmp_path):
    assert_import_refused(write(tmp_path, collection()), "no features")


@pytest.mark.django_db
def test_a_feature_without_the_name_field_is_refused_by_index(tmp_path):
    path = write(tmp_path, collection(feature("West", WEST, "w"), feature(None, EAST, "e"), feature("", EAST, "x")))
    assert_import_refused(path, "feature 1 (no name): property 'name' is missing or empty",
                          "feature 2 (no name): property 'name' is missing or empty")


@pytest.mark.django_db
def test_a_feature_without_its_code_is_refused_when_a_code_field_is_given(tmp_path):
    path = write(tmp_path, collection(feature("West", WEST, "w"), feature("East", EAST)))
    assert_import_refused(path, "feature 1 (East): property 'code' is missing or empty")


@pytest.mark.django_db
def test_a_point_geometry_is_refused_with_its_index_and_name(tmp_path):
    point = {"type": "Point", "coordinates": [2.35, 48.85]}
    path = write(tmp_path, collection(feature("West", WEST, "w"), feature("Fontaine", point, "f")))
    assert_import_refused(path, "feature 1 (Fontaine): geometry must be a Polygon or MultiPolygon, got Point")


@pytest.mark.django_db
def test_a_feature_without_geometry_is_refused(tmp_path):
    path = write(tmp_path, collection(feature("Nowhere", None, "n")))
    assert_import_refused(path, "feature 0 (Nowhere): geometry must be a Polygon or MultiPolygon, got none")


@pytest.mark.django_db
@pytest.mark.parametrize("coordinates", [
    square(652_000, 6_862_000, 500),  # Lambert-93 metres, not degrees
    square(48.85, 182.0),  # longitude past 180
    square(2.35, 95.0),  # latitude past 90
])
def test_coordinates_out_of_range_are_refused(tmp_path, coordinates):
    path = write(tmp_path, collection(feature("West", WEST, "w"), feature("Elsewhere", polygon(coordinates), "x")))
    assert_import_refused(path, "feature 1 (Elsewhere): coordinates out of range")


@pytest.mark.django_db
def test_unreadable_coordinates_are_refused(tmp_path):
    broken = {"type": "Polygon", "coordinates": [[["a", "b"], [1]]]}
    path = write(tmp_path, collection(feature("Broken", broken, "b")))
    assert_import_refused(path, "feature 0 (Broken): unreadable coordinates")


@pytest.mark.django_db
def test_a_self_intersecting_bowtie_is_repaired_and_reported_with_its_index_and_name(tmp_path):
    path = write(tmp_path, collection(feature("West", WEST, "w"), feature("Bowtie", BOWTIE, "b")))
    result = do_import_neighbourhoods(path, name_field="name", code_field="code", city="Testville")
    assert result.created == 2
    assert len(result.repaired) == 1
    assert result.repaired[0].startswith("feature 1 (Bowtie): repaired (Self-intersection")
    stored = shape(Neighbourhood.objects.get(code="b").geometry)
    assert stored.is_valid
    assert stored.geom_type in ("Polygon", "MultiPolygon")
    # Both lobes of the bowtie are kept: two triangles of a quarter of the 0.02° square each.
    assert stored.area == pytest.approx(0.02 * 0.02 / 2)
    assert stored.contains(shapely.Point(2.405, 48.81)) and stored.contains(shapely.Point(2.415, 48.81))


@pytest.mark.django_db
def test_a_polygon_that_cannot_be_repaired_is_refused_with_its_index_and_name(tmp_path):
    path = write(tmp_path, collection(feature("West", WEST, "w"), feature("Flat", FLAT, "f")))
    assert_import_refused(path, "feature 1 (Flat): invalid polygon that cannot be repaired")


@pytest.mark.django_db
def test_duplicate_codes_are_refused(tmp_path):
    path = write(tmp_path, collection(feature("West", WEST, "same"), feature("East", EAST, "same")))
    assert_import_refused(path, "feature 1 (East): code 'same' appears twice in the file")


@pytest.mark.django_db
def test_every_problem_in_a_file_is_listed_and_nothing_is_imported(tmp_path):
    point = {"type": "Point", "coordinates": [2.35, 48.85]}
    path = write(tmp_path, collection(
        feature("West", WEST, "w"),
        feature(None, EAST, "e"),
        feature("Fontaine", point, "f"),
        feature("Flat", FLAT, "flat"),
        feature("Again", EAST, "w"),
        feature("Bowtie", BOWTIE, "b"),
    ))
    with pytest.raises(GeoJSONError) as refused:
        do_import_neighbourhoods(path, name_field="name", code_field="code", city="Testville")
    assert len(refused.value.problems) == 4
    assert "4 feature(s) cannot be imported" in str(refused.value)
    for index, fragment in [(1, "no name"), (2, "Fontaine"), (3, "Flat"), (4, "Again")]:
        assert any(p.startswith(f"feature {index} ({fragment})") for p in refused.value.problems)
    assert row_counts() == (0, 0, 0)


@pytest.mark.django_db
def test_a_bad_file_leaves_earlier_imports_untouched(tmp_path):
    import_paris()
    before = row_counts()
    features = paris_features()
    features[3]["geometry"] = {"type": "Point", "coordinates": [2.35, 48.85]}
    features[5]["properties"]["l_qu"] = "Renamed"
    path = write(tmp_path, collection(*features))
    with pytest.raises(GeoJSONError):
        do_import_neighbourhoods(path, name_field="l_qu", code_field="c_quinsee", city="Paris")
    assert row_counts() == before
    assert not Neighbourhood.objects.filter(name="Renamed").exists()


@pytest.mark.django_db
def test_a_failure_during_the_adjacency_step_writes_nothing(monkeypatch):
    import_paris()
    before = row_counts()
    snapshot = {n.id: (n.name, n.updated_at) for n in Neighbourhood.objects.all()}
    links = set(Through.objects.values_list("from_neighbourhood_id", "to_neighbourhood_id"))
    calls: list[int] = []

    def failing_adjacency(*args: Any, **kwargs: Any) -> set:
        # By now every neighbourhood row has been created or updated inside the transaction.
        calls.append(Neighbourhood.objects.count())
        raise RuntimeError("adjacency blew up")

    monkeypatch.setattr(actions, "adjacency", failing_adjacency)
    with pytest.raises(RuntimeError, match="adjacency blew up"):
        import_petite_couronne()
    assert calls == [80 + 123]  # the failure really came after the rows were written
    assert row_counts() == before
    assert not City.objects.filter(name="Petite couronne").exists()
    with pytest.raises(RuntimeError):
        import_paris()
    assert {n.id: (n.name, n.updated_at) for n in Neighbourhood.objects.all()} == snapshot
    assert set(Through.objects.values_list("from_neighbourhood_id", "to_neighbourhood_id")) == links


@pytest.mark.django_db(transaction=True)
def test_a_late_failure_rolls_back_a_real_transaction(monkeypatch, tmp_path):
    # Outside the test's own wrapping transaction: the import's atomic block is the real, outermost one.
    path = write(tmp_path, collection(feature("West", WEST, "w"), feature("East", EAST, "e")))
    do_import_neighbourhoods(path, name_field="name", code_field="code", city="Testville")
    before = row_counts()
    assert before == (1, 2, 2)

    def failing_bulk_create(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Through.objects, "bulk_create", failing_bulk_create)
    moved = write(tmp_path, collection(feature("West", polygon(square(2.20, 48.80)), "w"), feature("East", EAST, "e"),
                                       feature("North", polygon(square(2.30, 48.81)), "n")), "moved.geojson")
    with pytest.raises(RuntimeError, match="disk full"):
        do_import_neighbourhoods(moved, name_field="name", code_field="code", city="Testville")
    assert row_counts() == before
    assert Neighbourhood.objects.get(code="w").min_lon == pytest.approx(2.30)
