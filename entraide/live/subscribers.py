"""Events become live updates (connected in apps.LiveConfig.ready)."""
from __future__ import annotations

from typing import Any

from django.db import transaction

from . import fanout


def on_event(sender: Any = None, *, event: dict, **kwargs: Any) -> None:
    fanout.send(fanout.plan(event))


def on_reads_nearby_changed(sender: Any = None, *, instance: Any, action: str, reverse: bool, pk_set: Any = None,
                            **kwargs: Any) -> None:
    """A member changed the nearby neighbourhoods they read: accounts publishes no event for it, so the m2m signal
    tells their open connections to re-join (after commit, once the new choice is what a query reads)."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse:  # neighbourhood.nearby_readers.add(...): the members are in pk_set
        member_ids = list(pk_set or [])
    else:
        member_ids = [instance.pk]
    for member_id in member_ids:
        transaction.on_commit(lambda m=member_id: fanout.rejoin(m))
