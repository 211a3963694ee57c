"""`entraide serve`: pages, API, WebSockets (/ws/v1/events) and the job consumer.

Two layouts, chosen by REDIS_URL:
- With REDIS_URL: gunicorn (WSGI, `--workers`) serves pages and API on PORT; one uvicorn process serves the
  WebSockets on PORT+1 (or ENTRAIDE_WS_PORT); huey runs as its own process. Events cross processes (and machines)
  through channels-redis. ENTRAIDE_WS_PORT is exported to gunicorn so pages tell live.js to connect to
  `:<port>/ws/v1/events` on their own host (entraide/live/context_processors.py); behind a proxy that routes
  /ws/ itself, set ENTRAIDE_WS_URL instead.
- Without it (embedded, `make demo`): the in-memory channel layer only reaches consumers of its own process, so ONE
  uvicorn process serves pages, API and WebSockets, and the huey consumer runs inside it (a thread pool, not a
  subprocess) so that what background jobs publish (a match timing out, a request expiring) reaches open pages
  too. The trade-off: one process, no parallel web workers; fine for a demo or a small association, not for a
  city (set REDIS_URL).

Stopping: in embedded mode uvicorn handles SIGINT/SIGTERM and the huey threads are stopped after it; in REDIS_URL
mode `supervise` forwards either signal to the three processes and waits for them.

Access logs carry the path only, never the query string: `?token=` is a secret and queries may hold addresses
(DESIGN.md, privacy rules). uvicorn's log lines are filtered to the path.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

MAX_WS_MESSAGE_BYTES = 64 * 1024  # clients only send pings; uvicorn's default is 16 MiB


class PathOnly(logging.Filter):
    """Cuts the query string off the paths uvicorn logs (its access lines and its WebSocket lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(a.split("?", 1)[0] if isinstance(a, str) and a.startswith("/") else a
                                for a in record.args)
        return True


def _logging(access_log: bool) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        # On the loggers, not only our handler: without access_log their records propagate to whatever handlers
        # the root logger has, and those must not see a query string either.
        if not any(isinstance(f, PathOnly) for f in logger.filters):
            logger.addFilter(PathOnly())
        logger.handlers[:] = [handler] if access_log else []
        logger.setLevel(logging.INFO if access_log else logging.WARNING)
        logger.propagate = not access_log


def run_asgi(host: str, port: int, *, jobs: bool, access_log: bool = True) -> None:
    """Serve entraide.asgi with uvicorn (uvloop, websockets) in this process until interrupted; with `jobs`, the
    huey consumer runs beside it.

    uvicorn rather than daphne: the same 1,000 WebSocket clients got their frames with p99 149 ms against 341 ms
    under daphne on this 2-core machine; websockets' sans-I/O protocol rather than its legacy one (deprecated):
    p99 104-106 ms against 130-170 ms in alternating runs (bench/live.py, docs/benchmarks.md).
    """
    import uvicorn

    from entraide.asgi import application

    consumer = _start_job_consumer() if jobs else None
    _logging(access_log)
    config = uvicorn.Config(application, host=host, port=port, loop="uvloop", http="httptools", ws="websockets-sansio",
                            ws_max_size=MAX_WS_MESSAGE_BYTES, lifespan="on", log_config=None, access_log=access_log,
                            proxy_headers=False, server_header=False)
    try:
        uvicorn.Server(config).run()  # handles SIGINT/SIGTERM itself
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
            consumer.huey.notify_interrupted_tasks()


def _start_job_consumer():
    """huey's consumer (threads) in this process: what `run_huey` does, minus its main loop, which would block.

    uvicorn then installs its SIGINT/SIGTERM handlers, so Ctrl-C stops the server; `run_asgi` then stops the
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
    # defaults, over which uvicorn installs its own (run_asgi).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return consumer


class Command(BaseCommand):
    help = ("Serve the site: one ASGI process (pages, API, WebSockets, jobs) without REDIS_URL; gunicorn + uvicorn "
            "for WebSockets on PORT+1 + huey with it (uvicorn serves ASGI). PORT sets the port (default 8000).")

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
        parser.add_argument("--websockets-only", action="store_true",
                            help="only the ASGI process for /ws/v1/events (what REDIS_URL mode starts beside "
                                 "gunicorn; run more of them behind a proxy to spread connections)")

    def handle(self, *args, **opts):
        host, port = opts["host"], opts["port"]
        if opts["websockets_only"]:
            run_asgi(host, port, jobs=False)
            return
        call_command("collectstatic", interactive=False, verbosity=0)
        entraide = os.path.join(os.path.dirname(sys.executable), "entraide")
        if not settings.REDIS_URL:
            self.stdout.write(f"Serving Entraide on http://{host}:{port}/ (one process: pages, WebSockets and "
                              f"jobs; set REDIS_URL for more; Ctrl-C to stop)")
            sys.stdout.flush()
            run_asgi(host, port, jobs=settings.ENTRAIDE_RUN_JOBS)
            return
        ws_port = int(os.environ.get("ENTRAIDE_WS_PORT") or port + 1)
        os.environ["ENTRAIDE_WS_PORT"] = str(ws_port)  # inherited by gunicorn's workers: where pages connect
        self.stdout.write(f"Serving Entraide on http://{host}:{port}/, WebSockets on ws://{host}:{ws_port}/ws/v1/"
                          f"events (Ctrl-C to stop)")
        sys.stdout.flush()
        commands = [[entraide, "serve", "--websockets-only", "--host", host, "--port", str(ws_port)]]
        if settings.ENTRAIDE_RUN_JOBS:
            # The job consumer (huey) beside the web workers. In production run `entraide run_huey` on its own.
            commands.append([entraide, "run_huey", "--quiet"])
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        commands.append([gunicorn, "entraide.wsgi:application", "--bind", f"{host}:{port}",
                         "--workers", str(opts["workers"]), "--access-logfile", "-",
                         # The path only: query strings may carry addresses (DESIGN.md, privacy rules).
                         "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
                         "--chdir", str(settings.BASE_DIR)])
        sys.exit(supervise(commands, cwd=str(settings.BASE_DIR)))


def supervise(commands: list[list[str]], *, cwd: str | None = None, grace_seconds: float = 30) -> int:
    """Run the processes side by side until SIGINT/SIGTERM arrives or one of them ends, then stop them all.

    Ctrl-C reaches every process of the terminal's group anyway, but SIGTERM (systemd, a container runtime, `kill`)
    reaches this process only: the others would be left running, the WebSocket port and the job queue still held.
    Returns the exit code of the process that ended first (0 when stopped by a signal).
    """
    stop: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    children: list[subprocess.Popen] = []
    code = 0
    try:
        children = [subprocess.Popen(command, cwd=cwd) for command in commands]
        while not stop:
            ended = [c for c in children if c.poll() is not None]
            if ended:
                code = ended[0].returncode
                break
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + grace_seconds
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code
