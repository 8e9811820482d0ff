"""`garant incident_reminders`: e-mail the people responsible about each regulatory report to
do whose deadline falls within a day (once per report). Run it hourly from the scheduler
(cron or a systemd timer, docs/operations.md), like `garant monitor`."""

from django.core.management.base import BaseCommand
from django.db import transaction

from garant.core.audit import audit_context
from garant.incidents import notify


class Command(BaseCommand):
    help = "Rappels des déclarations réglementaires dont l'échéance tombe dans les 24 heures."

    def handle(self, *args, **options):
        with audit_context(source="command"), transaction.atomic():
            count = notify.remind()
        self.stdout.write(f"{count} rappel(s) envoyé(s)")
