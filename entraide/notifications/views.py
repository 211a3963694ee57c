"""Notification pages: the list, the bell fragment, settings, and the one-click unsubscribe page.

The unsubscribe URL is in every email's List-Unsubscribe header (RFC 8058): GET only shows a confirmation (link
scanners follow links), POST with `List-Unsubscribe=One-Click` unsubscribes. The signed token is the credential,
so that POST needs no session and no CSRF token.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from entraide.core.pages import member_or_404
from entraide.core.errors import EntraideError, NotFound

from . import actions, emails, queries
from .forms import SettingsForm, apply_error
from .models import NotificationType


@login_required
@require_GET
def notification_list(request):
    member = member_or_404(request)
    try:
        page = queries.notifications_page(member, cursor=request.GET.get("cursor") or None)
    except EntraideError:
        raise Http404
    return render(request, "notifications/list.html", {"page": page})


@login_required
@require_GET
def bell(request):
    """The bell alone, for htmx to refresh when a notification arrives."""
    return render(request, "notifications/bell.html")


@login_required
@require_POST
def mark_all_read(request):
    actions.do_mark_read(member_or_404(request), all=True)
    messages.success(request, _("All your notifications are marked read."))
    return redirect("notifications")


@login_required
@require_GET
def open_notification(request, notification_id: int):
    """Follow a notification (it is read from now on); someone else's is not found."""
    try:
        notification = actions.do_open(member_or_404(request), notification_id)
    except NotFound:
        raise Http404
    if not url_has_allowed_host_and_scheme(notification.url, allowed_hosts={request.get_host()}):
        return redirect("notifications")
    return redirect(notification.url)


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    member = member_or_404(request)
    neighbourhoods = queries.followable_neighbourhoods(member)
    if request.method == "POST":
        form = SettingsForm(request.POST, neighbourhoods=neighbourhoods)
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.do_update_settings(
                    member, channels=form.channels(), digest=data["digest"], neighbourhoods=data["neighbourhoods"],
                    digest_categories=data["digest_categories"],
                    quiet_hours=(data["quiet_hours_start"] or None, data["quiet_hours_end"] or None),
                    unsubscribed=data["unsubscribed"])
            except EntraideError as exc:
                apply_error(form, exc)
            else:
                messages.success(request, _("Your notification settings are saved."))
                return redirect("notification_settings")
        status = 400
    else:
        form = SettingsForm(initial=SettingsForm.initial_from(queries.settings_of(member)),
                            neighbourhoods=neighbourhoods)
        status = 200
    return render(request, "notifications/settings.html", {"form": form}, status=status)


def _kind_label(kind: str) -> str:
    """The emails a link stops, as a noun phrase for "Stop receiving %(kind)s?" (not the settings' labels)."""
    labels = {
        "digest": _("daily digest emails"),
        NotificationType.MATCH: _("emails asking for my help"),
        NotificationType.REQUEST_UPDATE: _("emails about help requests"),
        NotificationType.MESSAGE: _("new-message emails"),
        NotificationType.REPLY: _("reply emails"),
        NotificationType.URGENT_ALERT: _("urgent-alert emails"),
    }
    return str(labels.get(kind) or _("any email from Entraide"))


@csrf_exempt  # the signed token is the credential (RFC 8058: mail clients POST without a session)
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    try:
        member_id, kind = emails.read_unsubscribe_token(token)
    except signing.BadSignature:
        return HttpResponseBadRequest(_("This unsubscribe link is not valid."))
    if kind not in actions.UNSUBSCRIBE_KINDS:
        return HttpResponseBadRequest(_("This unsubscribe link is not valid."))
    # The page speaks the language its email was written in: the member's, whoever's browser opens the link.
    with translation.override(queries.language_of(member_id) or translation.get_language()):
        return _unsubscribe(request, member_id, kind)


def _unsubscribe(request, member_id: int, kind: str):
    if request.method == "GET" or request.POST.get("List-Unsubscribe") != "One-Click":
        # Only the confirmation: link scanners follow links. Answered 200 rather than 4xx, so the valid token in
        # the path is not written to the error log.
        return render(request, "notifications/unsubscribe.html", {"kind": _kind_label(kind), "done": False})
    if request.POST.get("scope") == "all":
        kind = emails.ALL
    if not actions.do_unsubscribe(member_id, kind):
        return HttpResponseBadRequest(_("This unsubscribe link is not valid."))
    return render(request, "notifications/unsubscribe.html", {"kind": _kind_label(kind), "done": True})
