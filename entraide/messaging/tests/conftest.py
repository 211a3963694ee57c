"""Fixtures of the conversation tests: neighbours of Saint-Gervais, one next door, one far away; an API client."""
from __future__ import annotations

import hashlib
import io
import json
import secrets
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from entraide.accounts.factories import MemberFactory
from entraide.accounts.models import ApiToken
from entraide.core import events

TRACEBACK_MARKERS = ("Traceback", 'File "', "site-packages")


@pytest.fixture
def alice(neighbourhood, nearby):
    """Verified, in Saint-Gervais; she also reads Saint-Merri next door."""
    member = MemberFactory(neighbourhood=neighbourhood, verified=True, display_name="Alice Martin", language="en")
    member.reads_nearby.add(nearby)
    return member


@pytest.fixture
def bob(neighbourhood):
    return MemberFactory(neighbourhood=neighbourhood, verified=True, display_name="Bruno Lefèvre", language="en")


@pytest.fixture
def pending(neighbourhood):
    """Not verified yet."""
    return MemberFactory(neighbourhood=neighbourhood, display_name="Paul Pending", language="en")


@pytest.fixture
def nadia(nearby):
    """Verified, in Saint-Merri, next to Saint-Gervais."""
    return MemberFactory(neighbourhood=nearby, verified=True, display_name="Nadia Benali", language="en")


@pytest.fixture
def zoe(far):
    """Verified, in Combat, far from Saint-Gervais."""
    return MemberFactory(neighbourhood=far, verified=True, display_name="Zoé Petit", language="en")


@pytest.fixture
def published():
    """Events heard by subscribers (only after commit)."""
    seen: list[dict] = []

    def receiver(sender, event, **kwargs):
        seen.append(event)

    events.event_published.connect(receiver)
    yield seen
    events.event_published.disconnect(receiver)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"


def picture(name: str = "photo.jpg", size=(64, 48)) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def window() -> dict:
    now = timezone.now()
    return {"window_start": now, "window_end": now + timedelta(hours=6)}


class Api:
    """A bearer-token client for one member."""

    def __init__(self, member) -> None:
        self.member = member
        self.client = Client()
        token = secrets.token_urlsafe(24)
        ApiToken.objects.create(user=member.user, key_hash=hashlib.sha256(token.encode()).hexdigest())
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path, params=None):
        return self.client.get("/api/v1" + path, params or {}, headers=self.headers)

    def send(self, method, path, body=None, raw=None):
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        return getattr(self.client, method)("/api/v1" + path, data=data, content_type="application/json",
                                            headers=self.headers)

    def post(self, path, body=None, raw=None):
        return self.send("post", path, body, raw)

    def delete(self, path):
        return self.send("delete", path)


@pytest.fixture
def api_for(db):
    return Api


def ok(response, status: int = 200):
    assert response.status_code == status, response.content.decode()
    return response.json() if response.content else None


def error(response, status: int, code: str) -> dict:
    text = response.content.decode()
    assert response.status_code == status, text
    body = response.json()
    assert set(body) == {"code", "message", "fields"} and body["code"] == code, body
    assert body["message"].strip()
    for marker in TRACEBACK_MARKERS:
        assert marker not in text
    return body
