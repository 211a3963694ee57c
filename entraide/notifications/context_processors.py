"""The bell in the header: the member's unread notification count (owned by the notifications app).

Lazy: the count is one indexed query, run only when a page shows the bell, never for anonymous visitors.
"""
from __future__ import annotations

from django.utils.functional import cached_property


class Bell:
    def __init__(self, member) -> None:
        self.member = member

    @cached_property
    def count(self) -> int:
        from .queries import unread_count

        return unread_count(self.member)

    @cached_property
    def label(self) -> str:
        from .queries import BELL_CAP

        return f"{BELL_CAP - 1}+" if self.count >= BELL_CAP else str(self.count)


def bell(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from entraide.accounts.queries import member_of

    member = member_of(user)
    return {"bell": Bell(member)} if member is not None else {}
