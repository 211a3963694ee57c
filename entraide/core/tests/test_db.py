"""unhurried: bookkeeping commits without waiting for the disk, and never weakens anyone else's commit."""
from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from entraide.accounts.factories import MemberFactory
from entraide.core.db import unhurried
from entraide.feed.models import SearchLog
from entraide.feed.search import log_search

pytestmark = pytest.mark.django_db(transaction=True)


def setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_an_unhurried_statement_stops_waiting_for_its_own_transaction_only():
    assert setting() == "on"
    with connection.cursor() as cursor:
        cursor.execute(unhurried("SELECT current_setting('synchronous_commit') FROM unhurried"))
        assert cursor.fetchone()[0] == "off"  # for that statement's own transaction
    assert setting() == "on"


@pytest.mark.postgres
def test_inside_an_open_transaction_it_leaves_that_transactions_commit_durable():
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(unhurried("SELECT current_setting('synchronous_commit') FROM unhurried"))
            assert cursor.fetchone()[0] == "on"
        assert setting() == "on"


def test_a_search_log_is_one_unhurried_statement_and_is_stored(neighbourhood):
    member = MemberFactory(neighbourhood=neighbourhood, verified=True)
    with CaptureQueriesContext(connection) as captured:
        assert log_search(member, "Courses pour les aînés")
    (insert,) = [q["sql"] for q in captured.captured_queries if "feed_searchlog" in q["sql"]]
    assert insert.startswith("WITH unhurried AS")
    assert len(captured) == 1  # no BEGIN or COMMIT of its own
    assert SearchLog.objects.filter(term="courses pour les aînés", neighbourhood=neighbourhood).exists()
    if connection.vendor == "postgresql":
        assert "set_config('synchronous_commit', 'off', true)" in insert
