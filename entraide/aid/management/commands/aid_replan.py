import json

from django.core.management.base import BaseCommand, CommandError

from entraide.aid.replan import do_replan_backlog
from entraide.places.models import City


class Command(BaseCommand):
    help = ("Re-plan a city's waiting help requests as one assignment (most requests matched, least walking) "
            "and ask the planned helpers.")

    def add_arguments(self, parser):
        parser.add_argument("--city", required=True, help="the city's name, as imported")
        parser.add_argument("--country", help="two-letter country code, when several cities share the name")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **opts):
        cities = City.objects.filter(name=opts["city"])
        if opts["country"]:
            cities = cities.filter(country=opts["country"].upper())
        found = list(cities[:2])
        if not found:
            raise CommandError(f"no city named {opts['city']!r}")
        if len(found) > 1:
            raise CommandError(f"several cities are named {opts['city']!r}: add --country")
        result = do_replan_backlog(None, city_id=found[0].id)
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
            return
        self.stdout.write(
            f"{found[0].name}: {result.requests} waiting request(s), {result.helpers} helper(s) with capacity left; "
            f"proposed={result.proposed} unmatched={result.unmatched} total_distance_m={result.total_distance_m} "
            f"({result.load_seconds + result.plan_seconds + result.write_seconds:.2f} s)")
