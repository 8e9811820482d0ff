"""`garant habilitation_reminders`: e-mail the referents of each establishment about the
habilitations whose training expires within the referential's reminder window (once per
habilitation and expiry date). Run it daily from the scheduler, like `garant monitor`."""

from django.core.management.base import BaseCommand
from django.db import transaction

from garant.core.audit import audit_context
from garant.people import notify


class Command(BaseCommand):
    help = "Rappels des habilitations dont une formation requise expire bientôt."

    def handle(self, *args, **options):
        with audit_context(source="command"), transaction.atomic():
            count = notify.remind()
        self.stdout.write(f"{count} habilitation(s) rappelée(s)")
