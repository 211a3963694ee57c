"""What conversations do when other apps' events arrive (connected in apps.MessagingConfig.ready)."""
from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def on_event(sender: Any = None, *, event: dict, **kwargs: Any) -> None:
    if event["type"] != "request.updated":
        return
    try:
        follow_the_request(event["data"]["request_id"])
    except Exception as exc:  # noqa: BLE001 - the write has committed; a raise here would skip the other subscribers
        # Reads check the request itself (queries.participation), so a late or failed sync leaks nothing.
        logger.error("messaging: request.updated subscriber failed: %s", type(exc).__name__)


def follow_the_request(request_id: int) -> None:
    """A helper who withdrew leaves the request's conversation; the helper who takes it over joins it.

    Reads also check the request itself (queries.participation), so the old helper reads nothing even if this
    runs late; this keeps the inbox, the unread counts and the event recipients right.
    """
    from entraide.aid.models import HelpRequest

    from .actions import sync_request_participants
    from .models import Conversation

    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().filter(request_id=request_id).first()
        if conversation is None:
            return
        req = HelpRequest.objects.filter(pk=request_id).only("requester_id", "helper_id").first()
        if req is not None:
            sync_request_participants(conversation, req)
