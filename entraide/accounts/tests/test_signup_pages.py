"""The pages: sign-up through allauth, waiting list, login and logout, password reset, language, profile, settings."""
from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from entraide.accounts.factories import PASSWORD
from entraide.accounts.models import Member
from entraide.places.models import WaitlistEntry

from .conftest import BOLIVAR, BOLIVAR_POINT, LYON_POINT

User = get_user_model()


def page_signup(**overrides) -> dict:
    data = {"email": "page.neighbour@example.org", "password1": "correct horse battery staple",
            "display_name": "Samir Haddad", "address": BOLIVAR, "lat": "", "lon": ""}
    data.update(overrides)
    return data


# --- sign-up -----------------------------------------------------------------------------------------------------

def test_the_sign_up_page_asks_for_email_password_name_and_address(client, paris):
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("email", "password1", "display_name", "address", "lat", "lon"):
        assert f'name="{name}"' in html, name


def test_signing_up_on_the_page_lands_in_the_right_quartier(client, paris, gazetteer, combat, mailoutbox):
    response = client.post("/accounts/signup/", page_signup())
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == f"/n/{combat.id}/"
    member = Member.objects.get(user__email="page.neighbour@example.org")
    assert member.neighbourhood_id == combat.id
    assert member.address_text == BOLIVAR
    assert (member.lat, member.lon) == BOLIVAR_POINT
    assert member.street_name == "Avenue Simon Bolivar"
    assert member.verification_state == "pending"
    # Logged in right away, and the landing page follows the member home.
    assert client.get(response["Location"]).status_code == 200
    assert client.get("/")["Location"] == f"/n/{combat.id}/"


def test_signing_up_on_the_page_sends_an_email_confirmation(client, paris, gazetteer, mailoutbox):
    client.post("/accounts/signup/", page_signup())
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["page.neighbour@example.org"]
    assert "/accounts/confirm-email/" in mailoutbox[0].body
    assert EmailAddress.objects.get(email="page.neighbour@example.org").verified is False


def test_signing_up_with_a_pin_on_the_page_works(client, paris, combat):
    response = client.post("/accounts/signup/", page_signup(address="", lat=str(BOLIVAR_POINT[0]),
                                                            lon=str(BOLIVAR_POINT[1])))
    assert response.status_code == 302
    assert response["Location"] == f"/n/{combat.id}/"


def test_signing_up_outside_every_neighbourhood_offers_the_waiting_list(client, paris, row_counts):
    before = row_counts()
    response = client.post("/accounts/signup/", page_signup(address="Place Bellecour, Lyon", lat=str(LYON_POINT[0]),
                                                            lon=str(LYON_POINT[1])))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="/waitlist/?address=' in html
    assert response.context["form"].error_code == "not_covered"
    assert response.context["form"].errors["address"]
    assert row_counts() == before


@pytest.mark.parametrize("overrides, code", [
    ({"address": "75019"}, "address_imprecise"),
    ({"address": ""}, "address_required"),
    ({"address": "10 Downing Street, London, UK"}, "address_not_found"),
])
def test_a_sign_up_the_page_cannot_place_shows_an_address_error(client, paris, gazetteer, row_counts, overrides, code):
    before = row_counts()
    response = client.post("/accounts/signup/", page_signup(**overrides))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.error_code == code
    assert form.errors["address"]
    assert "/waitlist/" not in response.content.decode().split("<main", 1)[1]
    assert row_counts() == before


def test_a_sign_up_with_coordinates_out_of_range_is_refused(client, paris, row_counts):
    before = row_counts()
    response = client.post("/accounts/signup/", page_signup(address="", lat="95", lon="2.35"))
    assert response.status_code == 200
    assert response.context["form"].errors["lat"]
    assert row_counts() == before


def test_a_sign_up_with_a_taken_email_is_refused_on_the_page(client, paris, gazetteer, member, row_counts):
    before = row_counts()
    response = client.post("/accounts/signup/", page_signup(email=member.user.email.upper()))
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert row_counts() == before


def test_a_sign_up_with_a_weak_password_is_refused_on_the_page(client, paris, gazetteer, row_counts):
    before = row_counts()
    response = client.post("/accounts/signup/", page_signup(password1="password"))
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert row_counts() == before


def test_a_sign_up_without_a_name_is_refused_on_the_page(client, paris, gazetteer, row_counts):
    before = row_counts()
    response = client.post("/accounts/signup/", page_signup(display_name="   "))
    assert response.status_code == 200
    assert response.context["form"].errors["display_name"]
    assert row_counts() == before


def test_the_page_sign_up_also_stores_the_password_with_argon2(client, paris, gazetteer, settings):
    from entraide import settings as project_settings

    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    client.post("/accounts/signup/", page_signup())
    assert User.objects.get(email="page.neighbour@example.org").password.startswith("argon2")


# --- waiting list ------------------------------------------------------------------------------------------------

def test_the_waiting_list_keeps_only_the_email_and_a_blurred_cell(client, paris):
    from entraide.places import geo

    response = client.post("/waitlist/", {"email": "Far.Away@Example.org", "address": "",
                                          "lat": str(LYON_POINT[0]), "lon": str(LYON_POINT[1])})
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert entry.email == "far.away@example.org"
    assert entry.blurred_cell == geo.blur(*LYON_POINT).cell
    stored = " ".join(str(value) for value in WaitlistEntry.objects.values_list(flat=False).get())
    for coordinate in LYON_POINT:
        assert str(coordinate) not in stored
        assert f"{coordinate:.4f}" not in stored


def test_the_waiting_list_never_keeps_the_typed_street_address(client, paris):
    """'We only keep an approximate area, never your address' (waitlist page)."""
    client.post("/waitlist/", {"email": "far@example.org", "address": "12 rue Mercière, 69002 Lyon",
                               "lat": str(LYON_POINT[0]), "lon": str(LYON_POINT[1])})
    entry = WaitlistEntry.objects.get()
    assert "12 rue Mercière" not in entry.area_label


def test_the_waiting_list_refuses_a_place_already_covered(client, paris):
    response = client.post("/waitlist/", {"email": "near@example.org", "address": "",
                                          "lat": str(BOLIVAR_POINT[0]), "lon": str(BOLIVAR_POINT[1])})
    assert response.status_code == 400
    assert not WaitlistEntry.objects.exists()


def test_the_waiting_list_refuses_an_invalid_email(client, paris):
    response = client.post("/waitlist/", {"email": "nope", "lat": str(LYON_POINT[0]), "lon": str(LYON_POINT[1])})
    assert response.status_code == 400
    assert not WaitlistEntry.objects.exists()


def test_the_waiting_list_page_prefills_the_address_from_the_sign_up_link(client, paris):
    response = client.get("/waitlist/?address=Place+Bellecour")
    assert response.status_code == 200
    assert 'value="Place Bellecour"' in response.content.decode()


# --- login, logout, password reset ------------------------------------------------------------------------------

def test_a_member_logs_in_with_email_and_password_and_logs_out(client, member):
    response = client.post("/accounts/login/", {"login": member.user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/")["Location"] == f"/n/{member.neighbourhood_id}/"
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/me/").status_code == 302


def test_a_wrong_password_does_not_log_in(client, member):
    response = client.post("/accounts/login/", {"login": member.user.email, "password": "not-the-password"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get("/me/").status_code == 302


def test_logging_out_needs_a_post(client, member):
    client.force_login(member.user)
    client.get("/accounts/logout/")
    assert client.get("/me/").status_code == 200


def test_a_password_reset_sends_an_email(client, member, mailoutbox):
    response = client.post("/accounts/password/reset/", {"email": member.user.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [member.user.email]
    assert "/accounts/password/reset/key/" in mailoutbox[0].body


def test_a_password_reset_for_an_unknown_email_reveals_nothing(client, member, mailoutbox):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert all(member.user.email not in message.to for message in mailoutbox)


# --- language ----------------------------------------------------------------------------------------------------

def test_the_language_switch_sets_the_language_of_the_pages(client, paris):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert client.cookies["django_language"].value == "en"
    assert '<html lang="en">' in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert '<html lang="fr">' in client.get("/").content.decode()


def test_pages_follow_the_member_language(client, member):
    member.language = "en"
    member.save()
    client.force_login(member.user)
    assert '<html lang="en">' in client.get("/me/", headers={"Accept-Language": "fr"}).content.decode()


def test_the_language_switch_wins_over_the_member_language(client, member):
    member.language = "en"
    member.save()
    client.force_login(member.user)
    client.post("/i18n/setlang/", {"language": "fr", "next": "/me/"})
    assert '<html lang="fr">' in client.get("/me/").content.decode()


# --- profile and settings -----------------------------------------------------------------------------------------

def test_my_profile_page_shows_my_own_address(client, member):
    client.force_login(member.user)
    html = client.get("/me/").content.decode()
    assert member.address_text in html
    assert member.user.email in html
    assert "Bruno L." in html


def test_my_settings_page_shows_my_own_address(client, member):
    client.force_login(member.user)
    html = client.get("/me/settings/").content.decode()
    assert member.address_text in html


def test_the_settings_page_saves_the_nearby_neighbourhoods_i_read(client, member, saint_merri):
    client.force_login(member.user)
    page = client.get("/me/settings/").content.decode()
    assert f'value="{saint_merri.id}"' in page
    response = client.post("/me/settings/", {"display_name": "Bruno Lefèvre", "language": "fr",
                                             "reads_nearby": [str(saint_merri.id)]})
    assert response.status_code == 302
    assert list(member.reads_nearby.values_list("id", flat=True)) == [saint_merri.id]
    page = client.get("/me/settings/").content.decode()
    assert f'value="{saint_merri.id}" id="id_reads_nearby_' in page and "checked" in page
    # Unticking every box stops reading them.
    client.post("/me/settings/", {"display_name": "Bruno Lefèvre", "language": "fr"})
    assert not member.reads_nearby.exists()


def test_the_settings_page_changes_my_name_and_language(client, member):
    client.force_login(member.user)
    response = client.post("/me/settings/", {"display_name": "Bruno  Lefèvre-Roux", "language": "en"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.display_name, member.language) == ("Bruno Lefèvre-Roux", "en")


def test_moving_on_the_settings_page_changes_the_neighbourhood(client, member, gazetteer, combat):
    client.force_login(member.user)
    response = client.post("/me/move/", {"move-address": BOLIVAR, "move-lat": "", "move-lon": ""})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.neighbourhood_id == combat.id
    assert member.address_text == BOLIVAR


def test_moving_outside_every_neighbourhood_is_refused_on_the_page(client, member):
    client.force_login(member.user)
    response = client.post("/me/move/", {"move-address": "", "move-lat": str(LYON_POINT[0]),
                                         "move-lon": str(LYON_POINT[1])})
    assert response.status_code == 400
    member.refresh_from_db()
    assert member.neighbourhood.name == "Saint-Gervais"


def test_a_far_neighbourhood_page_is_a_404(client, member, combat):
    client.force_login(member.user)
    assert client.get(f"/n/{combat.id}/").status_code == 404


def test_the_home_neighbourhood_page_lists_neighbours_by_public_name(client, member, verified_member):
    client.force_login(member.user)
    html = client.get(f"/n/{member.neighbourhood_id}/").content.decode()
    assert "Chloé D." in html
    assert "Chloé Durand" not in html
    assert "Rue de Rivoli" in html
