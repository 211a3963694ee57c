"""Email backends for the consumer test (used by a real `run_huey` subprocess, configured by environment)."""
from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend


def _dir() -> Path:
    path = Path(os.environ["ENTRAIDE_TEST_MAIL_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


class Blocking(BaseEmailBackend):
    """Says it started, then hangs, as an SMTP server that never answers: the consumer is killed meanwhile."""

    def send_messages(self, messages):
        (_dir() / "started").write_text("sending")
        time.sleep(120)
        return 0


class Files(BaseEmailBackend):
    """One file per delivered message."""

    def send_messages(self, messages):
        for message in messages:
            (_dir() / f"{uuid.uuid4().hex}.eml").write_bytes(message.message().as_bytes())
        return len(messages)
