"""The `entraide` console script's contract for the places commands: what operators and scripts can rely on.

Each test calls the entry point pyproject.toml declares, with the arguments a shell would pass.
"""
from __future__ import annotations

import json
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from django.core.management import get_commands

from entraide.places.models import Address, PostcodeArea, Street

from .test_gazetteer import ban_row, write_csv

ROOT = Path(__file__).resolve().parents[3]
BOLIVAR = "67 av. Simon Bolivar"
BOLIVAR_POINT = (48.876376, 2.377185)
LYON_POINT = (45.757814, 4.832011)


def entraide(*args: str) -> None:
    """Run the console script as `entraide ARGS...` would."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    EntryPoint(name="entraide", value=scripts["entraide"], group="console_scripts").load()(list(args))


def json_out(capsys) -> dict:
    out = capsys.readouterr().out
    return json.loads(out)


# --- help --------------------------------------------------------------------------------------------------------

def test_the_help_lists_every_operator_command_and_each_one_exists(capsys):
    entraide("--help")
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert {"import-neighbourhoods", "import-addresses", "import-postcodes", "issue-letters", "geocode",
            "locate", "demo", "serve"} <= set(listed)
    known = get_commands()
    assert [name for name in listed if name.replace("-", "_") not in known] == []


# --- geocode and locate (the console script closes the connection at the end: no wrapping transaction) ------------

@pytest.mark.django_db(transaction=True)
def test_geocode_prints_the_candidates_with_their_neighbourhood_as_json(paris, gazetteer, capsys):
    entraide("geocode", BOLIVAR, "--verbosity", "0")
    body = json_out(capsys)
    assert set(body) == {"candidates"}
    first = body["candidates"][0]
    assert set(first) == {"label", "lat", "lon", "precision", "score", "neighbourhood"}
    assert (first["lat"], first["lon"]) == BOLIVAR_POINT
    assert first["precision"] == "housenumber"
    assert "Simon Bolivar" in first["label"] and isinstance(first["score"], float)
    assert set(first["neighbourhood"]) == {"id", "name", "city"}
    assert (first["neighbourhood"]["name"], first["neighbourhood"]["city"]) == ("Combat", "Paris")


@pytest.mark.django_db(transaction=True)
def test_geocode_prints_an_empty_list_for_text_it_cannot_place(paris, gazetteer, capsys):
    entraide("geocode", "zzzz qqqq xxxx", "--verbosity", "0")
    assert json_out(capsys) == {"candidates": []}


@pytest.mark.django_db(transaction=True)
def test_geocode_respects_the_limit(paris, gazetteer, capsys):
    entraide("geocode", "rue saint maur", "--verbosity", "0")  # one street of that name in the 10th, one in the 11th
    assert len(json_out(capsys)["candidates"]) >= 2
    entraide("geocode", "rue saint maur", "--limit", "1", "--verbosity", "0")
    assert len(json_out(capsys)["candidates"]) == 1


@pytest.mark.django_db(transaction=True)
def test_locate_prints_the_neighbourhood_holding_the_point(paris, capsys):
    entraide("locate", str(BOLIVAR_POINT[0]), str(BOLIVAR_POINT[1]))
    body = json_out(capsys)
    assert set(body) == {"neighbourhood"}
    assert set(body["neighbourhood"]) == {"id", "name", "city"}
    assert (body["neighbourhood"]["name"], body["neighbourhood"]["city"]) == ("Combat", "Paris")


@pytest.mark.django_db(transaction=True)
def test_locate_prints_null_outside_every_neighbourhood(paris, capsys):
    entraide("locate", str(LYON_POINT[0]), str(LYON_POINT[1]))
    assert json_out(capsys) == {"neighbourhood": None}


@pytest.mark.django_db(transaction=True)
def test_locate_accepts_negative_coordinates(paris, capsys):
    entraide("locate", "-33.9", "-70.6")
    assert json_out(capsys) == {"neighbourhood": None}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lat, lon", [("91", "2.3"), ("48.8", "181"), ("nan", "2.3")])
def test_locate_refuses_coordinates_out_of_range_with_an_error_exit(paris, capsys, lat, lon):
    with pytest.raises(SystemExit) as exit_info:
        entraide("locate", lat, lon)
    assert exit_info.value.code != 0
    captured = capsys.readouterr()
    assert captured.out == "" and "out of range" in captured.err


# --- import-addresses ---------------------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_import_addresses_keeps_the_good_rows_and_reports_the_bad_lines(tmp_path, capsys):
    path = write_csv(tmp_path, ban_row("1", "Rue Rouelle"), ban_row("2", "Rue Rouelle", lat="abc"),
                     ban_row("3", "Rue Rouelle", rep="bis"), "too;short")
    entraide("import-addresses", str(path), "--keep-good-rows", "--verbosity", "0")
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["line 3: lat 'abc' is not a number",
                     "line 5: expected at least 14 columns, found 2",
                     "4 row(s) read: 2 address(es) written, 1 street(s) (1 new), 2 broken row(s) skipped"]
    assert sorted(Address.objects.values_list("number", "rep")) == [(1, ""), (3, "bis")]


@pytest.mark.django_db(transaction=True)
def test_import_addresses_ends_with_a_readable_summary_not_a_repr(capsys):
    entraide("import-addresses", str(ROOT / "data" / "paris-adresses-sample.csv"), "--verbosity", "0")
    out = capsys.readouterr().out
    streets = Street.objects.count()
    assert out.splitlines() == [f"275 row(s) read: 275 address(es) written, {streets} street(s) ({streets} new)"]
    assert "AddressImportResult" not in out and "problems=" not in out


@pytest.mark.django_db(transaction=True)
def test_import_addresses_without_keep_good_rows_writes_nothing_and_exits_with_the_bad_lines(tmp_path, capsys):
    path = write_csv(tmp_path, ban_row("1", "Rue Rouelle"), ban_row("x", "Rue Rouelle"))
    with pytest.raises(SystemExit) as exit_info:
        entraide("import-addresses", str(path), "--verbosity", "0")
    assert exit_info.value.code != 0
    assert "line 3: numero 'x' is not a housenumber" in capsys.readouterr().err
    assert not Address.objects.exists() and not Street.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_import_addresses_says_which_file_is_missing(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        entraide("import-addresses", str(tmp_path / "nope.csv"), "--verbosity", "0")
    assert exit_info.value.code != 0
    assert "nope.csv" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_import_addresses_lists_only_the_first_fifty_broken_rows(tmp_path, capsys):
    rows = [ban_row("1", "Rue Rouelle")] + [ban_row(str(n), "Rue Rouelle", lat="?") for n in range(2, 62)]
    entraide("import-addresses", str(write_csv(tmp_path, *rows)), "--keep-good-rows", "--verbosity", "0")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 51 and lines[0] == "line 3: lat '?' is not a number"
    assert lines[-1] == ("61 row(s) read: 1 address(es) written, 1 street(s) (1 new), 60 broken row(s) skipped "
                         "(the first 50 are listed above)")


# --- import-postcodes ---------------------------------------------------------------------------------------------

POSTCODES = """country_code,postal_code,place_name,admin_name,latitude,longitude,accuracy
FR,75019,Paris 19,Île-de-France,48.8817,2.3822,4.0
FR,93100,Montreuil,Île-de-France,48.8642,2.4432,
BE,1000,Bruxelles,Bruxelles-Capitale,50.85,4.35,5.0
"""


@pytest.mark.django_db(transaction=True)
def test_import_postcodes_loads_one_country_and_says_how_many(tmp_path, capsys):
    path = tmp_path / "postcodes.csv"
    path.write_text(POSTCODES, encoding="utf-8")
    entraide("import-postcodes", str(path), "--verbosity", "0")
    assert capsys.readouterr().out.splitlines() == ["2 postcode areas"]
    assert sorted(PostcodeArea.objects.values_list("country", "postcode")) == [("FR", "75019"), ("FR", "93100")]
    entraide("import-postcodes", str(path), "--country", "be", "--verbosity", "0")
    assert capsys.readouterr().out.splitlines() == ["1 postcode areas"]
    assert PostcodeArea.objects.filter(country="BE", postcode="1000").exists()


@pytest.mark.django_db(transaction=True)
def test_import_postcodes_refuses_a_broken_file_naming_the_line_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "postcodes.csv"
    path.write_text(POSTCODES + "FR,75020,Paris 20,Île-de-France,north,2.39,5\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        entraide("import-postcodes", str(path), "--verbosity", "0")
    assert exit_info.value.code != 0
    assert "line 5: latitude 'north' is not a number" in capsys.readouterr().err
    assert not PostcodeArea.objects.exists()
