"""Members: the profile beside Django's user, its private home, and the ways to prove it."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from entraide.places.models import Neighbourhood


class VerificationState(models.TextChoices):
    PENDING = "pending", _("Pending")
    VERIFIED = "verified", _("Verified")


class VerificationMethod(models.TextChoices):
    LETTER = "letter", _("Letter code")
    GEOLOCATION = "geolocation", _("Geolocation")
    INVITATION = "invitation", _("Invitation from a neighbour")
    OPERATOR = "operator", _("Operator")


class Member(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="member")
    display_name = models.CharField(_("display name"), max_length=80)
    language = models.CharField(_("language"), max_length=8, default="fr", choices=settings.LANGUAGES)
    # Private: the owner only (DESIGN.md, privacy rules).
    address_text = models.CharField(_("address"), max_length=300, blank=True)
    lat = models.FloatField()
    lon = models.FloatField()
    # Public: the H3 cell of home, computed once, and at most the street name.
    blurred_cell = models.CharField(max_length=20, db_index=True)
    street_name = models.CharField(_("street"), max_length=200, blank=True)
    location_precision = models.CharField(max_length=20, blank=True)
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.PROTECT, related_name="members",
                                      verbose_name=_("neighbourhood"))
    reads_nearby = models.ManyToManyField(Neighbourhood, blank=True, related_name="nearby_readers",
                                          verbose_name=_("nearby neighbourhoods read"))
    verification_state = models.CharField(max_length=10, choices=VerificationState.choices,
                                          default=VerificationState.PENDING, db_index=True)
    verification_method = models.CharField(max_length=12, choices=VerificationMethod.choices, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_verified(self) -> bool:
        return self.verification_state == VerificationState.VERIFIED

    @property
    def public_name(self) -> str:
        return public_name_of(self.display_name)


def public_name_of(display_name: str) -> str:
    """First name and the initial of the last (DESIGN.md, privacy rules)."""
    parts = display_name.split()
    if len(parts) < 2:
        return display_name
    return f"{parts[0]} {parts[-1][0].upper()}."


class LetterCode(models.Model):
    """A one-time code printed on a letter posted to the member's address."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="letter_codes")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    printed_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)


class InvitationCode(models.Model):
    """Issued by a verified member; verifies whoever uses it, in the issuer's neighbourhood only."""

    issuer = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="invitations_issued")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_by = models.OneToOneField(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitation_used")
    used_at = models.DateTimeField(null=True, blank=True)


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
