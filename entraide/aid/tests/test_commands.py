"""The operators' commands: `entraide aid-tick` and `entraide aid-replan --city NAME`."""
from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from entraide.aid.factories import HelpOfferFactory, HelpRequestFactory
from entraide.aid.models import MatchProposal, RequestStatus

from .conftest import member_at

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_tick_command_runs_one_pass_and_prints_its_counts(home, requester, window):
    HelpRequestFactory(requester=requester, **window, next_check_at=timezone.now() - timedelta(minutes=1))
    HelpRequestFactory(requester=member_at(home, "Late Again"), window_start=timezone.now() - timedelta(hours=3),
                       window_end=timezone.now() - timedelta(minutes=1))
    assert run("aid_tick").strip() == "expired=1 advanced=1 confirmed=0"
    assert run("aid_tick").strip() == "expired=0 advanced=0 confirmed=0"


def test_the_replan_command_proposes_and_prints_its_counts(home, requester, window):
    req = HelpRequestFactory(requester=requester, **window)
    offer = HelpOfferFactory(helper=member_at(home, "Ana Proche", north_m=200))
    out = run("aid_replan", "--city", "Paris")
    assert "1 waiting request(s)" in out and "proposed=1 unmatched=0" in out
    assert MatchProposal.objects.get(request=req).helper_id == offer.helper_id
    req.refresh_from_db()
    assert req.status == RequestStatus.PROPOSED
    # Again: the helper was asked already, so there is nobody new to plan.
    result = json.loads(run("aid_replan", "--city", "Paris", "--json"))
    assert (result["requests"], result["proposed"], result["unmatched"]) == (1, 0, 1)


def test_the_replan_command_refuses_an_unknown_city(paris):
    with pytest.raises(CommandError, match="no city named"):
        run("aid_replan", "--city", "Atlantis")
