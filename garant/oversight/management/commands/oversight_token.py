"""`garant oversight_token create --establishment CODE --name "DPI Orbis"`: issue the bearer
token of a clinical software for one establishment (shown once); `list`; `revoke PREFIX`."""

from django.core.management.base import BaseCommand, CommandError

from garant.core.audit import audit_context
from garant.core.models import Establishment
from garant.oversight.models import FeedbackToken


class Command(BaseCommand):
    help = "Jetons des logiciels cliniques qui envoient les retours de supervision humaine."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("--establishment", required=True, help="code de l'établissement")
        create.add_argument("--name", required=True, help="logiciel émetteur")
        sub.add_parser("list")
        revoke = sub.add_parser("revoke")
        revoke.add_argument("prefix")

    def handle(self, *args, **options):
        with audit_context(source="cli"):
            getattr(self, f"_{options['action']}")(options)

    def _create(self, options):
        establishment = (
            Establishment.objects.unrestricted().filter(code=options["establishment"]).first()
        )
        if establishment is None:
            raise CommandError(f"Établissement inconnu : {options['establishment']}")
        _token, raw = FeedbackToken.issue(establishment, options["name"])
        self.stdout.write(raw)
        self.stderr.write("Conservez ce jeton : il ne sera plus affiché.")

    def _list(self, options):
        tokens = FeedbackToken.objects.unrestricted().select_related("establishment")
        for t in tokens.order_by("created_at"):
            state = "révoqué" if t.revoked else "actif"
            self.stdout.write(f"{t.prefix}…\t{t.establishment.code}\t{t.name}\t{state}")

    def _revoke(self, options):
        tokens = list(
            FeedbackToken.objects.unrestricted().filter(prefix=options["prefix"], revoked=False)
        )
        if len(tokens) != 1:
            raise CommandError("Préfixe inconnu ou ambigu.")
        tokens[0].revoked = True
        tokens[0].save()
        self.stdout.write("Jeton révoqué.")
