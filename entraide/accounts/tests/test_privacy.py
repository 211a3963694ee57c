"""A member's exact address and coordinates reach nobody but the member (DESIGN.md, privacy rules).

Member A lives at a distinctive address in Saint-Gervais. B lives in Saint-Gervais too; C lives next door in
Saint-Merri and reads Saint-Gervais. A publishes a post (with a photo, under a crisis, as an announcement) and a
comment. Every page and API answer B or C can reach is rendered and searched for A's address and for A's exact
latitude and longitude written every way a page or a JSON body could write them.
"""
from __future__ import annotations

import io
import itertools
import json
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import URLResolver, get_resolver
from PIL import Image

from entraide.accounts.factories import MemberFactory
from entraide.accounts.queries import neighbours_for, public_view
from entraide.aid import actions as aid_actions
from entraide.aid.views import VERBS as AID_VERBS
from entraide.notifications.emails import unsubscribe_token
from entraide.notifications.models import Notification
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


GPS_IFD = 0x8825
POST_TITLE = "Arrosage des plantes cet été"
POST_WORD = "arroser"  # a word of the post body, for the searches
REQUEST_TEXT = "Ordonnance a chercher a la pharmacie"
MESSAGE_TEXT = "Avec plaisir, je passe samedi matin."


def photo_with_the_home_position() -> SimpleUploadedFile:
    """A phone photo whose EXIF carries A's exact home, as a camera would write it."""
    def dms(value: float) -> tuple[float, float, float]:
        minutes, seconds = divmod(abs(value) * 3600, 60)
        degrees, minutes = divmod(minutes, 60)
        return (degrees, minutes, round(seconds, 4))

    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: dms(A_LAT), 3: "E", 4: dms(A_LON)}
    out = io.BytesIO()
    Image.linear_gradient("L").resize((320, 240)).convert("RGB").save(out, format="JPEG", exif=exif.tobytes())
    return SimpleUploadedFile("jardin.jpg", out.getvalue(), content_type="image/jpeg")


@pytest.fixture
def published(alice, settings, tmp_path):
    """What A publishes through the feed's own actions: a post with a photo under a crisis, and a comment."""
    from entraide.feed import actions as feed_actions
    from entraide.feed.factories import CrisisFactory
    from entraide.feed.models import Post

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ENTRAIDE_ATOM_FEEDS = True
    crisis = CrisisFactory(tag="canicule-glycines")
    # Audience `nearby`: C, who lives next door, must reach it too.
    post = feed_actions.do_create_post(alice, category="general", audience="nearby", title=POST_TITLE,
                                       body=f"Je peux {POST_WORD} vos plantes pendant vos vacances.",
                                       tags=["jardin"], crisis_tag=crisis.tag, images=[photo_with_the_home_position()])
    comment = feed_actions.do_create_comment(alice, post.id, body="Écrivez-moi ici, je passe le soir.")
    # Only official posts reach the public Atom feed; setting the flag is an operator's job (no action for it yet).
    Post.objects.filter(id=post.id).update(official=True)
    # And through mutual aid: A offers help and asks for a pharmacy run.
    now = timezone.now()
    aid_actions.do_save_offer(alice, types=["groceries", "pharmacy"])
    help_request = aid_actions.do_create_request(alice, type="pharmacy", description=REQUEST_TEXT, window_start=now,
                                                 window_end=now + timedelta(hours=6), contact_note="Code 17B")
    return SimpleNamespace(alice=alice, post=post, comment=comment, image=post.images.get(), crisis=crisis,
                           request=help_request)


# The site's page routes come from the URL resolver, so a new page is checked without touching this test. Left
# out: the admin (staff only, see test_admin), allauth's pages (the member's own ones are listed below) and the
# API, whose routes come from its OpenAPI schema.
NOT_PAGES = ("admin/", "accounts/", "api/", "^api/", "i18n/")
PLACEHOLDER = re.compile(r"<(?:\w+:)?(\w+)>|\{(\w+)\}")


def page_routes(patterns=None, prefix: str = ""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(NOT_PAGES):
            continue
        if isinstance(pattern, URLResolver):
            yield from page_routes(pattern.url_patterns, route)
        else:
            yield "/" + route


def filled(template: str, values: dict[str, list]) -> list[str]:
    """Every path the template gives with the viewer's values; a placeholder without a value fails the test."""
    if "(?P<" in template or template.startswith("/^"):
        pytest.fail(f"{template}: a regular-expression route; give it a placeholder this test can fill")
    names = sorted({a or b for a, b in PLACEHOLDER.findall(template)})
    missing = [name for name in names if not values.get(name)]
    if missing:
        pytest.fail(f"{template}: no value for {missing}; make A publish one so this path is checked too")
    paths = []
    for combination in itertools.product(*(values[name] for name in names)):
        chosen = dict(zip(names, combination))
        paths.append(PLACEHOLDER.sub(lambda m: str(chosen[m.group(1) or m.group(2)]), template))
    return paths


def reachable_responses(client, api, viewer, token, published) -> dict[str, object]:
    """Render everything the viewer can reach, by session (pages) and by bearer token (API)."""
    from entraide.messaging import actions as messaging_actions

    client.force_login(viewer.user)
    # The viewer writes to A (A does not read Saint-Merri, so C must start it) and A answers.
    conversation, _ = messaging_actions.do_start_direct(viewer, published.alice.id)
    with TestCase.captureOnCommitCallbacks(execute=True):  # so the viewer is notified, as after a real commit
        messaging_actions.do_send_message(published.alice, conversation.id, MESSAGE_TEXT)
    notification_ids = list(Notification.objects.filter(recipient=viewer).values_list("id", flat=True))
    assert notification_ids
    visible = queries.visible_neighbourhood_ids(viewer)
    values = {"neighbourhood_id": visible, "post_id": [published.post.id], "comment_id": [published.comment.id],
              "image_id": [published.image.id], "tag": [published.crisis.tag],
              "request_id": [published.request.id], "verb": sorted(AID_VERBS), "conversation_id": [conversation.id],
              "notification_id": notification_ids, "token": [unsubscribe_token(viewer.id)]}
    responses: dict[str, object] = {}

    def page(path, **params):
        responses[f"GET {path}" + (f" {params}" if params else "")] = client.get(path, params, follow=True)

    for route in page_routes():
        for path in filled(route, values):
            page(path)
    for path in ("/accounts/email/", "/accounts/password/change/", "/api/v1/openapi.json", "/api/v1/docs"):
        page(path)
    page("/places/suggest/", q=A_STREET)
    page("/places/suggest/", address="Passage des Glycines")
    page("/search/", q=POST_WORD)
    page("/search/", q="Glycines")
    page("/feed/", scope="nearby")
    page("/feed/", tag="jardin")
    responses["POST /me/invitations/"] = client.post("/me/invitations/", follow=True)
    responses["GET /me/invitations/ (with one)"] = client.get("/me/invitations/")
    responses["POST /verify/ letter"] = client.post("/verify/", {"kind": "letter", "letter-code": "WRONG"})

    # Every GET the API documents, with the ids and parameters the viewer could use.
    schema = client.get("/api/v1/openapi.json").json()
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        query = {}
        for p in operations["get"].get("parameters", []):
            if p["in"] == "query" and (p.get("required") or p["name"] == "q"):
                query[p["name"]] = {"q": "Glycines", "lat": A_LAT, "lon": A_LON}.get(p["name"], "1")
        for target in filled(path, values):
            responses[f"API GET {target}"] = api.get(target, query, token=token)
            responses[f"API GET {target} (session)"] = client.get(target, query)
    responses[f"API GET /search q={POST_WORD}"] = api.get("/search", {"q": POST_WORD}, token=token)
    responses["API PATCH /me"] = api.patch("/me", {"display_name": viewer.display_name}, token=token)
    responses["API POST /me/invitations"] = api.post("/me/invitations", token=token)
    responses["API POST /me/verify/letter"] = api.post("/me/verify/letter", {"code": "WRONG"}, token=token)
    responses["API GET /places/geocode (A's address)"] = api.get("/places/geocode", {"q": A_ADDRESS}, token=token)
    return responses


@pytest.mark.parametrize("viewer_name", ["bob", "carol"])
@pytest.mark.parametrize("language", ["fr", "en"])
def test_no_page_or_api_answer_shows_another_member_exact_home(request, client, api, token_for, alice, published,
                                                              viewer_name, language):
    viewer = request.getfixturevalue(viewer_name)
    viewer.language = language
    viewer.save()
    responses = reachable_responses(client, api, viewer, token_for(viewer), published)
    assert len(responses) >= 40
    found = {name: leaks(text_of(response)) for name, response in responses.items()}
    assert {name: secrets for name, secrets in found.items() if secrets} == {}
    # A's publications really were served to the viewer, so the search above had something to look into.
    post, image, tag = published.post.id, published.image.id, published.crisis.tag
    showing_the_post = ["GET /feed/", f"GET /feed/posts/{post}/", f"GET /search/ {{'q': '{POST_WORD}'}}",
                        f"GET /crisis/{tag}/", f"GET /n/{alice.neighbourhood_id}/atom.xml", "API GET /api/v1/feed",
                        f"API GET /api/v1/posts/{post}", f"API GET /search q={POST_WORD}"]
    for name in showing_the_post:
        assert responses[name].status_code == 200, name
        assert POST_TITLE in text_of(responses[name]), name
    request_id = published.request.id
    for name in (f"GET /aid/requests/{request_id}/", f"API GET /api/v1/aid/requests/{request_id}", "GET /aid/map/",
                 "API GET /api/v1/aid/map"):
        assert responses[name].status_code == 200, name
        assert REQUEST_TEXT in text_of(responses[name]), name
    threads = [name for name in responses if re.fullmatch(r"GET /messages/\d+/", name)]
    assert len(threads) == 1 and MESSAGE_TEXT in text_of(responses[threads[0]])
    comments = responses[f"API GET /api/v1/posts/{post}/comments"]
    assert comments.status_code == 200 and [c["id"] for c in comments.json()["items"]] == [published.comment.id]
    for name in (f"GET /feed/images/{image}/", f"API GET /api/v1/images/{image}"):
        assert responses[name].status_code == 200 and responses[name]["Content-Type"].startswith("image/"), name


def test_the_photo_another_member_is_served_carries_no_position(client, published, bob):
    assert GPS_IFD in Image.open(photo_with_the_home_position()).getexif()  # what A uploaded did carry it
    client.force_login(bob.user)
    response = client.get(f"/feed/images/{published.image.id}/")
    assert response.status_code == 200
    served = Image.open(io.BytesIO(b"".join(response.streaming_content) if response.streaming else response.content))
    assert GPS_IFD not in served.getexif()
    assert not served.getexif()


def test_a_path_template_the_check_cannot_fill_fails_it():
    """The check above must stop, not skip, when a new route needs an id it does not create."""
    with pytest.raises(pytest.fail.Exception, match="report_id"):
        filled("/api/v1/reports/{report_id}", {"neighbourhood_id": [1]})
    with pytest.raises(pytest.fail.Exception, match="group_id"):
        filled("/groups/<int:group_id>/", {})
    assert filled("/n/<int:neighbourhood_id>/posts/{post_id}", {"neighbourhood_id": [1, 2], "post_id": [7]}) == [
        "/n/1/posts/7", "/n/2/posts/7"]


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
