"""`garant token create --user NAME`: issue a bearer token for scripts (shown once)."""

from django.core.management.base import BaseCommand, CommandError

from garant.core.audit import audit_context
from garant.core.models import ApiToken, User


class Command(BaseCommand):
    help = "Jetons d'API : « create --user NOM » en crée un (affiché une seule fois), « list », « revoke PREFIXE »."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="créer un jeton")
        create.add_argument("--user", required=True, help="identifiant de l'utilisateur")
        create.add_argument("--name", default="", help="à quoi sert le jeton")
        sub.add_parser("list", help="lister les jetons")
        revoke = sub.add_parser("revoke", help="révoquer un jeton")
        revoke.add_argument("prefix", help="début du jeton (12 caractères, affiché par « list »)")

    def handle(self, *args, action, **options):
        with audit_context(source="command"):
            getattr(self, f"do_{action}")(**options)

    def do_create(self, user, name, **_):
        try:
            owner = User.objects.get(username=user)
        except User.DoesNotExist:
            raise CommandError(f"Utilisateur inconnu : {user!r}") from None
        if not owner.is_active:
            raise CommandError(f"L'utilisateur {user!r} est désactivé.")
        _token, raw = ApiToken.issue(owner, name=name)
        self.stdout.write(raw)
        self.stderr.write(
            "Conservez ce jeton : il ne sera plus jamais affiché (seule son empreinte est stockée)."
        )

    def do_list(self, **_):
        for t in ApiToken.objects.select_related("user").order_by("created_at"):
            state = "révoqué" if t.revoked else "actif"
            used = t.last_used_at.strftime("%d/%m/%Y %H:%M") if t.last_used_at else "jamais"
            self.stdout.write(
                f"{t.prefix}  {t.user.username:<20} {state:<8} utilisé : {used}  {t.name}"
            )

    def do_revoke(self, prefix, **_):
        tokens = list(ApiToken.objects.filter(prefix=prefix, revoked=False))
        if len(tokens) != 1:
            raise CommandError(f"Aucun jeton actif unique ne commence par {prefix!r}.")
        tokens[0].revoked = True
        tokens[0].save()
        self.stdout.write(f"Jeton {prefix}… révoqué.")
