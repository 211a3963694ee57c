"""Operators re-plan a city's waiting requests from the admin; other staff cannot."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from entraide.accounts.factories import UserFactory
from entraide.aid import actions
from entraide.aid.factories import HelpOfferFactory
from entraide.aid.models import MatchProposal

from .conftest import member_at

CITIES = "/admin/places/city/"


def staff(*codenames: str):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def _waiting_request(home, requester, window):
    req = actions.do_create_request(requester, type="groceries", description="Courses", **window)
    assert not req.proposals.exists()  # nobody offered help yet
    return req


@pytest.mark.django_db
def test_an_operator_replans_the_backlog_of_a_city(client, paris, home, requester, window):
    req = _waiting_request(home, requester, window)
    helper = HelpOfferFactory(helper=member_at(home, "Late Helper", north_m=200)).helper
    client.force_login(staff("view_city", "change_city", "add_matchproposal"))
    response = client.post(CITIES, {"action": "replan_help_backlog", "_selected_action": [paris.id]}, follow=True,
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert MatchProposal.objects.filter(request=req, helper=helper, source="batch").exists()
    assert "1 of 1 waiting requests proposed" in response.content.decode()


@pytest.mark.django_db
def test_staff_without_the_permission_cannot_replan(client, paris, home, requester, window):
    req = _waiting_request(home, requester, window)
    HelpOfferFactory(helper=member_at(home, "Late Helper", north_m=200))
    client.force_login(staff("view_city", "change_city"))
    page = client.get(CITIES).content.decode()
    assert "replan_help_backlog" not in page
    client.post(CITIES, {"action": "replan_help_backlog", "_selected_action": [paris.id]})
    assert not MatchProposal.objects.filter(request=req).exists()
