"""Every write of mutual aid: requests, offers, and the engine's steps (propose, widen, escalate, expire).

Lifecycle: open → proposed (helpers asked) → matched (one accepted) → done; or cancelled / expired, with a reason.
Each step is one transaction that also writes the request's history (`RequestEvent`); events go out after commit
(`request.created`, `request.updated`, and `request.escalated`, the hook the informer role will subscribe to).
Who wins a request is decided by one conditional UPDATE (`status` still waiting, no helper yet), so two helpers
accepting at the same instant cannot both get it, on either database.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from entraide.accounts.models import Member, VerificationState
from entraide.accounts.permissions import require_can_act
from entraide.core import events, ratelimit
from entraide.core.errors import Conflict, Forbidden
from entraide.places import geo

from . import matching, queries
from . import validation as v
from .models import (ACTIVE_STATUSES, WAITING_STATUSES, Escalation, EventKind, HelpOffer, HelpRequest,
                     MatchProposal, ProposalAnswer, RequestEvent, RequestStatus, types_to_mask)

REQUEST_LIMIT = (10, 3600)  # per member: 10 requests an hour
ANSWER_LIMIT = (60, 3600)  # per member: 60 accepts/declines/withdrawals an hour
AUTO_CONFIRM_AFTER = timedelta(days=3)  # a task still in progress this long after its end closes itself
logger = logging.getLogger(__name__)


def _record(req: HelpRequest, kind: str, actor: Member | None = None, reason: str = "") -> None:
    RequestEvent.objects.create(request=req, neighbourhood_id=req.neighbourhood_id, actor=actor, kind=kind,
                                reason=reason[:200])


def _announce(req: HelpRequest, kind: str, extra_members: list[int] | None = None) -> None:
    """request.updated to everyone concerned: requester, helper, helpers asked."""
    members = {req.requester_id, *(extra_members or [])}
    if req.helper_id:
        members.add(req.helper_id)
    events.publish("request.updated", {"request_id": req.id, "status": req.status, "kind": kind},
                   neighbourhood_id=req.neighbourhood_id, member_ids=sorted(members))


# --- the engine -------------------------------------------------------------------------------------------------

def _propose(req: HelpRequest, radius_m: int, now: datetime, *, source: str = "online") -> list[int]:
    """Ask the best few helpers not asked yet; returns their member ids (empty when nobody suits)."""
    asked = set(MatchProposal.objects.filter(request=req).values_list("helper_id", flat=True))
    best = queries.candidates_for(req, radius_m=radius_m, exclude=asked, now=now)[: settings.ENTRAIDE_AID_NOTIFY_FIRST]
    if not best:
        return []
    start = len(asked)
    MatchProposal.objects.bulk_create([
        MatchProposal(request=req, helper_id=c.helper_id, neighbourhood_id=req.neighbourhood_id, rank=start + i,
                      distance_m=int(c.distance_m), score=c.score, source=source, notified_at=now)
        for i, c in enumerate(best)])
    helper_ids = [c.helper_id for c in best]
    _record(req, EventKind.PROPOSED, reason=f"{len(best)}")
    events.publish("request.proposed", {"request_id": req.id, "helper_ids": helper_ids, "urgency": req.urgency,
                                        "notified_at": now.isoformat()},
                   neighbourhood_id=req.neighbourhood_id, member_ids=helper_ids)
    return helper_ids


def _escalate_to_informer(req: HelpRequest) -> None:
    # The informer role lands later: this event and the history line are the hook it will use.
    req.escalation = Escalation.INFORMER
    _record(req, EventKind.ESCALATED)
    events.publish("request.escalated", {"request_id": req.id, "urgency": req.urgency, "at_risk": req.at_risk},
                   neighbourhood_id=req.neighbourhood_id)


def _advance(req: HelpRequest, now: datetime, *, current_radius_first: bool = False) -> None:
    """One step of the engine for a waiting request: new, or whose helpers did not answer in time.

    A new request (or one a helper left) first asks helpers within its current radius. Nobody there, or nobody
    answered in time: widen the radius and ask more. Still nobody: pass it to the neighbourhood's informer, and
    keep asking new helpers at each check, so a request is always asked, widened, escalated or visibly waiting.
    """
    if not (current_radius_first and _propose(req, req.search_radius_m, now)):
        if req.escalation == Escalation.NONE:
            req.escalation = Escalation.WIDENED
            req.search_radius_m = max(req.search_radius_m, settings.ENTRAIDE_AID_WIDE_RADIUS_M)
            _record(req, EventKind.WIDENED, reason=f"{req.search_radius_m} m")
            if not _propose(req, req.search_radius_m, now):
                _escalate_to_informer(req)
        elif req.escalation == Escalation.WIDENED:
            _escalate_to_informer(req)
            _propose(req, req.search_radius_m, now)
        else:
            _propose(req, req.search_radius_m, now)
    pending = MatchProposal.objects.filter(request=req, answer=ProposalAnswer.PENDING).exists()
    req.status = RequestStatus.PROPOSED if pending else RequestStatus.OPEN
    # Look again after the urgency's delay, or sooner when the window would close first (at half of what is
    # left), so a short request is widened before it can expire unasked.
    left = max((req.window_end - now) / 2, timedelta(minutes=5))
    req.next_check_at = now + min(matching.escalation_delay(req.urgency), left)
    req.save(update_fields=["status", "escalation", "search_radius_m", "next_check_at", "updated_at"])


def _expire(req: HelpRequest, now: datetime) -> None:
    req.status, req.status_reason, req.closed_at, req.next_check_at = RequestStatus.EXPIRED, "window_over", now, None
    req.save(update_fields=["status", "status_reason", "closed_at", "next_check_at", "updated_at"])
    pending = list(MatchProposal.objects.filter(request=req, answer=ProposalAnswer.PENDING).values_list("helper_id", flat=True))
    MatchProposal.objects.filter(request=req, answer=ProposalAnswer.PENDING).update(answer=ProposalAnswer.CLOSED,
                                                                                    answered_at=now)
    _record(req, EventKind.EXPIRED, reason="window_over")
    _announce(req, "expired", pending)


def do_tick(now: datetime | None = None, *, limit: int = 500) -> dict[str, int]:
    """Run the engine's due steps: expire what is over, widen/escalate what waited too long, close old tasks.

    Called every minute by the job runner (`entraide aid-tick` does one pass by hand). Each request is handled in
    its own transaction and its own try, so one failure neither half-writes it nor holds back the others; it is
    logged and tried again at the next tick.
    """
    now = now or timezone.now()
    counts = {"expired": 0, "advanced": 0, "confirmed": 0}
    due = list(HelpRequest.objects.filter(status__in=WAITING_STATUSES, next_check_at__lte=now)
               .order_by("next_check_at").values_list("id", flat=True)[:limit])
    over = list(HelpRequest.objects.filter(status__in=WAITING_STATUSES, window_end__lte=now)
                .values_list("id", flat=True)[:limit])
    for request_id in dict.fromkeys([*over, *due]):
        with _isolated(request_id):
            req = HelpRequest.objects.select_for_update().filter(pk=request_id, status__in=WAITING_STATUSES).first()
            if req is None:
                continue
            if req.window_end <= now:
                _expire(req, now)
                counts["expired"] += 1
            elif req.next_check_at and req.next_check_at <= now:
                _advance(req, now)
                counts["advanced"] += 1
    # Tasks in progress end too, so the helper does not keep the requester's details: confirmed automatically
    # when the helper said it was done, otherwise closed as expired, three days after the window (or the "done").
    stale = HelpRequest.objects.filter(status=RequestStatus.MATCHED).filter(
        Q(helper_done_at__lte=now - AUTO_CONFIRM_AFTER) | Q(window_end__lte=now - AUTO_CONFIRM_AFTER))
    for request_id in list(stale.values_list("id", flat=True)[:limit]):
        with _isolated(request_id):
            req = HelpRequest.objects.select_for_update().filter(pk=request_id, status=RequestStatus.MATCHED).first()
            if req is None:
                continue
            if req.helper_done_at is not None:
                _finish(req, None, now, reason="confirmed_automatically")
                counts["confirmed"] += 1
            else:
                req.status, req.status_reason, req.closed_at = RequestStatus.EXPIRED, "not_confirmed", now
                req.save(update_fields=["status", "status_reason", "closed_at", "updated_at"])
                _record(req, EventKind.EXPIRED, reason="not_confirmed")
                _announce(req, "expired")
                counts["expired"] += 1
    return counts


@contextmanager
def _isolated(request_id: int):
    try:
        with transaction.atomic():
            yield
    except Exception:  # noqa: BLE001 - one request's failure must not stop the engine for the others
        logger.exception("aid tick failed for request %s", request_id)


# --- requests ---------------------------------------------------------------------------------------------------

def do_create_request(member: Member, *, type: str, description: str, window_start: datetime, window_end: datetime,
                      urgency: str = "normal", at_risk: bool = False, reveal_address: bool = True,
                      reveal_phone: bool = False, contact_phone: str = "", contact_note: str = "",
                      contactless: bool | None = None, on_behalf_of: str = "",
                      now: datetime | None = None) -> HelpRequest:
    """Post a request in the member's home neighbourhood and ask the best nearby helpers at once."""
    require_can_act(member)
    now = now or timezone.now()
    type = v.check_type(type)
    description = v.check_description(description)
    window_start, window_end = v.check_window(window_start, window_end, now=now)
    urgency = v.check_urgency(urgency)
    contact_phone = v.check_phone(contact_phone)
    if reveal_phone and not contact_phone:
        raise v.invalid("phone_required", _("Give the phone number your helper may call."), "contact_phone")
    contact_note = v.check_note(contact_note)
    on_behalf_of = " ".join(v.clean_text(on_behalf_of).split())[:80]
    ratelimit.hit("aid_request", str(member.id), limit=REQUEST_LIMIT[0], window_s=REQUEST_LIMIT[1])
    from entraide.feed.queries import active_crises

    crises = active_crises(member)
    if contactless is None:
        contactless = bool(crises)  # contactless hand-over is the default while a crisis is declared
    lat, lon = geo.cell_centre(member.blurred_cell)
    with transaction.atomic():
        req = HelpRequest.objects.create(
            neighbourhood_id=member.neighbourhood_id, requester=member, on_behalf_of=on_behalf_of, type=type,
            description=description, window_start=window_start, window_end=window_end, urgency=urgency,
            at_risk=bool(at_risk), contactless=bool(contactless), crisis=crises[0] if crises else None,
            reveal_address=bool(reveal_address), reveal_phone=bool(reveal_phone), contact_phone=contact_phone,
            contact_note=contact_note, blurred_cell=member.blurred_cell, lat=lat, lon=lon,
            search_radius_m=settings.ENTRAIDE_AID_RADIUS_M)
        _record(req, EventKind.CREATED, member)
        events.publish("request.created", {"request_id": req.id, "type": type, "urgency": urgency},
                       neighbourhood_id=req.neighbourhood_id)
        _advance(req, now, current_radius_first=True)
    return req


def _own(member: Member | None, request_id: int) -> HelpRequest:
    # Locked: a helper accepting at the same moment must not be overwritten by the requester's write.
    req = queries.request_in_scope(member, request_id, for_update=True)
    if req.requester_id != member.id:
        raise Forbidden("not_requester", _("Only the person who asked can do this."))
    return req


def do_update_request(member: Member, request_id: int, *, description: str | None = None,
                      window_start: datetime | None = None, window_end: datetime | None = None,
                      urgency: str | None = None, at_risk: bool | None = None, reveal_address: bool | None = None,
                      reveal_phone: bool | None = None, contact_phone: str | None = None,
                      contact_note: str | None = None, contactless: bool | None = None) -> HelpRequest:
    """The requester edits their request; what it asks for may change only while nobody has taken it."""
    require_can_act(member)
    with transaction.atomic():
        req = _own(member, request_id)
        before = {f.attname: getattr(req, f.attname) for f in HelpRequest._meta.concrete_fields}
        if req.status not in ACTIVE_STATUSES:
            raise Conflict("request_closed", _("This request is closed."))
        changes_task = any(x is not None for x in (description, window_start, window_end, urgency))
        if changes_task and req.status == RequestStatus.MATCHED:
            raise Conflict("request_matched",
                           _("A helper already took this request: cancel it, or agree the change with them."))
        if description is not None:
            req.description = v.check_description(description)
        if window_start is not None or window_end is not None:
            req.window_start, req.window_end = v.check_window(window_start or req.window_start,
                                                              window_end or req.window_end)
        if urgency is not None:
            req.urgency = v.check_urgency(urgency)
        if contact_phone is not None:
            req.contact_phone = v.check_phone(contact_phone)
        if contact_note is not None:
            req.contact_note = v.check_note(contact_note)
        for name, value in (("at_risk", at_risk), ("reveal_address", reveal_address),
                            ("reveal_phone", reveal_phone), ("contactless", contactless)):
            if value is not None:
                setattr(req, name, bool(value))
        if req.reveal_phone and not req.contact_phone:
            raise v.invalid("phone_required", _("Give the phone number your helper may call."), "contact_phone")
        changed = [f.attname for f in HelpRequest._meta.concrete_fields if getattr(req, f.attname) != before[f.attname]]
        if req.at_risk and not before["at_risk"]:
            # Now at risk: seen by verified members only, so unverified helpers asked before lose the proposal.
            req.proposals.filter(answer=ProposalAnswer.PENDING).exclude(
                helper__verification_state=VerificationState.VERIFIED).update(answer=ProposalAnswer.CLOSED,
                                                                             answered_at=timezone.now())
        if changed:
            req.save(update_fields=[*changed, "updated_at"])
            _record(req, EventKind.UPDATED, member)
            _announce(req, "updated")
    return req


def do_accept(member: Member, request_id: int, *, now: datetime | None = None) -> HelpRequest:
    """Take a request. Exactly one helper wins; the others asked are told it is taken."""
    require_can_act(member)
    now = now or timezone.now()
    ratelimit.hit("aid_answer", str(member.id), limit=ANSWER_LIMIT[0], window_s=ANSWER_LIMIT[1])
    with transaction.atomic():
        req = queries.request_in_scope(member, request_id)
        if req.requester_id == member.id:
            raise Forbidden("own_request", _("You cannot take your own request."))
        if req.status == RequestStatus.MATCHED and req.helper_id == member.id:
            return req
        if req.status == RequestStatus.MATCHED:
            raise Conflict("already_taken", _("Another neighbour has just taken this request. Thank you all the same!"))
        if req.status not in WAITING_STATUSES:
            raise Conflict("request_closed", _("This request is closed."))
        offer = queries.offer_of(member)
        reach = offer.radius_m if offer and offer.active else settings.ENTRAIDE_AID_RADIUS_M
        hlat, hlon = geo.cell_centre(member.blurred_cell)
        distance = matching.walking_m(req.lat, req.lon, hlat, hlon)
        if distance > reach:
            raise v.invalid("out_of_reach", _("This request is %(d)d m away, beyond the %(r)d m you walk.")
                            % {"d": int(distance), "r": reach}, "request", status=422)
        won = HelpRequest.objects.filter(pk=req.pk, status__in=WAITING_STATUSES, helper__isnull=True).update(
            status=RequestStatus.MATCHED, helper=member, matched_at=now, next_check_at=None, updated_at=now)
        if won != 1:
            raise Conflict("already_taken", _("Another neighbour has just taken this request. Thank you all the same!"))
        req.refresh_from_db()
        mine = MatchProposal.objects.filter(request=req, helper=member)
        if not mine.update(answer=ProposalAnswer.ACCEPTED, answered_at=now):
            MatchProposal.objects.create(request=req, helper=member, neighbourhood_id=req.neighbourhood_id,
                                         rank=req.proposals.count(), distance_m=int(distance), score=distance / 1000,
                                         source="direct", notified_at=now, answer=ProposalAnswer.ACCEPTED,
                                         answered_at=now)
        others = MatchProposal.objects.filter(request=req, answer=ProposalAnswer.PENDING)
        told = list(others.values_list("helper_id", flat=True))
        others.update(answer=ProposalAnswer.TAKEN, answered_at=now)
        _record(req, EventKind.ACCEPTED, member)
        _announce(req, "accepted", told)
    return req


def do_decline(member: Member, request_id: int, *, reason: str = "") -> None:
    """A helper asked says no; once every helper asked has declined, the engine looks further at once."""
    require_can_act(member)
    reason = v.check_reason(reason)
    now = timezone.now()
    ratelimit.hit("aid_answer", str(member.id), limit=ANSWER_LIMIT[0], window_s=ANSWER_LIMIT[1])
    with transaction.atomic():
        req = queries.request_in_scope(member, request_id, for_update=True)
        if not MatchProposal.objects.filter(request=req, helper=member, answer=ProposalAnswer.PENDING).update(
                answer=ProposalAnswer.DECLINED, answered_at=now):
            raise Conflict("not_proposed", _("You were not asked to take this request, or already answered."))
        _record(req, EventKind.DECLINED, member, reason)
        if req.status == RequestStatus.PROPOSED and not req.proposals.filter(answer=ProposalAnswer.PENDING).exists():
            _advance(req, now, current_radius_first=True)


def do_withdraw(member: Member, request_id: int, *, reason: str = "") -> HelpRequest:
    """Either side leaves a match: the helper steps back (counted as dropped), or the requester releases them.

    The request goes back to waiting and the engine asks other helpers at once. A helper asked but not matched
    withdraws by declining.
    """
    require_can_act(member)
    reason = v.check_reason(reason)
    now = timezone.now()
    ratelimit.hit("aid_answer", str(member.id), limit=ANSWER_LIMIT[0], window_s=ANSWER_LIMIT[1])
    with transaction.atomic():
        req = queries.request_in_scope(member, request_id, for_update=True)
        if req.status != RequestStatus.MATCHED:
            if MatchProposal.objects.filter(request=req, helper=member, answer=ProposalAnswer.PENDING).exists():
                do_decline(member, request_id, reason=reason)
                req.refresh_from_db()
                return req
            raise Conflict("not_matched", _("Nobody has taken this request yet."))
        if member.id not in (req.helper_id, req.requester_id):
            raise Forbidden("not_involved", _("Only the requester or the helper can do this."))
        helper_id = req.helper_id
        if member.id == helper_id:
            HelpOffer.objects.filter(helper_id=helper_id).update(dropped_count=F("dropped_count") + 1)
            kind = EventKind.HELPER_WITHDREW
        else:
            kind = EventKind.REQUESTER_WITHDREW
        MatchProposal.objects.filter(request=req, helper_id=helper_id).update(answer=ProposalAnswer.DECLINED,
                                                                             answered_at=now)
        req.status, req.helper, req.matched_at, req.helper_done_at = RequestStatus.OPEN, None, None, None
        req.save(update_fields=["status", "helper", "matched_at", "helper_done_at", "updated_at"])
        _record(req, kind, member, reason)
        _announce(req, "withdrawn", [helper_id])
        _advance(req, now, current_radius_first=True)
    return req


def _finish(req: HelpRequest, actor: Member | None, now: datetime, *, reason: str = "", thanks: str = "") -> None:
    req.status, req.closed_at, req.next_check_at, req.status_reason = RequestStatus.DONE, now, None, reason
    if thanks:
        req.thanks = thanks
    req.save(update_fields=["status", "closed_at", "next_check_at", "status_reason", "thanks", "updated_at"])
    HelpOffer.objects.filter(helper_id=req.helper_id).update(completed_count=F("completed_count") + 1)
    _record(req, EventKind.COMPLETED, actor, reason)
    if thanks:
        _record(req, EventKind.THANKED, actor)
    _announce(req, "completed")


def do_complete(member: Member, request_id: int, *, thanks: str = "") -> HelpRequest:
    """The helper says it is done; the requester confirms (and may thank). Confirmation closes the task."""
    require_can_act(member)
    thanks = v.clean_text(thanks)
    if len(thanks) > 500:
        raise v.invalid("thanks_too_long", _("At most %(n)d characters, please.") % {"n": 500}, "thanks")
    now = timezone.now()
    with transaction.atomic():
        req = queries.request_in_scope(member, request_id, for_update=True)
        if member.id not in (req.helper_id, req.requester_id):
            raise Forbidden("not_involved", _("Only the requester or the helper can do this."))
        if req.status != RequestStatus.MATCHED:
            raise Conflict("not_matched", _("Only a task in progress can be completed."))
        if member.id == req.helper_id:
            if req.helper_done_at is None:  # saying it twice does not push the automatic confirmation back
                req.helper_done_at = now
                req.save(update_fields=["helper_done_at", "updated_at"])
                _record(req, EventKind.HELPER_DONE, member)
                _announce(req, "helper_done")
        else:
            _finish(req, member, now, thanks=thanks)
    return req


def do_thank(member: Member, request_id: int, *, message: str) -> HelpRequest:
    """The requester thanks their helper once the task is done."""
    require_can_act(member)
    message = v.clean_text(message)
    if not message or len(message) > 500:
        raise v.invalid("invalid_thanks", _("A thank-you of 1 to 500 characters."), "message")
    with transaction.atomic():
        req = _own(member, request_id)
        if req.status != RequestStatus.DONE or req.helper_id is None:
            raise Conflict("not_done", _("You can thank your helper once the task is done."))
        req.thanks = message
        req.save(update_fields=["thanks", "updated_at"])
        _record(req, EventKind.THANKED, member)
        _announce(req, "thanked")
    return req


def do_cancel(member: Member, request_id: int, *, reason: str = "") -> HelpRequest:
    """The requester no longer needs help; the helper and the helpers asked are told."""
    require_can_act(member)
    reason = v.check_reason(reason)
    now = timezone.now()
    with transaction.atomic():
        req = _own(member, request_id)
        if req.status not in ACTIVE_STATUSES:
            raise Conflict("request_closed", _("This request is closed."))
        pending = list(req.proposals.filter(answer=ProposalAnswer.PENDING).values_list("helper_id", flat=True))
        req.proposals.filter(answer=ProposalAnswer.PENDING).update(answer=ProposalAnswer.CLOSED, answered_at=now)
        req.status, req.status_reason, req.closed_at, req.next_check_at = RequestStatus.CANCELLED, reason, now, None
        req.save(update_fields=["status", "status_reason", "closed_at", "next_check_at", "updated_at"])
        _record(req, EventKind.CANCELLED, member, reason)
        _announce(req, "cancelled", pending)
    return req


# --- offers -----------------------------------------------------------------------------------------------------

def do_save_offer(member: Member, *, types: list[str], radius_m: int = 1000, slots: list[dict] | None = None,
                  capacity_per_week: int = 3, active: bool = True) -> HelpOffer:
    """Become a helper, or change one's offer. One offer per member, at their blurred home point."""
    require_can_act(member)
    mask = types_to_mask(v.check_types(types))
    radius_m, capacity = v.check_radius(int(radius_m)), v.check_capacity(int(capacity_per_week))
    slots = v.check_slots(slots)
    lat, lon = geo.cell_centre(member.blurred_cell)
    with transaction.atomic():
        offer, created = HelpOffer.objects.update_or_create(helper=member, defaults=dict(
            neighbourhood_id=member.neighbourhood_id, type_mask=mask, radius_m=radius_m, slots=slots,
            capacity_per_week=capacity, active=bool(active), blurred_cell=member.blurred_cell, lat=lat, lon=lon))
        events.publish("offer.created" if created else "offer.updated", {"helper_id": member.id},
                       neighbourhood_id=member.neighbourhood_id)
    return offer
