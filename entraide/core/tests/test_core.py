"""The shared mechanisms: body size limits, rate limits, events after commit, JSON errors under /api."""
from __future__ import annotations

import pytest
from django.db import transaction
from django.test import RequestFactory

from entraide.core import events, ratelimit
from entraide.core.errors import RateLimited
from entraide.core.middleware import ApiBodySizeMiddleware


def _through_middleware(**meta):
    request = RequestFactory().post("/api/v1/posts/1/images", **meta)
    return ApiBodySizeMiddleware(lambda r: "passed")(request)


def test_a_json_body_over_the_limit_is_refused_with_413(settings):
    response = _through_middleware(CONTENT_LENGTH=str(settings.ENTRAIDE_MAX_BODY_BYTES + 1), CONTENT_TYPE="application/json")
    assert response.status_code == 413
    assert b'"code": "payload_too_large"' in response.content


def test_a_photo_upload_may_be_larger_than_a_json_body(settings):
    size = settings.ENTRAIDE_MAX_BODY_BYTES * 10
    assert size < settings.ENTRAIDE_MAX_IMAGE_BYTES
    assert _through_middleware(CONTENT_LENGTH=str(size), CONTENT_TYPE="multipart/form-data; boundary=x") == "passed"


def test_an_upload_over_the_image_limit_is_still_refused(settings):
    size = settings.ENTRAIDE_MAX_IMAGE_BYTES + settings.ENTRAIDE_MAX_BODY_BYTES + 1
    response = _through_middleware(CONTENT_LENGTH=str(size), CONTENT_TYPE="multipart/form-data; boundary=x")
    assert response.status_code == 413


def test_pages_are_not_limited_by_the_api_body_rule(settings):
    request = RequestFactory().post("/accounts/signup/", CONTENT_LENGTH=str(settings.ENTRAIDE_MAX_BODY_BYTES + 1))
    assert ApiBodySizeMiddleware(lambda r: "passed")(request) == "passed"


def test_rate_limit_refuses_past_the_limit_and_says_when_to_retry():
    for _ in range(3):
        ratelimit.hit("test", "k", limit=3, window_s=60)
    with pytest.raises(RateLimited) as refused:
        ratelimit.hit("test", "k", limit=3, window_s=60)
    assert 1 <= refused.value.retry_after <= 60
    ratelimit.hit("test", "another-key", limit=3, window_s=60)


@pytest.mark.django_db(transaction=True)
def test_events_are_heard_only_after_commit_and_never_after_rollback():
    heard: list[str] = []

    def receiver(sender, event, **kwargs):
        heard.append(event["type"])

    events.event_published.connect(receiver)
    try:
        with transaction.atomic():
            events.publish("thing.created", {"id": 1}, neighbourhood_id=1)
            assert heard == []
        assert heard == ["thing.created"]
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                events.publish("thing.rolled_back", {"id": 2})
                raise RuntimeError
        assert heard == ["thing.created"]
    finally:
        events.event_published.disconnect(receiver)


@pytest.mark.django_db
def test_unknown_api_paths_answer_the_json_error_body(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": response.json()["message"], "fields": {}}


@pytest.mark.django_db
def test_the_api_docs_page_loads_no_asset_from_another_host(client):
    html = client.get("/api/v1/docs").content.decode()
    assert "cdn.jsdelivr" not in html and "unpkg" not in html
    assert "/static/ninja/" in html


@pytest.mark.django_db(transaction=True)
def test_the_demo_loads_the_city_and_members_that_can_log_in(client):
    from django.core.management import call_command

    from entraide.accounts.models import Member
    from entraide.core.management.commands.demo import DEMO_PASSWORD
    from entraide.places.models import Neighbourhood

    call_command("demo", no_serve=True, verbosity=0)
    assert Neighbourhood.objects.filter(city__name="Paris").count() == 80
    assert Neighbourhood.objects.filter(city__name="Petite couronne").count() == 123
    camille = Member.objects.get(user__email="camille@demo.entraide.fr")
    assert camille.neighbourhood.name == "Combat" and camille.is_verified
    assert Member.objects.get(user__email="jeanne@demo.entraide.fr").verification_state == "pending"
    assert client.login(email="camille@demo.entraide.fr", password=DEMO_PASSWORD)
    from entraide.feed.queries import feed_page

    karim = Member.objects.get(user__email="karim@demo.entraide.fr")
    assert karim.neighbourhood in camille.neighbourhood.nearby.all()
    seen_by_karim = {post.title for post in feed_page(karim).items}
    assert "Je fais les courses pour les personnes à risque" in seen_by_karim  # Camille's, in Combat
    call_command("demo", no_serve=True, verbosity=0)  # a second run changes nothing
    assert Member.objects.count() == 4
