"""`entraide demo`: migrate, load the demo city, create demo members, print their logins, serve."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from entraide.places.models import Neighbourhood, PostcodeArea, Street

DEMO_PASSWORD = "entraide-demo-2020"
# Real addresses from the shipped BAN sample, so the demo members sit in real quartiers.
DEMO_MEMBERS = [
    ("operator@demo.entraide.fr", "Olivia Operatrice", "67 Avenue Simon Bolivar 75019 Paris", "verified", True),
    ("camille@demo.entraide.fr", "Camille Martin", "67 Avenue Simon Bolivar 75019 Paris", "verified", False),
    ("karim@demo.entraide.fr", "Karim Benali", "10 Rue du Docteur Blanche 75016 Paris", "verified", False),
    ("jeanne@demo.entraide.fr", "Jeanne Petit", "10 Rue du Docteur Blanche 75016 Paris", "pending", False),
]


def data_dir() -> Path:
    """The repository's copy of the data (with its licences); ../shared/data when run beside it."""
    for candidate in (settings.BASE_DIR / "data", settings.BASE_DIR.parent / "shared" / "data"):
        if (candidate / "paris-quartiers.geojson").exists():
            return candidate
    raise FileNotFoundError("no data folder with paris-quartiers.geojson")


class Command(BaseCommand):
    help = "Set up the demo city and serve it."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true")
        parser.add_argument("--port", type=int, default=None)

    def handle(self, *args, **opts):
        verbosity = opts["verbosity"]
        call_command("migrate", interactive=False, verbosity=0)
        data = data_dir()
        if not Neighbourhood.objects.filter(city__name="Paris").exists():
            call_command("import_neighbourhoods", str(data / "paris-quartiers.geojson"), name_field="l_qu",
                         code_field="c_quinsee", city="Paris", verbosity=verbosity)
        if not Neighbourhood.objects.filter(city__name="Petite couronne").exists():
            call_command("import_neighbourhoods", str(data / "petite-couronne-communes.geojson"), name_field="nom",
                         code_field="code", city="Petite couronne", verbosity=verbosity)
        if not Street.objects.exists():
            call_command("import_addresses", str(data / "paris-adresses-sample.csv"), verbosity=verbosity)
        if not PostcodeArea.objects.exists():
            call_command("import_postcodes", str(data / "geonames-postcodes-fr.csv"), verbosity=verbosity)
        self._members()
        self._print_logins()
        if not opts["no_serve"]:
            serve = {"port": opts["port"]} if opts["port"] else {}
            call_command("serve", **serve)

    def _members(self) -> None:
        User = get_user_model()
        for email, name, address, state, staff in DEMO_MEMBERS:
            if not User.objects.filter(email=email).exists():
                with transaction.atomic():
                    self._member(User, email, name, address, state == "verified", staff)

    def _member(self, User, email: str, name: str, address: str, verified: bool, staff: bool) -> None:
        from allauth.account.models import EmailAddress

        from entraide.accounts.actions import create_member, do_operator_verify
        from entraide.accounts.home import resolve_home

        user = User.objects.create_user(username=email, email=email, password=DEMO_PASSWORD,
                                        is_staff=staff, is_superuser=staff)
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
        member = create_member(user, display_name=name, home=resolve_home(address=address))
        if verified:
            do_operator_verify(member)

    def _print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo logins (password for all: %s)" % DEMO_PASSWORD))
        for email, name, _address, state, staff in DEMO_MEMBERS:
            role = "operator, Django admin at /admin/" if staff else state
            self.stdout.write(f"  {email:30} {name:20} {role}")
        relaxed = "" if settings.ENTRAIDE_REQUIRE_VERIFICATION else " (relaxed: ENTRAIDE_REQUIRE_VERIFICATION=false)"
        self.stdout.write(f"Address verification required: {settings.ENTRAIDE_REQUIRE_VERIFICATION}{relaxed}")
        self.stdout.write("Letters with verification codes: log in as the operator, /admin/ > Neighbourhoods > print.")
        self.stdout.write("")
