"""`garant audit verify`: check the hash chains of the audit trail; `garant audit heads`: print
each chain's head, to copy to another system."""

from django.core.management.base import BaseCommand, CommandError

from garant.core.audit import chain_label, verify
from garant.core.audit_models import AuditChainHead


class Command(BaseCommand):
    help = (
        "Piste d'audit : « verify » vérifie le chaînage des empreintes et nomme le premier "
        "événement altéré ou manquant de chaque chaîne ; « heads » affiche la tête de chaque "
        "chaîne (à recopier ailleurs)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="vérifier les chaînes")
        sub.add_parser("heads", help="afficher la tête de chaque chaîne : clé, maillon, empreinte")

    def handle(self, *args, action, **options):
        if action == "heads":
            for head in AuditChainHead.objects.order_by("chain"):
                self.stdout.write(
                    f"{head.chain}\t{head.seq}\t{head.hash}\t{chain_label(head.chain)}"
                )
            return
        result = verify()
        if not result.ok:
            raise CommandError(f"ÉCHEC : {result.message}")
        self.stdout.write(result.message)
