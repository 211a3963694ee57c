"""The settings page's form: one checkbox per kind of notification and channel, the digest, quiet hours."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from entraide.core.forms import apply_error  # noqa: F401 - re-exported for the views
from entraide.feed.models import Category

from . import prefs as prefs_module
from .models import Channel, NotificationType


def switch_name(type: str, channel: str) -> str:
    return f"{type}__{channel}"


class SettingsForm(forms.Form):
    digest = forms.BooleanField(label=_("A daily digest of my neighbourhood by email"), required=False)
    neighbourhoods = forms.TypedMultipleChoiceField(label=_("Neighbourhoods in my digest"), coerce=int,
                                                    required=False, widget=forms.CheckboxSelectMultiple)
    digest_categories = forms.MultipleChoiceField(label=_("Categories in my digest (none ticked: all)"),
                                                  choices=Category.choices, required=False,
                                                  widget=forms.CheckboxSelectMultiple)
    quiet_hours_start = forms.CharField(label=_("Quiet hours from"), required=False, max_length=5,
                                        widget=forms.TimeInput(attrs={"type": "time"}))
    quiet_hours_end = forms.CharField(label=_("Quiet hours until"), required=False, max_length=5,
                                      widget=forms.TimeInput(attrs={"type": "time"}))
    unsubscribed = forms.BooleanField(label=_("No email at all"), required=False)

    def __init__(self, *args, neighbourhoods=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["neighbourhoods"].choices = [(n.id, n.name) for n in neighbourhoods]
        for type, type_label in NotificationType.choices:
            for channel, channel_label in Channel.choices:
                self.fields[switch_name(type, channel)] = forms.BooleanField(
                    label=f"{type_label} · {channel_label}", required=False)

    @staticmethod
    def initial_from(p: prefs_module.Prefs) -> dict:
        initial = {"digest": p.digest, "neighbourhoods": p.neighbourhoods, "digest_categories": p.digest_categories,
                   "quiet_hours_start": p.quiet_start.strftime("%H:%M") if p.quiet_start else "",
                   "quiet_hours_end": p.quiet_end.strftime("%H:%M") if p.quiet_end else "",
                   "unsubscribed": p.unsubscribed}
        for type, switches in p.full_channels().items():
            for channel, on in switches.items():
                initial[switch_name(type, channel)] = on
        return initial

    def rows(self):
        """(type label, in-app field, email field) for the table of switches."""
        for type, label in NotificationType.choices:
            yield label, self[switch_name(type, Channel.IN_APP)], self[switch_name(type, Channel.EMAIL)]

    def channels(self) -> dict[str, dict[str, bool]]:
        return {t: {c: bool(self.cleaned_data.get(switch_name(t, c))) for c in Channel.values}
                for t in NotificationType.values}
