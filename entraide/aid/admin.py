"""Operators' view of mutual aid. Lifecycle changes go through `actions.py` (and `entraide aid-replan`), never
through hand edits here: a status changed by hand would skip the history, the events and the winner's UPDATE."""
from __future__ import annotations

from django.contrib import admin

from .models import HelpOffer, HelpRequest, MatchProposal, RequestEvent


class RequestEventInline(admin.TabularInline):
    """The request's history, read-only: nothing that happened to a request is edited or lost."""

    model = RequestEvent
    fields = ("created_at", "kind", "actor", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class MatchProposalInline(admin.TabularInline):
    model = MatchProposal
    fk_name = "request"
    fields = ("rank", "helper", "distance_m", "score", "source", "notified_at", "answer", "answered_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("rank",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(HelpRequest)
class HelpRequestAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "urgency", "at_risk", "status", "escalation", "neighbourhood", "requester",
                    "helper", "window_end", "created_at")
    list_filter = ("status", "type", "urgency", "at_risk", "escalation", "neighbourhood__city")
    list_select_related = ("neighbourhood", "requester", "helper")
    search_fields = ("description",)
    date_hierarchy = "created_at"
    raw_id_fields = ("requester", "helper", "neighbourhood", "crisis")
    # Everything is the requester's or the engine's; operators read, and close through the actions.
    readonly_fields = ("neighbourhood", "requester", "on_behalf_of", "type", "description", "window_start",
                       "window_end", "urgency", "at_risk", "contactless", "crisis", "reveal_address", "reveal_phone",
                       "contact_note", "blurred_cell", "lat", "lon", "status", "status_reason", "helper",
                       "search_radius_m", "escalation", "next_check_at", "helper_done_at", "matched_at", "closed_at",
                       "thanks", "created_at", "updated_at")
    # The phone number is for the matched helper only (DESIGN.md, privacy rules).
    exclude = ("contact_phone",)
    inlines = [MatchProposalInline, RequestEventInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(HelpOffer)
class HelpOfferAdmin(admin.ModelAdmin):
    list_display = ("helper", "neighbourhood", "radius_m", "capacity_per_week", "active", "completed_count",
                    "dropped_count", "updated_at")
    list_filter = ("active", "neighbourhood__city")
    list_select_related = ("helper", "neighbourhood")
    search_fields = ("helper__display_name",)
    raw_id_fields = ("helper", "neighbourhood")
    # Operators may pause an offer (active); the point follows the helper's home (subscribers._follow_the_helper).
    readonly_fields = ("helper", "neighbourhood", "type_mask", "blurred_cell", "lat", "lon", "completed_count",
                       "dropped_count", "created_at", "updated_at")


@admin.register(MatchProposal)
class MatchProposalAdmin(admin.ModelAdmin):
    list_display = ("id", "request", "helper", "rank", "distance_m", "source", "answer", "notified_at",
                    "answered_at")
    list_filter = ("source", "answer")
    list_select_related = ("request", "helper")
    raw_id_fields = ("request", "helper", "neighbourhood")
    readonly_fields = ("request", "helper", "neighbourhood", "rank", "distance_m", "score", "source", "notified_at",
                       "answer", "answered_at")

    def has_add_permission(self, request) -> bool:
        return False
