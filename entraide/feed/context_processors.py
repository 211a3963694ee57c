"""`active_crises`: the crises going on for the current visitor, for the banner on every page."""
from __future__ import annotations

from django.utils.functional import SimpleLazyObject


def crises(request):
    def load():
        from entraide.accounts.queries import member_of

        from . import queries

        member = member_of(getattr(request, "user", None))
        return queries.active_crises(member)

    # Lazy: pages that do not show the banner (partials, API errors) never run the query.
    return {"active_crises": SimpleLazyObject(load)}
