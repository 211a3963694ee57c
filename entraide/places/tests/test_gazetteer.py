"""The offline gazetteer: normalising text, importing BAN addresses and GeoNames postcodes."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from entraide.places.gazetteer import GazetteerError, import_addresses, import_postcodes
from entraide.places.models import Address, PostcodeArea, Street, StreetToken
from entraide.places.textnorm import normalize, normalize_city, parse, significant_tokens

DATA = Path(__file__).resolve().parents[3] / "data"
SAMPLE = DATA / "paris-adresses-sample.csv"
GEONAMES = DATA / "geonames-postcodes-fr.csv"
HEADER = ("id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;code_insee_ancienne_commune;"
          "nom_ancienne_commune;x;y;lon;lat;type_position;alias;nom_ld;libelle_acheminement;nom_afnor;"
          "source_position;source_nom_voie;certification_commune;cad_parcelles")


def ban_row(number: str, street: str, lat: str = "48.85", lon: str = "2.35", rep: str = "",
            postcode: str = "75015", insee: str = "75115", city: str = "Paris 15e Arrondissement") -> str:
    return f"{insee}_x_{number}{rep};;{number};{rep};{street};{postcode};{insee};{city};;;;;{lon};{lat};entrée;;;;;;;1;"


def write_csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "adresses.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


# --- textnorm ---------------------------------------------------------------------------------------------------

def test_normalising_strips_accents_case_and_punctuation():
    assert normalize("Rue d'Alésia") == "rue d alesia"
    assert normalize("  Œuvre-SAINT-ÉLOI  ") == "oeuvre saint eloi"


def test_street_abbreviations_are_expanded_the_way_people_type_them():
    assert normalize("av. Simon Bolivar") == "avenue simon bolivar"
    assert normalize("bd St-Germain") == "boulevard saint germain"
    assert normalize("r du Fbg St Honoré") == "rue du faubourg saint honore"
    assert normalize("qu. de Jemmapes") == "quai de jemmapes"
    assert normalize("pl du Gal de Gaulle") == "place du general de gaulle"
    assert normalize("imp. Ste Marthe") == "impasse sainte marthe"


@pytest.mark.parametrize("text, number, rep", [
    ("12bis rue X", 12, "bis"), ("12 bis rue X", 12, "bis"), ("12 b rue X", 12, "bis"), ("12B rue X", 12, "bis"),
    ("12 ter rue X", 12, "ter"), ("12t rue X", 12, "ter"), ("12 quater rue X", 12, "quater"), ("12 rue X", 12, ""),
    ("12a rue X", 12, "a"),
])
def test_a_housenumber_keeps_its_repetition_suffix(text, number, rep):
    parsed = parse(text)
    assert (parsed.number, parsed.rep, parsed.words) == (number, rep, ("rue", "x"))


def test_postcode_and_city_are_separated_from_the_housenumber():
    parsed = parse("67, av Simon Bolivar 75019 Paris, France")
    assert parsed.number == 67 and parsed.postcode == "75019"
    assert parsed.words == ("avenue", "simon", "bolivar", "paris")


def test_an_arrondissement_or_a_date_in_a_street_name_is_not_a_housenumber():
    assert parse("Paris 19e").number is None
    assert parse("avenue du 8 mai 1945").number is None


def test_arrondissement_spellings_give_the_same_city_key():
    assert normalize_city("Paris 19e Arrondissement") == normalize_city("paris 19ème") == normalize_city("Paris 19")
    assert normalize_city("Paris 01") == normalize_city("Paris 1er") == "paris 1"


def test_significant_tokens_drop_street_types_and_little_words():
    assert significant_tokens("rue du faubourg saint honore") == ["saint", "honore"]
    assert significant_tokens("rue d alesia") == ["alesia"]
    assert significant_tokens("rue de la place") == ["rue", "place"]  # never empty: the street stays findable


@given(st.text())
def test_normalising_any_text_never_raises_and_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once
    assert set(once) <= set("abcdefghijklmnopqrstuvwxyz0123456789 ")
    parse(text)
    normalize_city(text)


# --- addresses --------------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_real_sample_imports_streets_addresses_and_tokens():
    result = import_addresses(SAMPLE)
    assert (result.rows, result.addresses, result.problem_count) == (275, 275, 0)
    assert Address.objects.count() == 275
    assert Street.objects.count() == result.streets == result.streets_created
    bolivar = Street.objects.get(name="Avenue Simon Bolivar")
    assert (bolivar.name_norm, bolivar.postcode, bolivar.city_norm) == ("avenue simon bolivar", "75019", "paris 19")
    assert set(bolivar.tokens.values_list("token", flat=True)) == {"simon", "bolivar"}


@pytest.mark.django_db
def test_a_street_point_is_the_mean_of_its_addresses():
    import_addresses(SAMPLE)
    bolivar = Street.objects.get(name="Avenue Simon Bolivar")
    assert bolivar.address_count == 2
    assert bolivar.lat == pytest.approx((48.876376 + 48.876377) / 2)
    assert bolivar.lon == pytest.approx((2.377185 + 2.377506) / 2)


@pytest.mark.django_db
def test_importing_the_same_file_twice_changes_nothing():
    first = import_addresses(SAMPLE)
    counts = (Street.objects.count(), Address.objects.count(), StreetToken.objects.count())
    second = import_addresses(SAMPLE)
    assert (Street.objects.count(), Address.objects.count(), StreetToken.objects.count()) == counts
    assert second.streets_created == 0 and second.streets == first.streets


@pytest.mark.django_db
def test_a_reimport_refreshes_moved_addresses(tmp_path):
    import_addresses(write_csv(tmp_path, ban_row("25", "Rue Rouelle", lat="48.85")))
    import_addresses(write_csv(tmp_path, ban_row("25", "Rue Rouelle", lat="48.86")))
    assert Address.objects.get().lat == 48.86
    assert Street.objects.get().lat == pytest.approx(48.86)


@pytest.mark.django_db
def test_a_wrong_header_is_refused_naming_the_missing_columns_and_nothing_is_written(tmp_path):
    path = write_csv(tmp_path, "1;Rue X;48.8;2.3", header="numero;voie;lat;lon")
    with pytest.raises(GazetteerError) as error:
        import_addresses(path)
    assert "nom_voie" in error.value.message and "code_postal" in error.value.message
    assert not Street.objects.exists()


@pytest.mark.django_db
def test_a_comma_separated_file_gets_a_hint(tmp_path):
    path = write_csv(tmp_path, header=HEADER.replace(";", ","))
    with pytest.raises(GazetteerError, match="separated by ';'"):
        import_addresses(path)


@pytest.mark.django_db
def test_broken_rows_are_reported_with_their_line_numbers_and_nothing_is_written(tmp_path):
    path = write_csv(tmp_path, ban_row("1", "Rue Rouelle"), ban_row("2", "Rue Rouelle", lat="abc"),
                     ban_row("x", "Rue Rouelle"), ban_row("4", ""), ban_row("5", "Rue Rouelle", lon="200"),
                     "too;short")
    with pytest.raises(GazetteerError) as error:
        import_addresses(path)
    assert error.value.problems == [
        "line 3: lat 'abc' is not a number",
        "line 4: numero 'x' is not a housenumber",
        "line 5: street name (nom_voie) is empty",
        "line 6: lon '200' is out of range (-180..180)",
        "line 7: expected at least 14 columns, found 2",
    ]
    assert "line 3: lat 'abc' is not a number" in error.value.message
    assert not Street.objects.exists() and not Address.objects.exists()


@pytest.mark.django_db
def test_a_failed_import_leaves_earlier_data_untouched(tmp_path):
    import_addresses(SAMPLE)
    rows = [ban_row(str(n), "Rue Nouvelle") for n in range(1, 30)] + [ban_row("30", "Rue Nouvelle", lat="")]
    with pytest.raises(GazetteerError):
        import_addresses(write_csv(tmp_path, *rows), batch_size=10)  # some batches were written before the error
    assert Address.objects.count() == 275 and not Street.objects.filter(name="Rue Nouvelle").exists()


@pytest.mark.django_db
def test_keep_good_rows_imports_the_good_rows_and_returns_the_problems(tmp_path):
    path = write_csv(tmp_path, ban_row("1", "Rue Rouelle"), ban_row("2", "Rue Rouelle", lat="abc"),
                     ban_row("3", "Rue Rouelle", rep="bis"))
    result = import_addresses(path, keep_good_rows=True)
    assert result.problems == ["line 3: lat 'abc' is not a number"] and result.problem_count == 1
    assert sorted(Address.objects.values_list("number", "rep")) == [(1, ""), (3, "bis")]


@pytest.mark.django_db
def test_an_uploaded_binary_file_is_read_as_utf8_and_progress_is_reported():
    seen: list[int] = []
    result = import_addresses(io.BytesIO(SAMPLE.read_bytes()), progress=seen.append, batch_size=100)
    assert result.addresses == 275 and sum(seen) == 275 and len(seen) == 3


# --- postcodes --------------------------------------------------------------------------------------------------

POSTCODES = """country_code,postal_code,place_name,admin_name,latitude,longitude,accuracy
FR,75019,Paris,Île-de-France,48.8534,2.3488,5.0
FR,75019,Paris 19,Île-de-France,48.8817,2.3822,4.0
FR,75019,Paris 19,Île-de-France,48.88,2.38,6.0
FR,93100,Montreuil,Île-de-France,48.8642,2.4432,
FR,93101 CEDEX,Montreuil,Île-de-France,48.8642,2.4432,5.0
BE,1000,Bruxelles,Bruxelles-Capitale,50.85,4.35,5.0
"""


@pytest.mark.django_db
def test_postcodes_keep_one_row_per_place_the_most_accurate(tmp_path):
    path = tmp_path / "postcodes.csv"
    path.write_text(POSTCODES, encoding="utf-8")
    assert import_postcodes(path) == 3
    rows = PostcodeArea.objects.order_by("postcode", "place_norm").values_list(
        "postcode", "place_norm", "accuracy", "lat")
    assert list(rows) == [("75019", "paris", 5, 48.8534), ("75019", "paris 19", 6, 48.88),
                          ("93100", "montreuil", None, 48.8642)]
    assert import_postcodes(path) == 3 and PostcodeArea.objects.count() == 3


@pytest.mark.django_db
def test_postcode_problems_are_reported_and_nothing_is_written(tmp_path):
    path = tmp_path / "postcodes.csv"
    path.write_text(POSTCODES + "FR,75020,Paris 20,Île-de-France,north,2.39,5\n", encoding="utf-8")
    with pytest.raises(GazetteerError, match="line 8: latitude 'north' is not a number"):
        import_postcodes(path)
    assert not PostcodeArea.objects.exists()
    (tmp_path / "bad.csv").write_text("zip,city\n75019,Paris\n", encoding="utf-8")
    with pytest.raises(GazetteerError, match="postal_code"):
        import_postcodes(tmp_path / "bad.csv")


@pytest.mark.django_db
def test_the_real_geonames_file_imports_without_business_only_codes():
    written = import_postcodes(GEONAMES)
    assert written == PostcodeArea.objects.count() > 30000
    assert not PostcodeArea.objects.filter(postcode__contains="CEDEX").exists()
    assert PostcodeArea.objects.filter(postcode="93100", place_norm="montreuil").exists()
