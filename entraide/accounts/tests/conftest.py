"""API client helpers and members for the accounts tests (real quartiers come from entraide/conftest.py)."""
from __future__ import annotations

import json

import pytest
from django.test import Client

from entraide.accounts.factories import PASSWORD, MemberFactory

# A real address of the BAN sample: it lies in the quartier Combat (Paris 19e).
BOLIVAR = "67 av. Simon Bolivar"
BOLIVAR_POINT = (48.876376, 2.377185)
# Lyon, Place Bellecour: outside every Paris quartier.
LYON_POINT = (45.757814, 4.832011)
TRACEBACK_MARKERS = ("Traceback", 'File "', "site-packages", "line ")


class Api:
    """A thin JSON client for /api/v1 that knows the error body shape."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @staticmethod
    def _url(path: str) -> str:
        return path if path.startswith("/api/") else "/api/v1" + path

    @staticmethod
    def _headers(token: str | None, headers: dict | None) -> dict:
        out = dict(headers or {})
        if token:
            out["Authorization"] = f"Bearer {token}"
        return out

    def get(self, path: str, params: dict | None = None, *, token: str | None = None, headers: dict | None = None):
        return self.client.get(self._url(path), params or {}, headers=self._headers(token, headers))

    def send(self, method: str, path: str, body=None, *, token: str | None = None, raw: str | bytes | None = None,
             headers: dict | None = None):
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        return getattr(self.client, method)(self._url(path), data=data, content_type="application/json",
                                            headers=self._headers(token, headers))

    def post(self, path, body=None, **kwargs):
        return self.send("post", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.send("patch", path, body, **kwargs)

    @staticmethod
    def error(response, status: int, code: str) -> dict:
        """Assert the error body is exactly {code, message, fields}, with the expected status and code."""
        text = response.content.decode()
        assert response.status_code == status, text
        body = response.json()
        assert set(body) == {"code", "message", "fields"}, body
        assert body["code"] == code, body
        assert isinstance(body["message"], str) and body["message"].strip(), body
        assert isinstance(body["fields"], dict), body
        for marker in TRACEBACK_MARKERS:
            assert marker not in text, text
        return body


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is slow on purpose; tests hash with MD5 unless they check the real hasher (see test_api)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 "django.contrib.auth.hashers.Argon2PasswordHasher"]


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
def token_for(db):
    """Issue a real bearer token for a member through the token action."""
    from entraide.accounts.actions import do_issue_token

    def issue(member) -> str:
        return do_issue_token(email=member.user.email, password=PASSWORD, ip="10.0.0.1")

    return issue


@pytest.fixture
def member(neighbourhood):
    """A pending member of Saint-Gervais."""
    return MemberFactory(neighbourhood=neighbourhood, display_name="Bruno Lefèvre", user__email="bruno@example.org")


@pytest.fixture
def verified_member(neighbourhood):
    return MemberFactory(neighbourhood=neighbourhood, verified=True, display_name="Chloé Durand",
                         user__email="chloe@example.org")


@pytest.fixture
def combat(paris):
    """A quartier of the 19e, far from Saint-Gervais (not nearby)."""
    from entraide.places.models import Neighbourhood

    return Neighbourhood.objects.get(city=paris, name="Combat")


@pytest.fixture
def saint_merri(paris):
    """Next to Saint-Gervais."""
    from entraide.places.models import Neighbourhood

    return Neighbourhood.objects.get(city=paris, name="Saint-Merri")


@pytest.fixture
def row_counts(db):
    """Counts of every table a sign-up writes, to prove a refused sign-up left nothing behind."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    from entraide.accounts.models import ApiToken, Member

    def counts() -> dict[str, int]:
        return {"users": get_user_model().objects.count(), "members": Member.objects.count(),
                "emails": EmailAddress.objects.count(), "tokens": ApiToken.objects.count()}

    return counts


def signup_body(**overrides) -> dict:
    body = {"email": "new.neighbour@example.org", "password": "correct horse battery staple",
            "display_name": "Nadia Benali", "address": BOLIVAR}
    body.update(overrides)
    return body


@pytest.fixture
def signup():
    return signup_body
