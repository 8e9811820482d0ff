"""Sign-ins, sign-outs and refused sign-ins go to the audit trail too."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from garant.core.audit import audit_context, record_event
from garant.core.security import client_ip


def _ip(request) -> str:
    return client_ip(request)  # the client's, behind a trusted reverse proxy too


@receiver(user_logged_in, dispatch_uid="garant-login")
def logged_in(sender, request, user, **kwargs):
    with audit_context(user=user, source="ui"):
        record_event(
            "auth.login", f"connexion de {user.get_username()}", {"ip": [None, _ip(request)]}
        )


@receiver(user_logged_out, dispatch_uid="garant-logout")
def logged_out(sender, request, user, **kwargs):
    if user is not None:
        with audit_context(user=user, source="ui"):
            record_event("auth.logout", f"déconnexion de {user.get_username()}", {})


@receiver(user_login_failed, dispatch_uid="garant-login-failed")
def login_failed(sender, credentials, request=None, **kwargs):
    name = str(credentials.get("username", ""))[:150]
    with audit_context(source="ui"):
        record_event(
            "auth.login_failed", f"échec de connexion pour {name}", {"ip": [None, _ip(request)]}
        )
