from django.core.management.base import BaseCommand

from entraide.aid import actions


class Command(BaseCommand):
    help = "Run one pass of the mutual-aid engine: expire, widen or escalate what is due, auto-confirm."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="requests handled per kind of step (500)")

    def handle(self, *args, **opts):
        counts = actions.do_tick(limit=opts["limit"])
        self.stdout.write(" ".join(f"{name}={n}" for name, n in counts.items()))
