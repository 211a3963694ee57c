import os
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the site with gunicorn (WSGI). PORT sets the port (default 8000)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))

    def handle(self, *args, **opts):
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Serving Entraide on http://{opts['host']}:{opts['port']}/ (Ctrl-C to stop)")
        sys.stdout.flush()
        if settings.ENTRAIDE_RUN_JOBS:
            # The job consumer (huey) beside the web workers, so `make demo` needs nothing else. It shares the
            # terminal's process group: Ctrl-C stops both. In production run `entraide run_huey` on its own.
            entraide = os.path.join(os.path.dirname(sys.executable), "entraide")
            subprocess.Popen([entraide, "run_huey", "--quiet"], cwd=str(settings.BASE_DIR))
        gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
        os.execv(gunicorn, [gunicorn, "entraide.wsgi:application", "--bind", f"{opts['host']}:{opts['port']}",
                            "--workers", str(opts["workers"]), "--access-logfile", "-",
                            # The path only: query strings may carry addresses (DESIGN.md, privacy rules).
                            "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
                            "--chdir", str(settings.BASE_DIR)])
