"""`garant audit verify`: check the hash chain of the audit trail."""

from django.core.management.base import BaseCommand, CommandError

from garant.core.audit import verify


class Command(BaseCommand):
    help = "Piste d'audit : « verify » vérifie le chaînage des empreintes et nomme le premier événement altéré ou manquant."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="vérifier la chaîne")

    def handle(self, *args, action, **options):
        result = verify()
        if not result.ok:
            raise CommandError(f"ÉCHEC : {result.message}")
        self.stdout.write(result.message)
