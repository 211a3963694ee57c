"""The engine's clock: every minute, widen, escalate or expire what waited too long (actions.do_tick)."""
from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from . import actions


@db_periodic_task(crontab(minute="*"), name="aid.tick")
def aid_tick() -> dict[str, int]:
    return actions.do_tick()
