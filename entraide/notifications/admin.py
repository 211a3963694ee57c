"""Operators' view of notifications: the outbox (failures first) with a "retry now" action, and failed jobs."""
from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import outbox
from .models import DigestRun, JobFailure, Notification, OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "attempts", "last_error", "language", "next_attempt_at", "created_at",
                    "sent_at")
    list_filter = ("status", "kind", "language")
    date_hierarchy = "created_at"
    # Bodies are the member's to read: operators see what, when and why it failed, not the text.
    fields = ("recipient", "kind", "language", "subject", "status", "attempts", "last_error", "next_attempt_at",
              "lease_until", "dedupe_key", "created_at", "sent_at")
    readonly_fields = fields
    raw_id_fields = ("recipient",)
    actions = ["retry_now"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Retry now"), permissions=["change"])
    def retry_now(self, request, queryset):
        n = outbox.retry_now(list(queryset.values_list("id", flat=True)))
        self.message_user(request, ngettext("%(n)d email will be sent at the next sweep.",
                                            "%(n)d emails will be sent at the next sweep.", n) % {"n": n},
                          messages.SUCCESS)


@admin.register(JobFailure)
class JobFailureAdmin(admin.ModelAdmin):
    list_display = ("created_at", "task", "error", "retries_left", "task_id")
    list_filter = ("task", "error")
    readonly_fields = ("created_at", "task", "error", "retries_left", "task_id")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "recipient", "created_at", "read_at")
    list_filter = ("type",)
    raw_id_fields = ("recipient", "neighbourhood")
    readonly_fields = ("recipient", "neighbourhood", "type", "payload", "thread", "url", "created_at", "read_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(DigestRun)
class DigestRunAdmin(admin.ModelAdmin):
    list_display = ("day", "started_at", "finished_at", "attempts")
    readonly_fields = ("day", "started_at", "finished_at", "attempts")

    def has_add_permission(self, request) -> bool:
        return False
