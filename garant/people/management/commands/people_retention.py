"""`garant people_retention`: erase the staff members who left the establishment more than
the retention period ago (referential `people`, decision 0023), with their training records
and habilitations. Run it monthly from the scheduler."""

from django.core.management.base import BaseCommand

from garant.core.audit import audit_context
from garant.people import retention


class Command(BaseCommand):
    help = "Efface les personnes parties depuis plus que le délai de conservation."

    def handle(self, *args, **options):
        with audit_context(source="command"):
            count = retention.erase()
        self.stdout.write(f"{count} personne(s) effacée(s)")
