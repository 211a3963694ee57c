"""Test data written directly, without the actions' checks or events: for reads. Test writes through the actions."""
from __future__ import annotations

import factory
from django.utils import timezone

from .models import Conversation, ConversationKind, Message, Participant, pair_key


def direct_conversation(a, b) -> Conversation:
    """The direct conversation of members `a` and `b`, both taking part."""
    conversation = Conversation.objects.create(kind=ConversationKind.DIRECT, pair_key=pair_key(a.id, b.id),
                                               neighbourhood_id=a.neighbourhood_id, last_message_at=timezone.now())
    Participant.objects.bulk_create([Participant(conversation=conversation, member=m,
                                                 neighbourhood_id=m.neighbourhood_id) for m in (a, b)])
    return conversation


class MessageFactory(factory.django.DjangoModelFactory):
    """A message by `author` in `conversation` (both required); counters and last message are not moved."""

    class Meta:
        model = Message

    neighbourhood = factory.LazyAttribute(lambda o: o.conversation.neighbourhood)
    body = factory.Sequence(lambda n: f"Bonjour, message numéro {n}")
