from django.conf import settings
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from garant.core.audit import audit_context
from garant.core.security import MAX_FIELD_LENGTH


class FrenchFirstMiddleware:
    """French unless the user chose English with the language switch (cookie).

    The browser's Accept-Language is ignored: hospital workstations are often set up in
    English while their users expect the product in French.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META["HTTP_ACCEPT_LANGUAGE"] = settings.LANGUAGE_CODE
        return self.get_response(request)


class RejectNulMiddleware:
    """Refuse (400) query strings and form fields holding NUL characters, or far longer than
    any text Garant stores (security.MAX_FIELD_LENGTH: a ceiling for every form; each form
    answers its own, shorter limits with a form error).

    No legitimate input contains one, and PostgreSQL cannot store or even compare text with
    NUL bytes: rejected here once, no page can turn one into a server error. The API answers
    such input itself, in JSON (422).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):
            return self.get_response(request)
        fields = [request.GET]
        if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            fields.append(request.POST)
        for query in fields:
            for name, values in query.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    return self.refuse()
                if any(len(value) > MAX_FIELD_LENGTH for value in values):
                    return self.refuse(
                        _("Requête refusée : un champ dépasse %(n)s caractères.")
                        % {"n": MAX_FIELD_LENGTH}
                    )
        return self.get_response(request)

    @staticmethod
    def refuse(message=None):
        return HttpResponseBadRequest(
            message or _("Requête refusée : elle contient un caractère nul (U+0000)."),
            content_type="text/plain; charset=utf-8",
        )


class AuditContextMiddleware:
    """Attribute every write made while serving a request to its user (web or API)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        source = "api" if request.path.startswith("/api/") else "ui"
        with audit_context(source=source, request=request):
            return self.get_response(request)


class ForcePasswordChangeMiddleware:
    """After an administrator reset a password, its owner must choose a new one first."""

    allowed = ("password_change", "logout", "set_language", "login")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "must_change_password", False)
            and not request.path.startswith(("/static/", "/api/"))
            and request.path not in {reverse(name) for name in self.allowed}
        ):
            return redirect("password_change")
        return self.get_response(request)
