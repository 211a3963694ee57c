"""The accounts and places API: sign-up, tokens, my profile, neighbourhoods, geocoding, and the error body."""
from __future__ import annotations

import json
import logging
import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from entraide.accounts.factories import PASSWORD, MemberFactory
from entraide.accounts.models import Member

from .conftest import BOLIVAR_POINT, LYON_POINT, Api

User = get_user_model()


# --- sign-up --------------------------------------------------------------------------------------------------

def test_signing_up_with_a_sample_address_places_the_member_in_combat(api, paris, gazetteer, signup, row_counts):
    before = row_counts()
    response = api.post("/auth/signup", signup())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["neighbourhood"]["name"] == "Combat"
    assert body["neighbourhood"]["city"] == "Paris"
    assert set(body["neighbourhood"]) == {"id", "name", "city"}
    assert body["email"] == "new.neighbour@example.org"
    assert body["display_name"] == "Nadia Benali"
    assert body["public_name"] == "Nadia B."
    assert body["street"] == "Avenue Simon Bolivar"
    assert (body["lat"], body["lon"]) == BOLIVAR_POINT
    assert body["verification"]["state"] == "pending"
    assert body["can_post"] is False
    after = row_counts()
    assert after["users"] == before["users"] + 1
    assert after["members"] == before["members"] + 1
    assert after["emails"] == before["emails"] + 1


def test_signing_up_with_a_pin_instead_of_an_address_works(api, paris, signup):
    response = api.post("/auth/signup", signup(address=None, lat=BOLIVAR_POINT[0], lon=BOLIVAR_POINT[1]))
    assert response.status_code == 201, response.content
    member = Member.objects.get(user__email="new.neighbour@example.org")
    assert member.neighbourhood.name == "Combat"
    assert member.location_precision == "pin"
    assert member.address_text == ""


def test_the_password_is_stored_with_argon2(api, paris, gazetteer, signup, settings):
    from entraide import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    assert settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    api.post("/auth/signup", signup())
    user = User.objects.get(email="new.neighbour@example.org")
    assert user.password.startswith("argon2")
    assert "correct horse" not in user.password
    token = api.post("/auth/token", {"email": "new.neighbour@example.org", "password": "correct horse battery staple"})
    assert token.status_code == 200, token.content


def test_the_blurred_cell_is_computed_once_at_sign_up(api, paris, gazetteer, signup):
    from entraide.places import geo

    api.post("/auth/signup", signup())
    member = Member.objects.get(user__email="new.neighbour@example.org")
    assert member.blurred_cell == geo.blur(*BOLIVAR_POINT).cell


@pytest.mark.parametrize("email", ["new.neighbour@example.org", "New.Neighbour@Example.ORG", "  NEW.neighbour@example.org "])
def test_cannot_sign_up_twice_with_the_same_email_whatever_its_case(api, paris, gazetteer, signup, row_counts, email):
    assert api.post("/auth/signup", signup()).status_code == 201
    before = row_counts()
    body = api.error(api.post("/auth/signup", signup(email=email, address=None, lat=48.8557, lon=2.3581)), 409,
                     "email_taken")
    assert "email" in body["fields"]
    assert row_counts() == before


@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "new.neighbour@example.org"])
def test_cannot_sign_up_with_a_weak_password(api, paris, gazetteer, signup, row_counts, password):
    before = row_counts()
    body = api.error(api.post("/auth/signup", signup(password=password)), 400, "weak_password")
    assert body["fields"]["password"]
    assert row_counts() == before


@pytest.mark.parametrize("email", ["not-an-email", "", "a@", "@example.org", "two words@example.org"])
def test_cannot_sign_up_with_an_invalid_email(api, paris, gazetteer, signup, row_counts, email):
    before = row_counts()
    body = api.error(api.post("/auth/signup", signup(email=email)), 400, "invalid_email")
    assert "email" in body["fields"]
    assert row_counts() == before


def test_cannot_sign_up_without_an_address_or_a_pin(api, paris, gazetteer, signup, row_counts):
    before = row_counts()
    for body in (signup(address=None), signup(address="   ")):
        error = api.error(api.post("/auth/signup", body), 422, "address_required")
        assert "address" in error["fields"]
    assert row_counts() == before


def test_cannot_sign_up_outside_every_neighbourhood(api, paris, signup, row_counts):
    before = row_counts()
    body = api.error(api.post("/auth/signup", signup(address=None, lat=LYON_POINT[0], lon=LYON_POINT[1])), 422,
                     "not_covered")
    assert "address" in body["fields"]
    assert row_counts() == before


def test_cannot_sign_up_with_a_postcode_only(api, paris, gazetteer, signup, row_counts):
    before = row_counts()
    body = api.error(api.post("/auth/signup", signup(address="75019")), 422, "address_imprecise")
    assert "address" in body["fields"]
    assert row_counts() == before


@pytest.mark.parametrize("lat, lon", [(91, 2.35), (-90.5, 2.35), (48.85, 181), (48.85, -200), (48.85, None), (None, 2.35)])
def test_cannot_sign_up_with_coordinates_out_of_range(api, paris, signup, row_counts, lat, lon):
    before = row_counts()
    body = api.error(api.post("/auth/signup", signup(address=None, lat=lat, lon=lon)), 422, "invalid_coordinates")
    assert body["fields"]
    assert row_counts() == before


@pytest.mark.parametrize("address", ["10 Downing Street, London, UK", "221B Baker Street, London NW1 6XE",
                                     "12 Via Roma, Roma, Italy"])
def test_cannot_sign_up_with_an_address_in_another_country(api, paris, gazetteer, signup, row_counts, address):
    before = row_counts()
    body = api.error(api.post("/auth/signup", signup(address=address)), 422, "address_not_found")
    assert "address" in body["fields"]
    assert row_counts() == before


def test_cannot_sign_up_with_a_blank_display_name(api, paris, gazetteer, signup, row_counts):
    before = row_counts()
    api.error(api.post("/auth/signup", signup(display_name="   ")), 400, "display_name_required")
    assert row_counts() == before


def test_a_malformed_json_body_is_a_400(api, paris, row_counts):
    before = row_counts()
    api.error(api.post("/auth/signup", raw='{"email": "x@example.org", "password": '), 400, "bad_request")
    api.error(api.post("/auth/signup", raw="not json at all"), 400, "bad_request")
    assert row_counts() == before


def test_a_body_with_missing_or_wrongly_typed_fields_is_a_422_naming_them(api, paris, row_counts):
    before = row_counts()
    body = api.error(api.post("/auth/signup", {"email": "x@example.org"}), 422, "invalid_input")
    assert {"password", "display_name"} <= set(body["fields"])
    body = api.error(api.post("/auth/signup", {"email": "x@example.org", "password": "p" * 20, "display_name": "X",
                                               "lat": "north"}), 422, "invalid_input")
    assert "lat" in body["fields"]
    assert row_counts() == before


def test_an_oversized_body_is_refused_with_413_before_anything_reads_it(api, paris, signup, row_counts):
    assert settings.ENTRAIDE_MAX_BODY_BYTES == 64 * 1024
    before = row_counts()
    huge = signup(display_name="x" * (settings.ENTRAIDE_MAX_BODY_BYTES + 1))
    api.error(api.post("/auth/signup", huge), 413, "payload_too_large")
    assert row_counts() == before


def test_a_body_just_under_the_limit_is_read_normally(api, paris, signup):
    body = signup(display_name="x" * (settings.ENTRAIDE_MAX_BODY_BYTES - 1000))
    # Read and refused by the schema (too long a name), not by the size limit.
    api.error(api.post("/auth/signup", body), 422, "invalid_input")


def test_sign_up_is_rate_limited_per_address(api, paris, signup):
    for i in range(20):
        api.post("/auth/signup", signup(email=f"spam{i}@example.org", address=None, lat=LYON_POINT[0], lon=LYON_POINT[1]))
    response = api.post("/auth/signup", signup())
    api.error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1


# --- the email confirmation of an API sign-up -------------------------------------------------------------------

CONFIRM_LINK = re.compile(r"https?://[^/\s]+(/accounts/confirm-email/([^/\s]+)/)")


def test_signing_up_through_the_api_sends_the_email_confirmation(api, paris, gazetteer, signup, mailoutbox,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/auth/signup", signup()).status_code == 201
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new.neighbour@example.org"]
    assert CONFIRM_LINK.search(mailoutbox[0].body), mailoutbox[0].body
    assert EmailAddress.objects.get(email="new.neighbour@example.org").verified is False


def test_the_confirmation_mail_waits_for_the_sign_up_to_commit(api, paris, gazetteer, signup, mailoutbox,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert api.post("/auth/signup", signup()).status_code == 201
    assert callbacks and mailoutbox == []
    for callback in callbacks:
        callback()
    assert [m.to for m in mailoutbox] == [["new.neighbour@example.org"]]


def test_a_refused_sign_up_sends_no_mail(api, paris, gazetteer, signup, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.error(api.post("/auth/signup", signup(password="short")), 400, "weak_password")
        api.error(api.post("/auth/signup", signup(address=None, lat=LYON_POINT[0], lon=LYON_POINT[1])), 422,
                  "not_covered")
    assert mailoutbox == []


def test_following_the_link_in_the_api_confirmation_mail_verifies_the_address(api, client, paris, gazetteer, signup,
                                                                               mailoutbox,
                                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/auth/signup", signup())
    path, key = CONFIRM_LINK.search(mailoutbox[0].body).groups()
    address = EmailAddress.objects.get(email="new.neighbour@example.org")
    assert client.post(f"/accounts/confirm-email/{key[:-3]}xyz/").status_code == 404  # a forged key
    assert client.get(path).status_code == 200  # allauth's page recognises the real one
    address.refresh_from_db()
    assert address.verified is False  # neither the forged key nor a GET confirmed anything
    assert client.post(path).status_code == 302
    address.refresh_from_db()
    assert address.verified is True


def test_the_confirmation_mail_is_in_the_language_chosen_at_sign_up(api, paris, gazetteer, signup, mailoutbox,
                                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/auth/signup", signup(language="en"), headers={"Accept-Language": "fr"})
        api.post("/auth/signup", signup(email="autre@example.org", language="fr"), headers={"Accept-Language": "en"})
    english, french = mailoutbox
    assert english.subject != french.subject
    assert "confirm" in english.subject.lower() and "confirm" in french.subject.lower()
    assert "adresse" in french.subject.lower() and "adresse" not in english.subject.lower()


def test_a_mail_server_failure_does_not_fail_the_api_sign_up(api, paris, gazetteer, signup, mailoutbox, monkeypatch,
                                                             caplog, django_capture_on_commit_callbacks):
    from allauth.account.adapter import DefaultAccountAdapter

    def broken_send_mail(self, template_prefix, email, context):
        raise ConnectionRefusedError(f"cannot deliver to {email}")

    monkeypatch.setattr(DefaultAccountAdapter, "send_mail", broken_send_mail)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = api.post("/auth/signup", signup())
    assert response.status_code == 201, response.content
    assert Member.objects.filter(user__email="new.neighbour@example.org").exists()
    assert "confirmation mail not sent" in caplog.text
    assert "new.neighbour@example.org" not in caplog.text


def test_no_confirmation_mail_when_the_operator_turned_email_verification_off(api, paris, gazetteer, signup,
                                                                              mailoutbox, settings,
                                                                              django_capture_on_commit_callbacks):
    settings.ACCOUNT_EMAIL_VERIFICATION = "none"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/auth/signup", signup()).status_code == 201
    assert mailoutbox == []


# --- tokens and /me ---------------------------------------------------------------------------------------------

def test_a_token_opens_my_profile(api, member):
    response = api.post("/auth/token", {"email": member.user.email, "password": PASSWORD})
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    me = api.get("/me", token=token)
    assert me.status_code == 200, me.content
    assert me.json()["id"] == member.id
    assert me.json()["address"] == member.address_text


def test_the_token_email_is_case_insensitive(api, member):
    response = api.post("/auth/token", {"email": member.user.email.upper(), "password": PASSWORD})
    assert response.status_code == 200, response.content


def test_only_the_hash_of_a_token_is_stored(api, member):
    from entraide.accounts.models import ApiToken

    token = api.post("/auth/token", {"email": member.user.email, "password": PASSWORD}).json()["token"]
    row = ApiToken.objects.get(user=member.user)
    assert token not in row.key_hash


def test_a_wrong_password_gets_no_token(api, member):
    api.error(api.post("/auth/token", {"email": member.user.email, "password": "wrong-password"}), 401,
              "invalid_credentials")
    api.error(api.post("/auth/token", {"email": "nobody@example.org", "password": PASSWORD}), 401,
              "invalid_credentials")
    api.error(api.post("/auth/token", {"email": "", "password": ""}), 401, "invalid_credentials")


def test_an_inactive_user_gets_no_token(api, member):
    member.user.is_active = False
    member.user.save()
    api.error(api.post("/auth/token", {"email": member.user.email, "password": PASSWORD}), 401, "invalid_credentials")


def test_token_requests_are_rate_limited_with_retry_after(api, member):
    for _ in range(10):
        api.post("/auth/token", {"email": member.user.email, "password": "wrong-password"})
    response = api.post("/auth/token", {"email": member.user.email, "password": PASSWORD})
    api.error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1


def test_token_requests_are_rate_limited_per_client_address_too(api, member):
    for i in range(20):
        api.post("/auth/token", {"email": f"guess{i}@example.org", "password": "wrong-password"})
    response = api.post("/auth/token", {"email": member.user.email, "password": PASSWORD})
    api.error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize("header", ["Bearer not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "token"])
def test_an_unknown_or_malformed_token_is_a_401(api, member, header):
    api.error(api.get("/me", headers={"Authorization": header}), 401, "not_authenticated")


def test_my_profile_needs_authentication(api, member):
    api.error(api.get("/me"), 401, "not_authenticated")


def test_a_token_of_a_deactivated_user_stops_working(api, member, token_for):
    token = token_for(member)
    assert api.get("/me", token=token).status_code == 200
    member.user.is_active = False
    member.user.save()
    api.error(api.get("/me", token=token), 401, "not_authenticated")


def test_a_user_without_a_member_profile_is_told_so(api, db):
    from entraide.accounts.factories import UserFactory

    user = UserFactory()
    token = api.post("/auth/token", {"email": user.email, "password": PASSWORD}).json()["token"]
    api.error(api.get("/me", token=token), 403, "no_profile")


def test_the_session_cookie_also_opens_my_profile(client, member):
    client.force_login(member.user)
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["id"] == member.id


def test_a_session_post_without_csrf_token_is_refused(member, verified_member):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(verified_member.user)
    response = csrf_client.post("/api/v1/me/invitations", data="{}", content_type="application/json")
    Api.error(response, 403, "csrf_failed")
    assert not verified_member.invitations_issued.exists()
    response = csrf_client.patch("/api/v1/me", data=json.dumps({"display_name": "Hacked Name"}),
                                 content_type="application/json")
    Api.error(response, 403, "csrf_failed")
    verified_member.refresh_from_db()
    assert verified_member.display_name == "Chloé Durand"


def test_a_session_post_with_the_csrf_token_is_accepted(verified_member):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(verified_member.user)
    csrf_client.get("/me/")  # sets the CSRF cookie
    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post("/api/v1/me/invitations", data="{}", content_type="application/json",
                                headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.content


def test_a_bearer_token_needs_no_csrf_token(verified_member, token_for):
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post("/api/v1/me/invitations", data="{}", content_type="application/json",
                                headers={"Authorization": f"Bearer {token_for(verified_member)}"})
    assert response.status_code == 201, response.content


# --- PATCH /me --------------------------------------------------------------------------------------------------

def test_i_can_change_my_name_and_language(api, member, token_for):
    response = api.patch("/me", {"display_name": "  Bruno   Lefèvre-Martin ", "language": "en"}, token=token_for(member))
    assert response.status_code == 200, response.content
    assert response.json()["display_name"] == "Bruno Lefèvre-Martin"
    assert response.json()["language"] == "en"


def test_i_can_choose_to_read_a_nearby_neighbourhood(api, member, saint_merri, token_for):
    response = api.patch("/me", {"reads_nearby": [saint_merri.id]}, token=token_for(member))
    assert response.status_code == 200, response.content
    assert response.json()["reads_nearby"] == [saint_merri.id]
    assert list(member.reads_nearby.values_list("id", flat=True)) == [saint_merri.id]


def test_cannot_read_a_neighbourhood_that_is_not_nearby(api, member, saint_merri, combat, token_for):
    token = token_for(member)
    body = api.error(api.patch("/me", {"reads_nearby": [saint_merri.id, combat.id]}, token=token), 400, "not_nearby")
    assert "reads_nearby" in body["fields"]
    assert not member.reads_nearby.exists()
    # Nor one's own home, nor an id that does not exist.
    api.error(api.patch("/me", {"reads_nearby": [member.neighbourhood_id]}, token=token), 400, "not_nearby")
    api.error(api.patch("/me", {"reads_nearby": [999999]}, token=token), 400, "not_nearby")


def test_cannot_blank_my_display_name_or_pick_an_unknown_language(api, member, token_for):
    token = token_for(member)
    api.error(api.patch("/me", {"display_name": "  "}, token=token), 400, "display_name_required")
    api.error(api.patch("/me", {"language": "xx"}, token=token), 400, "invalid_language")
    member.refresh_from_db()
    assert (member.display_name, member.language) == ("Bruno Lefèvre", "fr")


def test_an_invalid_patch_changes_nothing_at_all(api, member, combat, token_for):
    api.error(api.patch("/me", {"display_name": "Someone Else", "reads_nearby": [combat.id]}, token=token_for(member)),
              400, "not_nearby")
    member.refresh_from_db()
    assert member.display_name == "Bruno Lefèvre"


# --- neighbourhoods -----------------------------------------------------------------------------------------------

def test_i_can_read_my_own_neighbourhood(api, member, verified_member, token_for):
    response = api.get(f"/neighbourhoods/{member.neighbourhood_id}", token=token_for(member))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Saint-Gervais"
    assert body["city"] == "Paris"
    assert body["member_count"] == 2
    assert {n["name"] for n in body["nearby"]} == {"Archives", "Arsenal", "Notre-Dame", "Saint-Merri", "Sainte-Avoie"}
    assert body["geometry"]["type"] in ("Polygon", "MultiPolygon")
    min_lon, min_lat, max_lon, max_lat = body["bbox"]
    assert min_lat <= body["centroid"][0] <= max_lat and min_lon <= body["centroid"][1] <= max_lon


def test_i_can_look_at_a_nearby_neighbourhood(api, member, saint_merri, token_for):
    MemberFactory(neighbourhood=saint_merri)
    response = api.get(f"/neighbourhoods/{saint_merri.id}", token=token_for(member))
    assert response.status_code == 200, response.content
    assert response.json()["member_count"] == 1
    assert "Saint-Gervais" in {n["name"] for n in response.json()["nearby"]}


def test_cannot_read_another_neighbourhood(api, member, combat, token_for):
    """A far neighbourhood answers 404 like one that does not exist: existence never leaks."""
    token = token_for(member)
    far = api.error(api.get(f"/neighbourhoods/{combat.id}", token=token), 404, "not_found")
    missing = api.error(api.get("/neighbourhoods/999999", token=token), 404, "not_found")
    assert far == missing


def test_neighbourhoods_need_authentication(api, neighbourhood):
    api.error(api.get(f"/neighbourhoods/{neighbourhood.id}"), 401, "not_authenticated")


def test_inactive_members_are_not_counted(api, member, verified_member, token_for):
    verified_member.user.is_active = False
    verified_member.user.save()
    assert api.get(f"/neighbourhoods/{member.neighbourhood_id}", token=token_for(member)).json()["member_count"] == 1


# --- geocode and locate -------------------------------------------------------------------------------------------

def test_geocoding_a_sample_address_names_its_neighbourhood(api, paris, gazetteer):
    response = api.get("/places/geocode", {"q": "67 av. Simon Bolivar"})
    assert response.status_code == 200, response.content
    best = response.json()["candidates"][0]
    assert best["label"].startswith("67 Avenue Simon Bolivar")
    assert best["precision"] == "housenumber"
    assert best["neighbourhood"]["name"] == "Combat"
    assert (best["lat"], best["lon"]) == BOLIVAR_POINT


def test_geocoding_something_abroad_finds_nothing(api, paris, gazetteer):
    response = api.get("/places/geocode", {"q": "10 Downing Street, London, UK"})
    assert response.status_code == 200
    assert response.json() == {"candidates": []}


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x" * 301}, {"q": "rue", "limit": 0},
                                    {"q": "rue", "limit": 11}, {"q": "rue", "limit": "many"}])
def test_geocoding_with_bad_parameters_is_a_422(api, paris, gazetteer, params):
    api.error(api.get("/places/geocode", params), 422, "invalid_input")


def test_locating_a_point_names_its_neighbourhood_or_none(api, paris):
    inside = api.get("/places/locate", {"lat": BOLIVAR_POINT[0], "lon": BOLIVAR_POINT[1]})
    assert inside.status_code == 200
    assert inside.json()["neighbourhood"]["name"] == "Combat"
    outside = api.get("/places/locate", {"lat": LYON_POINT[0], "lon": LYON_POINT[1]})
    assert outside.json() == {"neighbourhood": None}


@pytest.mark.parametrize("params", [{}, {"lat": 48.85}, {"lat": 91, "lon": 2.35}, {"lat": 48.85, "lon": 181},
                                    {"lat": "north", "lon": 2.35}, {"lat": "nan", "lon": 2.35}])
def test_locating_with_bad_parameters_is_a_422(api, paris, params):
    api.error(api.get("/places/locate", params), 422, "invalid_input")


# --- the error body and its language -----------------------------------------------------------------------------

def test_errors_answer_in_english_when_asked(api, member):
    response = api.post("/auth/token", {"email": member.user.email, "password": "wrong-password"},
                        headers={"Accept-Language": "en"})
    body = api.error(response, 401, "invalid_credentials")
    assert body["message"] == "Wrong email or password."


def test_errors_answer_in_the_member_language(api, member, combat, token_for):
    member.language = "en"
    member.save()
    response = api.get(f"/neighbourhoods/{combat.id}", token=token_for(member), headers={"Accept-Language": "fr"})
    body = api.error(response, 404, "not_found")
    assert body["message"] == "Not found."
    response = api.patch("/me", {"reads_nearby": [combat.id]}, token=token_for(member), headers={"Accept-Language": "fr"})
    assert api.error(response, 400, "not_nearby")["message"] == "You can only read neighbourhoods next to yours."


def test_an_unknown_api_path_is_a_404_error_body(api, db):
    response = api.get("/no-such-endpoint")
    assert response.status_code == 404
    assert "Traceback" not in response.content.decode()


def test_an_unexpected_failure_answers_a_plain_500_without_traceback(api, member, token_for, monkeypatch):
    from entraide.accounts import api as accounts_api

    def boom(member):
        raise RuntimeError(f"secret detail {member.address_text}")

    monkeypatch.setattr(accounts_api, "me_out", boom)
    token = token_for(member)
    response = api.get("/me", token=token)
    body = api.error(response, 500, "server_error")
    assert member.address_text not in response.content.decode()
    assert "secret detail" not in body["message"]


def test_every_endpoint_is_in_the_openapi_schema(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in ["/api/v1/auth/signup", "/api/v1/auth/token", "/api/v1/me", "/api/v1/me/verify/letter",
                 "/api/v1/me/verify/geolocation", "/api/v1/me/verify/invitation", "/api/v1/me/invitations",
                 "/api/v1/neighbourhoods/{neighbourhood_id}", "/api/v1/places/geocode", "/api/v1/places/locate"]:
        assert path in paths, path
    assert "201" in paths["/api/v1/auth/signup"]["post"]["responses"]
    assert "409" in paths["/api/v1/auth/signup"]["post"]["responses"]
