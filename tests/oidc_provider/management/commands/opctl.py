"""Set up the test provider: `opctl client ...` registers Garant, `opctl user ...` sets a user."""

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand
from oidc_provider.models import Client, ResponseType, RSAKey


class Command(BaseCommand):
    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        client = sub.add_parser("client")
        client.add_argument("--id", required=True)
        client.add_argument("--secret", required=True)
        client.add_argument("--redirect-uri", required=True, action="append")
        user = sub.add_parser("user")
        user.add_argument("username")
        user.add_argument("--password", required=True)
        user.add_argument("--first-name", default="")
        user.add_argument("--last-name", default="")
        user.add_argument("--email", default="")
        user.add_argument("--groups", default="", help="comma-separated; replaces the user's")

    def handle(self, *args, action, **opts):
        getattr(self, action)(**opts)

    def client(self, id, secret, redirect_uri, **_):
        if not RSAKey.objects.exists():
            call_command("creatersakey")
        client, _created = Client.objects.update_or_create(
            client_id=id,
            defaults={
                "name": "Garant",
                "client_type": "confidential",
                "client_secret": secret,
                "jwt_alg": "RS256",
                "require_consent": False,
                "reuse_consent": True,
            },
        )
        client.redirect_uris = redirect_uri
        client.save()
        client.response_types.set([ResponseType.objects.get(value="code")])

    def user(self, username, password, first_name, last_name, email, groups, **_):
        user, _created = User.objects.get_or_create(username=username)
        user.first_name, user.last_name, user.email = first_name, last_name, email
        if not user.check_password(password):  # a new hash would end the user's session
            user.set_password(password)
        user.save()
        names = [g for g in groups.split(",") if g]
        user.groups.set([Group.objects.get_or_create(name=n)[0] for n in names])
