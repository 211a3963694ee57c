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
    ("karim@demo.entraide.fr", "Karim Benali", "108 Rue de Belleville 75020 Paris", "verified", False),
    ("jeanne@demo.entraide.fr", "Jeanne Petit", "36 Rue Piat 75020 Paris", "pending", False),
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
        self._feed()
        self._aid()
        self._messages()
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

    def _feed(self) -> None:
        """A declared crisis and a few posts between Combat and Belleville, two neighbouring quartiers."""
        from django.utils import timezone

        from entraide.accounts.models import Member
        from entraide.feed import actions
        from entraide.feed.models import Crisis, Post

        if Post.objects.exists():
            return
        Crisis.objects.get_or_create(tag="covid-19", defaults={
            "name": "COVID-19", "starts_at": timezone.now(),
            "banner": "Confinement : courses, pharmacie et garde d'enfants entre voisins. Restez chez vous si vous êtes à risque.",
        })
        camille = Member.objects.get(user__email="camille@demo.entraide.fr")
        karim = Member.objects.get(user__email="karim@demo.entraide.fr")
        # Each reads the other's quartier: they are neighbours (Combat and Belleville touch).
        camille.reads_nearby.add(karim.neighbourhood)
        karim.reads_nearby.add(camille.neighbourhood)
        courses = actions.do_create_post(
            camille, category="general", audience="nearby", tags=["courses"], crisis_tag="covid-19",
            title="Je fais les courses pour les personnes à risque",
            body="Je passe au marché **samedi matin**. Si vous êtes à risque ou soignant, dites-moi ce qu'il vous faut.")
        actions.do_create_post(
            karim, category="advice", audience="nearby", tags=["école"],
            title="Devoirs imprimés pour les écoles du quartier",
            body="L'imprimerie de la rue de Belleville imprime gratuitement les devoirs des écoles. Pensez aux voisins sans imprimante.")
        actions.do_create_post(
            karim, category="give_lend", title="Je prête des jeux de société",
            body="Une dizaine de jeux pour enfants à prêter pendant le confinement, dépôt devant la porte.")
        actions.do_create_comment(karim, courses.id, body="Merci Camille ! Mon voisin du 3e aurait besoin de pain et de lait.")
        actions.do_thank_post(karim, courses.id)

    def _aid(self) -> None:
        """Two helpers (Karim: groceries and pharmacy runs; Camille: childcare) and one open request, once."""
        from datetime import timedelta

        from django.utils import timezone

        from entraide.accounts.models import Member
        from entraide.aid import actions
        from entraide.aid.models import HelpOffer, HelpRequest

        camille = Member.objects.get(user__email="camille@demo.entraide.fr")
        karim = Member.objects.get(user__email="karim@demo.entraide.fr")
        if not HelpOffer.objects.filter(helper=karim).exists():
            actions.do_save_offer(karim, types=["groceries", "pharmacy"], radius_m=1500, capacity_per_week=5)
        if not HelpOffer.objects.filter(helper=camille).exists():
            evenings = [{"weekday": d, "start": "16:30", "end": "19:30"} for d in range(5)]
            actions.do_save_offer(camille, types=["childcare"], radius_m=1000, capacity_per_week=2,
                                  slots=[*evenings, {"weekday": 2, "start": "12:00", "end": "16:30"}])
        if not HelpRequest.objects.filter(requester=camille).exists():
            start = timezone.now() + timedelta(hours=2)
            actions.do_create_request(
                camille, type="pharmacy", description="Récupérer une ordonnance à la pharmacie de la place des Fêtes.",
                window_start=start, window_end=start + timedelta(days=2), urgency="normal",
                contact_note="Sonnez deux fois, je descends.")

    def _messages(self) -> None:
        """Karim and Camille already talk about the courses, once."""
        from entraide.accounts.models import Member
        from entraide.messaging import actions
        from entraide.messaging.models import Conversation

        if Conversation.objects.exists():
            return
        camille = Member.objects.get(user__email="camille@demo.entraide.fr")
        karim = Member.objects.get(user__email="karim@demo.entraide.fr")
        conversation, _ = actions.do_start_direct(karim, camille.id)
        actions.do_send_message(karim, conversation.id, "Bonjour Camille, je peux vous aider samedi pour le marché ?")
        actions.do_send_message(camille, conversation.id, "Avec plaisir ! Rendez-vous à 9 h devant la boulangerie.")

    def _print_logins(self) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo logins (password for all: %s)" % DEMO_PASSWORD))
        for email, name, _address, state, staff in DEMO_MEMBERS:
            role = "operator, Django admin at /admin/" if staff else state
            self.stdout.write(f"  {email:30} {name:20} {role}")
        relaxed = "" if settings.ENTRAIDE_REQUIRE_VERIFICATION else " (relaxed: ENTRAIDE_REQUIRE_VERIFICATION=false)"
        self.stdout.write(f"Address verification required: {settings.ENTRAIDE_REQUIRE_VERIFICATION}{relaxed}")
        self.stdout.write("Letters with verification codes: log in as the operator, /admin/ > Neighbourhoods > print.")
        self.stdout.write("Emails (the match for Karim, messages, digests) are printed below as they are sent; "
                          "`.venv/bin/entraide send-digests --force` sends today's digest now.")
        self.stdout.write("")
