"""What page forms share: placing an action's refusal next to the field it is about."""
from __future__ import annotations

from collections.abc import Mapping

from django import forms

from .errors import EntraideError


def apply_error(form: forms.Form, exc: EntraideError, aliases: Mapping[str, str | None] | None = None) -> None:
    """Tie an EntraideError raised by an action to the form's fields (else to the form as a whole).

    `aliases` maps the names actions use to the form's own field names (None: not on this form).
    """
    placed = False
    for name, problems in (exc.fields or {}).items():
        name = (aliases or {}).get(name, name)
        if name and name in form.fields:
            for problem in problems:
                form.add_error(name, str(problem))
            placed = True
    if not placed:
        form.add_error(None, exc.message)
