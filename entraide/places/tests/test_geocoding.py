"""Geocoding free text the way people type it, offline first, with an optional online geocoder."""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st

from entraide.places.gazetteer import import_addresses, import_postcodes
from entraide.places.geocoding import Candidate, geocode

DATA = Path(__file__).resolve().parents[3] / "data"
SAMPLE = DATA / "paris-adresses-sample.csv"
BOLIVAR_67 = (48.876376, 2.377185)

PARIS_AND_MONTREUIL = """country_code,postal_code,place_name,admin_name,latitude,longitude,accuracy
FR,75015,Paris,Île-de-France,48.8534,2.3488,5.0
FR,75015,Paris 15,Île-de-France,48.8412,2.3003,5.0
FR,75019,Paris,Île-de-France,48.8534,2.3488,5.0
FR,75019,Paris 19,Île-de-France,48.8817,2.3822,5.0
FR,93100,Montreuil,Île-de-France,48.8642,2.4432,5.0
FR,28500,Montreuil,Centre-Val de Loire,48.7774,1.3697,5.0
FR,62170,Montreuil,Hauts-de-France,50.4637,1.7635,5.0
FR,85200,Montreuil,Pays de la Loire,46.4081,-0.8376,5.0
"""


@pytest.fixture
def addresses(db):
    import_addresses(SAMPLE)


@pytest.fixture
def postcodes(db, tmp_path):
    path = tmp_path / "postcodes.csv"
    path.write_text(PARIS_AND_MONTREUIL, encoding="utf-8")
    import_postcodes(path)


def first(text: str) -> Candidate:
    results = geocode(text)
    assert results, f"nothing found for {text!r}"
    return results[0]


def assert_is_bolivar_67(candidate: Candidate) -> None:
    assert candidate.precision == "housenumber"
    assert candidate.label == "67 Avenue Simon Bolivar, 75019 Paris 19e Arrondissement"
    assert (candidate.lat, candidate.lon) == BOLIVAR_67
    assert candidate.street == "Avenue Simon Bolivar"


# --- offline ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "67 Avenue Simon Bolivar, 75019 Paris",
    "67 avenue simon bolivar",
    "67 AVENUE SIMON-BOLÍVAR 75019",
    "67 av. Simon Bolivar, Paris 19e",
    "67 ave simon bolivar paris",
    "67, av Simon Bolivar 75019 Paris France",
])
def test_the_full_address_typed_in_many_ways_finds_the_house(addresses, text):
    assert_is_bolivar_67(first(text))


def test_abbreviated_avenue_without_postcode_finds_the_house(addresses):
    assert_is_bolivar_67(first("67 av simon bolivar"))


def test_a_small_typo_in_the_street_name_still_finds_the_house(addresses):
    assert_is_bolivar_67(first("67 avenue simon bolivr"))
    rouelle = first("25 rue rouele 75015")
    assert (rouelle.precision, rouelle.street) == ("housenumber", "Rue Rouelle")


def test_saint_and_faubourg_abbreviations_find_the_house(addresses):
    honore = first("208 r du fbg st honoré")
    assert honore.label == "208 Rue du Faubourg Saint-Honoré, 75008 Paris 8e Arrondissement"
    assert first("62 rue st charles").label.startswith("62 Rue Saint-Charles")


def test_the_street_type_may_be_left_out(addresses):
    assert_is_bolivar_67(first("67 simon bolivar"))


def test_a_bis_that_does_not_exist_falls_back_to_the_plain_number_with_a_lower_score(addresses):
    plain, bis = first("67 avenue simon bolivar"), first("67 bis avenue simon bolivar")
    assert_is_bolivar_67(bis)
    assert bis.score < plain.score


def test_bis_and_ter_spellings_find_the_right_house(db, tmp_path):
    rows = ["id;numero;rep;nom_voie;code_postal;code_insee;nom_commune;lon;lat",
            "a;12;;Rue Rouelle;75015;75115;Paris 15e Arrondissement;2.2870;48.8500",
            "b;12;bis;Rue Rouelle;75015;75115;Paris 15e Arrondissement;2.2871;48.8501",
            "c;12;ter;Rue Rouelle;75015;75115;Paris 15e Arrondissement;2.2872;48.8502"]
    (tmp_path / "a.csv").write_text("\n".join(rows), encoding="utf-8")
    import_addresses(tmp_path / "a.csv")
    for text in ("12bis rue Rouelle", "12 bis rue rouelle", "12 B rue Rouelle", "12b r. Rouelle"):
        assert first(text).label == "12 bis Rue Rouelle, 75015 Paris 15e Arrondissement", text
    for text in ("12 ter rue Rouelle", "12t rue rouelle", "12TER rue rouelle"):
        assert first(text).lon == 2.2872, text
    assert first("12 rue rouelle").lon == 2.2870


def test_the_postcode_picks_between_homonymous_streets(addresses):
    assert first("200 rue saint maur 75010").label == "200 Rue Saint-Maur, 75010 Paris 10e Arrondissement"
    assert first("22 rue saint maur").label == "22 Rue Saint-Maur, 75011 Paris 11e Arrondissement"
    in_the_10th = first("rue saint maur paris 10e")
    assert (in_the_10th.precision, in_the_10th.label) == ("street", "Rue Saint-Maur, 75010 Paris 10e Arrondissement")


def test_an_unknown_number_gives_the_street_centre(addresses):
    street = first("1000 avenue simon bolivar")
    assert street.precision == "street" and street.label == "Avenue Simon Bolivar, 75019 Paris 19e Arrondissement"
    assert street.lat == pytest.approx((48.876376 + 48.876377) / 2)
    assert street.score < first("67 avenue simon bolivar").score


def test_a_street_without_number_is_found_at_street_precision(addresses):
    assert first("rue d'alesia").precision == "street"


def test_a_similar_but_different_street_is_not_offered(addresses):
    assert all(c.street != "Rue Saint-Maur" for c in geocode("12 rue saint martin"))


def test_a_postcode_alone_gives_the_postcode_area(addresses, postcodes):
    area = first("75019")
    assert (area.precision, area.label, area.lat) == ("postcode", "75019 Paris 19", 48.8817)
    assert first("12 rue qui n'existe pas, 75019 Paris").precision == "postcode"


def test_a_postcode_with_its_city_is_not_mistaken_for_a_similar_street(addresses, postcodes):
    area = first("75015 paris")  # "paris" looks like "Rue de Paradis"
    assert (area.precision, area.label) == ("postcode", "75015 Paris 15")


def test_words_before_the_housenumber_and_a_partial_street_name_do_not_mislead(addresses):
    results = geocode("chez Dupont, 28 rue du general foy 75008")
    assert [c.label for c in results] == ["28 Rue du Général Foy, 75008 Paris 8e Arrondissement"]


def test_a_postcode_unknown_to_geonames_uses_the_gazetteer_streets(addresses):
    area = first("75019")
    assert area.precision == "postcode" and area.label == "75019 Paris 19e Arrondissement"


def test_a_city_name_alone_gives_the_municipality(addresses, postcodes):
    montreuil = first("Montreuil")
    assert (montreuil.precision, montreuil.label) == ("municipality", "Montreuil (93100)")
    assert len(geocode("montreuil", limit=10)) == 4  # the homonyms stay available, nearest first
    paris = first("paris")
    assert (paris.precision, paris.label, paris.lat) == ("municipality", "Paris", 48.8534)


@pytest.mark.parametrize("text", ["", "   ", "!!!", "qsdfghjklm", "10 Downing Street, London SW1A 2AA",
                                  "1600 Pennsylvania Avenue NW, Washington, DC 20500, USA", "12"])
def test_garbage_or_foreign_text_finds_nothing(addresses, postcodes, text):
    assert geocode(text) == []


def test_an_empty_gazetteer_finds_nothing_without_failing(db):
    assert geocode("67 avenue simon bolivar 75019 paris") == [] and geocode("Montreuil") == []


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=400) | st.sampled_from(["67 av simon bolivar", "12bis", "75019 75020", "rue rue rue"]))
def test_geocoding_any_text_never_raises_and_keeps_its_promises(addresses, text):
    results = geocode(text, limit=3)
    assert len(results) <= 3
    assert all(0 <= c.score <= 1 and c.precision in {"housenumber", "street", "postcode", "municipality"}
               for c in results)


def test_results_are_sorted_deduplicated_and_limited(addresses):
    results = geocode("rue saint", limit=3)
    assert len(results) <= 3
    assert [c.score for c in results] == sorted((c.score for c in results), reverse=True)
    assert len({c.label for c in results}) == len(results)


def test_a_geocode_takes_a_handful_of_queries(addresses, postcodes, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        geocode("67 av simon bolivar, 75019 paris")
    with django_assert_max_num_queries(4):
        geocode("Montreuil")


# --- online -----------------------------------------------------------------------------------------------------

class FakeGeocoder(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        FakeGeocoder.requests.append(self.path)
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/search/":  # the BAN
            body = {"type": "FeatureCollection", "features": [{
                "type": "Feature", "geometry": {"type": "Point", "coordinates": [2.4421, 48.8611]},
                "properties": {"label": "12 Rue de Paris 93100 Montreuil", "score": 0.93, "type": "housenumber",
                               "name": "12 Rue de Paris", "street": "Rue de Paris"}}]}
        elif url.path == "/search" and query.get("format") == ["jsonv2"]:  # Nominatim
            body = [{"lat": "48.8611", "lon": "2.4421", "importance": 0.3, "display_name": "12, Rue de Paris, …",
                     "address": {"house_number": "12", "road": "Rue de Paris", "postcode": "93100",
                                 "city": "Montreuil", "country_code": "fr"}}]
        else:
            self.send_error(404)
            return
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_geocoder():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGeocoder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeGeocoder.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_online_ban_geocoder_is_merged_when_offline_is_not_precise(addresses, postcodes, fake_geocoder, settings):
    settings.ENTRAIDE_GEOCODER_URL, settings.ENTRAIDE_GEOCODER_KIND = fake_geocoder + "/", "ban"
    results = geocode("12 rue de paris montreuil")
    assert results[0] == Candidate("12 Rue de Paris 93100 Montreuil", 48.8611, 2.4421, "housenumber", 0.93,
                                   "Rue de Paris")
    assert "municipality" in {c.precision for c in results}  # the offline answer is still there
    assert FakeGeocoder.requests[0].startswith("/search/?q=12+rue+de+paris+montreuil&limit=5")


def test_the_online_nominatim_geocoder_is_merged(addresses, fake_geocoder, settings):
    settings.ENTRAIDE_GEOCODER_URL, settings.ENTRAIDE_GEOCODER_KIND = fake_geocoder, "nominatim"
    result = first("12 rue de paris montreuil")
    assert (result.label, result.precision, result.street) == ("12 Rue de Paris, 93100 Montreuil", "housenumber",
                                                               "Rue de Paris")
    assert "addressdetails=1" in FakeGeocoder.requests[0]


def test_the_online_geocoder_is_not_asked_when_offline_found_the_house(addresses, fake_geocoder, settings):
    settings.ENTRAIDE_GEOCODER_URL = fake_geocoder
    assert_is_bolivar_67(first("67 av simon bolivar"))
    assert FakeGeocoder.requests == []


def test_an_online_geocoder_that_is_down_leaves_the_offline_results(addresses, postcodes, settings, caplog):
    with socket.socket() as probe:  # a port nobody listens on: connection refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.ENTRAIDE_GEOCODER_URL = f"http://127.0.0.1:{port}"
    results = geocode("1000 avenue simon bolivar")
    assert [c.precision for c in results][:1] == ["street"]
    assert "online geocoder" in caplog.text and "bolivar" not in caplog.text.lower()


def test_an_online_geocoder_answering_nonsense_leaves_the_offline_results(addresses, fake_geocoder, settings):
    settings.ENTRAIDE_GEOCODER_URL, settings.ENTRAIDE_GEOCODER_KIND = fake_geocoder + "/nowhere", "ban"
    assert first("1000 avenue simon bolivar").precision == "street"
