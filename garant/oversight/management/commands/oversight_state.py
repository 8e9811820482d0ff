"""`garant oversight_state [--system ID …] [--rebuild]`: bring the oversight states of the
systems (their tallies, `garant/oversight/tally.py`) up to date, or count them again from
the Delta tables."""

from django.core.management.base import BaseCommand

from garant.oversight import tally
from garant.registry.models import AISystem


class Command(BaseCommand):
    help = "États de supervision humaine des systèmes : mise à jour ou recomptage complet."

    def add_arguments(self, parser):
        parser.add_argument("--system", type=int, action="append", help="identifiant du système")
        parser.add_argument("--rebuild", action="store_true", help="tout recompter")

    def handle(self, *args, **options):
        # system code: every system that received feedback events, or those named
        systems = AISystem.objects.unrestricted().filter(feedback_batches__isnull=False)
        if options["system"]:
            systems = systems.filter(pk__in=options["system"])
        for system in systems.distinct().order_by("pk"):
            state = tally.rebuild(system) if options["rebuild"] else tally.counts(system)
            self.stdout.write(f"{system.pk} {system.name} : {state.events} événement(s)")
