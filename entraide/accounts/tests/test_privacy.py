"""A member's exact address and coordinates reach nobody but the member (DESIGN.md, privacy rules).

Member A lives at a distinctive address in Saint-Gervais. B lives in Saint-Gervais too; C lives next door in
Saint-Merri and reads Saint-Gervais. Every page and API answer B or C can reach is rendered and searched for
A's address and for A's exact latitude and longitude written every way a page or a JSON body could write them.
"""
from __future__ import annotations

import json

import pytest

from entraide.accounts.factories import MemberFactory
from entraide.accounts.queries import neighbours_for, public_view
from entraide.places import geo, queries

A_ADDRESS = "17 ter Passage des Glycines Oubliees, 75004 Paris"
A_STREET = "Passage des Glycines Oubliees"
A_NAME = "Heloise Vandermeersch"
A_EMAIL = "heloise.private@example.org"
# Inside Saint-Gervais, with digits no outline vertex or blurred centre shares.
A_LAT, A_LON = 48.8547345, 2.3575617


def spellings(value: float) -> set[str]:
    """Every way a coordinate may be written: repr, 6 and 5 decimals, with a dot or a French comma."""
    forms = {repr(value), str(value), f"{value:.6f}", f"{value:.5f}", f"{value:.7f}"}
    return forms | {form.replace(".", ",") for form in forms}


SECRETS = {A_ADDRESS, "17 ter Passage", "Vandermeersch", A_EMAIL} | spellings(A_LAT) | spellings(A_LON)


def text_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = content.decode("utf-8", errors="replace")
    if "json" in response.get("Content-Type", ""):
        try:
            # JSON may escape non-ASCII characters; compare against the decoded form too.
            text += "\n" + json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            pass
    return text


def leaks(text: str) -> set[str]:
    return {secret for secret in SECRETS if secret in text}


@pytest.fixture
def alice(neighbourhood):
    member = MemberFactory(neighbourhood=neighbourhood, verified=True, display_name=A_NAME, user__email=A_EMAIL,
                           address_text=A_ADDRESS, street_name=A_STREET, lat=A_LAT, lon=A_LON)
    assert queries.locate(A_LAT, A_LON).id == neighbourhood.id
    return member


@pytest.fixture
def bob(neighbourhood):
    return MemberFactory(neighbourhood=neighbourhood, verified=True, display_name="Bob Marchal",
                         user__email="bob@example.org")


@pytest.fixture
def carol(saint_merri, neighbourhood):
    member = MemberFactory(neighbourhood=saint_merri, verified=True, display_name="Carol Nguyen",
                           user__email="carol@example.org")
    member.reads_nearby.add(neighbourhood)
    return member


def reachable_responses(client, api, viewer, token) -> dict[str, object]:
    """Render everything the viewer can reach, by session (pages) and by bearer token (API)."""
    client.force_login(viewer.user)
    visible = queries.visible_neighbourhood_ids(viewer)
    responses: dict[str, object] = {}

    def page(path, **params):
        responses[f"GET {path} {params or ''}"] = client.get(path, params, follow=True)

    page("/")
    for neighbourhood_id in visible:
        page(f"/n/{neighbourhood_id}/")
    for path in ("/me/", "/me/settings/", "/verify/", "/waitlist/", "/places/outlines.geojson",
                 "/accounts/email/", "/accounts/password/change/", "/api/v1/openapi.json", "/api/v1/docs"):
        page(path)
    page("/places/suggest/", q=A_STREET)
    page("/places/suggest/", address="Passage des Glycines")
    responses["POST /me/invitations/"] = client.post("/me/invitations/", follow=True)
    page("/me/invitations/")
    responses["POST /verify/ letter"] = client.post("/verify/", {"kind": "letter", "letter-code": "WRONG"})

    # Every GET the API documents, with the ids and parameters the viewer could use.
    schema = client.get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        params = {p["name"]: p for p in operations["get"].get("parameters", [])}
        path_params = {name for name, p in params.items() if p["in"] == "path"}
        if path_params - {"neighbourhood_id"}:
            continue  # ids of things (posts, comments…) the test does not create
        query = {}
        for name, p in params.items():
            if p["in"] == "query" and p.get("required"):
                query[name] = {"q": "Glycines", "lat": A_LAT, "lon": A_LON}.get(name, "1")
        targets = [path.replace("{neighbourhood_id}", str(i)) for i in visible] if path_params else [path]
        for target in targets:
            responses[f"API GET {target}"] = api.get(target, query, token=token)
            responses[f"API GET {target} (session)"] = client.get(target, query)
    responses["API PATCH /me"] = api.patch("/me", {"display_name": viewer.display_name}, token=token)
    responses["API POST /me/invitations"] = api.post("/me/invitations", token=token)
    responses["API POST /me/verify/letter"] = api.post("/me/verify/letter", {"code": "WRONG"}, token=token)
    responses["API GET /places/geocode (A's address)"] = api.get("/places/geocode", {"q": A_ADDRESS}, token=token)
    return responses


@pytest.mark.parametrize("viewer_name", ["bob", "carol"])
@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_page_or_api_answer_shows_another_member_exact_home(request, client, api, token_for, alice, viewer_name,
                                                              language):
    viewer = request.getfixturevalue(viewer_name)
    viewer.language = language
    viewer.save()
    responses = reachable_responses(client, api, viewer, token_for(viewer))
    assert len(responses) >= 20
    found = {name: leaks(text_of(response)) for name, response in responses.items()}
    assert {name: secrets for name, secrets in found.items() if secrets} == {}


def test_a_neighbour_sees_first_name_initial_and_street_only(client, alice, bob, neighbourhood):
    client.force_login(bob.user)
    html = client.get(f"/n/{neighbourhood.id}/").content.decode()
    assert "Heloise V." in html
    assert A_STREET in html
    assert not leaks(html)


def test_a_nearby_reader_does_not_get_the_list_of_neighbours(client, alice, carol, neighbourhood):
    client.force_login(carol.user)
    response = client.get(f"/n/{neighbourhood.id}/")
    assert response.status_code == 200
    assert "Heloise V." not in response.content.decode()


def test_the_position_shown_to_others_is_the_stored_blurred_cell_centre(alice, bob):
    shown = public_view(alice)
    centre = geo.cell_centre(alice.blurred_cell)
    assert (shown.lat, shown.lon) == centre
    assert alice.blurred_cell == geo.blur(A_LAT, A_LON).cell
    assert (shown.lat, shown.lon) != (A_LAT, A_LON)
    assert not (spellings(shown.lat) & spellings(A_LAT))
    assert not (spellings(shown.lon) & spellings(A_LON))
    # Stable: asking twice gives the same point, so it cannot be averaged away.
    assert public_view(alice) == shown
    [listed] = [p for p in neighbours_for(bob) if p.id == alice.id]
    assert (listed.lat, listed.lon, listed.name, listed.street) == (*centre, "Heloise V.", A_STREET)
    assert not leaks(repr(listed))


def test_the_owner_does_see_their_own_address_and_coordinates(client, api, token_for, alice):
    """The check above could fail: the secrets are really in what the owner is served."""
    body = api.get("/me", token=token_for(alice))
    text = text_of(body)
    assert A_ADDRESS in text
    assert repr(A_LAT) in text and repr(A_LON) in text
    assert body.json()["lat"] == A_LAT and body.json()["lon"] == A_LON
    client.force_login(alice.user)
    assert A_ADDRESS in client.get("/me/").content.decode()
    assert A_ADDRESS in client.get("/me/settings/").content.decode()


def test_the_secrets_would_be_caught_if_a_page_printed_them(alice):
    """The spellings cover how a French page renders a float (comma) and how JSON does (repr)."""
    from django.template import Context, Template
    from django.utils import translation

    with translation.override("fr"):
        rendered = Template("{{ m.lat }} {{ m.lon }} {{ m.address_text }}").render(Context({"m": alice}))
    assert "48,8547345" in rendered
    assert leaks(rendered) >= {A_ADDRESS, "48,8547345", "2,3575617"}
    assert "48.8547345" in leaks(json.dumps({"lat": A_LAT}))
