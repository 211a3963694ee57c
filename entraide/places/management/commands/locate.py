import json

from django.core.management.base import BaseCommand, CommandError

from entraide.places import geo
from entraide.places.queries import locate


class Command(BaseCommand):
    help = "Print the neighbourhood that holds a point, as JSON."

    def add_arguments(self, parser):
        parser.add_argument("lat", type=float)
        parser.add_argument("lon", type=float)

    def handle(self, *args, **opts):
        if not geo.valid_lat_lon(opts["lat"], opts["lon"]):
            raise CommandError("coordinates out of range: latitude -90..90, longitude -180..180")
        n = locate(opts["lat"], opts["lon"])
        out = {"neighbourhood": {"id": n.id, "name": n.name, "city": n.city.name} if n else None}
        self.stdout.write(json.dumps(out, ensure_ascii=False))
