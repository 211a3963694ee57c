"""The mutual-aid pages: who sees what, forms that say what is wrong next to the field, the contact block, the map
and its list, the crisis page, privacy in the HTML."""
from __future__ import annotations

import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from entraide.aid import actions
from entraide.aid.factories import HelpOfferFactory, HelpRequestFactory
from entraide.aid.models import EventKind, HelpOffer, HelpRequest, MatchProposal, RequestStatus
from entraide.feed.factories import CrisisFactory

from .conftest import member_at

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def login(client, member):
    """Log in; the pages then speak English (the member's language), so texts can be asserted."""
    if member.language != "en":
        member.language = "en"
        member.save(update_fields=["language"])
    client.force_login(member.user)
    return client


def html(response) -> str:
    return response.content.decode()


def local(dt) -> str:
    """What a datetime-local input sends: the wall-clock time in Paris, without offset."""
    return dt.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


def ask_form(**overrides) -> dict:
    start = timezone.now() + timedelta(hours=1)
    data = {"type": "pharmacy", "description": "Chercher mon ordonnance à la pharmacie", "window_start": local(start),
            "window_end": local(start + timedelta(hours=4)), "urgency": "normal", "reveal_address": "on",
            "contact_note": "", "contact_phone": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def ask(member, window, **kw):
    kw.setdefault("type", "pharmacy")
    kw.setdefault("description", "Chercher mon ordonnance à la pharmacie")
    return actions.do_create_request(member, **window, **kw)


def field_errors(page: str, field: str) -> str:
    """The error list rendered under one field (empty when there is none)."""
    m = re.search(rf'<ul class="errors" id="id_{field}_error">(.*?)</ul>', page, re.S)
    return m.group(1) if m else ""


@pytest.fixture
def helper(home):
    return HelpOfferFactory(helper=member_at(home, "Paul Aidant", north_m=300), types=["groceries", "pharmacy"]).helper


@pytest.fixture
def second_helper(home):
    return HelpOfferFactory(helper=member_at(home, "Zoe Seconde", north_m=600), types=["pharmacy"]).helper


@pytest.fixture
def neighbour(home):
    return member_at(home, "Nina Voisine", north_m=100)


@pytest.fixture
def pending(home):
    return member_at(home, "Paul Pending", verified=False)


@pytest.fixture
def stranger(far):
    return member_at(far, "Zoé Lointaine")


# --- login, scope -----------------------------------------------------------------------------------------------

def test_every_aid_page_needs_a_login(client, requester, window):
    req = ask(requester, window)
    for url in ["/aid/", "/aid/ask/", "/aid/offer/", "/aid/map/", "/aid/crisis/", f"/aid/requests/{req.id}/",
                f"/aid/requests/{req.id}/edit/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    response = client.post(f"/aid/requests/{req.id}/cancel/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert HelpRequest.objects.get(id=req.id).status != RequestStatus.CANCELLED


def test_each_page_renders_for_a_member(client, requester, helper, window):
    req = ask(requester, window)
    login(client, requester)
    for url, heading in [("/aid/", "Help between neighbours"), ("/aid/ask/", "Ask for help"),
                         ("/aid/offer/", "Offer help"), ("/aid/map/", "Help map"),
                         ("/aid/crisis/", "Childcare and shopping"), (f"/aid/requests/{req.id}/", "Pharmacy run"),
                         (f"/aid/requests/{req.id}/edit/", "Edit my request")]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert re.search(rf"<h1[^>]*>{re.escape(heading)}", html(response)), url
    assert 'href="/aid/"' in html(client.get("/feed/"))  # the "Help" link in the navigation


def test_a_request_out_of_scope_answers_404_on_every_page_and_action(client, requester, stranger, window):
    theirs = ask(stranger, window, type="groceries", description="Courses à Combat")
    login(client, requester)
    assert client.get(f"/aid/requests/{theirs.id}/").status_code == 404
    assert client.get(f"/aid/requests/{theirs.id}/edit/").status_code == 404
    assert client.get("/aid/requests/999999/").status_code == 404
    for verb in ["accept", "decline", "withdraw", "complete", "cancel", "thank"]:
        assert client.post(f"/aid/requests/{theirs.id}/{verb}/", {"reason": "x", "message": "x"}).status_code == 404
    assert client.post(f"/aid/requests/{theirs.id}/edit/", ask_form()).status_code == 404
    assert HelpRequest.objects.get(id=theirs.id).status == theirs.status
    assert "Courses à Combat" not in html(client.get("/aid/map/"))


def test_only_the_requester_may_edit_their_request(client, requester, neighbour, window):
    req = ask(requester, window)
    login(client, neighbour)
    assert client.get(f"/aid/requests/{req.id}/").status_code == 200  # an open request of the neighbourhood
    assert client.get(f"/aid/requests/{req.id}/edit/").status_code == 404
    assert client.post(f"/aid/requests/{req.id}/cancel/").status_code == 403
    assert HelpRequest.objects.get(id=req.id).status != RequestStatus.CANCELLED


# --- asking for help --------------------------------------------------------------------------------------------

def test_asking_through_the_form_reads_local_times_and_leads_to_the_request_page(client, requester, helper):
    login(client, requester)
    start = (timezone.now() + timedelta(days=1)).astimezone(PARIS).replace(hour=10, minute=30, second=0,
                                                                           microsecond=0)
    response = client.post("/aid/ask/", ask_form(
        window_start=local(start), window_end=local(start + timedelta(hours=2)), at_risk="on",
        reveal_phone="on", contact_phone="06 12 34 56 78", contact_note="Digicode 1234B"))
    req = HelpRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/aid/requests/{req.id}/"
    assert req.window_start == start and req.window_end == start + timedelta(hours=2)
    assert (req.type, req.at_risk, req.reveal_address, req.reveal_phone, req.contact_phone) == (
        "pharmacy", True, True, True, "06 12 34 56 78")
    assert MatchProposal.objects.filter(request=req, helper=helper).exists()
    page = html(client.get(response["Location"]))
    assert "Asked to nearby helpers" in page and "Your request is posted" in page


def test_the_ask_form_preselects_the_type_and_tells_about_money(client, requester):
    page = html(login(client, requester).get("/aid/ask/?type=groceries"))
    assert re.search(r'<option value="groceries" selected>', page)
    assert "Money never transits through Entraide" in page
    assert "Entraide will never ask for payment details." in page
    assert re.search(r'<input type="checkbox" name="reveal_address"[^>]*checked', page)
    assert not re.search(r'<input type="checkbox" name="contactless"[^>]*checked', page)
    assert 'id="contactless-guidance"' not in page
    assert 'type="datetime-local"' in page


def test_while_a_crisis_is_declared_contactless_is_pre_checked_with_its_guidance(client, requester, paris):
    CrisisFactory(name="Confinement", tag="covid", cities=[paris])
    page = html(login(client, requester).get("/aid/ask/"))
    assert re.search(r'<input type="checkbox" name="contactless"[^>]*checked', page)
    assert 'id="contactless-guidance"' in page
    home_page = html(client.get("/aid/"))
    assert 'href="/aid/crisis/"' in home_page


def test_form_errors_are_shown_next_to_their_fields(client, requester):
    login(client, requester)
    start = timezone.now() + timedelta(hours=3)
    response = client.post("/aid/ask/", ask_form(description="   ", window_start=local(start),
                                                 window_end=local(start - timedelta(hours=1))))
    assert 400 <= response.status_code < 500
    page = html(response)
    assert "Say in a few words what you need." in field_errors(page, "description")
    assert "The end must come after the start." in field_errors(page, "window_end")
    assert "Traceback" not in page
    assert HelpRequest.objects.count() == 0


def test_a_window_already_over_and_a_missing_phone_are_refused_on_their_fields(client, requester):
    login(client, requester)
    past = timezone.now() - timedelta(days=2)
    page = html(client.post("/aid/ask/", ask_form(window_start=local(past), window_end=local(past + timedelta(hours=1)),
                                                  reveal_phone="on")))
    assert "This time window is already over." in field_errors(page, "window_end")
    assert "Give the phone number your helper may call." in field_errors(page, "contact_phone")
    page = html(client.post("/aid/ask/", ask_form(window_start="demain", window_end="")))
    assert field_errors(page, "window_start")
    assert HelpRequest.objects.count() == 0


def test_an_unverified_member_gets_the_verification_refusal(client, pending):
    login(client, pending)
    page = html(client.get("/aid/ask/"))
    assert 'id="ask-form"' not in page and "verify your address first" in page
    response = client.post("/aid/ask/", ask_form())
    assert response.status_code == 403
    assert "verify your address first" in html(response)
    response = client.post("/aid/offer/", {"types": ["groceries"], "radius_m": "1000", "capacity_per_week": "3"})
    assert response.status_code == 403
    assert HelpRequest.objects.count() == 0 and HelpOffer.objects.count() == 0


def test_an_unverified_member_cannot_take_a_request(client, requester, pending, window):
    req = ask(requester, window)
    login(client, pending)
    response = client.post(f"/aid/requests/{req.id}/accept/")
    assert response.status_code == 403 and "verify your address first" in html(response)
    assert HelpRequest.objects.get(id=req.id).helper is None


def test_a_rate_limited_requester_is_told_so_on_the_form(client, requester, settings):
    from entraide.aid.actions import REQUEST_LIMIT

    login(client, requester)
    for _ in range(REQUEST_LIMIT[0]):
        assert client.post("/aid/ask/", ask_form()).status_code == 302
    response = client.post("/aid/ask/", ask_form())
    assert response.status_code == 429 and 'role="alert"' in html(response)


def test_script_in_a_description_is_shown_as_text(client, requester, neighbour, window):
    ask(requester, window, description="<script>alert(1)</script> du pain")
    login(client, neighbour)
    for url in ["/aid/map/", f"/aid/requests/{HelpRequest.objects.get().id}/"]:
        page = html(client.get(url))
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; du pain" in page or "\\u003Cscript\\u003E" in page


# --- one request: who sees which buttons ------------------------------------------------------------------------

def test_a_helper_asked_sees_it_on_the_home_page_with_accept_and_decline(client, requester, helper, window):
    req = ask(requester, window, description="Ordonnance chez Dr Martin")
    page = html(login(client, helper).get("/aid/"))
    asked = page.split('id="asked-list"')[1].split("</ol>")[0]
    assert "Ordonnance chez Dr Martin" in asked and "Jeanne P." in asked
    assert f'action="/aid/requests/{req.id}/accept/"' in asked and f'action="/aid/requests/{req.id}/decline/"' in asked
    mine = html(login(client, requester).get("/aid/"))
    assert "Ordonnance chez Dr Martin" in mine.split('id="my-requests"')[1]
    assert "Asked to nearby helpers" in mine


def test_declining_from_the_home_page_comes_back_to_it(client, requester, helper, window):
    req = ask(requester, window)
    login(client, helper)
    response = client.post(f"/aid/requests/{req.id}/decline/", {"next": "/aid/"})
    assert response.status_code == 302 and response["Location"] == "/aid/"
    assert MatchProposal.objects.get(request=req, helper=helper).answer == "declined"
    assert 'id="asked-list"' not in html(client.get("/aid/"))


def test_the_contact_block_is_shown_to_the_matched_helper_only(client, requester, helper, second_helper, neighbour,
                                                               window):
    req = ask(requester, window, reveal_phone=True, contact_phone="06 12 34 56 78", contact_note="Digicode 1234B")
    address = requester.address_text
    login(client, helper)
    response = client.post(f"/aid/requests/{req.id}/accept/")
    assert response.status_code == 302 and response["Location"] == f"/aid/requests/{req.id}/"
    page = html(client.get(f"/aid/requests/{req.id}/"))
    assert 'id="contact"' in page and "Shown to you only while the task is active." in page
    assert address in page and "06 12 34 56 78" in page and "Digicode 1234B" in page
    assert "You are helping" in page and "It's done" in page

    # The other helper asked: told it is taken, no contact.
    page = html(login(client, second_helper).get(f"/aid/requests/{req.id}/"))
    assert 'id="contact"' not in page and address not in page and "06 12 34 56 78" not in page
    assert "Another neighbour took this request" in page
    assert "Paul A." not in page  # the helper's name is for those involved
    # A neighbour who was not asked no longer sees a taken request.
    assert login(client, neighbour).get(f"/aid/requests/{req.id}/").status_code == 404
    # The requester sees who helps, not a contact block about themselves.
    page = html(login(client, requester).get(f"/aid/requests/{req.id}/"))
    assert 'id="contact"' not in page and "Taken by Paul A." in page

    # Once done, the helper no longer sees the details.
    actions.do_complete(requester, req.id)
    page = html(login(client, helper).get(f"/aid/requests/{req.id}/"))
    assert 'id="contact"' not in page and address not in page and "06 12 34 56 78" not in page


def test_a_second_helper_accepting_too_late_is_told_without_a_stack_trace(client, requester, helper, second_helper,
                                                                         window):
    req = ask(requester, window)
    actions.do_accept(helper, req.id)
    response = login(client, second_helper).post(f"/aid/requests/{req.id}/accept/")
    assert response.status_code == 409
    page = html(response)
    assert "Another neighbour has just taken this request." in page and "Traceback" not in page


def test_done_confirmed_and_thanked_through_the_pages(client, requester, helper, window):
    req = ask(requester, window)
    login(client, helper)
    client.post(f"/aid/requests/{req.id}/accept/")
    response = client.post(f"/aid/requests/{req.id}/complete/")
    assert response.status_code == 302
    assert "waiting for the requester&#x27;s confirmation" in html(client.get(f"/aid/requests/{req.id}/"))
    login(client, requester)
    page = html(client.get(f"/aid/requests/{req.id}/"))
    assert 'id="confirm-form"' in page and 'id="release-form"' in page and 'id="cancel-form"' in page
    response = client.post(f"/aid/requests/{req.id}/complete/", {"thanks": "Merci infiniment Paul !"})
    assert response.status_code == 302
    page = html(client.get(f"/aid/requests/{req.id}/"))
    assert re.search(r'class="status-text">Done<', page)
    assert "Merci infiniment Paul !" in page and 'id="thank-form"' not in page
    assert "Merci infiniment Paul !" in html(login(client, helper).get(f"/aid/requests/{req.id}/"))


def test_thanking_after_done(client, requester, helper, window):
    req = ask(requester, window)
    actions.do_accept(helper, req.id)
    actions.do_complete(requester, req.id)
    login(client, requester)
    page = html(client.get(f"/aid/requests/{req.id}/"))
    assert 'id="thank-form"' in page
    response = client.post(f"/aid/requests/{req.id}/thank/", {"message": ""})
    assert response.status_code == 400 and field_errors(html(response), "thank_message")
    assert client.post(f"/aid/requests/{req.id}/thank/", {"message": "Merci !"}).status_code == 302
    assert HelpRequest.objects.get(id=req.id).thanks == "Merci !"


def test_releasing_the_helper_and_cancelling_with_a_reason(client, requester, helper, window):
    req = ask(requester, window)
    actions.do_accept(helper, req.id)
    login(client, requester)
    assert client.post(f"/aid/requests/{req.id}/withdraw/", {"reason": "Plus besoin de lui"}).status_code == 302
    req.refresh_from_db()
    assert req.helper is None and req.status in (RequestStatus.OPEN, RequestStatus.PROPOSED)
    response = client.post(f"/aid/requests/{req.id}/cancel/", {"reason": "x" * 250})
    assert response.status_code == 400 and field_errors(html(response), "cancel_reason")
    assert client.post(f"/aid/requests/{req.id}/cancel/", {"reason": "Ma fille passe"}).status_code == 302
    page = html(client.get(f"/aid/requests/{req.id}/"))
    assert re.search(r'class="status-text">Cancelled<', page) and "Ma fille passe" in page
    assert 'id="cancel-form"' not in page


def test_the_helper_can_step_back(client, requester, helper, window):
    req = ask(requester, window)
    actions.do_accept(helper, req.id)
    login(client, helper)
    assert client.post(f"/aid/requests/{req.id}/withdraw/", {"reason": ""}).status_code == 302
    req.refresh_from_db()
    assert req.helper is None


def test_editing_a_waiting_request(client, requester, window):
    req = ask(requester, window)
    login(client, requester)
    page = html(client.get(f"/aid/requests/{req.id}/"))
    assert f'href="/aid/requests/{req.id}/edit/"' in page
    form = ask_form(description="Deux boîtes de Doliprane")
    del form["type"]
    response = client.post(f"/aid/requests/{req.id}/edit/", form)
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.description == "Deux boîtes de Doliprane"
    response = client.post(f"/aid/requests/{req.id}/edit/", {**form, "description": ""})
    assert response.status_code == 400 and "Say in a few words" in field_errors(html(response), "description")


def test_the_escalation_is_said_plainly(client, requester, window):
    req = ask(requester, window)  # nobody offers help: widened, then passed to the informer
    page = html(login(client, requester).get(f"/aid/requests/{req.id}/"))
    assert 'id="request-escalation"' in page and "Passed to the neighbourhood&#x27;s informer" in page
    req.escalation = 1
    req.save(update_fields=["escalation"])
    page = html(client.get(f"/aid/requests/{req.id}/"))
    assert "Nobody nearby yet: we widened the search" in page


def test_the_history_shows_kinds_and_times_but_not_other_helpers(client, requester, helper, second_helper, window):
    req = ask(requester, window)
    actions.do_decline(second_helper, req.id, reason="Je suis malade, désolée")
    actions.do_accept(helper, req.id)
    page = html(login(client, requester).get(f"/aid/requests/{req.id}/"))
    history = page.split('id="request-history"')[1].split("</ol>")[0]
    assert "Request posted" in history and "Declined by a helper" in history and "Accepted by a helper" in history
    assert "Zoe S." not in page and "Je suis malade" not in page
    assert "Paul A." in history  # the helper, to the requester
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT', history)


# --- offers -----------------------------------------------------------------------------------------------------

def test_becoming_a_helper_and_editing_the_offer(client, neighbour):
    login(client, neighbour)
    page = html(client.get("/aid/offer/"))
    assert page.count('type="time"') == 14 and 'value="1500"' in page
    response = client.post("/aid/offer/", {"types": ["groceries", "childcare"], "radius_m": "1500",
                                           "capacity_per_week": "4", "active": "on",
                                           "slot_2_start": "14:00", "slot_2_end": "18:30",
                                           "slot_5_start": "09:00:00", "slot_5_end": "12:00"})
    assert response.status_code == 302 and response["Location"] == "/aid/"
    offer = HelpOffer.objects.get(helper=neighbour)
    assert sorted(offer.types) == ["childcare", "groceries"] and offer.radius_m == 1500
    assert offer.capacity_per_week == 4 and offer.active
    assert offer.slots == [{"weekday": 2, "start": "14:00", "end": "18:30"},
                           {"weekday": 5, "start": "09:00", "end": "12:00"}]
    page = html(client.get("/aid/offer/"))
    assert re.search(r'value="childcare"[^>]*checked', page) and 'value="18:30"' in page
    assert "Edit my offer" in page
    assert "Childcare" in html(client.get("/aid/")).split('id="my-offer"')[1]


def test_offer_errors_are_shown_next_to_their_fields(client, neighbour):
    login(client, neighbour)
    response = client.post("/aid/offer/", {"radius_m": "1000", "capacity_per_week": "0",
                                           "slot_0_start": "18:00", "slot_0_end": "09:00", "slot_1_start": "10:00"})
    assert response.status_code == 400
    page = html(response)
    assert "Choose at least one kind of help." in page
    assert "The end must come after the start." in page and "Give both a start and an end time." in page
    assert field_errors(page, "capacity_per_week")
    assert not HelpOffer.objects.exists()


# --- the map and the crisis page --------------------------------------------------------------------------------

def test_the_map_list_is_sorted_by_distance(client, home, neighbour):
    for name, north, text in [("Anne Loin", 900, "Loin de chez moi"), ("Bea Pres", 200, "Tout près"),
                              ("Cleo Milieu", 500, "À mi-chemin")]:
        HelpRequestFactory(requester=member_at(home, name, north_m=north), description=text)
    page = html(login(client, neighbour).get("/aid/map/"))
    listing = page.split('id="aid-request-list"')[1].split("</ol>")[0]
    positions = [listing.index(text) for text in ("Tout près", "À mi-chemin", "Loin de chez moi")]
    assert positions == sorted(positions)
    distances = [int(d) for d in re.findall(r"about (\d+) m away", listing)]
    assert distances == sorted(distances) and len(distances) == 3


def test_the_map_page_never_shows_an_exact_address_or_position(client, requester, neighbour, helper, window):
    ask(requester, window, type="groceries", description="Du pain et du lait")
    page = html(login(client, neighbour).get("/aid/map/"))
    assert "Du pain et du lait" in page and "Jeanne P." in page
    assert requester.address_text not in page and "François Miron" not in page
    assert "Jeanne Petit" not in page
    data = json.loads(re.search(r'<script id="aid-map-data" type="application/json">(.*?)</script>', page, re.S)
                      .group(1))
    exact = {f"{requester.lat:.6f}", f"{requester.lon:.6f}", f"{helper.lat:.6f}", f"{helper.lon:.6f}"}
    assert not any(value in page for value in exact)
    req = HelpRequest.objects.get()
    assert [(r["lat"], r["lon"]) for r in data["requests"]] == [(req.lat, req.lon)]  # the blurred point
    assert data["helpers"] and all(set(h) == {"lat", "lon", "label"} for h in data["helpers"])


def test_the_map_filters_by_type_without_javascript(client, home, neighbour):
    HelpRequestFactory(requester=member_at(home, "Anne Garde", north_m=200), type="childcare",
                       description="Garder Léo mercredi")
    HelpRequestFactory(requester=member_at(home, "Bea Chien", north_m=300), type="pet_walking",
                       description="Promener Rex")
    HelpOfferFactory(helper=member_at(home, "Carl Nounou", north_m=400), types=["childcare"])
    HelpOfferFactory(helper=member_at(home, "Dan Promeneur", north_m=450), types=["pet_walking"])
    login(client, neighbour)
    page = html(client.get("/aid/map/"))
    assert "Garder Léo mercredi" in page and "Promener Rex" in page
    page = html(client.get("/aid/map/?type=childcare"))
    assert "Garder Léo mercredi" in page and "Promener Rex" not in page
    assert "Carl N." in page and "Dan P." not in page
    assert re.search(r'value="childcare"[^>]*checked', page)
    assert client.get("/aid/map/?type=nonsense").status_code == 200


def test_at_risk_requests_are_shown_to_verified_members_only(client, requester, neighbour, pending, window):
    ask(requester, window, at_risk=True, description="Je ne peux pas sortir")
    assert "Je ne peux pas sortir" in html(login(client, neighbour).get("/aid/map/"))
    assert "Je ne peux pas sortir" not in html(login(client, pending).get("/aid/map/"))
    assert login(client, pending).get(f"/aid/requests/{HelpRequest.objects.get().id}/").status_code == 404


def test_the_crisis_page_lists_childcare_and_shopping_but_not_pet_walking(client, home, neighbour, paris):
    CrisisFactory(name="Confinement", tag="covid", cities=[paris])
    HelpRequestFactory(requester=member_at(home, "Anne Garde", north_m=200), type="childcare",
                       description="Garder Léo mercredi")
    HelpRequestFactory(requester=member_at(home, "Gus Courses", north_m=250), type="groceries",
                       description="Pâtes et riz")
    HelpRequestFactory(requester=member_at(home, "Bea Chien", north_m=300), type="pet_walking",
                       description="Promener Rex")
    page = html(login(client, neighbour).get("/aid/crisis/"))
    assert "<h1>Childcare and shopping</h1>" in page and "Confinement" in page
    listing = page.split('id="crisis-request-list"')[1].split("</ol>")[0]
    assert "Garder Léo mercredi" in listing and "Pâtes et riz" in listing and "Promener Rex" not in page
    assert 'href="/aid/ask/?type=groceries"' in page and 'href="/aid/offer/"' in page
    assert "I need help" in page and "I can help" in page


def test_history_kinds_are_labelled():
    # Every kind of the history has words to show (the page never prints a raw identifier).
    from entraide.aid.views import EVENT_LABELS

    assert set(EVENT_LABELS) == set(EventKind.values)


def test_every_control_of_the_aid_forms_has_a_label(client, requester, window):
    req = ask(requester, window)
    login(client, requester)
    for url in ["/aid/ask/", "/aid/offer/", "/aid/map/", f"/aid/requests/{req.id}/", f"/aid/requests/{req.id}/edit/"]:
        page = html(client.get(url)).split('<main id="main">')[1]
        controls = re.findall(r'<(?:input|select|textarea)\b(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', page)
        assert controls, url
        for control in controls:
            assert re.search(rf'<label[^>]*for="{re.escape(control)}"', page), (url, control)
