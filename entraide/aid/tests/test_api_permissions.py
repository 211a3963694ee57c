"""Who must not see or do what in the mutual-aid API: scope (404), verification and roles (403), conflicts (409)."""
from __future__ import annotations

import json

import pytest
from django.test import Client

from entraide.accounts.factories import UserFactory
from entraide.aid import actions
from entraide.aid.factories import HelpOfferFactory, HelpRequestFactory
from entraide.aid.models import HelpOffer, HelpRequest, MatchProposal, RequestStatus

from .conftest import member_at
from .test_api import Api, error, new_request, ok

pytestmark = pytest.mark.django_db

VERBS = ("accept", "decline", "withdraw", "complete", "cancel", "thank")
PRIVATE_KEYS = ('"lat"', '"lon"', "address_text", "email", "key_hash")


@pytest.fixture
def helper(home):
    return HelpOfferFactory(helper=member_at(home, "Paul Durand", north_m=300)).helper


@pytest.fixture
def second(home):
    """Another helper asked, 400 m away."""
    return HelpOfferFactory(helper=member_at(home, "Bert Blanc", north_m=400)).helper


@pytest.fixture
def bystander(home):
    """A verified neighbour with no offer, who was not asked."""
    return member_at(home, "Chloé Noir", north_m=200)


@pytest.fixture
def stranger(far):
    """A verified member of a neighbourhood far away."""
    return member_at(far, "Zoé Loin")


@pytest.fixture
def asked(requester, helper, second, window):
    """Jeanne's pharmacy run, revealing address and phone; Paul and Bert were asked to take it."""
    return actions.do_create_request(requester, type="pharmacy", description="Ordonnance à chercher", **window,
                                     reveal_phone=True, contact_phone="06 11 22 33 44", contact_note="Code 42")


def _assert_nothing_private(response, *members):
    text = response.content.decode()
    for key in PRIVATE_KEYS:
        assert key not in text
    for member in members:
        assert member.address_text not in text and member.user.email not in text
        assert str(member.lat) not in text and str(member.lon) not in text


# --- scope: 404 -------------------------------------------------------------------------------------------------

def test_a_member_of_another_neighbourhood_gets_404_on_a_request_and_never_sees_it(stranger, asked):
    api = Api(stranger)
    error(api.get(f"/aid/requests/{asked.id}"), 404, "not_found")
    error(api.patch(f"/aid/requests/{asked.id}", {"description": "x"}), 404, "not_found")
    for verb in VERBS:
        error(api.post(f"/aid/requests/{asked.id}/{verb}", {"message": "x"}), 404, "not_found")
    error(api.get("/aid/requests/999999"), 404, "not_found")  # the same answer as a request that does not exist
    assert ok(api.get("/aid/requests"))["items"] == []
    assert ok(api.get("/aid/map"))["requests"] == []
    asked.refresh_from_db()
    assert asked.helper_id is None and asked.status == RequestStatus.PROPOSED


def test_a_member_who_reads_the_nearby_neighbourhood_sees_its_open_requests(nearby, home, asked):
    reader = member_at(nearby, "Nadia Benali")
    api = Api(reader)
    assert ok(api.get("/aid/requests"))["items"] == []
    reader.reads_nearby.add(home)
    assert [i["id"] for i in ok(api.get("/aid/requests"))["items"]] == [asked.id]
    assert ok(api.get(f"/aid/requests/{asked.id}"))["contact"] is None


def test_a_taken_request_leaves_the_scope_of_neighbours_who_were_not_asked(bystander, helper, asked):
    ok(Api(helper).post(f"/aid/requests/{asked.id}/accept"))
    api = Api(bystander)
    error(api.get(f"/aid/requests/{asked.id}"), 404, "not_found")
    error(api.post(f"/aid/requests/{asked.id}/accept"), 404, "not_found")
    assert ok(api.get("/aid/requests"))["items"] == [] and ok(api.get("/aid/map"))["requests"] == []


def test_my_offer_is_mine_only(bystander, helper):
    error(Api(bystander).get("/aid/offers"), 404, "no_offer")
    error(Api(bystander).patch("/aid/offers", {"active": False}), 404, "no_offer")
    assert HelpOffer.objects.get(helper=helper).active is True


# --- verification: 403 -----------------------------------------------------------------------------------------

def test_an_unverified_member_cannot_ask_take_or_offer_but_can_read(home, asked):
    pending = member_at(home, "Paul Pending", north_m=100, verified=False)
    api = Api(pending)
    error(api.post("/aid/requests", new_request()), 403, "verification_required")
    error(api.post(f"/aid/requests/{asked.id}/accept"), 403, "verification_required")
    error(api.post("/aid/offers", {"types": ["groceries"]}), 403, "verification_required")
    assert [i["id"] for i in ok(api.get("/aid/requests"))["items"]] == [asked.id]
    assert ok(api.get("/aid/map"))["requests"][0]["id"] == asked.id
    assert HelpRequest.objects.count() == 1 and not HelpOffer.objects.filter(helper=pending).exists()
    asked.refresh_from_db()
    assert asked.helper_id is None


def test_an_unverified_member_does_not_see_at_risk_requests_anywhere(home, requester):
    at_risk = HelpRequestFactory(requester=requester, at_risk=True)
    plain = HelpRequestFactory(requester=requester)
    pending = Api(member_at(home, "Paul Pending", verified=False))
    verified = Api(member_at(home, "Vera Verified"))
    assert [i["id"] for i in ok(pending.get("/aid/requests"))["items"]] == [plain.id]
    assert [r["id"] for r in ok(pending.get("/aid/map"))["requests"]] == [plain.id]
    error(pending.get(f"/aid/requests/{at_risk.id}"), 404, "not_found")
    assert [i["id"] for i in ok(verified.get("/aid/requests"))["items"]] == [plain.id, at_risk.id]
    assert {r["id"] for r in ok(verified.get("/aid/map"))["requests"]} == {plain.id, at_risk.id}
    assert ok(verified.get(f"/aid/requests/{at_risk.id}"))["at_risk"] is True
    # The requester always sees their own, even unverified.
    own = member_at(home, "Own Pending", verified=False)
    mine = HelpRequestFactory(requester=own, at_risk=True)
    assert [i["id"] for i in ok(Api(own).get("/aid/requests", {"scope": "mine"}))["items"]] == [mine.id]


def test_an_account_without_a_member_profile_gets_403_no_profile():
    import hashlib
    import secrets

    from entraide.accounts.models import ApiToken

    user = UserFactory()
    token = secrets.token_urlsafe(24)
    ApiToken.objects.create(user=user, key_hash=hashlib.sha256(token.encode()).hexdigest())
    response = Client().get("/api/v1/aid/requests", headers={"Authorization": f"Bearer {token}"})
    error(response, 403, "no_profile")


def test_without_credentials_every_endpoint_answers_401(asked):
    client = Client()
    calls = [("get", "/aid/requests"), ("post", "/aid/requests"), ("get", f"/aid/requests/{asked.id}"),
             ("patch", f"/aid/requests/{asked.id}"), ("get", "/aid/offers"), ("post", "/aid/offers"),
             ("patch", "/aid/offers"), ("get", "/aid/map"),
             *(("post", f"/aid/requests/{asked.id}/{verb}") for verb in VERBS)]
    for method, path in calls:
        if method == "get":
            response = client.get("/api/v1" + path)
        else:
            response = getattr(client, method)("/api/v1" + path, data=json.dumps({}), content_type="application/json")
        error(response, 401, "not_authenticated")
    error(Client().get("/api/v1/aid/requests", headers={"Authorization": "Bearer not-a-token"}), 401,
          "not_authenticated")


# --- contact details ---------------------------------------------------------------------------------------------

def test_helpers_asked_but_not_matched_never_get_the_contact_or_the_phone(helper, second, bystander, requester, asked):
    for member in (helper, second, bystander):
        response = Api(member).get(f"/aid/requests/{asked.id}")
        body = ok(response)
        assert body["contact"] is None
        assert (body["reveal_address"], body["reveal_phone"], body["contact_phone"], body["contact_note"]) == (
            None, None, None, None)
        assert "06 11 22 33 44" not in response.content.decode() and "Code 42" not in response.content.decode()
        _assert_nothing_private(response, requester, member)
    for scope in ("proposed", "nearby"):
        response = Api(helper).get("/aid/requests", {"scope": scope})
        assert "06 11 22 33 44" not in response.content.decode()
        _assert_nothing_private(response, requester, helper)


def test_the_matched_helper_gets_what_was_revealed_and_the_others_do_not(helper, second, requester, asked):
    body = ok(Api(helper).post(f"/aid/requests/{asked.id}/accept"))
    assert body["contact"] == {"address": requester.address_text, "phone": "06 11 22 33 44", "note": "Code 42"}
    response = Api(second).get(f"/aid/requests/{asked.id}")
    other = ok(response)
    assert other["contact"] is None and other["my_proposal"]["answer"] == "taken"
    assert other["helper"] is None  # who took it is for the requester and the helper
    assert "06 11 22 33 44" not in response.content.decode()
    _assert_nothing_private(response, requester, helper)


def test_an_address_kept_hidden_is_not_given_even_to_the_matched_helper(home, helper, window):
    requester = member_at(home, "Henri Discret", address_text="3 Rue du Secret, 75004 Paris")
    req = actions.do_create_request(requester, type="groceries", description="Courses", reveal_address=False,
                                    **window)
    response = Api(helper).post(f"/aid/requests/{req.id}/accept")
    assert ok(response)["contact"] == {"address": None, "phone": None, "note": ""}
    assert "Rue du Secret" not in response.content.decode()


def test_the_contact_disappears_once_the_task_is_done(helper, requester, asked):
    as_helper, as_requester = Api(helper), Api(requester)
    ok(as_helper.post(f"/aid/requests/{asked.id}/accept"))
    ok(as_helper.post(f"/aid/requests/{asked.id}/complete"))
    assert ok(as_helper.get(f"/aid/requests/{asked.id}"))["contact"] is not None  # done, not yet confirmed
    ok(as_requester.post(f"/aid/requests/{asked.id}/complete"))
    response = as_helper.get(f"/aid/requests/{asked.id}")
    assert ok(response)["contact"] is None and requester.address_text not in response.content.decode()
    assert all(item["contact"] is None for item in ok(as_helper.get("/aid/requests", {"scope": "helping"}))["items"])


def test_the_contact_disappears_once_the_request_is_cancelled(helper, requester, asked):
    as_helper = Api(helper)
    assert ok(as_helper.post(f"/aid/requests/{asked.id}/accept"))["contact"] is not None
    ok(Api(requester).post(f"/aid/requests/{asked.id}/cancel", {"reason": "Plus besoin"}))
    response = as_helper.get(f"/aid/requests/{asked.id}")
    assert ok(response)["status"] == "cancelled" and ok(response)["contact"] is None
    assert "06 11 22 33 44" not in response.content.decode()


def test_the_history_never_names_other_members(helper, second, requester, asked):
    ok(Api(second).post(f"/aid/requests/{asked.id}/decline", {"reason": "Pas ce soir, désolé"}))
    ok(Api(helper).post(f"/aid/requests/{asked.id}/accept"))
    response = Api(requester).get(f"/aid/requests/{asked.id}")
    history = ok(response)["history"]
    assert all(set(h) == {"kind", "at", "by_me"} for h in history)
    assert [h["by_me"] for h in history if h["kind"] in ("declined", "accepted")] == [False, False]
    assert "Bert" not in response.content.decode() and "Pas ce soir" not in response.content.decode()


# --- taking a request --------------------------------------------------------------------------------------------

def test_nobody_takes_their_own_request(requester, asked):
    error(Api(requester).post(f"/aid/requests/{asked.id}/accept"), 403, "own_request")


def test_a_cancelled_request_cannot_be_taken(helper, requester, asked):
    actions.do_cancel(requester, asked.id)
    error(Api(helper).post(f"/aid/requests/{asked.id}/accept"), 409, "request_closed")


def test_a_request_beyond_my_walking_reach_cannot_be_taken(home, asked):
    walker = HelpOfferFactory(helper=member_at(home, "Short Walk", north_m=700), radius_m=300).helper
    body = error(Api(walker).post(f"/aid/requests/{asked.id}/accept"), 422, "out_of_reach")
    assert "request" in body["fields"]
    no_offer = member_at(home, "No Offer", north_m=2000)  # without an offer, the default 1000 m reach
    error(Api(no_offer).post(f"/aid/requests/{asked.id}/accept"), 422, "out_of_reach")
    asked.refresh_from_db()
    assert asked.helper_id is None


def test_a_second_helper_gets_409_already_taken(helper, second, asked):
    ok(Api(helper).post(f"/aid/requests/{asked.id}/accept"))
    error(Api(second).post(f"/aid/requests/{asked.id}/accept"), 409, "already_taken")
    asked.refresh_from_db()
    assert asked.helper_id == helper.id
    assert MatchProposal.objects.get(request=asked, helper=second).answer == "taken"


# --- only the requester, only those involved ---------------------------------------------------------------------

def test_only_the_requester_edits_cancels_or_thanks(helper, bystander, asked):
    for member in (helper, bystander):
        api = Api(member)
        error(api.patch(f"/aid/requests/{asked.id}", {"description": "Piraté"}), 403, "not_requester")
        error(api.post(f"/aid/requests/{asked.id}/cancel"), 403, "not_requester")
        error(api.post(f"/aid/requests/{asked.id}/thank", {"message": "Merci"}), 403, "not_requester")
    asked.refresh_from_db()
    assert asked.description == "Ordonnance à chercher" and asked.status == RequestStatus.PROPOSED


def test_a_neighbour_not_involved_cannot_complete_withdraw_or_decline(bystander, helper, asked):
    api = Api(bystander)
    error(api.post(f"/aid/requests/{asked.id}/complete"), 403, "not_involved")
    error(api.post(f"/aid/requests/{asked.id}/withdraw"), 409, "not_matched")
    error(api.post(f"/aid/requests/{asked.id}/decline"), 409, "not_proposed")


def test_a_helper_asked_cannot_withdraw_or_complete_a_task_someone_else_took(helper, second, asked):
    ok(Api(helper).post(f"/aid/requests/{asked.id}/accept"))
    api = Api(second)
    error(api.post(f"/aid/requests/{asked.id}/withdraw"), 403, "not_involved")
    error(api.post(f"/aid/requests/{asked.id}/complete"), 403, "not_involved")
    error(api.post(f"/aid/requests/{asked.id}/decline"), 409, "not_proposed")
    asked.refresh_from_db()
    assert asked.helper_id == helper.id and asked.status == RequestStatus.MATCHED


def test_the_requester_alone_confirms_the_task(helper, requester, asked):
    as_helper = Api(helper)
    ok(as_helper.post(f"/aid/requests/{asked.id}/accept"))
    ok(as_helper.post(f"/aid/requests/{asked.id}/complete", {"thanks": "Je me remercie"}))
    asked.refresh_from_db()
    assert asked.status == RequestStatus.MATCHED and asked.thanks == ""
