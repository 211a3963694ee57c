"""The feed pages: server-rendered, usable without JavaScript; htmx only spares full reloads.

Reads go through `queries` (scoped: anything out of reach is a 404), writes through `actions` (which check who may
write). When a request comes from htmx (`HX-Request`), comment, thanks and load-more answer with a partial template
and status 200 (htmx does not swap error statuses); plain requests get the whole page, or a redirect after a write.
"""
from __future__ import annotations

import mimetypes
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from entraide.core.pages import is_htmx, member_or_404, safe_next
from entraide.accounts.permissions import can_act
from entraide.core.errors import EntraideError, Forbidden, NotFound

from . import actions, queries, search as search_module
from .feeds import atom_feed_url
from .forms import (CommentEditForm, CommentForm, FeedFilterForm, PostEditForm, PostForm, apply_error,
                    kindness_confirmed)
from .models import Category

KINDNESS = "kindness_check"
PASSTHROUGH_STATUSES = (403, 409, 413, 429)
CATEGORY_LABELS = dict(Category.choices)


# --- helpers ----------------------------------------------------------------------------------------------------


def _status(exc: EntraideError) -> int:
    return exc.status if exc.status in PASSTHROUGH_STATUSES else 400


def _get_post(member, post_id: int):
    try:
        return queries.get_post(member, post_id)
    except NotFound:
        raise Http404


def _get_comment(member, comment_id: int):
    try:
        return queries.get_comment(member, comment_id)
    except NotFound:
        raise Http404


def _deletable(lookup, member, object_id: int):
    """One's own post or comment to delete, wherever it is (`actions.deletable_*`): 404 out of scope, 403 for
    someone else's in scope."""
    try:
        return lookup(member, object_id)
    except NotFound:
        raise Http404
    except Forbidden:
        raise PermissionDenied


def _post_readable(member, post_id: int) -> bool:
    try:
        queries.post_in_scope(member, post_id)
    except NotFound:
        return False
    return True


def _with_page_images(view):
    """Attach what the templates show: `page_images` ((url of the page image view, width, height) for each picture)
    and `category_label`."""
    view.page_images = [(reverse("feed_image", args=[image.id]), image.width, image.height) for image in view.images]
    view.category_label = CATEGORY_LABELS.get(view.category, view.category)
    return view


def _refuse_unverified(request, member) -> bool:
    if can_act(member):
        return False
    messages.error(request, _("Please verify your address first: until then you can read but not post or "
                              "contact anyone."))
    return True


# --- the feed and the composer ----------------------------------------------------------------------------------

def _query(**params) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "", False)}
    return "?" + urlencode(clean) if clean else "?"


def _feed_context(request, member, crises) -> dict:
    filters = FeedFilterForm(request.GET)
    filters.is_valid()
    data = filters.cleaned_data
    scope = data.get("scope") or "all"
    category = data.get("category") or ""
    tag = (data.get("tag") or "").strip()
    crisis_param = (data.get("crisis") or "").strip()
    cursor = data.get("cursor") or None
    crisis: bool | str = False
    if crisis_param in ("1", "true", "on"):
        crisis = True
    elif crisis_param:
        crisis = crisis_param
    error = None
    try:
        page = queries.feed_page(member, scope=scope, category=category or None, tag=tag or None, crisis=crisis,
                                 cursor=cursor)
    except EntraideError as exc:
        page, error = queries.FeedPage(items=[], next_cursor=None), exc.message
    for item in page.items:
        _with_page_images(item)
    base = {"scope": scope if scope != "all" else "", "category": category, "tag": tag, "crisis": crisis_param}
    tabs = [(value, label, _query(**{**base, "scope": value if value != "all" else ""}))
            for value, label in (("all", _("All")), ("home", _("My neighbourhood")), ("nearby", _("Nearby")))]
    return {
        "page": page, "filters": filters, "scope": scope, "category": category, "tag": tag,
        "crisis_filter": crisis_param, "tabs": tabs, "feed_error": error, "crises": crises,
        "crisis_on_url": _query(**{**base, "crisis": "1"}), "crisis_off_url": _query(**{**base, "crisis": ""}),
        "more_url": _query(**base, cursor=page.next_cursor) if page.next_cursor else None,
        "filtered": bool(category or tag or crisis_param), "categories": Category.choices,
    }


def _render_feed(request, member, crises, form, *, kindness=None, status=200):
    context = _feed_context(request, member, crises)
    if context["feed_error"] and status == 200:
        status = 400
    context.update({"member": member, "form": form, "can_post": can_act(member), "kindness": kindness,
                    "files_dropped": bool(request.FILES) and kindness is not None,
                    "atom_feed_url": atom_feed_url(member.neighbourhood_id)})
    return render(request, "feed/feed.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def feed(request):
    member = member_or_404(request)
    crises = queries.active_crises(member)
    if request.method == "POST":
        return _create_post(request, member, crises)
    if is_htmx(request) and request.GET.get("cursor"):
        context = _feed_context(request, member, crises)
        context.update({"member": member, "can_post": can_act(member)})
        return render(request, "feed/_post_items.html", context)
    form = PostForm(crises=crises, auto_id="id_post_%s") if can_act(member) else None
    return _render_feed(request, member, crises, form)


def _create_post(request, member, crises):
    if _refuse_unverified(request, member):
        return _render_feed(request, member, crises, None, status=403)
    form = PostForm(request.POST, request.FILES, crises=crises, auto_id="id_post_%s")
    kindness, status = None, 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.do_create_post(
                member, category=data["category"], title=data["title"], body=data["body"],
                audience=data["audience"], tags=data["tags"], crisis_tag=data.get("crisis_tag"),
                images=data["images"], confirm_kindness=kindness_confirmed(request.POST))
        except NotFound:
            raise Http404
        except EntraideError as exc:
            if exc.code == KINDNESS:
                kindness = list(exc.fields.get("body", []))
            else:
                apply_error(form, exc)
                status = _status(exc)
        else:
            messages.success(request, _("Your post is published."))
            return redirect("feed")
    return _render_feed(request, member, crises, form, kindness=kindness, status=status)


# --- one post, its comments -------------------------------------------------------------------------------------

def _comments_context(request, member, post, *, comment_form=None, reply_form=None, reply_parent=None,
                      kindness=None, kindness_parent=None) -> dict:
    try:
        comments = queries.comments_page(member, post.id, cursor=request.GET.get("after") or None)
    except NotFound:
        raise Http404
    except EntraideError:
        comments = queries.comments_page(member, post.id)
    can_post = can_act(member)
    for comment in comments.items:
        comment.reply_form, comment.reply_kindness = None, None
        if reply_form is not None and comment.id == reply_parent:
            comment.reply_form = reply_form
            comment.reply_kindness = kindness if kindness_parent == reply_parent else None
        elif can_post:
            comment.reply_form = CommentForm(initial={"parent_id": comment.id}, auto_id=f"id_reply{comment.id}_%s")
        if comment.reply_form is not None:
            comment.reply_form.fields["body"].label = _("Your reply")
    if comment_form is None and can_post:
        comment_form = CommentForm(auto_id="id_comment_%s")
    return {
        "post": post, "comments": comments, "comment_form": comment_form, "member": member, "can_post": can_post,
        "kindness": kindness if kindness_parent is None else None,
        "more_comments_url": _query(after=comments.next_cursor) + "#comments" if comments.next_cursor else None,
    }


@login_required
def post_detail(request, post_id: int):
    member = member_or_404(request)
    post = _with_page_images(_get_post(member, post_id))
    return render(request, "feed/post_detail.html", _comments_context(request, member, post))


@login_required
@require_POST
def comment_create(request, post_id: int):
    member = member_or_404(request)
    post = _with_page_images(_get_post(member, post_id))
    htmx = is_htmx(request)
    try:
        parent_id = int(request.POST.get("parent_id") or 0) or None
    except ValueError:
        parent_id = None
    auto_id = f"id_reply{parent_id}_%s" if parent_id else "id_comment_%s"
    if _refuse_unverified(request, member):
        context = _comments_context(request, member, post)
        return render(request, "feed/_comments.html" if htmx else "feed/post_detail.html", context,
                      status=200 if htmx else 403)
    form = CommentForm(request.POST, auto_id=auto_id)
    kindness, status = None, 400
    if form.is_valid():
        try:
            comment = actions.do_create_comment(member, post.id, body=form.cleaned_data["body"], parent_id=parent_id,
                                                confirm_kindness=kindness_confirmed(request.POST))
        except NotFound:
            raise Http404
        except EntraideError as exc:
            if exc.code == KINDNESS:
                kindness = list(exc.fields.get("body", []))
            else:
                apply_error(form, exc)
                status = _status(exc)
        else:
            if htmx:
                post = _with_page_images(_get_post(member, post.id))
                context = _comments_context(request, member, post)
                context["announce"] = _("Your comment is published.")
                return render(request, "feed/_comments.html", context)
            messages.success(request, _("Your comment is published."))
            return redirect(reverse("post", args=[post.id]) + f"#comment-{comment.id}")
    if parent_id:
        context = _comments_context(request, member, post, reply_form=form, reply_parent=parent_id,
                                    kindness=kindness, kindness_parent=parent_id)
        if not any(c.id == parent_id for c in context["comments"].items):
            # A reply to a comment that is not on this page (or not of this post): show the error at the top.
            context = _comments_context(request, member, post, comment_form=form, kindness=kindness)
    else:
        context = _comments_context(request, member, post, comment_form=form, kindness=kindness)
    if htmx:
        return render(request, "feed/_comments.html", context)
    return render(request, "feed/post_detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def post_edit(request, post_id: int):
    member = member_or_404(request)
    post = _get_post(member, post_id)
    if not post.is_mine:
        raise PermissionDenied
    if not post.can_edit:
        messages.error(request, _("This post can no longer be edited."))
        return render(request, "feed/post_edit.html", {"post": post, "form": None}, status=403)
    initial = {"category": post.category, "title": post.title, "body": post.body, "tags": ", ".join(post.tags)}
    kindness, status = None, 200
    if request.method == "POST":
        if _refuse_unverified(request, member):
            return render(request, "feed/post_edit.html", {"post": post, "form": None}, status=403)
        form = PostEditForm(request.POST, initial=initial)
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.do_edit_post(member, post.id, title=data["title"], body=data["body"],
                                     category=data["category"], tags=data["tags"],
                                     confirm_kindness=kindness_confirmed(request.POST))
            except NotFound:
                raise Http404
            except EntraideError as exc:
                if exc.code == KINDNESS:
                    kindness = list(exc.fields.get("body", []))
                else:
                    apply_error(form, exc)
                    status = _status(exc)
            else:
                messages.success(request, _("Your post is updated."))
                return redirect("post", post.id)
    else:
        form = PostEditForm(initial=initial)
    return render(request, "feed/post_edit.html", {"post": post, "form": form, "kindness": kindness}, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def post_delete(request, post_id: int):
    member = member_or_404(request)
    post = _deletable(actions.deletable_post, member, post_id)
    # An author who moved away can no longer read the post: back to their feed then.
    back = reverse("post", args=[post.id]) if _post_readable(member, post.id) else reverse("feed")
    if request.method == "POST":
        try:
            actions.do_delete_post(member, post.id)
        except NotFound:
            raise Http404
        except EntraideError as exc:
            messages.error(request, exc.message)
            return redirect(back)
        messages.success(request, _("Your post is deleted."))
        return redirect("feed")
    return render(request, "feed/confirm_delete.html", {
        "kind": "post", "post": post, "action": reverse("post_delete", args=[post.id]), "cancel": back,
    })


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def comment_edit(request, comment_id: int):
    member = member_or_404(request)
    comment = _get_comment(member, comment_id)
    if not comment.is_mine:
        raise PermissionDenied
    back = reverse("post", args=[comment.post_id]) + f"#comment-{comment.id}"
    if not comment.can_edit:
        messages.error(request, _("This comment can no longer be edited."))
        return render(request, "feed/comment_edit.html", {"comment": comment, "form": None, "back": back},
                      status=403)
    kindness, status = None, 200
    if request.method == "POST":
        if _refuse_unverified(request, member):
            return render(request, "feed/comment_edit.html", {"comment": comment, "form": None, "back": back},
                          status=403)
        form = CommentEditForm(request.POST)
        status = 400
        if form.is_valid():
            try:
                actions.do_edit_comment(member, comment.id, body=form.cleaned_data["body"],
                                        confirm_kindness=kindness_confirmed(request.POST))
            except NotFound:
                raise Http404
            except EntraideError as exc:
                if exc.code == KINDNESS:
                    kindness = list(exc.fields.get("body", []))
                else:
                    apply_error(form, exc)
                    status = _status(exc)
            else:
                messages.success(request, _("Your comment is updated."))
                return redirect(back)
    else:
        form = CommentEditForm(initial={"body": comment.body})
    return render(request, "feed/comment_edit.html",
                  {"comment": comment, "form": form, "kindness": kindness, "back": back}, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def comment_delete(request, comment_id: int):
    member = member_or_404(request)
    comment = _deletable(actions.deletable_comment, member, comment_id)
    # An author who moved away can no longer read the post: back to their feed then.
    on_post = _post_readable(member, comment.post_id)
    post_url = reverse("post", args=[comment.post_id])
    back = post_url if on_post else reverse("feed")
    if request.method == "POST":
        try:
            actions.do_delete_comment(member, comment.id)
        except NotFound:
            raise Http404
        except EntraideError as exc:
            messages.error(request, exc.message)
            return redirect(back)
        messages.success(request, _("Your comment is deleted."))
        return redirect(post_url + "#comments" if on_post else back)
    return render(request, "feed/confirm_delete.html", {
        "kind": "comment", "comment": comment, "action": reverse("comment_delete", args=[comment.id]),
        "cancel": post_url + f"#comment-{comment.id}" if on_post else back,
    })


# --- thanks -----------------------------------------------------------------------------------------------------

def _thanks_response(request, *, kind: str, target, fallback: str, error: str | None, status: int):
    if is_htmx(request):
        return render(request, "feed/_thanks.html", {"kind": kind, "obj": target, "thanks_error": error,
                                                    "can_post": can_act(member_or_404(request))})
    if error:
        messages.error(request, error)
        if status == 403:
            return render(request, "feed/refused.html", {"back": safe_next(request, fallback)}, status=403)
    return redirect(safe_next(request, fallback))


@login_required
@require_POST
def post_thanks(request, post_id: int):
    member = member_or_404(request)
    error, status = None, 200
    try:
        actions.do_thank_post(member, post_id)
    except NotFound:
        raise Http404
    except EntraideError as exc:
        error, status = exc.message, exc.status
    post = _get_post(member, post_id)
    return _thanks_response(request, kind="post", target=post, error=error, status=status,
                            fallback=reverse("post", args=[post_id]))


@login_required
@require_POST
def comment_thanks(request, comment_id: int):
    member = member_or_404(request)
    error, status = None, 200
    try:
        actions.do_thank_comment(member, comment_id)
    except NotFound:
        raise Http404
    except EntraideError as exc:
        error, status = exc.message, exc.status
    comment = _get_comment(member, comment_id)
    return _thanks_response(request, kind="comment", target=comment, error=error, status=status,
                            fallback=reverse("post", args=[comment.post_id]) + f"#comment-{comment.id}")


# --- pictures, search, crises -----------------------------------------------------------------------------------

@login_required
def image(request, image_id: int):
    member = member_or_404(request)
    try:
        row = queries.image_for(member, image_id)
    except NotFound:
        raise Http404
    content_type = mimetypes.guess_type(row.image.name)[0] or "application/octet-stream"
    try:
        handle = row.image.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def search(request):
    member = member_or_404(request)
    q = (request.GET.get("q") or "").strip()[:200]
    cursor = request.GET.get("cursor") or None
    results, error, status = None, None, 200
    if q:
        try:
            results = search_module.search(member, q, cursor=cursor)
        except EntraideError as exc:
            error, status = exc.message, 400
    trending = search_module.trending(member)
    return render(request, "feed/search.html", {
        "q": q, "results": results, "search_error": error, "trending": trending, "member": member,
        "next_url": _query(q=q, cursor=results.next_cursor) if results and results.next_cursor else None,
        "first_url": _query(q=q) if cursor else None,
    }, status=status)


@login_required
def crisis(request, tag: str):
    member = member_or_404(request)
    current = queries.active_crisis_by_tag(member, tag)
    if current is None:
        raise Http404
    cursor = request.GET.get("cursor") or None
    try:
        page = queries.feed_page(member, crisis=current.tag, cursor=cursor)
    except EntraideError:
        raise Http404
    for item in page.items:
        _with_page_images(item)
    more_url = _query(cursor=page.next_cursor) if page.next_cursor else None
    context = {"crisis": current, "page": page, "more_url": more_url, "member": member, "can_post": can_act(member)}
    if is_htmx(request) and cursor:
        return render(request, "feed/_post_items.html", context)
    return render(request, "feed/crisis.html", context)
