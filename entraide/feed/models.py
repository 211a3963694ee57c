"""Posts, comments and thanks in a neighbourhood; crises; anonymous search logs.

CONTRACT_PLACEHOLDER = the feed contract is in entraide/feed/CONTRACT.md: read it before writing actions, queries, API or pages.

Every table carries `neighbourhood_id` itself (copied on insert), so every read filters on it directly
(DESIGN.md: the database can later be sharded on it).
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from entraide.accounts.models import Member
from entraide.places.models import City, Neighbourhood


class Category(models.TextChoices):
    GENERAL = "general", _("General")
    ADVICE = "advice", _("Advice and tips")
    RECOMMENDATION = "recommendation", _("Recommendation")
    LOST_FOUND = "lost_found", _("Lost and found")
    GIVE_LEND = "give_lend", _("Give or lend")
    SAFETY = "safety", _("Safety")
    URGENT = "urgent", _("Urgent alert")


class Audience(models.TextChoices):
    NEIGHBOURHOOD = "neighbourhood", _("My neighbourhood")
    NEARBY = "nearby", _("My neighbourhood and nearby ones")


class Crisis(models.Model):
    """Declared by an operator: a banner, a tag posts and requests can carry, and a filter."""

    name = models.CharField(_("name"), max_length=100)
    tag = models.SlugField(_("tag"), max_length=50, unique=True)
    banner = models.CharField(_("banner text"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("end"), null=True, blank=True)
    # Empty: the whole instance.
    cities = models.ManyToManyField(City, blank=True, verbose_name=_("cities"))

    class Meta:
        verbose_name = _("crisis")
        verbose_name_plural = _("crises")
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="posts")
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.GENERAL)
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.NEIGHBOURHOOD)
    title = models.CharField(max_length=140, blank=True)
    body = models.TextField()  # Markdown subset, as typed
    body_html = models.TextField()  # rendered and sanitised once, on write
    tags = models.JSONField(default=list, blank=True)
    crisis = models.ForeignKey(Crisis, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts")
    pinned = models.BooleanField(default=False)  # official posts on top (set by roles, a later issue)
    official = models.BooleanField(default=False)
    comment_count = models.PositiveIntegerField(default=0)
    thanks_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The trailing columns are those the feed's branches test (page_sql._branch): with them the scans are
            # index-only on SQLite, instead of one table row (with its body) read per candidate.
            models.Index(fields=["neighbourhood", "-created_at", "-id", "pinned"], name="post_feed"),
            models.Index(fields=["neighbourhood", "category", "-created_at", "-id", "audience", "pinned"],
                         name="post_feed_category"),
            models.Index(fields=["neighbourhood", "-created_at", "-id", "audience"], condition=Q(audience="nearby"),
                         name="post_feed_nearby"),
            models.Index(fields=["neighbourhood", "-created_at"], condition=Q(pinned=True), name="post_pinned"),
        ]


class PostTag(models.Model):
    """One row per tag of a post, so a tag filter is an index range, not a JSON scan."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="tag_rows")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    tag = models.CharField(max_length=50)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["neighbourhood", "tag", "-created_at"], name="posttag_feed")]
        constraints = [models.UniqueConstraint(fields=["post", "tag"], name="posttag_unique")]


class PostImage(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="images")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    image = models.ImageField(upload_to="posts/%Y/%m/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]


class Comment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField()
    body_html = models.TextField()
    thanks_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["post", "created_at", "id"], name="comment_thread")]


class Thanks(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="thanks_given")
    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="thanks")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="thanks")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "thanks"
        constraints = [
            models.UniqueConstraint(fields=["member", "post"], condition=Q(comment__isnull=True), name="thanks_post_once"),
            models.UniqueConstraint(fields=["member", "comment"], condition=Q(comment__isnull=False),
                                    name="thanks_comment_once"),
            models.CheckConstraint(condition=Q(post__isnull=False), name="thanks_has_post"),
        ]


class FeedClock(models.Model):
    """How often anything a neighbourhood's feed shows has changed: bumped by database triggers (feed/clock.py), so
    a feed page kept in memory is keyed on the state it was read from (feed/page_cache.py).

    A plain id, no foreign key: the triggers write here while a neighbourhood's posts are deleted, and a row left
    over from a deleted neighbourhood costs nothing.
    """

    neighbourhood_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField(default=0)


class KindnessPrompt(models.Model):
    """Counts of the kindness reminder: shown, then published anyway or reworded. No text, no author."""

    class Outcome(models.TextChoices):
        SHOWN = "shown"
        PUBLISHED_ANYWAY = "published_anyway"
        REWORDED = "reworded"

    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10)  # post or comment
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    created_at = models.DateTimeField(auto_now_add=True)


class SearchLog(models.Model):
    """A search term, normalised, without who searched it (trending searches)."""

    neighbourhood = models.ForeignKey(Neighbourhood, on_delete=models.CASCADE, related_name="+")
    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+")
    term = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["neighbourhood", "created_at"], name="searchlog_n"),
                   models.Index(fields=["city", "created_at"], name="searchlog_city")]


from .search_models import SearchDoc  # noqa: E402,F401
