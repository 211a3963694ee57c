from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from entraide.core.errors import EntraideError

from .home import resolve_home


class HomeFieldsMixin(forms.Form):
    """Address as typed, or a pin (lat/lon) placed on the map or taken from the browser's geolocation."""

    address = forms.CharField(label=_("Your address"), max_length=300, required=False,
                              help_text=_("Street, number and postcode. Only you will ever see it."),
                              widget=forms.TextInput(attrs={"autocomplete": "street-address"}))
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)

    def clean_home(self):
        data = self.cleaned_data
        if self.errors.get("lat") or self.errors.get("lon"):
            return None
        try:
            self.home = resolve_home(address=data.get("address"), lat=data.get("lat"), lon=data.get("lon"))
        except EntraideError as exc:
            self.error_code = exc.code
            self.add_error("address", exc.message)
            return None
        return self.home


class SignupForm(HomeFieldsMixin):
    """Extra fields of allauth's sign-up form; allauth creates the user, `signup` adds the member."""

    display_name = forms.CharField(label=_("Your name"), max_length=80,
                                   help_text=_("Neighbours see your first name and the initial of your last name."),
                                   widget=forms.TextInput(attrs={"autocomplete": "name"}))
    field_order = ["email", "password1", "display_name", "address", "lat", "lon"]

    def clean(self):
        cleaned = super().clean()
        self.home = None
        self.error_code = ""
        self.clean_home()
        return cleaned

    def signup(self, request, user) -> None:
        from .actions import create_member

        language = getattr(request, "LANGUAGE_CODE", "fr")
        create_member(user, display_name=self.cleaned_data["display_name"], home=self.home, language=language)


class MoveForm(HomeFieldsMixin):
    def clean(self):
        cleaned = super().clean()
        self.home = None
        self.error_code = ""
        self.clean_home()
        return cleaned


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}))


class GeolocationForm(forms.Form):
    lat = forms.FloatField(min_value=-90, max_value=90, widget=forms.HiddenInput)
    lon = forms.FloatField(min_value=-180, max_value=180, widget=forms.HiddenInput)
    accuracy_m = forms.FloatField(min_value=0, widget=forms.HiddenInput)


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Your name"), max_length=80)
    language = forms.ChoiceField(label=_("Language"))
    reads_nearby = forms.MultipleChoiceField(label=_("Nearby neighbourhoods I also read"), required=False,
                                             widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, member, **kwargs):
        from django.conf import settings

        super().__init__(*args, **kwargs)
        self.fields["language"].choices = settings.LANGUAGES
        self.fields["reads_nearby"].choices = [(str(n.id), n.name) for n in member.neighbourhood.nearby.order_by("name")]


class WaitlistForm(HomeFieldsMixin):
    email = forms.EmailField(label=_("Email"))
