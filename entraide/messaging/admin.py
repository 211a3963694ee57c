"""Operators' view of conversations. Bodies are private (DESIGN.md, privacy rules): operators see the metadata of
conversations, and a message's body only once a participant reported it, in the report queue (the moderation
hook until the moderation issue lands)."""
from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Conversation, MessageReport, Participant, ReportStatus


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ParticipantInline(admin.TabularInline):
    model = Participant
    fields = ("member", "joined_at", "left_at", "unread_count")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "neighbourhood", "request", "created_at", "last_message_at")
    list_filter = ("kind",)
    # No message, no preview: the last message is shown by its id only.
    fields = ("kind", "neighbourhood", "request", "created_at", "last_message_at")
    readonly_fields = fields
    inlines = [ParticipantInline]
    list_select_related = ("neighbourhood", "request")


@admin.register(MessageReport)
class MessageReportAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "status", "neighbourhood", "reporter", "message_author", "reason")
    list_filter = ("status",)
    list_select_related = ("neighbourhood", "reporter", "message__author")
    fields = ("created_at", "reporter", "message_author", "message_conversation", "message_body", "reason", "status")
    readonly_fields = ("created_at", "reporter", "message_author", "message_conversation", "message_body", "reason")
    actions = ["mark_reviewed", "mark_dismissed"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("author of the message"))
    def message_author(self, obj: MessageReport):
        return obj.message.author

    @admin.display(description=_("conversation"))
    def message_conversation(self, obj: MessageReport):
        return obj.message.conversation_id

    @admin.display(description=_("reported message"))
    def message_body(self, obj: MessageReport) -> str:
        return obj.message.body

    @admin.action(description=_("Mark as reviewed"))
    def mark_reviewed(self, request, queryset) -> None:
        queryset.update(status=ReportStatus.REVIEWED)

    @admin.action(description=_("Dismiss"))
    def mark_dismissed(self, request, queryset) -> None:
        queryset.update(status=ReportStatus.DISMISSED)
