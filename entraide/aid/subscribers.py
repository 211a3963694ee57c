"""What mutual aid does when other apps' events arrive (connected in apps.AidConfig.ready)."""
from __future__ import annotations

from typing import Any


def on_event(sender: Any = None, *, event: dict, **kwargs: Any) -> None:
    if event["type"] == "member.moved":
        _follow_the_helper(event["data"]["member_id"])


def _follow_the_helper(member_id: int) -> None:
    """A helper who moved helps around their new home: their offer takes the new blurred point."""
    from entraide.accounts.models import Member
    from entraide.places import geo

    from .models import HelpOffer

    member = Member.objects.filter(pk=member_id).only("blurred_cell", "neighbourhood_id").first()
    if member is None:
        return
    lat, lon = geo.cell_centre(member.blurred_cell)
    HelpOffer.objects.filter(helper_id=member_id).update(blurred_cell=member.blurred_cell, lat=lat, lon=lon,
                                                         neighbourhood_id=member.neighbourhood_id)
