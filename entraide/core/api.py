"""What every router shares: authentication, the error body and its handlers (DESIGN.md, API)."""
from __future__ import annotations

import json
import logging
from typing import Any, Callable

from django.http import Http404, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.responses import NinjaJSONEncoder
from ninja.security import HttpBearer, SessionAuth

from .errors import EntraideError

log = logging.getLogger("entraide.api")


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


class BearerAuth(HttpBearer):
    """`Authorization: Bearer TOKEN` for mobile clients and scripts.

    `lookup(request, token)`, if given, finds the token's user instead of accounts.queries.user_for_token: an
    endpoint may read more in the token's own query (feed/api.py). One class, so one scheme in the OpenAPI schema.
    """

    def __init__(self, lookup: Callable[[Any, str], Any] | None = None) -> None:
        super().__init__()
        self.lookup = lookup

    def authenticate(self, request, token: str):
        from entraide.accounts.queries import user_for_token

        user = user_for_token(token) if self.lookup is None else self.lookup(request, token)
        if user is None:
            return None
        request.user = user
        member = getattr(user, "member", None)
        if member is not None and member.language:
            translation.activate(member.language)
            request.LANGUAGE_CODE = member.language
        return user


def json_ok(body: dict) -> HttpResponse:
    """A 200 JSON answer encoded exactly as django-ninja encodes one, without its pydantic pass over the output.

    For the busiest reads (feed, search), whose bodies are built from our own dataclasses: validating them again
    costs a third of a request and proves nothing. Their schemas still document them, and tests hold each body to
    its schema.
    """
    return HttpResponse(json.dumps(body, cls=NinjaJSONEncoder), content_type="application/json; charset=utf-8")


# Session auth checks CSRF on unsafe methods; bearer tokens are not cookies, so they need none.
member_auth = [BearerAuth(), SessionAuth()]

_STATUS_CODES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 409: "conflict", 413: "payload_too_large", 429: "rate_limited"}


def _fields_from(errors: list[dict]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "payload", "query", "path")]
        name = ".".join(loc) or "__all__"
        fields.setdefault(name, []).append(str(error.get("msg", "invalid")))
    return fields


def install_error_handlers(api: NinjaAPI) -> None:
    def body(request, status: int, code: str, message: str, fields=None, headers=None):
        response = api.create_response(request, {"code": code, "message": message, "fields": fields or {}}, status=status)
        for key, value in (headers or {}).items():
            response[key] = value
        return response

    @api.exception_handler(EntraideError)
    def entraide_error(request, exc: EntraideError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return body(request, exc.status, exc.code, exc.message, exc.fields, headers)

    @api.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        return body(request, 422, "invalid_input", _("Some fields are invalid."), _fields_from(exc.errors))

    @api.exception_handler(AuthenticationError)
    def authentication_error(request, exc):
        return body(request, 401, "not_authenticated", _("Please log in first."))

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return body(request, 404, "not_found", _("Not found."))

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        if exc.status_code == 403 and "CSRF" in str(exc):
            return body(request, 403, "csrf_failed", _("Your session form token is missing or expired. Reload the page and try again."))
        return body(request, exc.status_code, _STATUS_CODES.get(exc.status_code, "error"), str(exc))

    @api.exception_handler(Exception)
    def server_error(request, exc: Exception):
        # The type only: messages may carry user data (DESIGN.md, privacy rules).
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.path)
        return body(request, 500, "server_error", _("Something went wrong on our side."))
