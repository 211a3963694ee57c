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
            limit = settings.ENTRAIDE_MAX_BODY_BYTES
            if request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data"):
                # Uploads carry one picture; the image rules (size, pixels) are checked again on the file itself.
                limit = settings.ENTRAIDE_MAX_IMAGE_BYTES + settings.ENTRAIDE_MAX_BODY_BYTES
            if length > limit:
                return JsonResponse(
                    {"code": "payload_too_large", "message": _("The request body is too large."), "fields": {}},
                    status=413,
                )
        return self.get_response(request)
