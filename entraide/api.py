"""The JSON API at /api/v1: one NinjaAPI, one router per domain."""
from ninja import NinjaAPI

from entraide.accounts.api import router as accounts_router
from entraide.aid.api import router as aid_router
from entraide.core.api import install_error_handlers
from entraide.feed.api import router as feed_router
from entraide.feed.search_api import router as search_router
from entraide.messaging.api import router as messaging_router
from entraide.notifications.api import router as notifications_router
from entraide.places.api import router as places_router

api = NinjaAPI(
    title="Entraide API",
    version="1",
    description="Neighbourhood mutual aid. Errors answer {code, message, fields}.",
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("/", accounts_router)
api.add_router("/", places_router)
api.add_router("/", feed_router)
api.add_router("/", search_router)
api.add_router("/", aid_router)
api.add_router("/", messaging_router)
api.add_router("/", notifications_router)


def api_not_found(request, *args, **kwargs):
    """Unknown paths under /api answer the JSON error body, like every other API error."""
    from django.http import JsonResponse
    from django.utils.translation import gettext as _

    return JsonResponse({"code": "not_found", "message": _("Not found."), "fields": {}}, status=404)
