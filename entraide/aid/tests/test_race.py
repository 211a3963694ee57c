"""Two helpers take the same request at the same instant: exactly one wins (PostgreSQL, real concurrency)."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from entraide.aid import actions, queries
from entraide.aid.factories import HelpOfferFactory
from entraide.aid.models import EventKind, HelpRequest, MatchProposal, RequestStatus
from entraide.core.errors import Conflict

from .conftest import member_at
from .test_api import Api


def _at_once(functions):
    """Run each function in its own thread (so its own database connection), all released together."""
    barrier = threading.Barrier(len(functions), timeout=30)
    results: list = [None] * len(functions)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = ("ok", fn())
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(functions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    return results


@pytest.fixture
def two_helpers(home):
    return [HelpOfferFactory(helper=member_at(home, name, north_m=north)).helper
            for name, north in (("Anna Aubert", 300), ("Bert Blanc", 350))]


def _assert_one_winner(req, helpers, winner_id):
    req.refresh_from_db()
    assert req.status == RequestStatus.MATCHED and req.helper_id == winner_id
    assert req.history.filter(kind=EventKind.ACCEPTED).count() == 1
    answers = dict(MatchProposal.objects.filter(request=req).values_list("helper_id", "answer"))
    assert sorted(answers[h.id] for h in helpers) == ["accepted", "taken"]
    assert answers[winner_id] == "accepted"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_helpers_accepting_at_the_same_instant_one_wins_the_other_is_told_it_is_taken(
        requester, two_helpers, window, monkeypatch):
    req = actions.do_create_request(requester, type="groceries", description="Courses de la semaine", **window)
    assert set(MatchProposal.objects.filter(request=req).values_list("helper_id", flat=True)) == {
        h.id for h in two_helpers}
    # Both helpers read the request as still waiting before either writes: only the conditional UPDATE can decide.
    read_both = threading.Barrier(2, timeout=30)
    original = queries.request_in_scope

    def request_in_scope(member, request_id, **kw):
        found = original(member, request_id, **kw)
        read_both.wait()
        return found

    monkeypatch.setattr(queries, "request_in_scope", request_in_scope)
    results = _at_once([lambda h=h: actions.do_accept(h, req.id) for h in two_helpers])
    monkeypatch.undo()

    won = [r for kind, r in results if kind == "ok"]
    lost = [r for kind, r in results if kind == "error"]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], Conflict) and lost[0].code == "already_taken"
    _assert_one_winner(req, two_helpers, won[0].helper_id)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_helpers_accepting_through_the_api_at_once_get_200_and_409_already_taken(requester, two_helpers, window):
    clients = [Api(h) for h in two_helpers]
    for round_ in range(3):
        req = actions.do_create_request(requester, type="groceries", description=f"Courses, tour {round_}",
                                        **window)
        responses = _at_once([lambda c=c: c.post(f"/aid/requests/{req.id}/accept") for c in clients])
        assert all(kind == "ok" for kind, _ in responses), responses
        codes = sorted(r.status_code for _, r in responses)
        assert codes == [200, 409], [r.content for _, r in responses]
        loser = next(r for _, r in responses if r.status_code == 409).json()
        assert loser["code"] == "already_taken"
        winner = next(r for _, r in responses if r.status_code == 200).json()
        assert winner["status"] == "matched" and winner["contact"] is not None
        _assert_one_winner(req, two_helpers, winner["helper"]["id"])
    assert HelpRequest.objects.filter(status=RequestStatus.MATCHED).count() == 3
