"""Who may do what. Checked in actions, not only in views."""
from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from entraide.core.errors import Forbidden


def can_act(member) -> bool:
    """Post, contact, invite: verified members, or everyone while the operator relaxed verification."""
    if member is None:
        return False
    return member.is_verified or not settings.ENTRAIDE_REQUIRE_VERIFICATION


def require_can_act(member) -> None:
    if not can_act(member):
        raise Forbidden("verification_required",
                        _("Please verify your address first: until then you can read but not post or contact anyone."))
