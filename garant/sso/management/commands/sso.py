"""`garant sso check [--discover]`: the providers file read as Garant reads it."""

from django.core.management.base import BaseCommand, CommandError

from garant.core.models import Establishment
from garant.sso import config
from garant.sso.backends import SsoUnavailable, endpoints


class Command(BaseCommand):
    help = (
        "Connexion unique : « check » relit le fichier des fournisseurs (GARANT_SSO_CONFIG), "
        "signale les établissements inconnus et les secrets absents ; --discover interroge "
        "chaque fournisseur."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="vérifier la configuration")
        check.add_argument("--discover", action="store_true", help="interroger les fournisseurs")

    def handle(self, *args, action, discover=False, **options):
        try:
            cfg = config.current()
            mode = config.local_login_mode()
        except config.SsoConfigError as exc:
            raise CommandError(str(exc)) from None
        if cfg is None:
            self.stdout.write("Connexion unique désactivée (GARANT_SSO_CONFIG n'est pas défini).")
            return
        known = set(Establishment.objects.values_list("code", flat=True))
        problems = 0
        self.stdout.write(f"{cfg.path} — connexion par mot de passe : {mode}")
        for p in cfg.providers.values():
            scope = ", ".join(sorted(p.establishments)) if p.establishments else "tous"
            self.stdout.write(
                f"- {p.key} « {p.name} » : établissements {scope} ; rôles depuis {p.roles_from} ; "
                f"{len(p.mappings)} groupe(s) associé(s)"
            )
            codes = {g.establishment for grants in p.mappings.values() for g in grants}
            codes |= {g.establishment for g in p.default_roles} | set(p.establishments or ())
            if unknown := sorted(codes - known):
                problems += 1
                self.stdout.write(f"  établissements inconnus : {', '.join(unknown)}")
            if not p.client_secret:
                problems += 1
                self.stdout.write(f"  secret absent : la variable {p.client_secret_env} est vide")
            if discover:
                try:
                    found = endpoints(p)
                    self.stdout.write(f"  découverte OK : {found['authorization']}")
                except SsoUnavailable as exc:
                    problems += 1
                    self.stdout.write(f"  fournisseur injoignable : {exc}")
        if problems:
            raise CommandError(f"{problems} problème(s) à corriger")
        self.stdout.write("OK")
