import json

from django.core.management.base import BaseCommand

from entraide.places.api import geocode_candidates


class Command(BaseCommand):
    help = "Geocode a typed address; print the candidates as JSON."

    def add_arguments(self, parser):
        parser.add_argument("text")
        parser.add_argument("--limit", type=int, default=5)

    def handle(self, *args, **opts):
        candidates = [c.model_dump() for c in geocode_candidates(opts["text"], opts["limit"])]
        self.stdout.write(json.dumps({"candidates": candidates}, ensure_ascii=False))
