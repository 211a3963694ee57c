"""Who may do what: verification gates acting, the neighbourhood scope gates reading."""
from __future__ import annotations

import pytest

from entraide.accounts.factories import MemberFactory, UserFactory
from entraide.accounts.permissions import can_act, require_can_act
from entraide.core.errors import EntraideError, Forbidden
from entraide.places import queries


def test_an_unverified_member_cannot_post_by_default(api, member, token_for):
    assert can_act(member) is False
    with pytest.raises(Forbidden) as refusal:
        require_can_act(member)
    assert refusal.value.code == "verification_required"
    assert refusal.value.status == 403
    assert api.get("/me", token=token_for(member)).json()["can_post"] is False


def test_a_verified_member_can_post(api, verified_member, token_for):
    assert can_act(verified_member) is True
    require_can_act(verified_member)
    assert api.get("/me", token=token_for(verified_member)).json()["can_post"] is True


def test_an_unverified_member_can_post_when_the_operator_relaxed_verification(api, member, token_for, settings):
    settings.ENTRAIDE_REQUIRE_VERIFICATION = False
    assert can_act(member) is True
    require_can_act(member)
    assert api.get("/me", token=token_for(member)).json()["can_post"] is True


def test_nobody_can_act_without_a_member_profile(settings):
    settings.ENTRAIDE_REQUIRE_VERIFICATION = False
    assert can_act(None) is False
    with pytest.raises(EntraideError):
        require_can_act(None)


def test_the_unverified_banner_follows_the_setting(client, member, settings):
    client.force_login(member.user)
    client.cookies["django_language"] = "en"
    assert "Your address is not verified yet" in client.get("/me/").content.decode()
    settings.ENTRAIDE_REQUIRE_VERIFICATION = False
    assert "Your address is not verified yet" not in client.get("/me/").content.decode()


def test_a_member_reads_home_and_only_the_chosen_nearby_neighbourhoods(member, saint_merri, combat):
    assert queries.readable_neighbourhood_ids(member) == [member.neighbourhood_id]
    member.reads_nearby.add(saint_merri)
    assert set(queries.readable_neighbourhood_ids(member)) == {member.neighbourhood_id, saint_merri.id}
    # A choice that is no longer nearby (say, stored before a move) gives no access.
    member.reads_nearby.add(combat)
    assert combat.id not in queries.readable_neighbourhood_ids(member)


def test_a_member_may_look_at_home_and_every_nearby_neighbourhood_but_no_other(member, combat):
    visible = set(queries.visible_neighbourhood_ids(member))
    assert member.neighbourhood_id in visible
    assert set(member.neighbourhood.nearby.values_list("id", flat=True)) <= visible
    assert combat.id not in visible
    assert queries.visible_neighbourhood_ids(None) == []


def test_cannot_read_another_neighbourhood_page(client, member, combat):
    client.force_login(member.user)
    assert client.get(f"/n/{combat.id}/").status_code == 404
    assert client.get("/n/999999/").status_code == 404


def test_a_user_without_a_profile_cannot_read_any_neighbourhood(client, api, neighbourhood):
    from entraide.accounts.factories import PASSWORD

    user = UserFactory()
    client.force_login(user)
    assert client.get(f"/n/{neighbourhood.id}/").status_code == 404
    token = api.post("/auth/token", {"email": user.email, "password": PASSWORD}).json()["token"]
    api.error(api.get(f"/neighbourhoods/{neighbourhood.id}", token=token), 403, "no_profile")


def test_moving_to_another_neighbourhood_starts_verification_again(verified_member, saint_merri, combat):
    from entraide.accounts.actions import do_move_home

    verified_member.reads_nearby.add(saint_merri)
    do_move_home(verified_member, lat=combat.centroid_lat, lon=combat.centroid_lon)
    verified_member.refresh_from_db()
    assert verified_member.neighbourhood_id == combat.id
    assert not verified_member.is_verified
    assert not verified_member.reads_nearby.exists()
    assert can_act(verified_member) is False


def test_moving_within_the_neighbourhood_keeps_verification(verified_member, neighbourhood):
    from entraide.accounts.actions import do_move_home

    do_move_home(verified_member, lat=neighbourhood.centroid_lat + 0.0003, lon=neighbourhood.centroid_lon)
    verified_member.refresh_from_db()
    assert verified_member.is_verified


def test_a_member_cannot_change_another_member_through_the_api(api, member, neighbourhood, token_for):
    other = MemberFactory(neighbourhood=neighbourhood, display_name="Other Person")
    response = api.patch("/me", {"display_name": "Changed Name"}, token=token_for(member))
    assert response.status_code == 200
    assert response.json()["id"] == member.id
    other.refresh_from_db()
    assert other.display_name == "Other Person"


def test_the_settings_page_cannot_add_a_far_neighbourhood(client, member, combat):
    client.force_login(member.user)
    response = client.post("/me/settings/", {"display_name": member.display_name, "language": "fr",
                                             "reads_nearby": [str(combat.id)]})
    assert response.status_code == 200
    assert not member.reads_nearby.exists()


@pytest.mark.parametrize("path", ["/me/", "/me/settings/", "/verify/", "/me/invitations/"])
def test_member_pages_need_a_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_neighbourhood_pages_need_a_login(client, neighbourhood):
    response = client.get(f"/n/{neighbourhood.id}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path, data", [("/me/settings/", {"display_name": "Hacked Name", "language": "fr"}),
                                        ("/me/invitations/", {}),
                                        ("/verify/", {"kind": "letter", "letter-code": "AAAAAAAA"})])
def test_a_page_post_without_csrf_token_is_refused(verified_member, path, data):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(verified_member.user)
    assert csrf_client.post(path, data).status_code == 403
    verified_member.refresh_from_db()
    assert verified_member.display_name == "Chloé Durand"
    assert not verified_member.invitations_issued.exists()
