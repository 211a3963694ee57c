"""The conversation pages: server-rendered, every flow a plain form; htmx only spares full reloads.

Reads go through `queries` (a conversation one does not take part in is a 404), writes through `actions`. When a
request comes from htmx (`HX-Request`), sending and refreshing answer with a fragment and status 200 (htmx does not
swap error statuses); plain requests get the whole page, or a redirect after a write (post/redirect/get).
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from entraide.core.pages import is_htmx, member_or_404, safe_next
from entraide.accounts.permissions import can_act
from entraide.aid.queries import request_in_scope
from entraide.core.errors import EntraideError, NotFound

from . import actions, queries
from .forms import BlockForm, MessageForm, ReportForm, StartForm, apply_error
from .models import ConversationKind

PASSTHROUGH_STATUSES = (403, 409, 413, 422, 429)


def _status(exc: EntraideError) -> int:
    return exc.status if exc.status in PASSTHROUGH_STATUSES else 400


def _conversation(member, conversation_id: int):
    try:
        return queries.conversation_in_scope(member, conversation_id)
    except NotFound:
        raise Http404


def _thread_url(conversation_id: int) -> str:
    return reverse("messaging_thread", args=[conversation_id])


# --- the inbox ----------------------------------------------------------------------------------------------------

@login_required
@require_safe
def inbox(request):
    member = member_or_404(request)
    try:
        page = queries.conversations_for(member, cursor=request.GET.get("cursor") or None)
    except EntraideError:
        page = queries.conversations_for(member)
    return render(request, "messaging/inbox.html", {
        "member": member, "page": page, "unread_total": queries.unread_total(member),
        "more_url": f"?cursor={page.next_cursor}" if page.next_cursor else None,
    })


# --- starting -----------------------------------------------------------------------------------------------------

def _start_target(member, form: StartForm) -> dict:
    """Whom the start page is about, as the member may see it (404 otherwise)."""
    data = form.cleaned_data
    try:
        if data.get("to") is not None:
            return {"to": queries.contactable(member, data["to"]), "help_request": None}
        return {"to": None, "help_request": request_in_scope(member, data["request"])}
    except NotFound:
        raise Http404


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def start(request):
    member = member_or_404(request)
    form = StartForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        if request.method == "POST":
            raise Http404
        return redirect("messaging_inbox")
    target = _start_target(member, form)
    context = {"member": member, "form": form, "can_act": can_act(member), **target}
    if request.method != "POST":
        return render(request, "messaging/start.html", context)
    try:
        if target["to"] is not None:
            conversation, _created = actions.do_start_direct(member, target["to"].id)
        else:
            conversation, _created = actions.do_start_for_request(member, target["help_request"].id)
    except NotFound:
        raise Http404
    except EntraideError as exc:
        context["error"] = exc.message
        return render(request, "messaging/start.html", context, status=_status(exc))
    return redirect(_thread_url(conversation.id) + "#message-form")


# --- one conversation ---------------------------------------------------------------------------------------------

def _thread_context(request, member, conversation, *, form=None, cursor: str | None = None) -> dict:
    try:
        page = queries.messages_page(member, conversation.id, cursor=cursor)
    except NotFound:
        raise Http404
    except EntraideError:
        page = queries.messages_page(member, conversation.id)
    other = queries.other_participant(conversation, member)
    blocked = bool(other) and queries.blocked_between(member.id, [other.id])
    return {
        "member": member, "conversation": conversation, "page": page, "other": other,
        "is_request": conversation.kind == ConversationKind.REQUEST, "req": conversation.request,
        "i_blocked": bool(other) and queries.is_blocked_by(member, other.id), "blocked": blocked,
        "closed": actions.request_closed(conversation),
        "can_write": bool(other) and not blocked and not actions.request_closed(conversation),
        "form": form or MessageForm(auto_id="id_message_%s"),
        "older_url": f"?cursor={page.next_cursor}" if page.next_cursor else None,
        "last_id": page.items[-1].id if page.items else 0,
        "report_form": ReportForm(auto_id=False),
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def thread(request, conversation_id: int):
    member = member_or_404(request)
    conversation = _conversation(member, conversation_id)
    if request.method == "POST":
        return _send(request, member, conversation)
    actions.do_mark_read(member, conversation.id)  # opening the thread is reading it
    context = _thread_context(request, member, conversation, cursor=request.GET.get("cursor") or None)
    return render(request, "messaging/thread.html", context)


def _send(request, member, conversation):
    form = MessageForm(request.POST, request.FILES, auto_id="id_message_%s")
    htmx, status = is_htmx(request), 400
    if form.is_valid():
        try:
            message = actions.do_send_message(member, conversation.id, form.cleaned_data["body"],
                                              images=form.cleaned_data["images"])
        except NotFound:
            raise Http404
        except EntraideError as exc:
            apply_error(form, exc, {"images": "images", "image": "images"})
            status = _status(exc)
        else:
            if htmx:
                context = _thread_context(request, member, conversation)
                context.update(refocus=True, announce=_("Your message is sent."))
                return render(request, "messaging/_thread.html", context)
            return redirect(_thread_url(conversation.id) + f"#message-{message.id}")
    context = _thread_context(request, member, conversation, form=form)
    if htmx:
        return render(request, "messaging/_thread.html", {**context, "refocus": True})
    return render(request, "messaging/thread.html", context, status=status)


@login_required
@require_safe
def thread_messages(request, conversation_id: int):
    """The message list alone, for htmx to refresh when a `message.created` event arrives for this conversation."""
    member = member_or_404(request)
    conversation = _conversation(member, conversation_id)
    actions.do_mark_read(member, conversation.id)  # the thread is open on screen
    context = _thread_context(request, member, conversation)
    try:
        seen = int(request.GET.get("seen") or 0)
    except ValueError:
        seen = 0
    new = [m for m in context["page"].items if m.id > seen and not m.mine]
    if seen and new:
        context["announce"] = ngettext("%(n)d new message from %(name)s", "%(n)d new messages from %(name)s",
                                       len(new)) % {"n": len(new), "name": new[-1].author_name}
        context["announce_oob"] = True
    return render(request, "messaging/_messages.html", context)


@login_required
@require_POST
def report(request, conversation_id: int):
    member = member_or_404(request)
    conversation = _conversation(member, conversation_id)
    form = ReportForm(request.POST, auto_id=False)
    back = _thread_url(conversation.id)
    if not form.is_valid():
        messages.error(request, _("This report could not be sent."))
        return redirect(back)
    message_id = form.cleaned_data["message_id"]
    try:
        message = queries.message_in_scope(member, message_id)
        if message.conversation_id != conversation.id:
            raise NotFound()
        actions.do_report_message(member, message.id, form.cleaned_data["reason"])
    except NotFound:
        raise Http404
    except EntraideError as exc:
        messages.error(request, exc.message)
        return redirect(back + f"#message-{message_id}")
    messages.success(request, _("Thank you. The moderators will look at this message."))
    return redirect(back + f"#message-{message_id}")


@login_required
@require_POST
def block(request):
    member = member_or_404(request)
    form = BlockForm(request.POST)
    if not form.is_valid():
        raise Http404
    member_id = form.cleaned_data["member_id"]
    back = safe_next(request, reverse("messaging_inbox"))
    try:
        if form.cleaned_data["action"] == "block":
            actions.do_block(member, member_id)
            messages.success(request, _("Blocked. Neither of you can write to the other any more."))
        else:
            actions.do_unblock(member, member_id)
            messages.success(request, _("Unblocked."))
    except NotFound:
        raise Http404
    except EntraideError as exc:
        messages.error(request, exc.message)
    return redirect(back)
