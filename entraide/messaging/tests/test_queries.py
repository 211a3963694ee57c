"""The inbox and a thread cost a fixed number of queries whatever their size; previews and counts are right."""
from __future__ import annotations

import pytest

from entraide.accounts.factories import MemberFactory
from entraide.messaging import actions, queries

pytestmark = pytest.mark.django_db


def _talk(alice, neighbourhood, n: int) -> None:
    for i in range(n):
        other = MemberFactory(neighbourhood=neighbourhood, verified=True, display_name=f"Voisin Numéro{i}")
        conversation, _ = actions.do_start_direct(alice, other.id)
        actions.do_send_message(other, conversation.id, f"Bonjour de la part du voisin {i}")


@pytest.mark.parametrize("size", [2, 12])
def test_the_inbox_costs_two_queries_whatever_its_length(alice, neighbourhood, size, django_assert_max_num_queries):
    _talk(alice, neighbourhood, size)
    with django_assert_max_num_queries(2):
        page = queries.conversations_for(alice)
    assert len(page.items) == size
    assert all(item.unread_count == 1 and item.other_name.startswith("Voisin N.") for item in page.items)
    with django_assert_max_num_queries(1):
        assert queries.unread_total(alice) == size


@pytest.mark.parametrize("size", [3, 30])
def test_a_thread_page_costs_three_queries_whatever_its_length(alice, bob, size, django_assert_max_num_queries):
    conversation, _ = actions.do_start_direct(alice, bob.id)
    for i in range(size):
        actions.do_send_message(alice if i % 2 else bob, conversation.id, f"Message {i}")
    with django_assert_max_num_queries(3):
        page = queries.messages_page(alice, conversation.id)
        names = {m.author_name for m in page.items}
    assert names == {"Alice M.", "Bruno L."} and len(page.items) == size


def test_the_inbox_puts_the_latest_activity_first_and_pages_through(alice, bob, nadia, neighbourhood):
    with_bob, _ = actions.do_start_direct(alice, bob.id)
    with_nadia, _ = actions.do_start_direct(alice, nadia.id)
    actions.do_send_message(bob, with_bob.id, "Je suis le plus récent")
    first = queries.conversations_for(alice, limit=1)
    assert [c.id for c in first.items] == [with_bob.id] and first.next_cursor
    second = queries.conversations_for(alice, cursor=first.next_cursor, limit=1)
    assert [c.id for c in second.items] == [with_nadia.id] and second.next_cursor is None
    assert second.items[0].last_message_preview == "" and second.items[0].unread_count == 0


def test_a_long_message_is_previewed_on_one_short_line(alice, bob):
    conversation, _ = actions.do_start_direct(alice, bob.id)
    actions.do_send_message(alice, conversation.id, "Ligne un\n\n" + "mot " * 100)
    [line] = queries.conversations_for(bob).items
    assert "\n" not in line.last_message_preview and len(line.last_message_preview) <= queries.PREVIEW_CHARS
    assert line.last_message_preview.endswith("…") and not line.last_message_mine


def test_a_conversation_outside_ones_own_is_a_404_even_by_id(alice, bob, neighbourhood):
    conversation, _ = actions.do_start_direct(alice, bob.id)
    outsider = MemberFactory(neighbourhood=neighbourhood, verified=True)
    for call in (lambda: queries.conversation_in_scope(outsider, conversation.id),
                 lambda: queries.conversation_view(outsider, conversation.id),
                 lambda: queries.conversation_in_scope(None, conversation.id)):
        with pytest.raises(queries.NotFound):
            call()
