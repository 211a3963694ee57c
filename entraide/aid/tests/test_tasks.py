"""The job that keeps requests moving: registered with the consumer, and it advances what is due."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from entraide.aid import actions, tasks
from entraide.aid.models import Escalation

from .conftest import member_at


def test_the_tick_is_a_periodic_job_of_the_consumer():
    periodic = [t.__name__ for t in HUEY._registry._periodic_tasks]
    assert "aid.tick" in periodic
    # Due every minute.
    task = tasks.aid_tick.task_class()
    assert all(task.validate_datetime(timezone.now().replace(minute=m, second=0, microsecond=0)) for m in (0, 17, 59))


@pytest.mark.django_db
def test_the_tick_job_escalates_a_request_nobody_took_in_time(home, requester, window):
    req = actions.do_create_request(requester, type="groceries", description="Courses", **window)
    req.refresh_from_db()
    assert req.escalation == Escalation.INFORMER  # nobody anywhere: told the informer at once
    member_at(home, "Late Helper", north_m=200)
    type(req).objects.filter(pk=req.pk).update(next_check_at=timezone.now() - timedelta(minutes=1))
    assert tasks.aid_tick.call_local() == {"expired": 0, "advanced": 1, "confirmed": 0}
    req.refresh_from_db()
    assert req.next_check_at > timezone.now()
