from django.core.management.base import BaseCommand, CommandError

from entraide.accounts.actions import do_issue_letters
from entraide.accounts.letters import letters_pdf
from entraide.places.models import Neighbourhood


class Command(BaseCommand):
    help = "Write a PDF of verification letters for the pending members of a neighbourhood."

    def add_arguments(self, parser):
        parser.add_argument("neighbourhood_id", type=int)
        parser.add_argument("--out", required=True)
        parser.add_argument("--site-url", default="http://127.0.0.1:8000")
        parser.add_argument("--reissue", action="store_true")

    def handle(self, *args, **opts):
        neighbourhood = Neighbourhood.objects.filter(id=opts["neighbourhood_id"]).first()
        if neighbourhood is None:
            raise CommandError("no such neighbourhood")
        letters = do_issue_letters(neighbourhood, reissue=opts["reissue"])
        with open(opts["out"], "wb") as handle:
            handle.write(letters_pdf(letters, site_url=opts["site_url"]))
        self.stdout.write(self.style.SUCCESS(f"{len(letters)} letter(s) written to {opts['out']}"))
