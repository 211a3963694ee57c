"""The single place where writes announce themselves (DESIGN.md, Events).

Actions call `publish` inside their transaction; subscribers hear the event only once the
transaction has committed, so nobody is told about something that was rolled back.
"""
from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

event_published = Signal()  # kwargs: event (dict)


def publish(type: str, data: dict[str, Any], *, neighbourhood_id: int | None = None,
            member_ids: list[int] | None = None) -> None:
    event = {"type": type, "data": data, "neighbourhood_id": neighbourhood_id, "member_ids": member_ids or []}
    transaction.on_commit(lambda: event_published.send(sender=None, event=event))
