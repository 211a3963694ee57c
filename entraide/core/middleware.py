from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _


class ApiBodySizeMiddleware:
    """Refuse oversized API bodies with 413 before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.ENTRAIDE_MAX_BODY_BYTES:
                return JsonResponse(
                    {"code": "payload_too_large", "message": _("The request body is too large."), "fields": {}},
                    status=413,
                )
        return self.get_response(request)
