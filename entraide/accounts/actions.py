"""Every write on members: sign-up, profile, address verification, tokens."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from entraide.core import events, ratelimit
from entraide.core.errors import EntraideError, Forbidden
from entraide.places import geo
from entraide.places.models import Neighbourhood

from .home import Home, resolve_home
from .models import ApiToken, InvitationCode, LetterCode, Member, VerificationMethod, VerificationState
from .permissions import require_can_act
from .queries import token_digest

User = get_user_model()
logger = logging.getLogger(__name__)
# Letter codes avoid look-alike characters (0/O, 1/I/L) because people type them from paper.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LETTER_CODE_LENGTH = 8
INVITATION_DAYS = 14


def _hash_code(code: str) -> str:
    normalised = code.strip().upper().replace("-", "").replace(" ", "")
    return hmac.new(settings.SECRET_KEY.encode(), normalised.encode(), hashlib.sha256).hexdigest()


def _new_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def create_member(user, *, display_name: str, home: Home, language: str = "fr") -> Member:
    """The profile beside a new user; called inside the sign-up transaction (allauth's or the API's)."""
    display_name = " ".join(display_name.split())
    if not display_name:
        raise EntraideError("display_name_required", _("Give the name your neighbours will see."),
                            fields={"display_name": [_("This field is required.")]})
    blurred = geo.blur(home.lat, home.lon)
    member = Member.objects.create(
        user=user, display_name=display_name[:80], language=language if language in dict(settings.LANGUAGES) else "fr",
        address_text=home.address_text, lat=home.lat, lon=home.lon, blurred_cell=blurred.cell,
        street_name=home.street_name, location_precision=home.precision, neighbourhood=home.neighbourhood,
    )
    events.publish("member.joined", {"member_id": member.id}, neighbourhood_id=home.neighbourhood.id)
    return member


@transaction.atomic
def do_signup(*, email: str, password: str, display_name: str, address: str | None = None,
              lat: float | None = None, lon: float | None = None, language: str = "fr", request=None) -> Member:
    """API sign-up. Same rules as the page (allauth form): unique email, password validators, a covered home.

    Like the page, it sends allauth's email confirmation mail, once the account has committed.
    """
    from allauth.account.models import EmailAddress
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise EntraideError("invalid_email", _("Enter a valid email address."), fields={"email": [_("Invalid email.")]})
    if User.objects.filter(email__iexact=email).exists() or EmailAddress.objects.filter(email__iexact=email).exists():
        raise EntraideError("email_taken", _("An account already uses this email address."), status=409,
                            fields={"email": [_("Already registered.")]})
    home = resolve_home(address=address, lat=lat, lon=lon)
    user = User(username=_username_for(email), email=email)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise EntraideError("weak_password", " ".join(exc.messages), fields={"password": list(exc.messages)})
    user.set_password(password)
    try:
        user.save()
    except IntegrityError:
        raise EntraideError("email_taken", _("An account already uses this email address."), status=409)
    email_address = EmailAddress.objects.create(user=user, email=email, primary=True, verified=False)
    member = create_member(user, display_name=display_name, home=home, language=language)
    # After commit: a mail must never confirm an address whose account was rolled back.
    transaction.on_commit(lambda: _send_email_confirmation(request, email_address, member.language))
    return member


def _send_email_confirmation(request, email_address, language: str) -> None:
    """allauth's sign-up confirmation mail, with the link its confirm-email page accepts (as the page sign-up)."""
    from contextlib import nullcontext

    from allauth.account import app_settings as allauth_settings
    from allauth.account.adapter import get_adapter
    from allauth.core import context

    if allauth_settings.EMAIL_VERIFICATION == allauth_settings.EmailVerificationMethod.NONE:
        return
    if not get_adapter().should_send_confirmation_mail(request, email_address, True):
        return
    # allauth builds the mail (site, absolute link) from the request its middleware records; when the commit
    # comes outside that middleware (a caller's outer transaction, a script, a test), that record is empty.
    request_scope = context.request_context(request) if request is not None else nullcontext()
    try:
        with request_scope, translation.override(language):  # the member's chosen language, not the headers
            email_address.send_confirmation(request, signup=True)
    except OSError as exc:  # smtplib's errors and refused connections; a bug in our code still raises
        # The account exists already: failing the request would make the client retry into `email_taken`.
        # The member can ask for another mail from /accounts/email/. No address in the log (DESIGN.md).
        logger.warning("sign-up confirmation mail not sent for email address %s: %s", email_address.pk,
                       type(exc).__name__)


def _username_for(email: str) -> str:
    # Django's user model still wants a unique username; nobody sees or types it.
    return f"m-{secrets.token_hex(8)}"


def do_issue_token(*, email: str, password: str, ip: str = "") -> str:
    ratelimit.hit("token", ip or "unknown", limit=20, window_s=60)
    ratelimit.hit("token-email", (email or "").lower(), limit=10, window_s=300)
    user = authenticate(email=(email or "").strip().lower(), password=password) if email and password else None
    if user is None or not user.is_active:
        raise EntraideError("invalid_credentials", _("Wrong email or password."), status=401)
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, key_hash=token_digest(token))
    return token


@transaction.atomic
def do_update_profile(member: Member, *, display_name: str | None = None, language: str | None = None,
                      reads_nearby: list[int] | None = None) -> Member:
    ratelimit.hit("profile", str(member.id), limit=30, window_s=60)
    if display_name is not None:
        display_name = " ".join(display_name.split())
        if not display_name:
            raise EntraideError("display_name_required", _("Give the name your neighbours will see."),
                                fields={"display_name": [_("This field is required.")]})
        member.display_name = display_name[:80]
    if language is not None:
        if language not in dict(settings.LANGUAGES):
            raise EntraideError("invalid_language", _("Unknown language."), fields={"language": [_("Unknown language.")]})
        member.language = language
    member.save()
    if reads_nearby is not None:
        allowed = set(member.neighbourhood.nearby.values_list("id", flat=True))
        unknown = set(reads_nearby) - allowed
        if unknown:
            # Not 404: the ids come from the member's own form; naming them leaks nothing they did not send.
            raise EntraideError("not_nearby", _("You can only read neighbourhoods next to yours."),
                                fields={"reads_nearby": [_("Not a nearby neighbourhood.")]})
        member.reads_nearby.set(Neighbourhood.objects.filter(id__in=reads_nearby))
    return member


@transaction.atomic
def do_move_home(member: Member, *, address: str | None = None, lat: float | None = None, lon: float | None = None) -> Member:
    """A new home may be a new neighbourhood: verification starts again there."""
    ratelimit.hit("move", str(member.id), limit=5, window_s=3600)
    home = resolve_home(address=address, lat=lat, lon=lon)
    blurred = geo.blur(home.lat, home.lon)
    moved = home.neighbourhood.id != member.neighbourhood_id
    member.address_text, member.lat, member.lon = home.address_text, home.lat, home.lon
    member.blurred_cell, member.street_name, member.location_precision = blurred.cell, home.street_name, home.precision
    member.neighbourhood = home.neighbourhood
    if moved:
        member.verification_state, member.verification_method, member.verified_at = VerificationState.PENDING, "", None
        member.reads_nearby.clear()
        LetterCode.objects.filter(member=member, used_at__isnull=True).delete()
    member.save()
    events.publish("member.moved", {"member_id": member.id, "new_neighbourhood": moved},
                   neighbourhood_id=member.neighbourhood_id, member_ids=[member.id])
    return member


def _mark_verified(member: Member, method: str) -> None:
    member.verification_state = VerificationState.VERIFIED
    member.verification_method = method
    member.verified_at = timezone.now()
    member.save(update_fields=["verification_state", "verification_method", "verified_at"])
    events.publish("member.verified", {"member_id": member.id, "method": method}, neighbourhood_id=member.neighbourhood_id)


@dataclass
class Letter:
    member: Member
    code: str


@transaction.atomic
def do_issue_letters(neighbourhood: Neighbourhood, *, reissue: bool = False) -> list[Letter]:
    """A fresh code for every pending member of the neighbourhood who has none yet (or for all, with reissue).

    Codes are returned once, for the printed letters; only their hashes are stored.
    """
    pending = Member.objects.filter(neighbourhood=neighbourhood, verification_state=VerificationState.PENDING,
                                    user__is_active=True).select_related("user").order_by("id")
    letters: list[Letter] = []
    for member in pending:
        active = LetterCode.objects.filter(member=member, used_at__isnull=True)
        if active.exists() and not reissue:
            continue
        active.delete()
        code = _new_code(LETTER_CODE_LENGTH)
        LetterCode.objects.create(member=member, neighbourhood=neighbourhood, code_hash=_hash_code(code),
                                  printed_at=timezone.now())
        letters.append(Letter(member, code))
    return letters


def do_verify_letter_code(member: Member, code: str) -> Member:
    ratelimit.hit("verify", str(member.id), limit=10, window_s=3600)
    with transaction.atomic():
        letter = (LetterCode.objects.select_for_update().filter(member=member, neighbourhood=member.neighbourhood_id,
                                                                 used_at__isnull=True).order_by("-id").first())
        if letter is None:
            raise EntraideError("no_letter", _("No letter code has been sent to you yet."), fields={"code": [_("No code.")]})
        if letter.attempts >= settings.ENTRAIDE_CODE_MAX_ATTEMPTS:
            raise Forbidden("too_many_attempts", _("Too many wrong codes. Ask for a new letter."))
        if not hmac.compare_digest(letter.code_hash, _hash_code(code or "")):
            letter.attempts += 1
            letter.save(update_fields=["attempts"])
            left = settings.ENTRAIDE_CODE_MAX_ATTEMPTS - letter.attempts
            # Raised after the block so the counted attempt commits.
            wrong = EntraideError("wrong_code", _("This code is not right. Attempts left: %(n)d.") % {"n": left},
                                  fields={"code": [_("Wrong code.")]})
        else:
            letter.used_at = timezone.now()
            letter.save(update_fields=["used_at"])
            _mark_verified(member, VerificationMethod.LETTER)
            return member
    raise wrong


@transaction.atomic
def do_verify_geolocation(member: Member, *, lat: float, lon: float, accuracy_m: float) -> Member:
    """One check from the browser's geolocation: inside the home polygon, with a small enough error circle."""
    ratelimit.hit("verify", str(member.id), limit=10, window_s=3600)
    if not geo.valid_lat_lon(lat, lon) or not (0 < accuracy_m < 1e7):
        raise EntraideError("invalid_coordinates", _("The position sent by the browser is not valid."), status=422)
    if accuracy_m > settings.ENTRAIDE_GEOLOCATION_MAX_ACCURACY_M:
        raise EntraideError("too_imprecise",
                            _("Your device gave a position that is too imprecise (%(got)d m; at most %(max)d m). Try outdoors or with GPS on.")
                            % {"got": int(accuracy_m), "max": settings.ENTRAIDE_GEOLOCATION_MAX_ACCURACY_M})
    if geo.get_index().locate(lat, lon) != member.neighbourhood_id:
        raise EntraideError("outside_neighbourhood", _("You do not seem to be in your neighbourhood right now."))
    _mark_verified(member, VerificationMethod.GEOLOCATION)
    return member


@transaction.atomic
def do_create_invitation(member: Member) -> InvitationCode:
    if not member.is_verified:
        # An invitation vouches for someone: only a verified neighbour can vouch, even when verification is relaxed.
        raise Forbidden("verification_required", _("Only verified members can invite neighbours."))
    require_can_act(member)
    ratelimit.hit("invite", str(member.id), limit=20, window_s=86400)
    return InvitationCode.objects.create(issuer=member, neighbourhood_id=member.neighbourhood_id,
                                         code=_new_code(10), expires_at=timezone.now() + timedelta(days=INVITATION_DAYS))


def do_redeem_invitation(member: Member, code: str) -> Member:
    ratelimit.hit("verify", str(member.id), limit=10, window_s=3600)
    normalised = (code or "").strip().upper().replace("-", "").replace(" ", "")
    with transaction.atomic():
        invitation = InvitationCode.objects.select_for_update().filter(code=normalised).first()
        valid = (invitation is not None and invitation.used_by_id is None and invitation.expires_at > timezone.now()
                 and invitation.neighbourhood_id == member.neighbourhood_id and invitation.issuer_id != member.id)
        if not valid:
            # One answer for unknown, used, expired and other-neighbourhood codes: nothing to probe.
            raise EntraideError("invalid_invitation", _("This invitation code is not valid for your neighbourhood."),
                                fields={"code": [_("Invalid code.")]})
        invitation.used_by, invitation.used_at = member, timezone.now()
        invitation.save(update_fields=["used_by", "used_at"])
        _mark_verified(member, VerificationMethod.INVITATION)
    return member


@transaction.atomic
def do_operator_verify(member: Member) -> Member:
    _mark_verified(member, VerificationMethod.OPERATOR)
    return member
