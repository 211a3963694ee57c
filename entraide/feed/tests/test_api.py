"""The feed API under /api/v1: shapes, scope (404), permissions (403), bad input (422), limits (429)."""
from __future__ import annotations

import hashlib
import json
import secrets

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from entraide.accounts.models import ApiToken
from entraide.feed.factories import CommentFactory, CrisisFactory, PostFactory
from entraide.feed.models import KindnessPrompt, Post, PostImage

from .test_images import jpeg_bytes

TRACEBACK_MARKERS = ("Traceback", 'File "', "site-packages")


class Api:
    def __init__(self, member) -> None:
        self.client = Client()
        token = secrets.token_urlsafe(24)
        ApiToken.objects.create(user=member.user, key_hash=hashlib.sha256(token.encode()).hexdigest())
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path, params=None):
        return self.client.get("/api/v1" + path, params or {}, headers=self.headers)

    def send(self, method, path, body=None):
        return getattr(self.client, method)("/api/v1" + path, data=json.dumps(body or {}),
                                            content_type="application/json", headers=self.headers)

    def post(self, path, body=None):
        return self.send("post", path, body)

    def patch(self, path, body=None):
        return self.send("patch", path, body)

    def delete(self, path):
        return self.client.delete("/api/v1" + path, headers=self.headers)

    def upload(self, path, data: bytes, name="photo.jpg"):
        return self.client.post("/api/v1" + path, {"image": SimpleUploadedFile(name, data, content_type="image/jpeg")},
                                headers=self.headers)


def error(response, status: int, code: str) -> dict:
    text = response.content.decode()
    assert response.status_code == status, text
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == code, body
    assert body["message"].strip()
    for marker in TRACEBACK_MARKERS:
        assert marker not in text
    return body


@pytest.fixture
def as_alice(alice):
    return Api(alice)


@pytest.fixture
def as_bob(bob):
    return Api(bob)


@pytest.fixture
def as_zoe(zoe):
    return Api(zoe)


NEW_POST = {"category": "give_lend", "title": "Perceuse", "body": "Je prête une **perceuse**.",
            "audience": "neighbourhood", "tags": ["bricolage"]}


# --- posts ------------------------------------------------------------------------------------------------------

def test_publishing_a_post_answers_201_with_the_post(as_alice, home):
    response = as_alice.post("/posts", NEW_POST)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["author"] == "Alice M."
    assert body["neighbourhood"] == {"id": home.id, "name": "Saint-Gervais"}
    assert body["category"] == "give_lend" and body["audience"] == "neighbourhood"
    assert body["title"] == "Perceuse" and body["body"] == "Je prête une **perceuse**."
    assert body["body_html"] == "<p>Je prête une <strong>perceuse</strong>.</p>"
    assert body["tags"] == ["bricolage"] and body["images"] == [] and body["crisis"] is None
    assert body["comment_count"] == 0 and body["thanks_count"] == 0 and body["thanked_by_me"] is False
    assert body["edited_at"] is None and body["created_at"].endswith(("Z", "+00:00"))
    assert body["is_mine"] is True and body["can_edit"] is True
    for private in ("author_id", "email", "address", "lat", "lon"):
        assert private not in body


def test_an_unknown_category_answers_422(as_alice):
    body = error(as_alice.post("/posts", {**NEW_POST, "category": "party"}), 422, "invalid_category")
    assert "category" in body["fields"]
    assert not Post.objects.exists()


@pytest.mark.parametrize("payload", [{"category": "general"}, {"body": "x"}, {"category": "general", "body": 3},
                                     {"category": "general", "body": "x", "tags": "notalist"}])
def test_malformed_posts_answer_422(as_alice, payload):
    error(as_alice.post("/posts", payload), 422, "invalid_input")


def test_an_urgent_alert_over_140_characters_answers_422(as_alice):
    error(as_alice.post("/posts", {**NEW_POST, "category": "urgent", "body": "x" * 141}), 422, "urgent_too_long")


def test_an_unverified_member_cannot_post_comment_or_thank_through_the_api(pending, alice):
    as_pending = Api(pending)
    post = PostFactory(author=alice)
    comment = CommentFactory(post=post, author=alice)
    error(as_pending.post("/posts", NEW_POST), 403, "verification_required")
    error(as_pending.post(f"/posts/{post.id}/comments", {"body": "x"}), 403, "verification_required")
    error(as_pending.post(f"/posts/{post.id}/thanks"), 403, "verification_required")
    error(as_pending.post(f"/comments/{comment.id}/thanks"), 403, "verification_required")
    assert as_pending.get("/feed").status_code == 200  # reading is fine


def test_without_credentials_every_endpoint_answers_401(alice):
    post = PostFactory(author=alice)
    client = Client()
    for method, path in [("get", "/feed"), ("post", "/posts"), ("get", f"/posts/{post.id}"),
                         ("get", f"/posts/{post.id}/comments"), ("post", f"/posts/{post.id}/thanks"),
                         ("get", "/crises")]:
        error(getattr(client, method)("/api/v1" + path), 401, "not_authenticated")


def test_reading_a_post_of_another_neighbourhood_answers_404(as_zoe, alice):
    post = PostFactory(author=alice, audience="nearby")
    comment = CommentFactory(post=post, author=alice)
    error(as_zoe.get(f"/posts/{post.id}"), 404, "not_found")
    error(as_zoe.get(f"/posts/{post.id}/comments"), 404, "not_found")
    error(as_zoe.post(f"/posts/{post.id}/comments", {"body": "x"}), 404, "not_found")
    error(as_zoe.post(f"/posts/{post.id}/thanks"), 404, "not_found")
    error(as_zoe.post(f"/comments/{comment.id}/thanks"), 404, "not_found")
    error(as_zoe.patch(f"/posts/{post.id}", {"body": "x"}), 404, "not_found")
    error(as_zoe.delete(f"/posts/{post.id}"), 404, "not_found")
    error(as_zoe.get("/posts/999999"), 404, "not_found")  # same answer as a post that does not exist
    assert as_zoe.get("/feed").json() == {"items": [], "next_cursor": None}


def test_a_chosen_nearby_neighbourhood_shows_its_posts_open_to_nearby(nadia, home, alice):
    nadia.reads_nearby.add(home)
    open_ = PostFactory(author=alice, audience="nearby")
    closed = PostFactory(author=alice)
    api = Api(nadia)
    assert [p["id"] for p in api.get("/feed").json()["items"]] == [open_.id]
    assert api.get(f"/posts/{open_.id}").status_code == 200
    error(api.get(f"/posts/{closed.id}"), 404, "not_found")


def test_editing_someone_elses_post_answers_403_and_the_author_edits(as_alice, as_bob, alice):
    post = PostFactory(author=alice)
    error(as_bob.patch(f"/posts/{post.id}", {"body": "Piraté"}), 403, "not_author")
    error(as_bob.delete(f"/posts/{post.id}"), 403, "not_author")
    response = as_alice.patch(f"/posts/{post.id}", {"body": "_Corrigé_", "tags": ["Neuf"]})
    assert response.status_code == 200, response.content
    assert response.json()["body_html"] == "<p><em>Corrigé</em></p>" and response.json()["edited_at"]
    assert response.json()["tags"] == ["neuf"]


def test_the_author_deletes_a_post(as_alice, alice):
    post = PostFactory(author=alice)
    response = as_alice.delete(f"/posts/{post.id}")
    assert response.status_code == 204 and not Post.objects.exists()


def test_script_injection_comes_back_as_inert_json(as_alice, as_bob):
    created = as_alice.post("/posts", {**NEW_POST, "title": "<script>alert(1)</script>",
                                       "body": "<img src=x onerror=alert(1)>", "tags": ["<b>x</b>"]}).json()
    assert created["title"] == "<script>alert(1)</script>"  # text, for the client to escape
    assert "<img" not in created["body_html"] and created["tags"] == ["b-x-b"]
    comment = as_bob.post(f"/posts/{created['id']}/comments", {"body": "<script>alert(2)</script>"})
    assert comment["Content-Type"].startswith("application/json")
    assert "<script" not in comment.json()["body_html"]


# --- feed -------------------------------------------------------------------------------------------------------

def test_the_feed_pages_with_a_cursor_and_filters(as_alice, alice, bob):
    posts = [PostFactory(author=alice, category="advice" if i % 2 else "general", tags=["chat"] if i < 3 else [])
             for i in range(7)]
    first = as_alice.get("/feed", {"limit": 4}).json()
    assert [p["id"] for p in first["items"]] == [p.id for p in reversed(posts)][:4]
    PostFactory(author=bob)  # a new post while scrolling
    second = as_alice.get("/feed", {"limit": 4, "cursor": first["next_cursor"]}).json()
    assert [p["id"] for p in second["items"]] == [p.id for p in reversed(posts)][4:]
    assert second["next_cursor"] is None
    assert {p["category"] for p in as_alice.get("/feed", {"category": "advice"}).json()["items"]} == {"advice"}
    assert [p["id"] for p in as_alice.get("/feed", {"tag": "chat"}).json()["items"]] == [posts[2].id, posts[1].id,
                                                                                       posts[0].id]
    error(as_alice.get("/feed", {"category": "party"}), 422, "invalid_category")
    error(as_alice.get("/feed", {"scope": "city"}), 422, "invalid_input")
    error(as_alice.get("/feed", {"cursor": "garbage"}), 422, "invalid_cursor")


def test_the_feed_body_is_exactly_what_its_documented_schema_says(as_alice, as_bob, alice, bob, media_root):
    """The feed endpoint writes its JSON itself (no pydantic pass on the way out): hold it to FeedOut."""
    from entraide.feed.api import FeedOut, PostOut

    crisis = CrisisFactory(tag="canicule")
    pinned = PostFactory(author=bob, pinned=True, official=True, tags=["eau"], crisis=crisis)
    mine = PostFactory(author=alice, title="Perceuse", body="Je *prête* ma perceuse")
    assert as_alice.upload(f"/posts/{mine.id}/images", jpeg_bytes()).status_code == 201
    assert as_bob.post(f"/posts/{mine.id}/thanks").status_code == 200
    assert as_alice.post(f"/posts/{pinned.id}/thanks").status_code == 200
    body = as_alice.get("/feed").json()
    assert set(body) == set(FeedOut.model_fields)
    assert len(body["items"]) == 2
    for item in body["items"]:
        assert set(item) == set(PostOut.model_fields)
        # The single-post endpoint answers through pydantic: same names, values and formats, to the character.
        assert item == as_alice.get(f"/posts/{item['id']}").json()
    by_id = {item["id"]: item for item in body["items"]}
    top = body["items"][0]
    assert top["id"] == pinned.id and top["pinned"] and top["official"]
    assert (top["crisis"], top["tags"], top["thanked_by_me"], top["is_mine"]) == ("canicule", ["eau"], True, False)
    assert top["author"] == bob.public_name and top["neighbourhood"] == {"id": bob.neighbourhood_id,
                                                                         "name": bob.neighbourhood.name}
    own = by_id[mine.id]
    assert (own["is_mine"], own["can_edit"], own["thanks_count"], own["thanked_by_me"]) == (True, True, 1, False)
    assert [set(image) for image in own["images"]] == [{"url", "width", "height"}]
    assert as_alice.client.get(own["images"][0]["url"], headers=as_alice.headers).status_code == 200


def test_the_crisis_filter_and_the_list_of_active_crises(as_alice, alice):
    crisis = CrisisFactory(name="Canicule", tag="canicule", banner="Hydratez-vous")
    during = PostFactory(author=alice, crisis=crisis)
    PostFactory(author=alice)
    assert [p["id"] for p in as_alice.get("/feed", {"crisis": "true"}).json()["items"]] == [during.id]
    assert [p["id"] for p in as_alice.get("/feed", {"crisis": "canicule"}).json()["items"]] == [during.id]
    crises = as_alice.get("/crises").json()
    assert [(c["tag"], c["banner"]) for c in crises] == [("canicule", "Hydratez-vous")]
    created = as_alice.post("/posts", {**NEW_POST, "crisis_tag": "canicule"})
    assert created.status_code == 201 and created.json()["crisis"] == "canicule"
    error(as_alice.post("/posts", {**NEW_POST, "crisis_tag": "inconnue"}), 422, "unknown_crisis")


def test_a_feed_request_costs_the_same_for_5_or_50_posts(as_alice, alice, bob, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(55):
        PostFactory(author=bob if i % 2 else alice)
    as_alice.get("/feed")  # the first use of a token records when it was last used
    counts = []
    for limit in (5, 50):
        # The whole request: the bearer-token lookup, readable neighbourhoods, the page (issue 3: at most six).
        with django_assert_max_num_queries(3), CaptureQueriesContext(connection) as ctx:
            assert len(as_alice.get("/feed", {"limit": limit}).json()["items"]) == limit
        counts.append(len(ctx))
    assert counts[0] == counts[1]


# --- comments and thanks ----------------------------------------------------------------------------------------

def test_comments_replies_and_thanks_through_the_api(as_alice, as_bob, alice):
    post = PostFactory(author=alice)
    top = as_bob.post(f"/posts/{post.id}/comments", {"body": "Je peux *aider*"})
    assert top.status_code == 201, top.content
    top = top.json()
    assert top["author"] == "Bruno L." and top["body_html"] == "<p>Je peux <em>aider</em></p>" and top["parent_id"] is None
    reply = as_alice.post(f"/posts/{post.id}/comments", {"body": "Merci !", "parent_id": top["id"]}).json()
    assert reply["parent_id"] == top["id"]
    thread = as_alice.get(f"/posts/{post.id}/comments").json()
    assert [c["id"] for c in thread["items"]] == [top["id"]]
    assert [r["id"] for r in thread["items"][0]["replies"]] == [reply["id"]]
    assert as_bob.post(f"/posts/{post.id}/thanks").json() == {"thanks_count": 1, "thanked_by_me": True}
    assert as_bob.post(f"/posts/{post.id}/thanks").json() == {"thanks_count": 1, "thanked_by_me": True}
    assert as_alice.post(f"/comments/{top['id']}/thanks").json()["thanks_count"] == 1
    error(as_alice.post(f"/posts/{post.id}/thanks"), 409, "cannot_thank_self")
    read = as_bob.get(f"/posts/{post.id}").json()
    assert read["comment_count"] == 2 and read["thanks_count"] == 1 and read["thanked_by_me"] is True
    error(as_alice.post(f"/posts/{post.id}/comments", {"body": "x", "parent_id": 999999}), 422, "invalid_parent")


def test_an_author_who_moved_away_deletes_their_old_post_and_comment_others_still_cannot(as_alice, as_bob, as_zoe,
                                                                                        alice, bob, far):
    from entraide.feed import actions
    from entraide.feed.models import Comment

    post = PostFactory(author=alice)
    theirs = PostFactory(author=alice)
    comment = actions.do_create_comment(bob, theirs.id, body="Je peux aider")
    mine_elsewhere = actions.do_create_comment(alice, post.id, body="Précision")
    bob.neighbourhood = far
    bob.save(update_fields=["neighbourhood"])
    alice.neighbourhood = far
    alice.save(update_fields=["neighbourhood"])
    error(as_alice.get(f"/posts/{post.id}"), 404, "not_found")  # out of her reach now
    error(as_zoe.delete(f"/posts/{theirs.id}"), 404, "not_found")
    error(as_zoe.delete(f"/comments/{comment.id}"), 404, "not_found")
    assert as_alice.delete(f"/comments/{mine_elsewhere.id}").status_code == 204
    assert as_alice.delete(f"/posts/{post.id}").status_code == 204
    assert as_bob.delete(f"/comments/{comment.id}").status_code == 204
    assert list(Post.objects.values_list("id", flat=True)) == [theirs.id]
    assert not Comment.objects.exists() and Post.objects.get(id=theirs.id).comment_count == 0


def test_only_the_author_edits_or_deletes_a_comment(as_alice, as_bob, alice):
    post = PostFactory(author=alice)
    comment = as_bob.post(f"/posts/{post.id}/comments", {"body": "Avant"}).json()
    error(as_alice.patch(f"/comments/{comment['id']}", {"body": "Piraté"}), 403, "not_author")
    error(as_alice.delete(f"/comments/{comment['id']}"), 403, "not_author")
    edited = as_bob.patch(f"/comments/{comment['id']}", {"body": "Après"})
    assert edited.status_code == 200 and edited.json()["body"] == "Après" and edited.json()["edited_at"]
    assert as_bob.delete(f"/comments/{comment['id']}").status_code == 204
    assert as_alice.get(f"/posts/{post.id}").json()["comment_count"] == 0


def test_the_kindness_check_then_publishing_anyway(as_alice):
    harsh = {**NEW_POST, "body": "Le connard du 2e fait du bruit"}
    body = error(as_alice.post("/posts", harsh), 422, "kindness_check")
    assert body["fields"] == {"body": ["connard"]}
    assert as_alice.post("/posts", {**harsh, "confirm_kindness": True}).status_code == 201
    outcomes = sorted(KindnessPrompt.objects.values_list("outcome", flat=True))
    assert outcomes == ["published_anyway", "shown"]


def test_a_client_that_always_sends_confirm_kindness_counts_no_reminder_outcome(as_alice):
    harsh = {**NEW_POST, "body": "Le connard du 2e fait du bruit", "confirm_kindness": True}
    gentle = {**NEW_POST, "body": "Le voisin du 2e fait du bruit", "confirm_kindness": True}
    for payload in (harsh, gentle, harsh):
        assert as_alice.post("/posts", payload).status_code == 201
    assert not KindnessPrompt.objects.exists()


def test_the_kindness_check_then_rewording_is_counted_once(as_alice):
    harsh = {**NEW_POST, "body": "Le connard du 2e fait du bruit"}
    error(as_alice.post("/posts", harsh), 422, "kindness_check")
    gentle = {**NEW_POST, "body": "Le voisin du 2e fait du bruit", "confirm_kindness": True}
    assert as_alice.post("/posts", gentle).status_code == 201
    assert as_alice.post("/posts", gentle).status_code == 201  # a second post answers no reminder
    outcomes = sorted(KindnessPrompt.objects.values_list("outcome", flat=True))
    assert outcomes == ["reworded", "shown"]


# --- limits -----------------------------------------------------------------------------------------------------

def test_too_many_posts_answer_429_with_retry_after(as_alice):
    for _ in range(5):
        assert as_alice.post("/posts", NEW_POST).status_code == 201
    response = as_alice.post("/posts", NEW_POST)
    error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_too_many_comments_answer_429_with_retry_after(as_bob, alice):
    post = PostFactory(author=alice)
    for i in range(20):
        assert as_bob.post(f"/posts/{post.id}/comments", {"body": f"c{i}"}).status_code == 201
    response = as_bob.post(f"/posts/{post.id}/comments", {"body": "encore"})
    error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1


# --- pictures ---------------------------------------------------------------------------------------------------

def test_the_author_uploads_pictures_that_members_in_scope_can_fetch(as_alice, as_bob, as_zoe, alice, media_root):
    post = PostFactory(author=alice, audience="nearby")
    response = as_alice.upload(f"/posts/{post.id}/images", jpeg_bytes((1800, 900), gps=True))
    assert response.status_code == 201, response.content
    (image,) = response.json()["images"]
    assert (image["width"], image["height"]) == (1600, 800)
    fetched = as_bob.client.get(image["url"], headers=as_bob.headers)
    assert fetched.status_code == 200 and fetched["Content-Type"] == "image/jpeg"
    stored = Image.open(__import__("io").BytesIO(b"".join(fetched.streaming_content)))
    assert stored.size == (1600, 800) and len(stored.getexif()) == 0
    error(as_zoe.client.get(image["url"], headers=as_zoe.headers), 404, "not_found")
    error(as_zoe.upload(f"/posts/{post.id}/images", jpeg_bytes((20, 20))), 404, "not_found")


def test_only_the_author_uploads_and_at_most_four(as_alice, as_bob, alice, media_root):
    post = PostFactory(author=alice)
    error(as_bob.upload(f"/posts/{post.id}/images", jpeg_bytes((20, 20))), 403, "not_author")
    for _ in range(4):
        assert as_alice.upload(f"/posts/{post.id}/images", jpeg_bytes((20, 20))).status_code == 201
    error(as_alice.upload(f"/posts/{post.id}/images", jpeg_bytes((20, 20))), 422, "too_many_images")
    assert PostImage.objects.count() == 4


def test_a_text_file_named_jpg_answers_invalid_image(as_alice, alice, media_root):
    post = PostFactory(author=alice)
    error(as_alice.upload(f"/posts/{post.id}/images", b"just some text\n", "photo.jpg"), 422, "invalid_image")
    response = as_alice.client.post(f"/api/v1/posts/{post.id}/images", {}, headers=as_alice.headers)
    error(response, 422, "invalid_input")
    assert not PostImage.objects.exists()


# --- schema -----------------------------------------------------------------------------------------------------

def test_every_feed_endpoint_is_in_the_openapi_schema_with_its_schemas(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    expected = {"/api/v1/feed": {"get"}, "/api/v1/posts": {"post"}, "/api/v1/posts/{post_id}": {"get", "patch", "delete"},
                "/api/v1/posts/{post_id}/comments": {"get", "post"}, "/api/v1/posts/{post_id}/thanks": {"post"},
                "/api/v1/comments/{comment_id}/thanks": {"post"}, "/api/v1/comments/{comment_id}": {"patch", "delete"},
                "/api/v1/posts/{post_id}/images": {"post"}, "/api/v1/crises": {"get"}}
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            operation = paths[path][method]
            assert "feed" in operation["tags"]
            assert any(str(code).startswith("2") for code in operation["responses"])
            assert "404" in operation["responses"] and "401" in operation["responses"]
    assert "multipart/form-data" in paths["/api/v1/posts/{post_id}/images"]["post"]["requestBody"]["content"]
    post_in = schema["components"]["schemas"]["PostIn"]
    assert set(post_in["properties"]["category"]["enum"]) >= {"general", "urgent", "lost_found"}
    assert {"id", "author", "neighbourhood", "body_html", "thanked_by_me", "images"} <= set(
        schema["components"]["schemas"]["PostOut"]["properties"])


# --- admin ------------------------------------------------------------------------------------------------------

def test_operators_pin_posts_and_see_kindness_counts_in_the_admin(alice, home):
    from django.contrib.auth import get_user_model

    from entraide.feed.models import Crisis

    operator = get_user_model().objects.create_superuser("operator", "op@example.org", "a-long-operator-password")
    client = Client()
    client.force_login(operator)
    post = PostFactory(author=alice)
    comment = CommentFactory(post=post, author=alice)
    Post.objects.filter(id=post.id).update(comment_count=1)
    CrisisFactory()
    for outcome in ("shown", "shown", "reworded"):
        KindnessPrompt.objects.create(neighbourhood=home, kind="post", outcome=outcome)
    assert client.get("/admin/feed/post/").status_code == 200
    assert client.get(f"/admin/feed/post/{post.id}/change/").status_code == 200
    assert client.get(f"/admin/feed/crisis/{Crisis.objects.get().id}/change/").status_code == 200
    page = client.get("/admin/feed/kindnessprompt/").content.decode()
    assert "Shown: 2" in page and "Reworded: 1" in page and "Published Anyway: 0" in page
    data = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(post.id),
            "form-0-pinned": "on", "form-0-official": "on", "_save": "Save"}
    assert client.post("/admin/feed/post/", data).status_code == 302
    post.refresh_from_db()
    assert post.pinned and post.official
    assert client.post(f"/admin/feed/comment/{comment.id}/delete/", {"post": "yes"}).status_code == 302
    assert Post.objects.get(id=post.id).comment_count == 0
