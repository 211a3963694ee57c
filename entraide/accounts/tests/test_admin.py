"""The operators' Django admin: members and neighbourhoods, the verify action, and who may use them."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import SUCCESS
from django.db import connection
from django.test.utils import CaptureQueriesContext

from entraide.accounts.factories import MemberFactory, UserFactory
from entraide.accounts.models import Member
from entraide.places.models import Neighbourhood

MEMBERS = "/admin/accounts/member/"
NEIGHBOURHOODS = "/admin/places/neighbourhood/"


def staff(*codenames: str):
    """A staff account holding exactly the given permissions (no superuser shortcut)."""
    user = UserFactory(is_staff=True, email="operator@example.org")
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def operator(db):
    return staff("view_member", "change_member", "view_neighbourhood", "change_neighbourhood")


@pytest.fixture
def viewer(db):
    """Staff who may look at members but not change them."""
    return staff("view_member", "view_neighbourhood")


def run_verify(client, *members):
    return client.post(MEMBERS, {"action": "verify_members", "_selected_action": [m.id for m in members]},
                       follow=True)


# --- who gets in ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [MEMBERS, NEIGHBOURHOODS, "/admin/"])
def test_a_member_who_is_not_staff_is_sent_to_the_admin_login(client, member, path):
    client.force_login(member.user)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_member_who_is_not_staff_cannot_verify_anyone(client, member, verified_member):
    client.force_login(verified_member.user)
    response = client.post(MEMBERS, {"action": "verify_members", "_selected_action": [member.id]})
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    member.refresh_from_db()
    assert member.verification_state == "pending"


def test_an_anonymous_visitor_is_sent_to_the_admin_login(client, member):
    response = client.get(MEMBERS)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


# --- members ----------------------------------------------------------------------------------------------------

def test_an_operator_lists_the_members(client, operator, member, verified_member):
    client.force_login(operator)
    response = client.get(MEMBERS)
    assert response.status_code == 200
    html = response.content.decode()
    assert member.display_name in html and verified_member.display_name in html


def test_the_member_list_costs_the_same_queries_whatever_its_length(client, operator, neighbourhood,
                                                                   django_assert_num_queries):
    client.force_login(operator)
    MemberFactory(neighbourhood=neighbourhood)
    with CaptureQueriesContext(connection) as one_row:
        client.get(MEMBERS)
    MemberFactory.create_batch(15, neighbourhood=neighbourhood)
    with django_assert_num_queries(len(one_row.captured_queries)):
        assert client.get(MEMBERS).status_code == 200


def test_an_operator_verifies_pending_members_with_the_action(client, operator, member, neighbourhood):
    other = MemberFactory(neighbourhood=neighbourhood, display_name="Paul Pending")
    already = MemberFactory(neighbourhood=neighbourhood, verified=True, verification_method="letter")
    client.force_login(operator)
    response = run_verify(client, member, other, already)
    assert response.status_code == 200
    assert [m.level for m in response.context["messages"]] == [SUCCESS]
    states = dict(Member.objects.values_list("id", "verification_method"))
    assert states[member.id] == states[other.id] == "operator"
    assert states[already.id] == "letter"  # someone verified by letter keeps that method
    member.refresh_from_db()
    assert member.verification_state == "verified" and member.verified_at is not None


def test_staff_who_may_only_view_members_cannot_run_the_verify_action(client, viewer, member):
    client.force_login(viewer)
    assert client.get(MEMBERS).status_code == 200
    assert "verify_members" not in client.get(MEMBERS).content.decode()
    run_verify(client, member)
    member.refresh_from_db()
    assert member.verification_state == "pending"


# --- neighbourhoods ---------------------------------------------------------------------------------------------

def test_an_operator_lists_the_neighbourhoods_with_their_member_counts(client, operator, neighbourhood, saint_merri):
    MemberFactory.create_batch(3, neighbourhood=neighbourhood)
    MemberFactory(neighbourhood=saint_merri)
    client.force_login(operator)
    response = client.get(NEIGHBOURHOODS, {"q": "Saint-"})
    assert response.status_code == 200
    changelist = response.context["cl"]
    listed = {n.name: changelist.model_admin.member_count(n) for n in changelist.result_list}
    assert listed["Saint-Gervais"] == 3 and listed["Saint-Merri"] == 1 and listed["Saint-Lambert"] == 0


def test_the_neighbourhood_list_counts_members_in_one_query_not_one_per_row(client, operator, paris,
                                                                            django_assert_max_num_queries):
    for neighbourhood in Neighbourhood.objects.all()[:20]:
        MemberFactory(neighbourhood=neighbourhood)
    client.force_login(operator)
    # 80 quartiers on one page (list_per_page is 100): a count per row would be 80 more queries.
    with django_assert_max_num_queries(12):
        response = client.get(NEIGHBOURHOODS)
    assert len(response.context["cl"].result_list) == 80


def test_the_outline_and_what_is_derived_from_it_cannot_be_edited(client, operator, neighbourhood):
    client.force_login(operator)
    page = client.get(f"{NEIGHBOURHOODS}{neighbourhood.id}/change/")
    assert page.status_code == 200
    form_fields = set(page.context["adminform"].form.fields)
    assert form_fields.isdisjoint({"geometry", "h3_cover", "min_lon", "min_lat", "max_lon", "max_lat",
                                   "centroid_lat", "centroid_lon", "area_m2"})
    assert f"{len(neighbourhood.h3_cover)}" in page.content.decode()  # the cover is shown, as a size
    before = Neighbourhood.objects.values("geometry", "min_lon", "h3_cover").get(id=neighbourhood.id)
    square = {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]]}
    response = client.post(f"{NEIGHBOURHOODS}{neighbourhood.id}/change/", {
        "city": neighbourhood.city_id, "name": "Saint-Gervais", "code": neighbourhood.code,
        "geometry": str(square).replace("'", '"'), "min_lon": "0", "h3_cover": "[]",
        "nearby": list(neighbourhood.nearby.values_list("id", flat=True))})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Neighbourhood.objects.values("geometry", "min_lon", "h3_cover").get(id=neighbourhood.id) == before


def test_neighbourhoods_are_not_added_by_hand_but_imported(client, operator, paris):
    client.force_login(operator)
    assert client.get(f"{NEIGHBOURHOODS}add/").status_code == 403
    assert "addlink" not in client.get(NEIGHBOURHOODS).content.decode()


def test_a_members_home_is_shown_to_operators_but_only_moved_by_the_member(client, operator, member):
    client.force_login(operator)
    page = client.get(f"{MEMBERS}{member.id}/change/")
    assert page.status_code == 200
    form_fields = set(page.context["adminform"].form.fields)
    assert form_fields.isdisjoint({"address_text", "lat", "lon", "street_name", "neighbourhood", "blurred_cell"})
    before = Member.objects.values("address_text", "lat", "lon", "neighbourhood_id", "blurred_cell").get(id=member.id)
    response = client.post(f"{MEMBERS}{member.id}/change/", {
        "user": member.user_id, "display_name": "Nouveau Nom", "language": "fr", "verification_state": "pending",
        "lat": "0", "lon": "0", "address_text": "1 rue Ailleurs", "neighbourhood": "999"})
    assert response.status_code == 302, response.content.decode()[:2000]
    after = Member.objects.values("address_text", "lat", "lon", "neighbourhood_id", "blurred_cell").get(id=member.id)
    assert after == before
    assert Member.objects.get(id=member.id).display_name == "Nouveau Nom"
