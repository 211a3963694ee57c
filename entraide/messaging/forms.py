"""Page forms of conversations. They only shape the input: every rule is checked again by `actions`, and the
errors it raises are tied back to these fields by `apply_error`."""
from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from entraide.core.forms import apply_error  # noqa: F401 - re-exported for the views
from entraide.feed.forms import MultipleImageField

from .actions import MAX_IMAGES, MAX_REASON, max_chars


class PictureField(MultipleImageField):
    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        if len(files) > MAX_IMAGES:
            raise forms.ValidationError(_("At most %(n)d pictures per message.") % {"n": MAX_IMAGES},
                                        code="too_many_images")
        return files


class MessageForm(forms.Form):
    body = forms.CharField(label=_("Your message"), strip=False, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))
    images = PictureField(label=_("Pictures"), help_text=_("Up to 4 pictures. Their location data is removed."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].widget.attrs["maxlength"] = str(max_chars())


class ReportForm(forms.Form):
    message_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("What is wrong with this message?"), required=False, max_length=MAX_REASON,
                             help_text=_("Optional. Only the moderators read it."),
                             widget=forms.Textarea(attrs={"rows": 2}))


class BlockForm(forms.Form):
    member_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=[("block", "block"), ("unblock", "unblock")], widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class StartForm(forms.Form):
    to = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    request = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if (data.get("to") is None) == (data.get("request") is None):
            raise forms.ValidationError(_("Choose whom to write to."), code="participant_or_request")
        return data
