from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from entraide.places.gazetteer import GazetteerError, import_postcodes


class Command(BaseCommand):
    help = "Load GeoNames postcode centroids (the geocoder's coarse fallback)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--country", default="FR")

    def handle(self, *args, **opts):
        with tqdm(desc="postcodes", unit=" rows", unit_scale=True, disable=opts["verbosity"] == 0) as bar:
            try:
                count = import_postcodes(opts["file"], country=opts["country"], progress=bar.update)
            except GazetteerError as exc:
                raise CommandError(str(exc))
            except FileNotFoundError:
                raise CommandError(f"{opts['file']}: no such file")
        self.stdout.write(self.style.SUCCESS(f"{count} postcode areas"))
