"""Every write on the feed: posts, comments, thanks, pictures (DESIGN.md, the one access rule).

Each action checks who may do it, validates everything (pictures included) before it writes, then writes in
one transaction: on any refusal nothing is half-written. Counters move with F() expressions so that concurrent
thanks and comments stay exact. Events go out after commit through `entraide.core.events.publish`.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from entraide.accounts.permissions import require_can_act
from entraide.core import events, ratelimit
from entraide.core.errors import Conflict, EntraideError, Forbidden, invalid
from entraide.core.text import clean_text

from . import images as image_files
from . import kindness, markup, queries, search
from .models import Audience, Category, Comment, KindnessPrompt, Post, PostImage, PostTag, Thanks

MAX_TITLE = 140
MAX_POST_BODY = 5000
MAX_COMMENT_BODY = 2000
MAX_URGENT = 140
MAX_IMAGES = 4
MAX_TAGS = 5

POST_LIMIT = (5, 60)  # per member: 5 a minute
URGENT_LIMIT = (3, 24 * 3600)  # per member: 3 urgent alerts a day
COMMENT_LIMIT = (20, 60)  # per member: 20 a minute


# --- validation -------------------------------------------------------------------------------------------------

def _check_category(category: str) -> str:
    if category not in Category.values:
        raise invalid("invalid_category", _("Unknown category."), "category")
    return category


def _check_audience(audience: str) -> str:
    if audience not in Audience.values:
        raise invalid("invalid_audience", _("Choose your neighbourhood or nearby ones."), "audience")
    return audience


def _check_title(title: str | None) -> str:
    title = " ".join(clean_text(title).split())
    if len(title) > MAX_TITLE:
        raise invalid("title_too_long", _("The title can be at most %(n)d characters.") % {"n": MAX_TITLE}, "title")
    return title


def _check_body(body: str | None, *, maximum: int, category: str | None = None) -> str:
    body = clean_text(body)
    if not body:
        raise invalid("body_required", _("Write something first."), "body")
    if category == Category.URGENT and len(body) > MAX_URGENT:
        raise invalid("urgent_too_long",
                       _("An urgent alert is at most %(n)d characters: say what, where, and who to call.")
                       % {"n": MAX_URGENT}, "body")
    if len(body) > maximum:
        raise invalid("body_too_long", _("This text is too long (at most %(n)d characters).") % {"n": maximum}, "body")
    return body


def _check_tags(tags: Iterable[str] | None) -> list[str]:
    out: list[str] = []
    for tag in tags or ():
        norm = queries.normalise_tag(str(tag))
        if norm and norm not in out:
            out.append(norm)
    if len(out) > MAX_TAGS:
        raise invalid("too_many_tags", _("At most %(n)d tags.") % {"n": MAX_TAGS}, "tags")
    return out


def _check_images_count(count: int) -> None:
    if count > MAX_IMAGES:
        raise invalid("too_many_images", _("At most %(n)d pictures per post.") % {"n": MAX_IMAGES}, "images")


def _kindness(member, kind: str, texts: Sequence[str], confirm: bool) -> str | None:
    """Refuse words of the lexicon unless confirmed. Returns the outcome the write may count, if any.

    The `shown` count is written on its own (outside the write's transaction) since the write is refused, and it
    leaves a pending mark (`kindness.mark_shown`). A confirmed write is the answer to that reminder: published
    anyway if the words are still there, reworded if not; `_count_kindness` counts it only if the mark is there.
    """
    flagged = kindness.flagged_words(*texts)
    if flagged and not confirm:
        KindnessPrompt.objects.create(neighbourhood_id=member.neighbourhood_id, kind=kind,
                                      outcome=KindnessPrompt.Outcome.SHOWN)
        kindness.mark_shown(member.id, kind)
        raise EntraideError(
            "kindness_check",
            _("Some words could hurt a neighbour. Reword them, or confirm to publish as it is."),
            status=422, fields={"body": flagged})
    if confirm:
        return KindnessPrompt.Outcome.PUBLISHED_ANYWAY if flagged else KindnessPrompt.Outcome.REWORDED
    return None


def _count_kindness(member, kind: str, outcome: str | None) -> None:
    """Count the outcome inside the write's transaction, once per reminder shown to this member for this kind.

    Without a pending reminder (a client that always confirms, a second write after one reminder, a mark that
    expired) nothing is counted. The mark is taken atomically, so two writes cannot both answer one reminder; if
    the write then rolls back the answer is lost, which can only under-count, never inflate.
    """
    if outcome and kindness.take_pending(member.id, kind):
        KindnessPrompt.objects.create(neighbourhood_id=member.neighbourhood_id, kind=kind, outcome=outcome)


def _require_author(member, obj) -> None:
    if obj.author_id != member.id:
        raise Forbidden("not_author", _("Only the author can change this."))


def _require_edit_window(obj) -> None:
    if not queries.within_edit_window(obj.created_at):
        raise Forbidden("edit_window_closed", _("This can no longer be edited."))


def _store_images(post: Post, cleaned: list[image_files.CleanImage], start: int, stored: list[str]) -> list[PostImage]:
    rows = []
    for offset, picture in enumerate(cleaned):
        row = PostImage(post=post, neighbourhood_id=post.neighbourhood_id, width=picture.width,
                        height=picture.height, position=start + offset)
        image_files.store(row, picture, stored)
        rows.append(row)
    return rows


def _remove_files(names: list[str]) -> None:
    image_files.remove_files(PostImage, names)


def _delete_files_on_commit(names: list[str]) -> None:
    if names:
        transaction.on_commit(lambda: _remove_files(names))


# --- posts ------------------------------------------------------------------------------------------------------

def do_create_post(member, *, category: str, body: str, title: str = "", audience: str = "neighbourhood",
                   tags: Iterable[str] = (), crisis_tag: str | None = None, images: Sequence = (),
                   confirm_kindness: bool = False) -> Post:
    """Publish a post in the member's home neighbourhood."""
    require_can_act(member)
    category = _check_category(category)
    audience = _check_audience(audience)
    title = _check_title(title)
    body = _check_body(body, maximum=MAX_POST_BODY, category=category)
    tags = _check_tags(tags)
    crisis = None
    if crisis_tag:
        crisis = queries.active_crisis_by_tag(member, crisis_tag)
        if crisis is None:
            raise invalid("unknown_crisis", _("No such crisis is going on here."), "crisis_tag")
    images = list(images or ())
    _check_images_count(len(images))
    cleaned = [image_files.clean(f) for f in images]  # every picture checked before anything is written
    outcome = _kindness(member, "post", [title, body, *tags], confirm_kindness)
    ratelimit.hit("post", str(member.id), limit=POST_LIMIT[0], window_s=POST_LIMIT[1])
    if category == Category.URGENT:
        ratelimit.hit("post_urgent", str(member.id), limit=URGENT_LIMIT[0], window_s=URGENT_LIMIT[1])
    stored: list[str] = []
    try:
        with transaction.atomic():
            post = Post.objects.create(
                neighbourhood_id=member.neighbourhood_id, author=member, category=category, audience=audience,
                title=title, body=body, body_html=markup.render(body), tags=tags, crisis=crisis)
            PostTag.objects.bulk_create([PostTag(post=post, neighbourhood_id=post.neighbourhood_id, tag=t,
                                                 created_at=post.created_at) for t in tags])
            _store_images(post, cleaned, 0, stored)
            _count_kindness(member, "post", outcome)
            search.index_post(post)
            events.publish("post.created", {"post_id": post.id, "author_id": member.id, "category": category,
                                            "audience": audience}, neighbourhood_id=post.neighbourhood_id)
    except BaseException:
        _remove_files(stored)
        raise
    return post


def do_edit_post(member, post_id: int, *, title: str | None = None, body: str | None = None,
                 category: str | None = None, tags: Iterable[str] | None = None,
                 confirm_kindness: bool = False) -> Post:
    """Change one's own post within the edit window. Fields left as None keep their value."""
    require_can_act(member)
    post = queries.post_in_scope(member, post_id)
    _require_author(member, post)
    _require_edit_window(post)
    new_category = _check_category(category) if category is not None else post.category
    new_title = _check_title(title) if title is not None else post.title
    new_body = _check_body(body if body is not None else post.body, maximum=MAX_POST_BODY, category=new_category)
    new_tags = _check_tags(tags) if tags is not None else list(post.tags or [])
    outcome = _kindness(member, "post", [new_title, new_body, *new_tags], confirm_kindness)
    with transaction.atomic():
        post = queries.post_in_scope(member, post_id, for_update=True)
        post.category, post.title, post.body, post.tags = new_category, new_title, new_body, new_tags
        post.body_html = markup.render(new_body)
        post.edited_at = timezone.now()
        post.save(update_fields=["category", "title", "body", "body_html", "tags", "edited_at"])
        if tags is not None:
            PostTag.objects.filter(post=post).delete()
            PostTag.objects.bulk_create([PostTag(post=post, neighbourhood_id=post.neighbourhood_id, tag=t,
                                                 created_at=post.created_at) for t in new_tags])
        _count_kindness(member, "post", outcome)
        search.index_post(post)
        events.publish("post.updated", {"post_id": post.id, "audience": post.audience},
                       neighbourhood_id=post.neighbourhood_id)
    return post


def deletable_post(member, post_id: int) -> Post:
    """The post the member may delete: their own, found by author wherever it is, so that an author who moved to
    another neighbourhood can still remove what they wrote. Someone else's post: NotFound (404) if out of the
    member's scope, `not_author` (403) if in it, as for any other write."""
    post = Post.objects.filter(id=post_id, author_id=member.id).first()
    if post is None:
        post = queries.post_in_scope(member, post_id)
        _require_author(member, post)
    return post


def do_delete_post(member, post_id: int) -> None:
    """Remove one's own post, with its comments, thanks and pictures (wherever the author lives now)."""
    post = deletable_post(member, post_id)
    with transaction.atomic():
        files = list(PostImage.objects.filter(post_id=post.id).values_list("image", flat=True))
        search.unindex_post(post.id)  # the post's document and its comments' ones
        Post.objects.filter(id=post.id).delete()
        _delete_files_on_commit(files)
        events.publish("post.deleted", {"post_id": post_id, "audience": post.audience},
                       neighbourhood_id=post.neighbourhood_id)


def do_add_post_image(member, post_id: int, image) -> PostImage:
    """Attach one more picture to one's own post (at most four)."""
    require_can_act(member)
    post = queries.post_in_scope(member, post_id)
    _require_author(member, post)
    cleaned = image_files.clean(image)
    stored: list[str] = []
    try:
        with transaction.atomic():
            post = queries.post_in_scope(member, post_id, for_update=True)  # serialises concurrent uploads
            count = PostImage.objects.filter(post=post).count()
            _check_images_count(count + 1)
            last = PostImage.objects.filter(post=post).order_by("-position").values_list("position", flat=True).first()
            (row,) = _store_images(post, [cleaned], 0 if last is None else last + 1, stored)
            events.publish("post.updated", {"post_id": post.id, "audience": post.audience},
                           neighbourhood_id=post.neighbourhood_id)
    except BaseException:
        _remove_files(stored)
        raise
    return row


# --- comments ---------------------------------------------------------------------------------------------------

def do_create_comment(member, post_id: int, *, body: str, parent_id: int | None = None,
                      confirm_kindness: bool = False) -> Comment:
    """Comment on a post the member can read; a reply to a reply attaches to the top-level comment."""
    require_can_act(member)
    post = queries.post_in_scope(member, post_id)
    body = _check_body(body, maximum=MAX_COMMENT_BODY)
    parent = None
    if parent_id is not None:
        parent = Comment.objects.filter(id=parent_id, post_id=post.id).only("id", "parent_id").first()
        if parent is None:
            raise invalid("invalid_parent", _("This reply does not belong to this post."), "parent_id")
        if parent.parent_id is not None:
            parent = Comment(id=parent.parent_id)
    outcome = _kindness(member, "comment", [body], confirm_kindness)
    ratelimit.hit("comment", str(member.id), limit=COMMENT_LIMIT[0], window_s=COMMENT_LIMIT[1])
    with transaction.atomic():
        comment = Comment.objects.create(post=post, parent_id=parent.id if parent else None,
                                         neighbourhood_id=post.neighbourhood_id, author=member, body=body,
                                         body_html=markup.render(body))
        Post.objects.filter(id=post.id).update(comment_count=F("comment_count") + 1)
        _count_kindness(member, "comment", outcome)
        search.index_comment(comment)
        events.publish("comment.created", {"comment_id": comment.id, "post_id": post.id, "author_id": member.id,
                                           "post_author_id": post.author_id, "parent_id": comment.parent_id,
                                           "audience": post.audience},
                       neighbourhood_id=post.neighbourhood_id)
    return comment


def do_edit_comment(member, comment_id: int, *, body: str, confirm_kindness: bool = False) -> Comment:
    require_can_act(member)
    comment = queries.comment_in_scope(member, comment_id)
    _require_author(member, comment)
    _require_edit_window(comment)
    body = _check_body(body, maximum=MAX_COMMENT_BODY)
    outcome = _kindness(member, "comment", [body], confirm_kindness)
    with transaction.atomic():
        comment.body, comment.body_html, comment.edited_at = body, markup.render(body), timezone.now()
        comment.save(update_fields=["body", "body_html", "edited_at"])
        _count_kindness(member, "comment", outcome)
        search.index_comment(comment)
        events.publish("comment.updated", {"comment_id": comment.id, "post_id": comment.post_id,
                                           "audience": comment.post.audience},
                       neighbourhood_id=comment.neighbourhood_id)
    return comment


def deletable_comment(member, comment_id: int) -> Comment:
    """The comment the member may delete: their own, found by author wherever it is; someone else's: NotFound
    (404) out of scope, `not_author` (403) in it."""
    comment = Comment.objects.filter(id=comment_id, author_id=member.id).first()
    if comment is None:
        comment = queries.comment_in_scope(member, comment_id)
        _require_author(member, comment)
    return comment


def do_delete_comment(member, comment_id: int) -> None:
    """Remove one's own comment and its replies (wherever the author lives now); the post's comment count
    follows."""
    comment = deletable_comment(member, comment_id)
    with transaction.atomic():
        ids = [comment.id, *Comment.objects.filter(parent_id=comment.id).values_list("id", flat=True)]
        for removed in ids:
            search.unindex_comment(removed)
        Comment.objects.filter(id__in=ids).delete()
        Post.objects.filter(id=comment.post_id).update(comment_count=F("comment_count") - len(ids))
        events.publish("comment.deleted", {"comment_id": comment.id, "post_id": comment.post_id,
                                           "audience": comment.post.audience},
                       neighbourhood_id=comment.neighbourhood_id)


# --- thanks -----------------------------------------------------------------------------------------------------

def _add_thanks(member, **target) -> bool:
    """Insert one Thanks row; False when this member already thanked it (idempotent)."""
    try:
        with transaction.atomic():
            Thanks.objects.create(member=member, **target)
        return True
    except IntegrityError:
        return False


def do_thank_post(member, post_id: int) -> Post:
    require_can_act(member)
    post = queries.post_in_scope(member, post_id)
    if post.author_id == member.id:
        raise Conflict("cannot_thank_self", _("You cannot thank yourself."))
    with transaction.atomic():
        if _add_thanks(member, post=post, neighbourhood_id=post.neighbourhood_id):
            Post.objects.filter(id=post.id).update(thanks_count=F("thanks_count") + 1)
            events.publish("thanks.added", {"post_id": post.id, "comment_id": None, "member_id": member.id,
                                            "recipient_id": post.author_id, "audience": post.audience},
                           neighbourhood_id=post.neighbourhood_id)
    post.refresh_from_db(fields=["thanks_count", "comment_count"])
    return post


def do_thank_comment(member, comment_id: int) -> Comment:
    require_can_act(member)
    comment = queries.comment_in_scope(member, comment_id)
    if comment.author_id == member.id:
        raise Conflict("cannot_thank_self", _("You cannot thank yourself."))
    with transaction.atomic():
        if _add_thanks(member, post_id=comment.post_id, comment=comment, neighbourhood_id=comment.neighbourhood_id):
            Comment.objects.filter(id=comment.id).update(thanks_count=F("thanks_count") + 1)
            events.publish("thanks.added", {"post_id": comment.post_id, "comment_id": comment.id,
                                            "member_id": member.id, "recipient_id": comment.author_id,
                                            "audience": comment.post.audience},
                           neighbourhood_id=comment.neighbourhood_id)
    comment.refresh_from_db(fields=["thanks_count"])
    return comment
