"""A real OpenID Connect provider for the SSO tests: a minimal Django project built on
django-oidc-provider (test dependency only), run as a subprocess on a free localhost port by
the `oidc_provider` fixture of tests/test_sso.py, with its own SQLite file.

Its users' Django groups are sent in a `groups` claim (scope "groups"), named like Keycloak's
full group paths ("/chu-a/referents"). `python -m django opctl ...` (with
DJANGO_SETTINGS_MODULE=tests.oidc_provider.settings) registers the client and sets users.
"""
