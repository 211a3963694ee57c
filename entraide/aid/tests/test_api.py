"""The mutual-aid API under /api/v1: what each endpoint answers, bad input and its codes, the schema."""
from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from entraide.accounts.models import ApiToken
from entraide.aid.factories import HelpOfferFactory, HelpRequestFactory
from entraide.aid.models import HelpOffer, HelpRequest, MatchProposal, RequestStatus
from entraide.places import geo

from .conftest import member_at

pytestmark = pytest.mark.django_db

TRACEBACK_MARKERS = ("Traceback", 'File "', "site-packages")


class Api:
    """A Bearer-token client for one member (mobile clients and scripts)."""

    def __init__(self, member) -> None:
        self.member = member
        self.client = Client()
        token = secrets.token_urlsafe(24)
        ApiToken.objects.create(user=member.user, key_hash=hashlib.sha256(token.encode()).hexdigest())
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path, params=None):
        return self.client.get("/api/v1" + path, params or {}, headers=self.headers)

    def send(self, method, path, body=None, raw=None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return getattr(self.client, method)("/api/v1" + path, data=data, content_type="application/json",
                                            headers=self.headers)

    def post(self, path, body=None, raw=None):
        return self.send("post", path, body, raw)

    def patch(self, path, body=None, raw=None):
        return self.send("patch", path, body, raw)


class SessionApi(Api):
    """A logged-in browser: session cookie, CSRF token in X-CSRFToken on unsafe methods."""

    def __init__(self, member) -> None:
        self.member = member
        self.client = Client(enforce_csrf_checks=True)
        self.client.force_login(member.user)
        self.client.get("/me/")  # sets the CSRF cookie
        self.headers = {"X-CSRFToken": self.client.cookies["csrftoken"].value}


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.content.decode()
    return response.json()


def error(response, status: int, code: str) -> dict:
    text = response.content.decode()
    assert response.status_code == status, text
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == code, body
    assert body["message"].strip()
    for marker in TRACEBACK_MARKERS:
        assert marker not in text
    return body


def iso(dt) -> str:
    return dt.isoformat()


def new_request(**kw) -> dict:
    now = timezone.now()
    body = {"type": "pharmacy", "description": "Chercher mon ordonnance à la pharmacie",
            "window_start": iso(now), "window_end": iso(now + timedelta(hours=6)), "urgency": "normal",
            "at_risk": False}
    body.update(kw)
    return body


@pytest.fixture
def helper(home):
    """Paul, 300 m north of the requester, who does groceries and pharmacy runs."""
    return HelpOfferFactory(helper=member_at(home, "Paul Durand", north_m=300)).helper


@pytest.fixture
def as_requester(requester):
    return Api(requester)


@pytest.fixture
def as_helper(helper):
    return Api(helper)


@pytest.fixture
def asked(as_requester, helper):
    """A pharmacy run Jeanne asked for through the API; Paul was asked to take it."""
    return ok(as_requester.post("/aid/requests", new_request(contact_note="Code 1234B, 2e étage")), 201)


# --- creating and reading requests ------------------------------------------------------------------------------

def test_asking_for_help_answers_201_with_the_request_and_asks_the_nearest_helper(as_requester, requester, helper,
                                                                                  home):
    body = ok(as_requester.post("/aid/requests", new_request(urgency="urgent", contact_note="Sonner deux fois")), 201)
    assert body["type"] == "pharmacy" and body["urgency"] == "urgent" and body["at_risk"] is False
    assert body["status"] == "proposed" and body["escalation"] == "none" and body["search_radius_m"] == 1000
    assert body["neighbourhood"] == {"id": home.id, "name": "Saint-Gervais"}
    assert body["requester"] == "Jeanne P." and body["helper"] is None and body["is_mine"] is True
    assert body["distance_m"] == 0 and body["contact"] is None and body["my_proposal"] is None
    assert body["created_at"].endswith(("Z", "+00:00")) and body["matched_at"] is None and body["closed_at"] is None
    assert [(h["kind"], h["by_me"]) for h in body["history"]] == [("created", True), ("proposed", False)]
    assert (body["reveal_address"], body["reveal_phone"], body["contact_phone"], body["contact_note"]) == (
        True, False, "", "Sonner deux fois")
    assert MatchProposal.objects.filter(request_id=body["id"], helper=helper).exists()
    text = json.dumps(body)
    for private in (requester.address_text, requester.user.email, str(requester.lat), '"lat"', '"lon"'):
        assert private not in text


def test_the_defaults_reveal_the_address_but_not_the_phone_and_contactless_follows_crises(as_requester):
    body = ok(as_requester.post("/aid/requests", {k: v for k, v in new_request().items()
                                                  if k not in ("urgency", "at_risk")}), 201)
    assert (body["reveal_address"], body["reveal_phone"], body["contactless"]) == (True, False, False)
    assert body["urgency"] == "normal"
    body = ok(as_requester.post("/aid/requests", new_request(contactless=True, reveal_phone=True,
                                                             contact_phone="06 12 34 56 78")), 201)
    assert (body["contactless"], body["reveal_phone"], body["contact_phone"]) == (True, True, "06 12 34 56 78")


def test_a_logged_in_browser_asks_for_help_with_its_csrf_token(requester):
    body = ok(SessionApi(requester).post("/aid/requests", new_request()), 201)
    assert body["is_mine"] is True


def test_a_browser_post_without_the_csrf_token_is_refused(requester):
    browser = SessionApi(requester)
    browser.headers = {}
    error(browser.post("/aid/requests", new_request()), 403, "csrf_failed")
    assert not HelpRequest.objects.exists()


def test_the_request_i_read_is_the_one_i_was_given(as_requester, asked):
    assert ok(as_requester.get(f"/aid/requests/{asked['id']}")) == asked


def test_the_request_body_is_exactly_what_its_documented_schema_says(as_requester, as_helper, asked):
    from entraide.aid.api import ContactOut, HistoryOut, RequestOut, RequestsOut

    ok(as_helper.post(f"/aid/requests/{asked['id']}/accept"))
    for reader in (as_requester, as_helper):
        page = ok(reader.get("/aid/requests", {"scope": "mine" if reader is as_requester else "helping"}))
        assert set(page) == set(RequestsOut.model_fields)
        item = page["items"][0]
        assert set(item) == set(RequestOut.model_fields)
        assert item == ok(reader.get(f"/aid/requests/{asked['id']}"))
        assert all(set(h) == set(HistoryOut.model_fields) for h in item["history"])
    contact = ok(as_helper.get(f"/aid/requests/{asked['id']}"))["contact"]
    assert set(contact) == set(ContactOut.model_fields)


# --- lists ------------------------------------------------------------------------------------------------------

def test_the_nearby_list_shows_open_requests_of_others_newest_first_and_pages_with_a_cursor(home, requester,
                                                                                            as_requester):
    neighbours = [member_at(home, f"Voisin{i} Martin", north_m=50 * i) for i in range(5)]
    made = [HelpRequestFactory(requester=n, type="groceries" if i % 2 else "pharmacy")
            for i, n in enumerate(neighbours)]
    HelpRequestFactory(requester=requester)  # mine: not in "nearby"
    HelpRequestFactory(requester=neighbours[0], status=RequestStatus.CANCELLED)  # closed: not listed
    HelpRequestFactory(requester=neighbours[0], status=RequestStatus.MATCHED, helper=neighbours[1])  # taken
    seen, cursor = [], None
    while True:
        page = ok(as_requester.get("/aid/requests", {"limit": 2, **({"cursor": cursor} if cursor else {})}))
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r.id for r in reversed(made)]
    first = ok(as_requester.get("/aid/requests"))["items"][0]
    assert first["is_mine"] is False and first["requester"] == "Voisin4 M." and first["distance_m"] > 0
    assert first["reveal_address"] is None and first["contact_phone"] is None
    groceries = ok(as_requester.get("/aid/requests", {"types": "groceries"}))["items"]
    assert [item["id"] for item in groceries] == [made[3].id, made[1].id]
    both = ok(as_requester.get("/aid/requests", {"types": "groceries, pharmacy"}))["items"]
    assert len(both) == 5


def test_a_new_request_between_two_pages_is_neither_repeated_nor_skipped(home, as_requester):
    others = [HelpRequestFactory(requester=member_at(home, f"N{i} Dupont")) for i in range(3)]
    page = ok(as_requester.get("/aid/requests", {"limit": 2}))
    HelpRequestFactory(requester=member_at(home, "Late Comer"))
    rest = ok(as_requester.get("/aid/requests", {"limit": 2, "cursor": page["next_cursor"]}))
    assert [i["id"] for i in page["items"] + rest["items"]] == [others[2].id, others[1].id, others[0].id]


def test_mine_helping_and_proposed_list_what_they_say(as_requester, as_helper, asked, home, requester):
    assert [i["id"] for i in ok(as_requester.get("/aid/requests", {"scope": "mine"}))["items"]] == [asked["id"]]
    proposed = ok(as_helper.get("/aid/requests", {"scope": "proposed"}))["items"]
    assert [i["id"] for i in proposed] == [asked["id"]]
    assert proposed[0]["my_proposal"] == {"answer": "pending", "rank": 0}
    assert ok(as_helper.get("/aid/requests", {"scope": "helping"}))["items"] == []
    ok(as_helper.post(f"/aid/requests/{asked['id']}/accept"))
    assert ok(as_helper.get("/aid/requests", {"scope": "proposed"}))["items"] == []
    helping = ok(as_helper.get("/aid/requests", {"scope": "helping"}))["items"]
    assert [i["id"] for i in helping] == [asked["id"]] and helping[0]["my_proposal"]["answer"] == "accepted"
    assert ok(as_requester.get("/aid/requests", {"scope": "mine"}))["items"][0]["helper"]["name"] == "Paul D."


def test_a_list_page_costs_the_same_for_3_or_12_requests(home, as_requester):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(n):
        for i in range(n):
            HelpRequestFactory(requester=member_at(home, f"Q{i} Morel"))
        with CaptureQueriesContext(connection) as ctx:
            assert len(ok(as_requester.get("/aid/requests", {"limit": 50}))["items"]) >= n
        return len(ctx.captured_queries)

    small = count(3)
    assert count(9) <= small <= 8


# --- the life of a request --------------------------------------------------------------------------------------

def test_a_helper_accepts_and_sees_the_contact_the_requester_revealed(as_helper, asked, helper, requester):
    body = ok(as_helper.post(f"/aid/requests/{asked['id']}/accept"))
    assert body["status"] == "matched" and body["matched_at"] is not None
    assert body["helper"] == {"id": helper.id, "name": "Paul D."} and body["is_mine"] is False
    assert body["contact"] == {"address": requester.address_text, "phone": None, "note": "Code 1234B, 2e étage"}
    assert body["reveal_address"] is None and body["contact_phone"] is None  # the requester's choices are theirs
    assert body["history"][-1] == {"kind": "accepted", "at": body["history"][-1]["at"], "by_me": True}
    # Accepting again what I already took answers the same task, not a conflict.
    assert ok(as_helper.post(f"/aid/requests/{asked['id']}/accept"))["status"] == "matched"


def test_the_helper_says_done_then_the_requester_confirms_and_thanks(as_requester, as_helper, asked, helper):
    rid = asked["id"]
    ok(as_helper.post(f"/aid/requests/{rid}/accept"))
    body = ok(as_helper.post(f"/aid/requests/{rid}/complete"))
    assert body["status"] == "matched" and body["history"][-1]["kind"] == "helper_done"
    body = ok(as_requester.post(f"/aid/requests/{rid}/complete", {"thanks": "Merci Paul !"}))
    assert body["status"] == "done" and body["thanks"] == "Merci Paul !" and body["closed_at"] is not None
    assert [h["kind"] for h in body["history"]][-2:] == ["completed", "thanked"]
    body = ok(as_requester.post(f"/aid/requests/{rid}/thank", {"message": "Encore merci, vraiment."}))
    assert body["thanks"] == "Encore merci, vraiment."
    assert ok(as_helper.get(f"/aid/requests/{rid}"))["thanks"] == "Encore merci, vraiment."
    assert ok(as_helper.get("/aid/offers"))["completed_count"] == 1


def test_a_helper_asked_declines_with_a_reason(as_helper, asked):
    body = ok(as_helper.post(f"/aid/requests/{asked['id']}/decline", {"reason": "Pas dispo ce soir"}))
    assert body["my_proposal"] == {"answer": "declined", "rank": 0}
    assert "declined" in [h["kind"] for h in body["history"]]
    assert ok(as_helper.get("/aid/requests", {"scope": "proposed"}))["items"] == []


def test_a_post_without_a_body_is_fine_where_the_body_is_optional(as_helper, asked):
    response = as_helper.client.post(f"/api/v1/aid/requests/{asked['id']}/decline", data=b"",
                                     content_type="application/json", headers=as_helper.headers)
    assert ok(response)["my_proposal"]["answer"] == "declined"


def test_the_helper_withdraws_and_the_request_waits_again(as_helper, asked, home):
    ok(as_helper.post(f"/aid/requests/{asked['id']}/accept"))
    other = HelpOfferFactory(helper=member_at(home, "Bert Blanc", north_m=400)).helper
    body = ok(as_helper.post(f"/aid/requests/{asked['id']}/withdraw", {"reason": "Je suis malade"}))
    assert body["status"] == "proposed" and body["helper"] is None and body["contact"] is None
    assert "helper_withdrew" in [h["kind"] for h in body["history"]]
    assert ok(as_helper.get("/aid/offers"))["dropped_count"] == 1
    assert MatchProposal.objects.filter(request_id=asked["id"], helper=other, answer="pending").exists()


def test_the_requester_releases_the_helper(as_requester, as_helper, asked):
    ok(as_helper.post(f"/aid/requests/{asked['id']}/accept"))
    body = ok(as_requester.post(f"/aid/requests/{asked['id']}/withdraw"))
    assert body["helper"] is None and body["status"] in ("open", "proposed")
    assert "requester_withdrew" in [h["kind"] for h in body["history"]]
    assert ok(as_helper.get(f"/aid/requests/{asked['id']}"))["contact"] is None


def test_the_requester_cancels_with_a_reason(as_requester, asked):
    body = ok(as_requester.post(f"/aid/requests/{asked['id']}/cancel", {"reason": "Ma fille passe finalement"}))
    assert body["status"] == "cancelled" and body["status_reason"] == "Ma fille passe finalement"
    assert body["closed_at"] is not None and body["history"][-1]["kind"] == "cancelled"
    error(as_requester.post(f"/aid/requests/{asked['id']}/cancel"), 409, "request_closed")


def test_the_requester_edits_a_waiting_request_then_only_the_contact_once_taken(as_requester, as_helper, asked):
    rid = asked["id"]
    end = timezone.now() + timedelta(hours=3)
    body = ok(as_requester.patch(f"/aid/requests/{rid}", {"description": "Ordonnance et doliprane",
                                                         "urgency": "urgent", "window_end": iso(end)}))
    assert body["description"] == "Ordonnance et doliprane" and body["urgency"] == "urgent"
    assert abs(datetime.fromisoformat(body["window_end"].replace("Z", "+00:00")) - end) < timedelta(seconds=1)
    assert body["history"][-1]["kind"] == "updated"
    ok(as_helper.post(f"/aid/requests/{rid}/accept"))
    error(as_requester.patch(f"/aid/requests/{rid}", {"description": "Autre chose"}), 409, "request_matched")
    body = ok(as_requester.patch(f"/aid/requests/{rid}", {"reveal_phone": True, "contact_phone": "+33 6 12 34 56 78"}))
    assert (body["reveal_phone"], body["contact_phone"]) == (True, "+33 6 12 34 56 78")
    assert ok(as_helper.get(f"/aid/requests/{rid}"))["contact"]["phone"] == "+33 6 12 34 56 78"


def test_revealing_the_phone_needs_a_phone_number(as_requester, asked):
    error(as_requester.patch(f"/aid/requests/{asked['id']}", {"reveal_phone": True}), 422, "phone_required")
    error(as_requester.post("/aid/requests", new_request(reveal_phone=True)), 422, "phone_required")


# --- offers -----------------------------------------------------------------------------------------------------

def test_offering_help_then_reading_and_changing_the_offer(home):
    member = member_at(home, "Lina Roux", north_m=200)
    api = Api(member)
    error(api.get("/aid/offers"), 404, "no_offer")
    error(api.patch("/aid/offers", {"radius_m": 800}), 404, "no_offer")
    body = ok(api.post("/aid/offers", {"types": ["groceries", "pet_walking"], "radius_m": 1500,
                                       "slots": [{"weekday": 5, "start": "14:00", "end": "18:00"},
                                                 {"weekday": 0, "start": "09:00", "end": "12:00"}]}), 201)
    assert body == {"types": ["groceries", "pet_walking"], "radius_m": 1500,
                    "slots": [{"weekday": 0, "start": "09:00", "end": "12:00"},
                              {"weekday": 5, "start": "14:00", "end": "18:00"}],
                    "capacity_per_week": 3, "active": True, "completed_count": 0, "dropped_count": 0}
    assert ok(api.get("/aid/offers")) == body
    changed = ok(api.patch("/aid/offers", {"capacity_per_week": 5, "active": False}))
    assert changed == {**body, "capacity_per_week": 5, "active": False}
    changed = ok(api.patch("/aid/offers", {"types": ["tech_help"], "slots": []}))
    assert (changed["types"], changed["slots"], changed["radius_m"]) == (["tech_help"], [], 1500)
    offer = HelpOffer.objects.get(helper=member)
    assert (offer.lat, offer.lon) == geo.cell_centre(member.blurred_cell)  # the blurred point, never the home
    error(api.post("/aid/offers", {"types": ["groceries"]}), 409, "offer_exists")


# --- the map ----------------------------------------------------------------------------------------------------

def test_the_map_shows_open_requests_and_helpers_nearest_first_at_blurred_points(home, as_requester, helper):
    near = HelpRequestFactory(requester=member_at(home, "Near Neighbour", north_m=150), type="groceries")
    far = HelpRequestFactory(requester=member_at(home, "Farther Neighbour", north_m=700), type="pharmacy")
    body = ok(as_requester.get("/aid/map"))
    assert [r["id"] for r in body["requests"]] == [near.id, far.id]
    first = body["requests"][0]
    assert set(first) == {"id", "type", "urgency", "at_risk", "description", "requester", "lat", "lon",
                          "distance_m", "window_end", "status"}
    assert first["requester"] == "Near N." and (first["lat"], first["lon"]) == geo.cell_centre(near.blurred_cell)
    assert body["helpers"] == [{"id": helper.id, "name": "Paul D.", "types": ["groceries", "pharmacy"],
                                "lat": geo.cell_centre(helper.blurred_cell)[0],
                                "lon": geo.cell_centre(helper.blurred_cell)[1],
                                "distance_m": body["helpers"][0]["distance_m"]}]
    assert first["lat"] != near.requester.lat and body["helpers"][0]["lat"] != helper.lat
    assert ok(as_requester.get("/aid/map", {"types": "pharmacy"}))["requests"] == [body["requests"][1]]
    assert ok(as_requester.get("/aid/map", {"types": "pet_walking"})) == {"requests": [], "helpers": []}
    lat, lon = geo.cell_centre(far.blurred_cell)
    box = f"{lon - 0.0005},{lat - 0.0005},{lon + 0.0005},{lat + 0.0005}"
    assert [r["id"] for r in ok(as_requester.get("/aid/map", {"bbox": box}))["requests"]] == [far.id]


# --- bad input --------------------------------------------------------------------------------------------------

def _past(hours):
    return iso(timezone.now() - timedelta(hours=hours))


def _future(hours):
    return iso(timezone.now() + timedelta(hours=hours))


@pytest.mark.parametrize("change, code", [
    ({"type": "babysitting_tigers"}, "invalid_type"),
    ({"urgency": "asap"}, "invalid_urgency"),
    ({"window_start": _future(5), "window_end": _future(2)}, "invalid_window"),
    ({"window_start": _past(5), "window_end": _past(1)}, "window_in_past"),
    ({"window_start": "2099-03-20T10:00:00", "window_end": "2099-03-20T12:00:00"}, "invalid_window"),
    ({"window_start": _future(1), "window_end": _future(24 * 40)}, "window_too_long"),
    ({"description": "x" * 501}, "description_too_long"),
    ({"description": "   "}, "empty_description"),
    ({"contact_phone": "call me maybe"}, "invalid_phone"),
    ({"contact_note": "n" * 201}, "note_too_long"),
])
def test_a_bad_request_answers_422_with_its_own_code_and_field(as_requester, change, code):
    body = error(as_requester.post("/aid/requests", new_request(**change)), 422, code)
    assert body["fields"]
    assert not HelpRequest.objects.exists()


def test_naive_times_are_refused_even_when_they_would_be_in_the_future(as_requester):
    body = error(as_requester.post("/aid/requests", new_request(
        window_start=timezone.now().replace(tzinfo=None).isoformat(),
        window_end=(timezone.now() + timedelta(hours=2)).replace(tzinfo=None).isoformat())), 422, "invalid_window")
    assert "window_start" in body["fields"]


@pytest.mark.parametrize("payload", [{"type": "pharmacy"}, {**new_request(), "window_start": "tomorrow"},
                                     {**new_request(), "at_risk": "perhaps"}, {**new_request(), "description": 3}])
def test_missing_or_wrongly_typed_fields_answer_422_invalid_input(as_requester, payload):
    error(as_requester.post("/aid/requests", payload), 422, "invalid_input")


def test_a_malformed_json_body_answers_400(as_requester, asked):
    error(as_requester.post("/aid/requests", raw='{"type": "pharmacy", '), 400, "bad_request")
    error(as_requester.patch(f"/aid/requests/{asked['id']}", raw="not json"), 400, "bad_request")
    error(as_requester.post("/aid/offers", raw="[1, 2"), 400, "bad_request")


def test_an_oversized_body_answers_413(as_requester):
    error(as_requester.post("/aid/requests", new_request(description="x" * 70_000)), 413, "payload_too_large")
    assert not HelpRequest.objects.exists()


def test_too_many_requests_in_an_hour_answer_429_with_retry_after(as_requester):
    for _ in range(10):
        ok(as_requester.post("/aid/requests", new_request()), 201)
    response = as_requester.post("/aid/requests", new_request())
    error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    assert HelpRequest.objects.count() == 10


def test_bad_reasons_and_thanks_answer_422(as_requester, as_helper, asked):
    error(as_helper.post(f"/aid/requests/{asked['id']}/decline", {"reason": "r" * 201}), 422, "reason_too_long")
    ok(as_helper.post(f"/aid/requests/{asked['id']}/accept"))
    error(as_requester.post(f"/aid/requests/{asked['id']}/complete", {"thanks": "t" * 501}), 422, "thanks_too_long")
    ok(as_requester.post(f"/aid/requests/{asked['id']}/complete"))
    error(as_requester.post(f"/aid/requests/{asked['id']}/thank", {"message": "  "}), 422, "invalid_thanks")
    error(as_requester.post(f"/aid/requests/{asked['id']}/thank", {}), 422, "invalid_input")


def test_thanking_before_the_task_is_done_answers_409(as_requester, asked):
    error(as_requester.post(f"/aid/requests/{asked['id']}/thank", {"message": "Merci"}), 409, "not_done")
    error(as_requester.post(f"/aid/requests/{asked['id']}/complete"), 409, "not_matched")


@pytest.mark.parametrize("offer, code", [
    ({"types": []}, "invalid_types"),
    ({"types": ["groceries", "juggling"]}, "invalid_types"),
    ({"types": ["groceries"], "radius_m": 50}, "invalid_radius"),
    ({"types": ["groceries"], "radius_m": 50_000}, "invalid_radius"),
    ({"types": ["groceries"], "capacity_per_week": 0}, "invalid_capacity"),
    ({"types": ["groceries"], "slots": [{"weekday": 7, "start": "09:00", "end": "12:00"}]}, "invalid_slots"),
    ({"types": ["groceries"], "slots": [{"weekday": 1, "start": "12:00", "end": "09:00"}]}, "invalid_slots"),
    ({"types": ["groceries"], "slots": [{"weekday": 1, "start": "9h", "end": "12:00"}]}, "invalid_slots"),
    ({"types": ["groceries"], "slots": [{"weekday": 1, "start": "09:00"}]}, "invalid_slots"),
    ({"types": ["groceries"], "slots": [{"weekday": "lundi", "start": "09:00", "end": "10:00"}]}, "invalid_slots"),
    ({"types": ["groceries"], "slots": [{"weekday": 1e999, "start": "09:00", "end": "10:00"}]}, "invalid_slots"),
    ({"types": ["groceries"], "slots": [{"weekday": d % 7, "start": f"{h:02d}:00", "end": f"{h:02d}:30"}
                                        for d in range(7) for h in range(5)]}, "invalid_slots"),
])
def test_a_bad_offer_answers_422_with_its_own_code(home, offer, code):
    api = Api(member_at(home, "New Helper"))
    body = error(api.post("/aid/offers", offer), 422, code)
    assert body["fields"]
    assert not HelpOffer.objects.exists()


@pytest.mark.parametrize("change, code", [({"types": ["juggling"]}, "invalid_types"), ({"types": []}, "invalid_types"),
                                          ({"radius_m": 99}, "invalid_radius"),
                                          ({"slots": [{"weekday": 2, "start": "25:00", "end": "26:00"}]},
                                           "invalid_slots")])
def test_a_bad_change_to_an_offer_answers_422_and_keeps_the_offer(as_helper, helper, change, code):
    error(as_helper.patch("/aid/offers", change), 422, code)
    offer = HelpOffer.objects.get(helper=helper)
    assert (offer.types, offer.radius_m, offer.slots) == (["groceries", "pharmacy"], 1000, [])


@pytest.mark.parametrize("offer", [{"radius_m": "far"}, {"types": "groceries"}, {"slots": "mornings"}])
def test_a_wrongly_typed_offer_answers_422_invalid_input(home, offer):
    error(Api(member_at(home, "New Helper")).post("/aid/offers", {"types": ["groceries"], **offer}), 422,
          "invalid_input")


@pytest.mark.parametrize("bbox", ["2.35,48.85,2.36", "a,b,c,d", "2.36,48.85,2.35,48.86", "2.35,48.86,2.36,48.85",
                                  "2.35,48.85,2.36,95", "-190,48.85,2.36,48.86", "nan,48.85,2.36,48.86",
                                  "2.35,48.85,2.36,48.86,1", "2.35,48.85,inf,48.86"])
def test_a_bad_bounding_box_answers_422_invalid_bbox(as_requester, bbox):
    assert "bbox" in error(as_requester.get("/aid/map", {"bbox": bbox}), 422, "invalid_bbox")["fields"]


def test_unknown_types_in_the_map_or_the_list_answer_422_invalid_types(as_requester):
    error(as_requester.get("/aid/map", {"types": "groceries,dragons"}), 422, "invalid_types")
    error(as_requester.get("/aid/requests", {"types": "dragons"}), 422, "invalid_types")


def test_a_bad_scope_cursor_or_limit_answers_422(as_requester):
    error(as_requester.get("/aid/requests", {"scope": "everyone"}), 422, "invalid_input")
    error(as_requester.get("/aid/requests", {"cursor": "garbage"}), 422, "invalid_cursor")
    error(as_requester.get("/aid/requests", {"limit": 500}), 422, "invalid_input")


# --- schema -----------------------------------------------------------------------------------------------------

def test_every_aid_endpoint_is_in_the_openapi_schema_with_its_schemas(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    rid = "/api/v1/aid/requests/{request_id}"
    expected = {"/api/v1/aid/requests": {"get", "post"}, rid: {"get", "patch"}, "/api/v1/aid/offers": {"get", "post",
                                                                                                         "patch"},
                "/api/v1/aid/map": {"get"}, **{f"{rid}/{verb}": {"post"} for verb in
                                              ("accept", "decline", "withdraw", "complete", "cancel", "thank")}}
    with_body = {("/api/v1/aid/requests", "post"), (rid, "patch"), ("/api/v1/aid/offers", "post"),
                 ("/api/v1/aid/offers", "patch"), *((f"{rid}/{verb}", "post") for verb in
                                                    ("decline", "withdraw", "complete", "cancel", "thank"))}
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            operation = paths[path][method]
            assert "aid" in operation["tags"]
            success = [code for code in operation["responses"] if str(code).startswith("2")]
            assert success and "application/json" in operation["responses"][success[0]]["content"], (path, method)
            for code in ("401", "404", "422"):
                assert code in operation["responses"], (path, method, code)
            if (path, method) in with_body:
                assert "application/json" in operation["requestBody"]["content"], (path, method)
    components = schema["components"]["schemas"]
    assert "invalid_type" not in json.dumps(components)
    assert set(components["RequestIn"]["properties"]["type"]["enum"]) >= {"groceries", "pharmacy", "other"}
    assert components["RequestIn"]["properties"]["urgency"]["enum"] == ["low", "normal", "urgent"]
    assert components["OfferIn"]["properties"]["types"]["items"]["enum"][0] == "groceries"
    assert {"weekday", "start", "end"} <= set(components["OfferIn"]["properties"]["slots"]["items"]["properties"])
    assert {"id", "status", "requester", "helper", "contact", "history", "my_proposal", "distance_m"} <= set(
        components["RequestOut"]["properties"])
    assert {"requests", "helpers"} <= set(components["MapOut"]["properties"])

