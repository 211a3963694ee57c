"""unhurried_commit: bookkeeping commits without waiting for the disk, and never weakens anyone else's commit."""
from __future__ import annotations

import pytest
from django.db import connection, transaction

from entraide.core.db import unhurried_commit
from entraide.feed.models import SearchLog
from entraide.places.models import Neighbourhood

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_a_bookkeeping_write_commits_without_waiting_and_the_session_waits_again_after(neighbourhood):
    assert synchronous_commit() == "on"
    with unhurried_commit():
        assert synchronous_commit() == "off"
        SearchLog.objects.create(neighbourhood=neighbourhood, city_id=neighbourhood.city_id, term="courses")
    assert synchronous_commit() == "on"
    assert SearchLog.objects.filter(term="courses").count() == 1  # committed


def test_inside_an_open_transaction_it_leaves_that_transactions_commit_durable(neighbourhood):
    with transaction.atomic():
        Neighbourhood.objects.filter(pk=neighbourhood.pk).update(name="Saint-Gervais (4e)")
        with unhurried_commit():
            assert synchronous_commit() == "on"


def test_a_failed_bookkeeping_write_leaves_nothing_behind(neighbourhood):
    with pytest.raises(RuntimeError):
        with unhurried_commit():
            SearchLog.objects.create(neighbourhood=neighbourhood, city_id=neighbourhood.city_id, term="perdu")
            raise RuntimeError("interrupted")
    assert not SearchLog.objects.filter(term="perdu").exists()
    assert synchronous_commit() == "on"


def test_search_logs_are_committed_unhurried(neighbourhood):
    from django.test.utils import CaptureQueriesContext

    from entraide.accounts.factories import MemberFactory
    from entraide.feed.search import log_search

    member = MemberFactory(neighbourhood=neighbourhood, verified=True)
    with CaptureQueriesContext(connection) as captured:
        assert log_search(member, "Courses pour les aînés")
    statements = [q["sql"] for q in captured.captured_queries]
    lazy = statements.index("SET LOCAL synchronous_commit TO OFF")
    assert statements[lazy + 1].startswith("INSERT INTO feed_searchlog")
    assert SearchLog.objects.filter(term="courses pour les aînés").exists()
