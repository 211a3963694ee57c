from datetime import date

from django.core.management.base import BaseCommand, CommandError

from entraide.notifications import digest, outbox


class Command(BaseCommand):
    help = ("Write today's digest emails into the outbox and send them (idempotent: a second run the same day "
            "sends nothing twice).")

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the digest of this day, YYYY-MM-DD (default: today)")
        parser.add_argument("--force", action="store_true",
                            help="write them again even for members who already had this day's digest (demo)")
        parser.add_argument("--no-send", action="store_true", help="only write them; the job consumer sends them")

    def handle(self, *args, **opts):
        try:
            day = date.fromisoformat(opts["date"]) if opts["date"] else None
        except ValueError:
            raise CommandError("--date: give the day as YYYY-MM-DD")
        counts = digest.build_digests(day, force=opts["force"])
        if not opts["no_send"]:
            counts.update(outbox.send_due(max_rows=10_000_000))
        self.stdout.write(" ".join(f"{name}={n}" for name, n in counts.items()))
