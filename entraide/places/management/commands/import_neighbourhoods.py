from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from entraide.places.actions import do_import_neighbourhoods
from entraide.places.neighbourhood_import import GeoJSONError


class Command(BaseCommand):
    help = "Import neighbourhood polygons from a GeoJSON FeatureCollection, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--name-field", required=True)
        parser.add_argument("--code-field")
        parser.add_argument("--city", default="Paris")
        parser.add_argument("--country", default="FR")

    def handle(self, *args, **opts):
        with tqdm(desc="neighbourhoods", unit=" features", disable=opts["verbosity"] == 0) as bar:
            try:
                result = do_import_neighbourhoods(opts["file"], name_field=opts["name_field"],
                                                  code_field=opts["code_field"], city=opts["city"],
                                                  country=opts["country"], progress=bar.update)
            except GeoJSONError as exc:
                raise CommandError("\n".join([str(exc), *exc.problems]))
        for line in result.repaired:
            self.stdout.write(self.style.WARNING(line))
        self.stdout.write(self.style.SUCCESS(
            f"{result.city}: {result.created} created, {result.updated} updated, {result.nearby_pairs} nearby pairs"))
