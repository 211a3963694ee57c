"""`entraide serve`: pages, API, WebSockets (/ws/v1/events) and the job consumer.

Two layouts, chosen by REDIS_URL:
- With REDIS_URL: gunicorn (WSGI, `--workers`) serves pages and API on PORT; one daphne process serves the
  WebSockets on PORT+1 (or ENTRAIDE_WS_PORT); huey runs as its own process. Events cross processes (and machines)
  through channels-redis. ENTRAIDE_WS_PORT is exported to gunicorn so pages tell live.js to connect to
  `:<port>/ws/v1/events` on their own host (entraide/live/context_processors.py); behind a proxy that routes
  /ws/ itself, set ENTRAIDE_WS_URL instead.
- Without it (embedded, `make demo`): the in-memory channel layer only reaches consumers of its own process, so ONE
  daphne process serves pages, API and WebSockets, and the huey consumer runs inside it (a thread pool, not a
  subprocess) so that what background jobs publish (a match timing out, a request expiring) reaches open pages
  too. The trade-off: one process, no parallel web workers; fine for a demo or a small association, not for a
  city (set REDIS_URL).

Access logs carry the path only, never the query string: `?token=` is a secret and queries may hold addresses
(DESIGN.md, privacy rules). Daphne's own access log writes the full URI, so it is replaced here.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

MAX_WS_MESSAGE_BYTES = 64 * 1024  # clients only send pings; daphne's default is 1 MiB


class PathOnlyAccessLog:
    """Daphne's `action_logger` interface, writing what gunicorn's format writes: client, method, path, status."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def __call__(self, protocol: str, action: str, details: dict) -> None:
        path = str(details.get("path") or "").split("?", 1)[0]
        client = (details.get("client") or "-").rsplit(":", 1)[0]
        if protocol == "http" and action == "complete":
            line = f'{client} "{details.get("method")} {path}" {details.get("status")} {details.get("size") or 0} ' \
                   f'{int((details.get("time_taken") or 0) * 1000)}ms'
        elif protocol == "websocket" and action in ("connected", "disconnected", "rejected"):
            line = f'{client} "WS{action.upper()} {path}"'
        else:
            return
        self.stream.write(line + "\n")
        self.stream.flush()


def run_daphne(host: str, port: int, *, jobs: bool, access_log=sys.stdout) -> None:
    """Serve entraide.asgi in this process until interrupted; with `jobs`, the huey consumer runs beside it."""
    import daphne.server  # installs Twisted's asyncio reactor: before anything imports twisted.internet.reactor

    from entraide.asgi import application
    from entraide.live import fanout

    consumer = _start_job_consumer() if jobs else None
    # Twisted installs its SIGINT handler only over Python's default one, which a shell starting us in the
    # background (or huey's consumer) replaces: put it back so Ctrl-C and `kill -INT` stop the server.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    fanout.server_loop = daphne.server.twisted_loop
    server = daphne.server.Server(
        application=application, endpoints=[f"tcp:port={port}:interface={host}"], signal_handlers=True,
        action_logger=PathOnlyAccessLog(access_log) if access_log else None, verbosity=0,
        websocket_max_message_size=MAX_WS_MESSAGE_BYTES, websocket_max_frame_size=MAX_WS_MESSAGE_BYTES)
    try:
        server.run()
    finally:
        fanout.server_loop = None
        if consumer is not None:
            consumer.stop(graceful=True)
            consumer.huey.notify_interrupted_tasks()


def _start_job_consumer():
    """huey's consumer (threads) in this process: what `run_huey` does, minus its main loop, which would block.

    Twisted then installs its SIGINT/SIGTERM handlers, so Ctrl-C stops the server; `run_daphne` then stops the
    consumer gracefully. A job interrupted by a kill runs again at the next start (huey's storage).
    """
    from django.utils.module_loading import autodiscover_modules
    from huey.consumer_options import ConsumerConfig
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")
    config = ConsumerConfig(**{**settings.HUEY.get("consumer", {}), "worker_type": "thread"})
    config.validate()
    consumer = HUEY.create_consumer(**config.values)
    consumer.start()
    # start() sets huey's own handlers, which only raise a flag for its main loop (not run here): back to the
    # defaults, over which Twisted installs its own (run_daphne).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return consumer


class Command(BaseCommand):
    help = ("Serve the site: one daphne process (pages, API, WebSockets, jobs) without REDIS_URL; gunicorn + daphne "
            "for WebSockets on PORT+1 + huey with it. PORT sets the port (default 8000).")

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--websockets-only", action="store_true",
                            help="only the daphne process for /ws/v1/events (what REDIS_URL mode starts beside "
                                 "gunicorn; run more of them behind a proxy to spread connections)")

    def handle(self, *args, **opts):
        host, port = opts["host"], opts["port"]
        if opts["websockets_only"]:
            run_daphne(host, port, jobs=False)
            return
        call_command("collectstatic", interactive=False, verbosity=0)
        entraide = os.path.join(os.path.dirname(sys.executable), "entraide")
        if not settings.REDIS_URL:
            self.stdout.write(f"Serving Entraide on http://{host}:{port}/ (one process: pages, WebSockets and "
                              f"jobs; set REDIS_URL for more; Ctrl-C to stop)")
            sys.stdout.flush()
            run_daphne(host, port, jobs=settings.ENTRAIDE_RUN_JOBS)
            return
        ws_port = int(os.environ.get("ENTRAIDE_WS_PORT") or port + 1)
        os.environ["ENTRAIDE_WS_PORT"] = str(ws_port)  # inherited by gunicorn's workers: where pages connect
        self.stdout.write(f"Serving Entraide on http://{host}:{port}/, WebSockets on ws://{host}:{ws_port}/ws/v1/"
                          f"events (Ctrl-C to stop)")
        sys.stdout.flush()
        # Both share the terminal's process group: Ctrl-C stops them with gunicorn.
        subprocess.Popen([entraide, "serve", "--websockets-only", "--host", host, "--port", str(ws_port)],
                         cwd=str(settings.BASE_DIR))
        if settings.ENTRAIDE_RUN_JOBS:
            # The job consumer (huey) beside the web workers. In production run `entraide run_huey` on its own.
            subprocess.Popen([entraide, "run_huey", "--quiet"], cwd=str(settings.BASE_DIR))
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        os.execv(gunicorn, [gunicorn, "entraide.wsgi:application", "--bind", f"{host}:{port}",
                            "--workers", str(opts["workers"]), "--access-logfile", "-",
                            # The path only: query strings may carry addresses (DESIGN.md, privacy rules).
                            "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
                            "--chdir", str(settings.BASE_DIR)])
