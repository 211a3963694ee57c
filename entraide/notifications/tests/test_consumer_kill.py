"""A real huey consumer killed (SIGKILL) while it sends an email: once restarted, the email arrives exactly once.

Everything runs in subprocesses with their own SQLite database, job queue and email backend (environment
variables only), so this test runs the same whatever DATABASE_URL the suite uses.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LEASE_S = 2


def _wait_for(check, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the consumer exited ({proc.returncode}) before {what}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _row(db: Path) -> tuple[str, int]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT status, attempts FROM notifications_outboundemail").fetchone()


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "entraide.settings", "ENTRAIDE_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "ENTRAIDE_TEST_MAIL_DIR": str(tmp_path / "mail"),
            "ENTRAIDE_EMAIL_LEASE_SECONDS": str(LEASE_S), "ENTRAIDE_QUIET_HOURS": "", "REDIS_URL": "",
            "EMAIL_HOST": "", "ENTRAIDE_SITE_URL": "https://entraide.example"}


def _consumer(env: dict, backend: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "django", "run_huey", "--workers", "1"],
                            env={**env, "EMAIL_BACKEND": f"entraide.notifications.tests.mailbackends.{backend}"},
                            cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def test_killing_the_consumer_mid_send_loses_nothing_and_sends_once(env, tmp_path):
    db, mail_dir, log = tmp_path / "db.sqlite3", tmp_path / "mail", tmp_path / "consumer.log"
    done = subprocess.run([sys.executable, "-m", "entraide.notifications.tests.consumer_scenario"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "ready" in done.stdout, done.stderr[-2000:]
    assert _row(db) == ("pending", 0)

    first = _consumer(env, "Blocking", log)
    try:
        _wait_for(lambda: (mail_dir / "started").exists(), 30, "the send to start", first)
        assert _row(db) == ("sending", 1)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    assert not list(mail_dir.glob("*.eml"))

    time.sleep(LEASE_S + 0.5)  # the dead worker's lease runs out
    second = _consumer(env, "Files", log)
    try:
        _wait_for(lambda: _row(db)[0] == "sent", 30, "the email to be sent again", second)
        time.sleep(1.0)  # a duplicate, if any, would land now
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(10)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait()
    delivered = list(mail_dir.glob("*.eml"))
    assert len(delivered) == 1, log.read_text()[-3000:]
    text = delivered[0].read_bytes()
    assert b"paul@example.org" in text and b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in text
    assert _row(db) == ("sent", 2)
