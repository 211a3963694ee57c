from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

from .models import Comment, Crisis, KindnessPrompt, Post


@admin.register(Crisis)
class CrisisAdmin(admin.ModelAdmin):
    list_display = ("name", "tag", "starts_at", "ends_at")
    search_fields = ("name", "tag")
    filter_horizontal = ("cities",)
    prepopulated_fields = {"tag": ("name",)}


class CommentInline(admin.TabularInline):
    model = Comment
    fields = ("author", "body", "created_at")
    readonly_fields = ("author", "body", "created_at")
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("id", "title", "category", "neighbourhood", "author", "pinned", "official", "comment_count",
                    "thanks_count", "created_at")
    list_editable = ("pinned", "official")
    list_filter = ("category", "pinned", "official", "audience", "crisis")
    list_select_related = ("neighbourhood", "author")
    search_fields = ("title",)
    date_hierarchy = "created_at"
    raw_id_fields = ("author", "neighbourhood")
    # The text is the member's: operators pin, mark official or delete, they do not rewrite.
    readonly_fields = ("author", "neighbourhood", "category", "audience", "title", "body", "body_html", "tags",
                       "comment_count", "thanks_count", "created_at", "edited_at")
    fields = ("author", "neighbourhood", "category", "audience", "title", "body", "tags", "crisis", "pinned",
              "official", "comment_count", "thanks_count", "created_at", "edited_at")
    inlines = [CommentInline]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("id", "post", "author", "neighbourhood", "thanks_count", "created_at")
    list_select_related = ("post", "author", "neighbourhood")
    raw_id_fields = ("post", "parent", "author", "neighbourhood")
    readonly_fields = ("post", "parent", "neighbourhood", "author", "body", "body_html", "thanks_count",
                       "created_at", "edited_at")
    date_hierarchy = "created_at"

    # Deleting here bypasses the actions: recount the posts' comments afterwards so the counter stays exact.
    def delete_model(self, request, obj):
        post_id = obj.post_id
        super().delete_model(request, obj)
        _recount_comments([post_id])

    def delete_queryset(self, request, queryset):
        post_ids = list(queryset.values_list("post_id", flat=True).distinct())
        super().delete_queryset(request, queryset)
        _recount_comments(post_ids)


def _recount_comments(post_ids) -> None:
    for post_id in set(post_ids):
        Post.objects.filter(id=post_id).update(comment_count=Comment.objects.filter(post_id=post_id).count())


@admin.register(KindnessPrompt)
class KindnessPromptAdmin(admin.ModelAdmin):
    """Counts only: how often the reminder showed, and what people did next."""

    list_display = ("created_at", "neighbourhood", "kind", "outcome")
    list_filter = ("outcome", "kind", "neighbourhood__city")
    list_select_related = ("neighbourhood",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        changelist = context.get("cl")
        if changelist is not None:
            counts = {row["outcome"]: row["n"] for row in
                      changelist.queryset.order_by().values("outcome").annotate(n=Count("id"))}
            summary = ", ".join(f"{label}: {counts.get(value, 0)}"
                                for value, label in KindnessPrompt.Outcome.choices)
            context["title"] = f"{context.get('title', '')} — {summary}"
        return response
