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
    tells their open connections to re-join (after commit, once the new choice is what a query reads).

    From the member's side (`member.reads_nearby...`) the member is `instance`; from the neighbourhood's side
    (`neighbourhood.nearby_readers...`) the members are in `pk_set`, except for clear(), whose post_clear has none:
    who read it is noted at pre_clear."""
    if reverse and action == "pre_clear":
        instance._live_cleared_readers = list(instance.nearby_readers.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        member_ids = [instance.pk]
    elif action == "post_clear":
        member_ids = instance.__dict__.pop("_live_cleared_readers", [])
    else:
        member_ids = list(pk_set or [])
    for member_id in member_ids:
        transaction.on_commit(lambda m=member_id: fanout.rejoin(m))
