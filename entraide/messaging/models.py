"""Private conversations: one-to-one, or one per help request; their messages, blocks and reports (DESIGN.md).

Every table carries `neighbourhood_id` itself (copied on insert). A conversation and its messages belong to the
neighbourhood where it started (the starter's home, or the help request's); a participant row carries its
member's home. Bodies are private: only participants read them, operators see a body only once it is reported.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from entraide.accounts.models import Member
from entraide.places.models import Neighbourhood


class ConversationKind(models.TextChoices):
    DIRECT = "direct", _("Between two neighbours")
    REQUEST = "request", _("About a help request")


def pair_key(a: int, b: int) -> str:
    """The one key of a pair of members, whoever starts: at most one direct conversation per pair."""
    low, high = sorted((int(a), int(b)))
    return f"{low}:{high}"


class Conversation(models.Model):
    kind = models.CharField(max_length=10, choices=ConversationKind.choices)
    request = models.OneToOneField("aid.HelpRequest", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="conversation")
    # Set for direct conversations only; NULLs never collide in a unique index, on either database.
    pair_key = models.CharField(max_length=41, null=True, blank=True, unique=True)
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The inbox sorts on it: the creation time until a first message is written.
    last_message_at = models.DateTimeField(db_index=True)
    last_message = models.ForeignKey("Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="direct", pair_key__isnull=False, request__isnull=True)
                           | Q(kind="request", pair_key__isnull=True, request__isnull=False)),
                name="conversation_kind_matches_key"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class Participant(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="participants")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="conversation_rows")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    # Messages with a larger id are visible: a helper who joins a request's conversation later does not read
    # what the requester wrote to the helper before them.
    since_message_id = models.PositiveBigIntegerField(default=0)
    last_read_message_id = models.PositiveBigIntegerField(default=0)
    # Kept in step by the actions (F() updates), so the header's total is one SUM over the member's rows.
    unread_count = models.PositiveIntegerField(default=0)
    joined_at = models.DateTimeField(auto_now_add=True)
    # A helper who withdrew from the request: no longer reads or writes here.
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "member"], name="participant_once")]
        indexes = [models.Index(fields=["member", "left_at"], name="participant_member")]


class Message(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="messages_written")
    body = models.TextField()  # plain text, as typed (cleaned); escaped when shown
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [models.Index(fields=["conversation", "id"], name="message_thread")]


class MessageImage(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="images")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    image = models.ImageField(upload_to="messages/%Y/%m/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]


class Block(models.Model):
    """The blocker no longer hears from the blocked member: neither can start a conversation or write to the other."""

    blocker = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="blocks_received")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once")]


class ReportStatus(models.TextChoices):
    OPEN = "open", _("Open")
    REVIEWED = "reviewed", _("Reviewed")
    DISMISSED = "dismissed", _("Dismissed")


class MessageReport(models.Model):
    """A participant reports a message; the moderation queue (a later issue) starts from `message.reported`."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="message_reports")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("message report")
        verbose_name_plural = _("message reports")
        constraints = [models.UniqueConstraint(fields=["message", "reporter"], name="report_once")]
