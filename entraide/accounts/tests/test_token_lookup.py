"""`user_for_token`: the hand-written lookup every API request goes through must load what the ORM would."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from entraide.accounts.models import ApiToken, Member
from entraide.accounts.queries import member_of, user_for_token

pytestmark = pytest.mark.django_db


def test_a_token_gives_its_user_and_member_as_the_orm_loads_them(token_for, verified_member):
    token = token_for(verified_member)
    user_for_token(token)  # the first use records itself
    with CaptureQueriesContext(connection) as queries:
        user = user_for_token(token)
        member = member_of(user)
    assert len(queries) == 1  # no write: the use was recorded a moment ago
    expected_user = get_user_model().objects.get(pk=verified_member.user_id)
    expected = Member.objects.get(pk=verified_member.pk)
    for field in get_user_model()._meta.concrete_fields:
        assert getattr(user, field.attname) == getattr(expected_user, field.attname), field.name
    for field in Member._meta.concrete_fields:
        assert getattr(member, field.attname) == getattr(expected, field.attname), field.name
    assert member.user is user
    assert member.is_verified and isinstance(member.verified_at, type(expected.verified_at))
    assert not user._state.adding and member._state.db == "default"


def test_a_user_without_a_profile_has_no_member_and_costs_no_second_query(token_for, member):
    token = token_for(member)
    member.delete()
    user = user_for_token(token)
    assert user is not None
    with CaptureQueriesContext(connection) as queries:
        assert member_of(user) is None
    assert len(queries) == 0


def test_an_unknown_token_or_an_inactive_account_gives_nobody(token_for, member):
    token = token_for(member)
    assert user_for_token(token + "x") is None
    assert user_for_token("") is None
    get_user_model().objects.filter(pk=member.user_id).update(is_active=False)
    assert user_for_token(token) is None


def test_use_is_recorded_at_most_every_five_minutes(token_for, member):
    token = token_for(member)
    old = timezone.now() - timedelta(minutes=6)
    ApiToken.objects.filter(user=member.user).update(last_used_at=old)
    user_for_token(token)
    recorded = ApiToken.objects.get(user=member.user).last_used_at
    assert recorded > old + timedelta(minutes=5)
    user_for_token(token)
    assert ApiToken.objects.get(user=member.user).last_used_at == recorded


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_use_is_recorded_without_waiting_for_the_disk(token_for, member):
    """Outside a transaction, as a server runs it: the mark commits unhurried (core.db.unhurried)."""
    token = token_for(member)
    ApiToken.objects.filter(user=member.user).update(last_used_at=timezone.now() - timedelta(hours=1))
    with CaptureQueriesContext(connection) as captured:
        assert user_for_token(token).pk == member.user.pk
    (update,) = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("WITH unhurried")]
    assert "set_config('synchronous_commit', 'off', true)" in update
    assert timezone.now() - ApiToken.objects.get(user=member.user).last_used_at < timedelta(minutes=1)
