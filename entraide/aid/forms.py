"""Page forms of mutual aid. They shape the input and show every problem at once, with the same checks the actions
run (`validation`); the actions check everything again (the one place that decides), and the errors they raise are
tied back to these fields by `apply_error`."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from entraide.core.errors import EntraideError
from entraide.core.forms import apply_error as apply_error_with_aliases

from . import validation as v
from .models import HelpType, Urgency

RADIUS_CHOICES = [500, 1000, 1500, 2000, 3000]
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?$")


def local_tz() -> ZoneInfo:
    """The instance's time zone: what a datetime-local input means."""
    return ZoneInfo(settings.TIME_ZONE)


class LocalDateTimeField(forms.DateTimeField):
    """A `<input type="datetime-local">`, read as a time in settings.TIME_ZONE (browsers send no offset)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    formats = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")

    def prepare_value(self, value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return value.astimezone(local_tz()).replace(tzinfo=None)
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            parsed = value
        else:
            parsed = None
            text = str(value).strip()
            for fmt in self.formats:
                try:
                    parsed = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            if parsed is None:
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=local_tz())
        return parsed


def _check(form: forms.Form, check, *args, **kwargs):
    """Run one of `validation`'s checks and turn its refusal into field errors; None when refused."""
    try:
        return check(*args, **kwargs)
    except EntraideError as exc:
        apply_error(form, exc)
        return None


def _check_field(check, *args):
    """The same, inside a `clean_<field>` method: the refusal becomes that field's error."""
    try:
        return check(*args)
    except EntraideError as exc:
        raise forms.ValidationError(exc.message, code=exc.code) from None


def default_window(now: datetime | None = None) -> tuple[datetime, datetime]:
    """From the next quarter of an hour, for four hours (local time)."""
    now = (now or timezone.now()).astimezone(local_tz()).replace(second=0, microsecond=0)
    start = now + timedelta(minutes=15 - now.minute % 15)
    return start, start + timedelta(hours=4)


class RequestForm(forms.Form):
    type = forms.ChoiceField(label=_("What kind of help"), choices=HelpType.choices)
    description = forms.CharField(
        label=_("What you need"), required=False, max_length=v.MAX_DESCRIPTION,
        help_text=_("A few words for the helper: what, where to buy it, any constraint. No address here."),
        widget=forms.Textarea(attrs={"rows": 3}))
    window_start = LocalDateTimeField(label=_("From"), required=False)
    window_end = LocalDateTimeField(label=_("Until"), required=False)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL)
    at_risk = forms.BooleanField(
        label=_("I am at risk (elderly, ill, or advised to stay at home)"), required=False,
        help_text=_("Only verified neighbours will see your request."))
    reveal_address = forms.BooleanField(label=_("My address"), required=False, initial=True)
    reveal_phone = forms.BooleanField(label=_("My phone number"), required=False)
    contact_phone = forms.CharField(label=_("Phone number"), required=False, max_length=30,
                                    widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))
    contact_note = forms.CharField(
        label=_("A note for your helper"), required=False, max_length=200,
        help_text=_("For example: the door code, the floor, when to ring."))
    contactless = forms.BooleanField(
        label=_("Contactless hand-over"), required=False,
        help_text=_("The helper leaves things at your door and steps back; nobody comes in."))

    def __init__(self, *args, crises=(), with_type: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.crises = list(crises)
        if not with_type:
            del self.fields["type"]
        if not self.is_bound and "contactless" not in self.initial:
            self.initial["contactless"] = bool(self.crises)
        if not self.is_bound and "window_start" not in self.initial:
            self.initial["window_start"], self.initial["window_end"] = default_window()

    def clean_description(self):
        return _check_field(v.check_description, self.cleaned_data.get("description"))

    def clean_contact_phone(self):
        return _check_field(v.check_phone, self.cleaned_data.get("contact_phone"))

    def clean_contact_note(self):
        return _check_field(v.check_note, self.cleaned_data.get("contact_note"))

    def clean(self):
        data = super().clean()
        if not self.has_error("window_start") and not self.has_error("window_end"):
            window = _check(self, v.check_window, data.get("window_start"), data.get("window_end"))
            if window:
                data["window_start"], data["window_end"] = window
        if data.get("reveal_phone") and not data.get("contact_phone") and not self.has_error("contact_phone"):
            self.add_error("contact_phone", _("Give the phone number your helper may call."))
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=200)


class ThanksForm(forms.Form):
    thanks = forms.CharField(label=_("A thank-you message (optional)"), required=False, max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))


class ThankForm(forms.Form):
    message = forms.CharField(label=_("Your thank-you message"), max_length=500,
                              widget=forms.Textarea(attrs={"rows": 2}))


def _hhmm(text: str) -> str | None:
    m = _TIME.match(text.strip())
    if not m:
        return None
    return f"{int(m.group(1)):02d}:{m.group(2)}"


class OfferForm(forms.Form):
    types = forms.MultipleChoiceField(label=_("What I can do"), choices=HelpType.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    radius_m = forms.TypedChoiceField(label=_("How far I walk"), coerce=int, initial=1000)
    capacity_per_week = forms.IntegerField(label=_("At most, tasks a week"), min_value=1, max_value=50, initial=3)
    active = forms.BooleanField(label=_("I am available to help now"), required=False, initial=True,
                                help_text=_("Untick it to pause: nobody will ask you until you tick it again."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        radius_choices = list(RADIUS_CHOICES)
        current = self.initial.get("radius_m")
        if isinstance(current, int) and current not in radius_choices:
            radius_choices = sorted([*radius_choices, current])
        self.fields["radius_m"].choices = [(r, _("%(m)d m") % {"m": r}) for r in radius_choices]
        for day, name in WEEKDAYS.items():
            for end in ("start", "end"):
                label = (_("%(day)s, from") if end == "start" else _("%(day)s, until")) % {"day": name}
                self.fields[f"slot_{day}_{end}"] = forms.CharField(
                    label=label, required=False, max_length=8, widget=forms.TimeInput(attrs={"type": "time"}))

    @staticmethod
    def initial_from(offer) -> dict:
        initial = {"types": offer.types, "radius_m": offer.radius_m, "capacity_per_week": offer.capacity_per_week,
                   "active": offer.active}
        for slot in offer.slots:  # one row a day on this page: the first slot of each day
            initial.setdefault(f"slot_{slot['weekday']}_start", slot["start"])
            initial.setdefault(f"slot_{slot['weekday']}_end", slot["end"])
        return initial

    def slot_rows(self) -> list[dict]:
        return [{"day": name, "start": self[f"slot_{day}_start"], "end": self[f"slot_{day}_end"]}
                for day, name in WEEKDAYS.items()]

    def clean_types(self):
        return _check_field(v.check_types, self.cleaned_data.get("types"))

    def clean(self):
        data = super().clean()
        slots = []
        for day in WEEKDAYS:
            start_name, end_name = f"slot_{day}_start", f"slot_{day}_end"
            start_text, end_text = (data.get(start_name) or "").strip(), (data.get(end_name) or "").strip()
            if not start_text and not end_text:
                continue
            start, end = _hhmm(start_text) if start_text else None, _hhmm(end_text) if end_text else None
            unreadable = False
            for name, text, value in ((start_name, start_text, start), (end_name, end_text, end)):
                if text and value is None:
                    self.add_error(name, _("A time like 09:30."))
                    unreadable = True
            if unreadable:
                continue
            if start is None or end is None:
                self.add_error(start_name if start is None else end_name, _("Give both a start and an end time."))
                continue
            if end <= start:
                self.add_error(end_name, _("The end must come after the start."))
                continue
            slots.append({"weekday": day, "start": start, "end": end})
        data["slots"] = slots
        return data


class MapFilterForm(forms.Form):
    type = forms.MultipleChoiceField(label=_("Kinds of help"), choices=HelpType.choices, required=False,
                                     widget=forms.CheckboxSelectMultiple)


# Fields the actions name that live elsewhere (or nowhere) on the page forms.
FIELD_ALIASES = {"slots": None, "request": None, "types": "types"}


apply_error = partial(apply_error_with_aliases, aliases=FIELD_ALIASES)
