"""The `entraide` console script: Django management commands under friendlier, hyphenated names."""
from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entraide.settings")
    from django.core.management import execute_from_command_line

    if not argv or argv[0] in {"-h", "--help", "help"}:
        print("usage: entraide COMMAND [ARGS]\n\n"
              "  demo                    migrate, load the demo city, print logins and serve\n"
              "  serve                   serve the site (gunicorn; PORT, default 8000)\n"
              "  import-neighbourhoods   FILE.geojson --name-field NAME [--code-field CODE] [--city CITY]\n"
              "  import-addresses        FILE.csv[.gz] (Base Adresse Nationale layout) [--keep-good-rows]\n"
              "  import-postcodes        FILE.csv (GeoNames postal codes) [--country FR]\n"
              "  issue-letters           NEIGHBOURHOOD_ID --out FILE.pdf [--site-url URL] [--reissue]\n"
              "  geocode \"TEXT\"          candidates as JSON [--limit N]\n"
              "  locate LAT LON          the neighbourhood as JSON (null when none covers the point)\n"
              "  aid-tick                one pass of the mutual-aid engine (expire, widen, escalate), prints counts\n"
              "  aid-replan              --city NAME [--country FR] [--json] re-plan the waiting requests in batch\n"
              "  send-digests            [--date YYYY-MM-DD] [--force] [--no-send] write and send the daily digest emails\n"
              "  run-huey                the background job consumer (emails, digests, the aid engine's clock)\n\n"
              "Every Django management command works too (entraide migrate, entraide createsuperuser, ...).")
        return
    command = argv[0].replace("-", "_")
    execute_from_command_line(["entraide", command, *argv[1:]])


if __name__ == "__main__":
    main()
