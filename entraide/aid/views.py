"""The pages of mutual aid: server-rendered, every flow a plain form (no JavaScript needed; the map is an extra).

Reads go through `queries` (scoped: a request out of reach is a 404), writes through `actions` (which check who may
do what). A refusal (`EntraideError`) re-renders the page with its message next to the field it concerns, with a
4xx status; a success redirects (post/redirect/get).
"""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from entraide.core.pages import member_or_404, safe_next
from entraide.accounts.permissions import can_act
from entraide.core.errors import EntraideError, NotFound
from entraide.feed.queries import active_crises
from entraide.places import geo

from . import actions, matching, queries
from .forms import MapFilterForm, OfferForm, ReasonForm, RequestForm, ThankForm, ThanksForm, apply_error
from .models import (ACTIVE_STATUSES, WAITING_STATUSES, Escalation, EventKind, HelpType, ProposalAnswer,
                     RequestStatus, Urgency)

TYPE_LABELS = dict(HelpType.choices)
URGENCY_LABELS = dict(Urgency.choices)
EVENT_LABELS = dict(EventKind.choices)
CRISIS_TYPES = [HelpType.CHILDCARE, HelpType.GROCERIES, HelpType.PHARMACY]
# History lines whose reason anyone who may read the request may see (others' reasons stay with their author).
PUBLIC_REASONS = (EventKind.CANCELLED, EventKind.WIDENED)


# --- helpers ----------------------------------------------------------------------------------------------------


def _status(exc: EntraideError) -> int:
    return exc.status if 400 <= exc.status < 500 and exc.status != 404 else 400


def _refusal(request, member) -> bool:
    """True (and the message queued) when the member may not write yet."""
    if can_act(member):
        return False
    messages.error(request, _("Please verify your address first: until then you can read but not post or "
                              "contact anyone."))
    return True


def _get_request(member, request_id: int):
    try:
        return queries.request_in_scope(member, request_id)
    except NotFound:
        raise Http404


def status_text(req, member) -> str:
    """The request's state in words, for this reader."""
    involved = member.id in (req.requester_id, req.helper_id)
    if req.status == RequestStatus.OPEN:
        return _("Waiting for a helper")
    if req.status == RequestStatus.PROPOSED:
        return _("Asked to nearby helpers: waiting for an answer")
    if req.status == RequestStatus.MATCHED:
        if req.helper_done_at:
            return _("The helper says it is done: waiting for the requester's confirmation")
        if req.helper_id == member.id:
            return _("You are helping")
        if involved:
            return _("Taken by %(name)s") % {"name": req.helper.public_name}
        return _("Taken by another neighbour")
    if req.status == RequestStatus.DONE:
        return _("Done")
    if req.status == RequestStatus.CANCELLED:
        return _("Cancelled")
    return _("Expired: the time window is over")


def escalation_text(req) -> str:
    if req.status not in WAITING_STATUSES:
        return ""
    if req.escalation == Escalation.INFORMER:
        return _("Passed to the neighbourhood's informer")
    if req.escalation == Escalation.WIDENED:
        return _("Nobody nearby yet: we widened the search")
    return ""


def _describe(req, member):
    """Attach what the lists and the detail page show (labels, status in words)."""
    req.type_label = TYPE_LABELS.get(req.type, req.type)
    req.urgency_label = URGENCY_LABELS.get(req.urgency, req.urgency)
    req.status_text = status_text(req, member)
    req.escalation_text = escalation_text(req)
    req.requester_name = req.on_behalf_of or req.requester.public_name
    return req


def _history(member, req) -> list[dict]:
    """Kinds and times; a name only for the requester and, to those involved, the helper (privacy rules)."""
    involved = member.id in (req.requester_id, req.helper_id)
    rows = []
    for event in queries.history(req):
        if event.actor_id is None:
            who = ""
        elif event.actor_id == member.id:
            who = _("you")
        elif event.actor_id == req.requester_id:
            who = req.requester_name
        elif involved and event.actor_id == req.helper_id:
            who = req.helper.public_name
        else:
            who = ""
        reason = event.reason if event.kind in PUBLIC_REASONS or event.actor_id == member.id else ""
        if event.kind == EventKind.PROPOSED:
            reason = ""  # a count of helpers: not something to show
        rows.append({"kind": event.kind, "label": EVENT_LABELS.get(event.kind, event.kind), "at": event.created_at,
                     "who": who, "reason": reason})
    return rows


def _crisis_context(member) -> dict:
    return {"crises": active_crises(member), "time_zone": settings.TIME_ZONE}


# --- the aid home -----------------------------------------------------------------------------------------------

@login_required
@require_safe
def home(request):
    member = member_or_404(request)
    proposals = list(queries.my_pending_proposals(member))
    for proposal in proposals:
        _describe(proposal.request, member)
    current = queries.offer_of(member)
    return render(request, "aid/home.html", {
        "member": member, "can_act": can_act(member), "offer": current,
        "offer_types": [str(TYPE_LABELS.get(t, t)) for t in current.types] if current else [],
        "proposals": proposals,
        "my_requests": [_describe(r, member) for r in queries.my_requests(member).select_related("requester")[:50]],
        "my_tasks": [_describe(r, member) for r in queries.my_tasks(member)[:50]],
        **_crisis_context(member),
    })


# --- asking for help --------------------------------------------------------------------------------------------

def _render_ask(request, member, form, status=200):
    return render(request, "aid/ask.html", {"member": member, "form": form, "can_act": can_act(member),
                                            "crises": form.crises, "time_zone": settings.TIME_ZONE},
                  status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def ask(request):
    member = member_or_404(request)
    crises = active_crises(member)
    if request.method != "POST":
        initial = {}
        if request.GET.get("type") in HelpType.values:
            initial["type"] = request.GET["type"]
        return _render_ask(request, member, RequestForm(initial=initial, crises=crises))
    form = RequestForm(request.POST, crises=crises)
    if _refusal(request, member):
        return _render_ask(request, member, form, status=403)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            req = actions.do_create_request(
                member, type=data["type"], description=data["description"], window_start=data["window_start"],
                window_end=data["window_end"], urgency=data["urgency"], at_risk=data["at_risk"],
                reveal_address=data["reveal_address"], reveal_phone=data["reveal_phone"],
                contact_phone=data["contact_phone"], contact_note=data["contact_note"],
                contactless=data["contactless"])
        except EntraideError as exc:
            apply_error(form, exc)
            status = _status(exc)
        else:
            messages.success(request, _("Your request is posted. We are asking the nearest helpers."))
            return redirect("aid_request", req.id)
    return _render_ask(request, member, form, status=status)


# --- one request ------------------------------------------------------------------------------------------------

def _detail_context(request, member, req, *, forms: dict | None = None, error: str = "") -> dict:
    _describe(req, member)
    is_requester = req.requester_id == member.id
    is_helper = req.helper_id is not None and req.helper_id == member.id
    proposal = req.proposals.filter(helper=member).first()
    waiting = req.status in WAITING_STATUSES
    forms = forms or {}
    return {
        "member": member, "req": req, "is_requester": is_requester, "is_helper": is_helper,
        "involved": is_requester or is_helper, "proposal": proposal, "can_act": can_act(member),
        "asked": bool(proposal and proposal.answer == ProposalAnswer.PENDING and waiting),
        "can_take": waiting and not is_requester,
        "waiting": waiting, "active": req.status in ACTIVE_STATUSES, "matched": req.status == RequestStatus.MATCHED,
        "done": req.status == RequestStatus.DONE,
        "taken_by_other": bool(proposal and proposal.answer == ProposalAnswer.TAKEN),
        "contact": queries.contact_for(member, req),
        "distance_m": int(matching.walking_m(*geo.cell_centre(member.blurred_cell), req.lat, req.lon)),
        "history": _history(member, req), "error": error,
        "decline_form": forms.get("decline") or ReasonForm(auto_id="id_decline_%s"),
        "withdraw_form": forms.get("withdraw") or ReasonForm(auto_id="id_withdraw_%s"),
        "cancel_form": forms.get("cancel") or ReasonForm(auto_id="id_cancel_%s"),
        "complete_form": forms.get("complete") or ThanksForm(auto_id="id_complete_%s"),
        "thank_form": forms.get("thank") or ThankForm(auto_id="id_thank_%s"),
    }


@login_required
@require_safe
def request_detail(request, request_id: int):
    member = member_or_404(request)
    req = _get_request(member, request_id)
    return render(request, "aid/request.html", _detail_context(request, member, req))


# verb → (the form it posts, its auto_id prefix)
VERBS = {
    "accept": (None, ""), "decline": (ReasonForm, "id_decline_%s"), "withdraw": (ReasonForm, "id_withdraw_%s"),
    "complete": (ThanksForm, "id_complete_%s"), "cancel": (ReasonForm, "id_cancel_%s"),
    "thank": (ThankForm, "id_thank_%s"),
}


def _done_message(verb: str, req, member) -> str:
    if verb == "accept":
        return _("Thank you! The request is yours: here is how to reach your neighbour.")
    if verb == "decline":
        return _("You said no. Thank you for answering.")
    if verb == "withdraw":
        return _("Done: the request goes back to the helpers nearby.")
    if verb == "cancel":
        return _("Your request is cancelled.")
    if verb == "thank":
        return _("Your thanks are sent.")
    if req.requester_id == member.id:
        return _("Thank you for confirming: the task is done.")
    return _("Thank you! Your neighbour will confirm that it is done.")


@login_required
@require_POST
def request_action(request, request_id: int, verb: str):
    member = member_or_404(request)
    if verb not in VERBS:
        raise Http404
    req = _get_request(member, request_id)
    form_class, auto_id = VERBS[verb]
    form = form_class(request.POST, auto_id=auto_id) if form_class else None
    if form is not None and not form.is_valid():
        return render(request, "aid/request.html", _detail_context(request, member, req, forms={verb: form}),
                      status=400)
    data = form.cleaned_data if form is not None else {}
    try:
        if verb == "accept":
            actions.do_accept(member, req.id)
        elif verb == "decline":
            actions.do_decline(member, req.id, reason=data["reason"])
        elif verb == "withdraw":
            actions.do_withdraw(member, req.id, reason=data["reason"])
        elif verb == "complete":
            actions.do_complete(member, req.id, thanks=data["thanks"])
        elif verb == "cancel":
            actions.do_cancel(member, req.id, reason=data["reason"])
        else:
            actions.do_thank(member, req.id, message=data["message"])
    except NotFound:
        raise Http404
    except EntraideError as exc:
        if form is not None:
            apply_error(form, exc)
            # Errors tied to the form are shown next to its field; anything else at the top of the page.
            error = "" if form.errors and not form.non_field_errors() else exc.message
        else:
            error = exc.message
        req = _get_request(member, request_id)
        return render(request, "aid/request.html",
                      _detail_context(request, member, req, forms={verb: form} if form else None, error=error),
                      status=_status(exc))
    messages.success(request, _done_message(verb, req, member))
    default = reverse("aid_request", args=[req.id])
    if verb == "decline":
        # A helper who said no may no longer see the request (it was only shown to them because they were asked).
        default = reverse("aid_home")
    return redirect(safe_next(request, default))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def request_edit(request, request_id: int):
    member = member_or_404(request)
    req = _describe(_get_request(member, request_id), member)
    if req.requester_id != member.id:
        raise Http404
    context = {"member": member, "req": req, **_crisis_context(member)}
    if req.status not in WAITING_STATUSES:
        messages.error(request, _("This request can no longer be edited."))
        return render(request, "aid/request_edit.html", {**context, "form": None}, status=409)
    if request.method != "POST":
        form = RequestForm(with_type=False, initial={
            "description": req.description, "window_start": req.window_start, "window_end": req.window_end,
            "urgency": req.urgency, "at_risk": req.at_risk, "reveal_address": req.reveal_address,
            "reveal_phone": req.reveal_phone, "contact_phone": req.contact_phone, "contact_note": req.contact_note,
            "contactless": req.contactless})
        return render(request, "aid/request_edit.html", {**context, "form": form})
    form = RequestForm(request.POST, with_type=False)
    if _refusal(request, member):
        return render(request, "aid/request_edit.html", {**context, "form": form}, status=403)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.do_update_request(
                member, req.id, description=data["description"], window_start=data["window_start"],
                window_end=data["window_end"], urgency=data["urgency"], at_risk=data["at_risk"],
                reveal_address=data["reveal_address"], reveal_phone=data["reveal_phone"],
                contact_phone=data["contact_phone"], contact_note=data["contact_note"],
                contactless=data["contactless"])
        except NotFound:
            raise Http404
        except EntraideError as exc:
            apply_error(form, exc)
            status = _status(exc)
        else:
            messages.success(request, _("Your request is updated."))
            return redirect("aid_request", req.id)
    return render(request, "aid/request_edit.html", {**context, "form": form}, status=status)


# --- offering help ----------------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def offer(request):
    member = member_or_404(request)
    current = queries.offer_of(member)
    initial = OfferForm.initial_from(current) if current else {}
    if request.method != "POST":
        return render(request, "aid/offer.html", {"member": member, "offer": current, "can_act": can_act(member),
                                                  "form": OfferForm(initial=initial)})
    form = OfferForm(request.POST, initial=initial)
    if _refusal(request, member):
        return render(request, "aid/offer.html", {"member": member, "offer": current, "can_act": False,
                                                  "form": form}, status=403)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.do_save_offer(member, types=data["types"], radius_m=data["radius_m"], slots=data["slots"],
                                  capacity_per_week=data["capacity_per_week"], active=data["active"])
        except EntraideError as exc:
            apply_error(form, exc)
            status = _status(exc)
        else:
            messages.success(request, _("Your offer is saved. Thank you for helping your neighbours!"))
            return redirect("aid_home")
    return render(request, "aid/offer.html", {"member": member, "offer": current, "can_act": True, "form": form},
                  status=status)


# --- the map and the crisis page --------------------------------------------------------------------------------

def _request_rows(member, rows) -> list[dict]:
    return [{"id": r.id, "type": r.type, "type_label": TYPE_LABELS.get(r.type, r.type),
             "urgency": r.urgency, "urgency_label": URGENCY_LABELS.get(r.urgency, r.urgency), "at_risk": r.at_risk,
             "description": r.description, "requester": r.requester, "distance_m": r.distance_m,
             "window_end": r.window_end, "url": reverse("aid_request", args=[r.id])} for r in rows]


def _helper_rows(member, rows) -> list[dict]:
    return [{"id": h.id, "name": h.name, "is_me": h.id == member.id, "distance_m": h.distance_m,
             "types": [TYPE_LABELS.get(t, t) for t in h.types], "lat": h.lat, "lon": h.lon} for h in rows]


@login_required
@require_safe
def help_map(request):
    member = member_or_404(request)
    filters = MapFilterForm(request.GET)
    wanted = [t for t in request.GET.getlist("type") if t in HelpType.values]
    filters.is_valid()
    requests_ = queries.map_requests(member, types=wanted or None)
    helpers = queries.map_helpers(member, types=wanted or None)
    request_rows = _request_rows(member, requests_)
    helper_rows = _helper_rows(member, helpers)
    lat, lon = geo.cell_centre(member.blurred_cell)
    map_data = {
        "centre": [lat, lon],
        # Blurred points only (the H3 cell centres the queries give), and the words the list shows.
        "requests": [{"lat": r.lat, "lon": r.lon, "label": f"{row['type_label']} · {row['requester']}",
                      "description": r.description, "url": row["url"], "at_risk": r.at_risk}
                     for r, row in zip(requests_, request_rows)],
        "helpers": [{"lat": h["lat"], "lon": h["lon"], "label": f"{h['name']} · {', '.join(map(str, h['types']))}"}
                    for h in helper_rows],
    }
    return render(request, "aid/map.html", {
        "member": member, "filters": filters, "wanted": wanted, "requests": request_rows, "helpers": helper_rows,
        "map_data": map_data, "filtered": bool(wanted),
    })


@login_required
@require_safe
def crisis(request):
    member = member_or_404(request)
    rows = _request_rows(member, queries.map_requests(member, types=[str(t) for t in CRISIS_TYPES]))
    return render(request, "aid/crisis.html", {"member": member, "requests": rows, **_crisis_context(member)})
