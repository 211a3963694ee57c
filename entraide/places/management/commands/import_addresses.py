from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from entraide.places.gazetteer import GazetteerError, import_addresses

MAX_SHOWN = 50  # broken rows printed one by one; a national file could have thousands


class Command(BaseCommand):
    help = "Stream a Base Adresse Nationale CSV into the offline gazetteer (all or nothing unless --keep-good-rows)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--keep-good-rows", action="store_true",
                            help="import the good rows even when some rows are broken (they are reported)")

    def handle(self, *args, **opts):
        with tqdm(desc="addresses", unit=" rows", unit_scale=True, disable=opts["verbosity"] == 0) as bar:
            try:
                result = import_addresses(opts["file"], progress=bar.update, keep_good_rows=opts["keep_good_rows"])
            except GazetteerError as exc:
                raise CommandError(str(exc))
            except FileNotFoundError:
                raise CommandError(f"{opts['file']}: no such file")
        shown = result.problems[:MAX_SHOWN]
        for problem in shown:
            self.stdout.write(self.style.WARNING(problem))
        summary = result.summary()
        if result.problem_count > len(shown):
            summary += f" (the first {len(shown)} are listed above)"
        self.stdout.write(self.style.SUCCESS(summary))
