from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "garant.sso"
    label = "sso"
    verbose_name = "Garant — connexion unique (OpenID Connect)"

    def ready(self):
        from garant.sso import config

        # a broken providers file, or an unknown GARANT_LOCAL_LOGIN, stops start-up with a
        # precise message rather than failing at the first sign-in
        config.current()
        config.local_login_mode()
