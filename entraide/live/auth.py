"""Who is on the other end of a WebSocket: a bearer token, or the session cookie from one of our own pages.

A token (`Authorization: Bearer X`, or `?token=X` since browsers cannot set headers on a WebSocket) is not an
ambient credential: a page on another site cannot send it without knowing it, so its Origin does not matter and a
missing one (a script, a mobile app) is fine. The session cookie is ambient: a page on any site could open a
WebSocket carrying it (cross-site WebSocket hijacking), so a cookie connection must come from one of our origins:
the host the browser connected to (any port), a host named in ALLOWED_HOSTS, or an origin of CSRF_TRUSTED_ORIGINS.
A wildcard `*` in ALLOWED_HOSTS (common behind a proxy) only says which Host headers to answer: it never makes
every site's pages an origin of ours. When a token is given, the cookie is never looked at: a bad token cannot
fall back to it.

The middleware only decides and records `scope["live_member"]` (a Member or None) and `scope["live_refusal"]`
(None, "bad_origin" or "not_authenticated"); the consumer accepts and closes with a clear code, so clients see
4401/4403 rather than a bare failed handshake.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain


def bearer_token(scope: dict) -> str | None:
    """The token of the Authorization header, else of the `token` query parameter; None when neither is given."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin1").partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    if "token" in query:
        return query["token"][0]
    return None


def _header(scope: dict, wanted: bytes) -> str | None:
    value = None
    for name, raw in scope.get("headers", []):
        if name == wanted:
            value = raw.decode("latin1")
    return value


def _trusted(origin: str, netloc: str, scheme: str) -> bool:
    """Django's CSRF_TRUSTED_ORIGINS rule: exact origins, or `https://*.example.org` for subdomains."""
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "*" not in trusted:
            if trusted.rstrip("/") == origin:
                return True
            continue
        trusted_scheme, _, pattern = trusted.partition("://")
        if trusted_scheme == scheme and is_same_domain(netloc, pattern.replace("*", "", 1)):
            return True
    return False


def origin_allowed(scope: dict) -> bool:
    """The Origin header is one of ours: the Host connected to (any port, as pages and WebSockets may be served on
    two ports of the same host), a host of ALLOWED_HOSTS other than `*` (channels' own matching), or trusted."""
    origin = _header(scope, b"origin")
    if origin is None:
        return False
    try:
        parsed = urlparse(origin)
        hostname = parsed.hostname
    except ValueError:
        return False
    if parsed.scheme not in ("http", "https") or not hostname:
        return False
    host = _header(scope, b"host")
    if host:
        domain, _ = split_domain_port(host.lower())
        if domain and domain.strip("[]") == hostname and validate_host(domain, list(settings.ALLOWED_HOSTS)):
            return True
    if _trusted(origin.rstrip("/").lower(), parsed.netloc.lower(), parsed.scheme):
        return True
    patterns = [h for h in settings.ALLOWED_HOSTS if h != "*"]
    return bool(patterns) and OriginValidator(None, patterns).validate_origin(parsed)


@database_sync_to_async
def _member_for_token(token: str):
    from entraide.accounts.queries import member_of, user_for_token

    return member_of(user_for_token(token)) if token else None


@database_sync_to_async
def _member_of(user):
    from entraide.accounts.queries import member_of

    return member_of(user)


class LiveAuthMiddleware:
    """Sits inside channels' CookieMiddleware + SessionMiddleware (`scope["session"]`)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        scope = dict(scope, live_member=None, live_refusal=None)
        token = bearer_token(scope)
        if token is not None:
            scope["live_member"] = await _member_for_token(token)
        elif not origin_allowed(scope):
            scope["live_refusal"] = "bad_origin"
        else:
            scope["live_member"] = await _member_of(await get_user(scope))
        if scope["live_refusal"] is None and scope["live_member"] is None:
            scope["live_refusal"] = "not_authenticated"
        return await self.app(scope, receive, send)
