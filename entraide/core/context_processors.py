from django.conf import settings


def entraide(request):
    member = getattr(getattr(request, "user", None), "member", None) if getattr(request, "user", None) and request.user.is_authenticated else None
    return {
        "tile_url": settings.ENTRAIDE_TILE_URL,
        "tile_attribution": settings.ENTRAIDE_TILE_ATTRIBUTION,
        "require_verification": settings.ENTRAIDE_REQUIRE_VERIFICATION,
        "current_member": member,
    }
