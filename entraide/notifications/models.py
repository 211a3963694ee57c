"""Notifications, each member's settings, the email outbox and the record of failed background jobs.

A notification's payload holds ids and short texts that its recipient may already read (a public name, a help
type, a post title): never an address, coordinates or a message body (DESIGN.md, privacy rules). Emails are written
to the outbox in the same transaction as the notification, then sent by background jobs that claim rows with a
conditional UPDATE, so nothing is lost when a consumer dies and nothing is sent twice by two workers.
"""
from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from entraide.accounts.models import Member
from entraide.places.models import Neighbourhood


class NotificationType(models.TextChoices):
    MATCH = "match", _("A neighbour asks for my help")
    REQUEST_UPDATE = "request_update", _("News of a help request")
    MESSAGE = "message", _("A new message")
    REPLY = "reply", _("A reply to my post or comment")
    URGENT_ALERT = "urgent_alert", _("An urgent alert nearby")


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In the app")
    EMAIL = "email", _("By email")


class Notification(models.Model):
    recipient = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="notifications")
    neighbourhood = models.ForeignKey(Neighbourhood, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    type = models.CharField(max_length=20, choices=NotificationType.choices)
    payload = models.JSONField(default=dict)
    # What the notification is about ("conversation:12", "post:5"): coalescing and idempotent fan-outs look it up.
    thread = models.CharField(max_length=40, blank=True)
    url = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread"),
                   models.Index(fields=["recipient", "-id"], name="notification_list"),
                   models.Index(fields=["thread", "type"], name="notification_thread")]


class NotificationSettings(models.Model):
    """Created the first time a member changes something; a member without a row has the defaults."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="notification_settings")
    # {"match": {"in_app": true, "email": true}, ...}; a missing type or channel is on.
    channels = models.JSONField(default=dict, blank=True)
    digest = models.BooleanField(default=True)
    # Neighbourhood ids followed in the digest (a subset of those the member reads); empty: home only.
    neighbourhoods = models.JSONField(default=list, blank=True)
    # Feed categories wanted in the digest; empty: all of them.
    digest_categories = models.JSONField(default=list, blank=True)
    # Local time (TIME_ZONE); both empty: no quiet hours.
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    unsubscribed = models.BooleanField(default=False)  # no email at all
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboundEmail(models.Model):
    """One email to send. The address is read from the member at sending time, so the outbox never copies it."""

    recipient = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)  # a notification type, or "digest"
    language = models.CharField(max_length=8)
    subject = models.CharField(max_length=200)
    text = models.TextField()
    html = models.TextField()
    headers = models.JSONField(default=dict)
    urgent = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=EmailStatus.choices, default=EmailStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    last_error = models.CharField(max_length=100, blank=True)  # the exception type only
    dedupe_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbound email")
        verbose_name_plural = _("outbound emails")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
                   models.Index(fields=["status", "lease_until"], name="outbox_lease"),
                   models.Index(fields=["lease_token"], name="outbox_token")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"


class Fanout(models.Model):
    """An urgent alert to spread to a whole neighbourhood: kept until done, so a killed job runs again."""

    post_id = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)


class DigestRun(models.Model):
    """One day's digest run: claimed with a lease, finished once every member's row is written. The minute sweep
    finishes a run a killed consumer left half done (or missed: a consumer down at the digest hour)."""

    day = models.DateField(unique=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("digest run")
        verbose_name_plural = _("digest runs")

    def __str__(self) -> str:
        return f"{self.day}: {'done' if self.finished_at else 'unfinished'}"


class JobFailure(models.Model):
    """A background job that raised: what operators look at. The error type only, never its message."""

    task = models.CharField(max_length=100)
    task_id = models.CharField(max_length=64)
    error = models.CharField(max_length=100)
    retries_left = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("failed job")
        verbose_name_plural = _("failed jobs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.task}: {self.error}"
