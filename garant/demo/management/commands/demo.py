"""`garant demo`: load the fictional demonstration group (four CHUs, ~40 AI systems, users)."""

from django.core.management.base import BaseCommand, CommandError

from garant.core.models import Establishment, User
from garant.demo.load import DEFAULT_PASSWORD, DemoError, Summary, load_demo, read


class Command(BaseCommand):
    help = (
        "Charge un groupement FICTIF de démonstration : quatre CHU, une quarantaine de systèmes "
        "d'IA et un utilisateur par rôle (identifiants et mot de passe affichés à la fin)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="ne rien faire si un établissement existe déjà (lancé à chaque démarrage)",
        )
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"mot de passe commun des comptes de démonstration (défaut : {DEFAULT_PASSWORD})",
        )

    def handle(self, *args, if_empty, password, **options):
        if if_empty and Establishment.objects.exists():
            self.remind_logins()
            return
        try:
            summary = load_demo(password=password)
        except DemoError as exc:
            raise CommandError(str(exc)) from None
        self.report(summary, password)

    def remind_logins(self) -> None:
        """On a later start, say again which demo accounts exist (their passwords may differ)."""
        data = read()
        names = [data["superuser"]["username"], *(u["username"] for u in data["users"])]
        present = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        if not present:
            self.stdout.write("Des établissements existent déjà : démonstration non chargée.")
            return
        self.stdout.write("Démonstration déjà chargée. Comptes de démonstration :")
        self.stdout.write("  " + ", ".join(n for n in names if n in present))
        self.stdout.write(
            f"Mot de passe initial : {DEFAULT_PASSWORD} (sauf s'il a été changé depuis)."
        )

    def report(self, summary: Summary, password: str) -> None:
        out = self.stdout
        out.write(
            self.style.SUCCESS(
                f"Démonstration chargée (données fictives) : {summary.establishments} "
                f"établissements, {summary.services} services, {summary.vendors} éditeurs, "
                f"{summary.systems} systèmes d'IA, {summary.versions} versions, "
                f"{summary.users} utilisateurs."
            )
        )
        for feed in summary.feeds:
            out.write(
                f"Flux de suivi « {feed.name} » ({feed.ai_system.name}) : "
                f"{feed.batches.count()} lots ingérés ; tableau de bord : /suivi/flux/{feed.pk}/tableau/"
            )
        out.write("")
        out.write("Comptes de démonstration :")
        out.write("")
        headers = ("Identifiant", "Nom", "Rôle", "Établissement(s)")
        rows = [(r.username, r.name, r.roles, r.establishments) for r in summary.logins]
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

        def line(cells):
            return "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        out.write(line(headers))
        out.write(line(["─" * w for w in widths]))
        previous = None
        for row in rows:
            # name and username once per account, even when it holds several roles
            out.write(line(("", "", *row[2:]) if row[0] == previous else row))
            previous = row[0]
        out.write("")
        out.write(f"Mot de passe de tous ces comptes : {password}")
        out.write(
            "Ces comptes et ces données sont fictifs : ne les utilisez pas pour de vraies données."
        )
