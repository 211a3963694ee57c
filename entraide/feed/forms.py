"""Page forms of the feed. They only shape the input: every rule is checked again by `actions` (the one place
that decides), and the errors it raises are tied back to these fields by `apply_error`."""
from __future__ import annotations

import re
from functools import partial

from django import forms
from django.utils.translation import gettext_lazy as _

from entraide.core.forms import apply_error as apply_error_with_aliases

from .models import Audience, Category

MAX_POST_BODY = 5000
MAX_COMMENT_BODY = 2000
MAX_TITLE = 140
MAX_IMAGES = 4

MARKDOWN_HINT = _("You can write *italics*, **bold**, lists starting with \"- \" and links like "
                  "[text](https://example.org).")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Up to four pictures from one `<input type=file multiple>`; their content is checked by the actions."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*", "multiple": True}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        if len(files) > MAX_IMAGES:
            raise forms.ValidationError(_("At most %(n)d pictures per post.") % {"n": MAX_IMAGES},
                                        code="too_many_images")
        return files


def parse_tags(text: str) -> list[str]:
    """"garden, tools #bikes" → ["garden", "tools", "bikes"] (the actions normalise them further)."""
    return [t for t in (p.strip().lstrip("#") for p in re.split(r"[,\s]+", text or "")) if t]


REQUIRED_BODY = {"required": _("Write something first.")}


class BodyMixin:
    def clean_body(self):
        body = (self.cleaned_data.get("body") or "").strip()
        if not body:
            raise forms.ValidationError(_("Write something first."), code="body_required")
        return body


class PostForm(BodyMixin, forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices, initial=Category.GENERAL)
    title = forms.CharField(label=_("Title"), required=False, max_length=MAX_TITLE,
                            help_text=_("Optional."))
    body = forms.CharField(label=_("Message"), max_length=MAX_POST_BODY, help_text=MARKDOWN_HINT,
                           error_messages=REQUIRED_BODY, widget=forms.Textarea(attrs={"rows": 4}))
    audience = forms.ChoiceField(label=_("Who can read it"), choices=Audience.choices, initial=Audience.NEIGHBOURHOOD,
                                 widget=forms.RadioSelect)
    tags = forms.CharField(label=_("Tags"), required=False, max_length=300,
                           help_text=_("Optional, separated by commas: garden, tools."))
    crisis_tag = forms.MultipleChoiceField(label=_("Crisis"), required=False, widget=forms.CheckboxSelectMultiple)
    images = MultipleImageField(label=_("Pictures"), help_text=_("Up to 4 pictures. Their location data is removed."))

    def __init__(self, *args, crises=(), **kwargs):
        super().__init__(*args, **kwargs)
        if crises:
            self.fields["crisis_tag"].choices = [
                (c.tag, _("This is about: %(name)s") % {"name": c.name}) for c in crises]
        else:
            del self.fields["crisis_tag"]

    def clean_tags(self):
        return parse_tags(self.cleaned_data.get("tags", ""))

    def clean_crisis_tag(self):
        tags = self.cleaned_data.get("crisis_tag") or []
        if len(tags) > 1:
            raise forms.ValidationError(_("Choose one crisis at most."), code="too_many_crises")
        return tags[0] if tags else None


class PostEditForm(BodyMixin, forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    title = forms.CharField(label=_("Title"), required=False, max_length=MAX_TITLE, help_text=_("Optional."))
    body = forms.CharField(label=_("Message"), max_length=MAX_POST_BODY, help_text=MARKDOWN_HINT,
                           error_messages=REQUIRED_BODY, widget=forms.Textarea(attrs={"rows": 6}))
    tags = forms.CharField(label=_("Tags"), required=False, max_length=300,
                           help_text=_("Optional, separated by commas: garden, tools."))

    def clean_tags(self):
        return parse_tags(self.cleaned_data.get("tags", ""))


class CommentForm(BodyMixin, forms.Form):
    body = forms.CharField(label=_("Your comment"), max_length=MAX_COMMENT_BODY,
                           error_messages=REQUIRED_BODY, widget=forms.Textarea(attrs={"rows": 2}))
    parent_id = forms.IntegerField(required=False, widget=forms.HiddenInput)


class CommentEditForm(BodyMixin, forms.Form):
    body = forms.CharField(label=_("Your comment"), max_length=MAX_COMMENT_BODY,
                           error_messages=REQUIRED_BODY, widget=forms.Textarea(attrs={"rows": 4}))


class FeedFilterForm(forms.Form):
    """The filters of the feed, from the query string (unknown values fall back to "everything")."""

    scope = forms.ChoiceField(choices=[("all", "all"), ("home", "home"), ("nearby", "nearby")], required=False)
    category = forms.ChoiceField(label=_("Category"), required=False,
                                 choices=[("", _("All categories")), *Category.choices])
    tag = forms.CharField(label=_("Tag"), required=False, max_length=50)
    crisis = forms.CharField(required=False, max_length=50)
    cursor = forms.CharField(required=False, max_length=200)


def kindness_confirmed(data) -> bool:
    return str(data.get("confirm_kindness", "")).lower() in {"1", "true", "on", "yes"}


# Fields the actions name that live elsewhere (or nowhere) on the page forms.
FIELD_ALIASES = {"parent_id": None, "cursor": None}


apply_error = partial(apply_error_with_aliases, aliases=FIELD_ALIASES)
