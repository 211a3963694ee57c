"""Mutual aid: help requests, helpers' offers, match proposals and each request's history (DESIGN.md)."""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from entraide.accounts.models import Member
from entraide.places.models import Neighbourhood


class HelpType(models.TextChoices):
    GROCERIES = "groceries", _("Groceries")
    PHARMACY = "pharmacy", _("Pharmacy run")
    CHILDCARE = "childcare", _("Childcare")
    PARCEL_PICKUP = "parcel_pickup", _("Parcel pickup")
    PET_WALKING = "pet_walking", _("Pet walking")
    PRINTING = "printing", _("Printing or scanning")
    INTERNET_SHARING = "internet_sharing", _("Internet / Wi-Fi sharing")
    LENDING = "lending", _("Lending books, games, school resources")
    PHONE_CALL = "phone_call", _("A phone call for company")
    TECH_HELP = "tech_help", _("Tech help")
    OTHER = "other", _("Other")


# One bit per type, so "helpers who do pharmacy runs" is one integer test on both databases (SQLite has no JSON
# containment lookup). The order is fixed forever: append new types at the end.
TYPE_BITS: dict[str, int] = {value: 1 << i for i, value in enumerate(HelpType.values)}


def types_to_mask(types: list[str]) -> int:
    mask = 0
    for t in types:
        mask |= TYPE_BITS[t]
    return mask


def mask_to_types(mask: int) -> list[str]:
    return [t for t, bit in TYPE_BITS.items() if mask & bit]


class Urgency(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    URGENT = "urgent", _("Urgent")


class RequestStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PROPOSED = "proposed", _("Proposed to helpers")
    MATCHED = "matched", _("Matched")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


ACTIVE_STATUSES = (RequestStatus.OPEN, RequestStatus.PROPOSED, RequestStatus.MATCHED)
WAITING_STATUSES = (RequestStatus.OPEN, RequestStatus.PROPOSED)


class Escalation(models.IntegerChoices):
    NONE = 0, _("Not escalated")
    WIDENED = 1, _("Search radius widened")
    INFORMER = 2, _("Passed to the neighbourhood's informer")


class HelpRequest(models.Model):
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="help_requests")
    requester = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="help_requests")
    # Filled when someone (later: the informer) asks on behalf of an offline neighbour: a first name, no account.
    on_behalf_of = models.CharField(max_length=80, blank=True)
    type = models.CharField(max_length=20, choices=HelpType.choices)
    description = models.CharField(max_length=500)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField(db_index=True)
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    at_risk = models.BooleanField(default=False)
    contactless = models.BooleanField(default=False)
    crisis = models.ForeignKey("feed.Crisis", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # What the matched helper will see, while the task is active (DESIGN.md, privacy rules).
    reveal_address = models.BooleanField(default=True)
    reveal_phone = models.BooleanField(default=False)
    contact_phone = models.CharField(max_length=30, blank=True)
    contact_note = models.CharField(max_length=200, blank=True)
    # The requester's blurred point (H3 cell centre), copied so the map can filter by bounding box.
    blurred_cell = models.CharField(max_length=20)
    lat = models.FloatField()
    lon = models.FloatField()
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    status_reason = models.CharField(max_length=200, blank=True)
    helper = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="help_tasks")
    search_radius_m = models.PositiveIntegerField(default=1000)
    escalation = models.PositiveSmallIntegerField(choices=Escalation.choices, default=Escalation.NONE)
    # When the engine looks at this request again if nobody has accepted (indexed: the tick scans it).
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    helper_done_at = models.DateTimeField(null=True, blank=True)
    matched_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    thanks = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("help request")
        verbose_name_plural = _("help requests")
        indexes = [
            models.Index(fields=["neighbourhood", "status", "created_at"], name="helprequest_nh_status"),
            models.Index(fields=["status", "lat", "lon"], name="helprequest_status_point"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} #{self.pk}"


class HelpOffer(models.Model):
    """A member's standing offer to help: what, how far they walk, when, how often."""

    helper = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="help_offer")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="help_offers")
    type_mask = models.PositiveIntegerField()
    radius_m = models.PositiveIntegerField(default=1000)
    # [{"weekday": 0-6 (Monday 0), "start": "HH:MM", "end": "HH:MM"}, ...] in the instance's time zone; empty: any time.
    slots = models.JSONField(default=list, blank=True)
    capacity_per_week = models.PositiveSmallIntegerField(default=3)
    active = models.BooleanField(default=True)
    blurred_cell = models.CharField(max_length=20)
    lat = models.FloatField()
    lon = models.FloatField()
    completed_count = models.PositiveIntegerField(default=0)
    dropped_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("help offer")
        verbose_name_plural = _("help offers")
        indexes = [models.Index(fields=["active", "lat", "lon"], name="helpoffer_active_point")]

    @property
    def types(self) -> list[str]:
        return mask_to_types(self.type_mask)

    @property
    def reliability(self) -> float:
        """Completed against dropped, with one of each assumed so a newcomer starts at 0.5, not 0 or 1."""
        return (self.completed_count + 1) / (self.completed_count + self.dropped_count + 2)


class ProposalAnswer(models.TextChoices):
    PENDING = "pending", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    TAKEN = "taken", _("Taken by another helper")
    CLOSED = "closed", _("Request closed")


class MatchProposal(models.Model):
    request = models.ForeignKey(HelpRequest, on_delete=models.CASCADE, related_name="proposals")
    helper = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="help_proposals")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()
    distance_m = models.PositiveIntegerField()
    score = models.FloatField()
    # "online" when posted or widened, "batch" when an operator re-planned the backlog.
    source = models.CharField(max_length=10, default="online")
    notified_at = models.DateTimeField()
    answer = models.CharField(max_length=10, choices=ProposalAnswer.choices, default=ProposalAnswer.PENDING)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["request", "helper"], name="proposal_unique_helper")]
        indexes = [models.Index(fields=["helper", "answer"], name="proposal_helper_answer")]


class EventKind(models.TextChoices):
    CREATED = "created", _("Request posted")
    PROPOSED = "proposed", _("Proposed to helpers")
    WIDENED = "widened", _("Search radius widened")
    ESCALATED = "escalated", _("Passed to the neighbourhood's informer")
    ACCEPTED = "accepted", _("Accepted by a helper")
    DECLINED = "declined", _("Declined by a helper")
    HELPER_WITHDREW = "helper_withdrew", _("The helper withdrew")
    REQUESTER_WITHDREW = "requester_withdrew", _("The requester released the helper")
    HELPER_DONE = "helper_done", _("The helper said it is done")
    COMPLETED = "completed", _("Done, confirmed by the requester")
    THANKED = "thanked", _("Thanked")
    UPDATED = "updated", _("Edited")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    REPLANNED = "replanned", _("Re-planned by an operator")


class RequestEvent(models.Model):
    """The history of a request: kept after it closes, so nothing that happened to it is lost."""

    request = models.ForeignKey(HelpRequest, on_delete=models.CASCADE, related_name="history")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
