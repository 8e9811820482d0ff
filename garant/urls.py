from django.urls import include, path

from garant.api import api
from garant.patients.urls import public_urlpatterns

urlpatterns = [
    path("", include("garant.core.urls")),
    path("systemes/", include("garant.registry.urls")),
    path("suivi/", include("garant.monitoring.urls")),
    path("conformite/", include("garant.compliance.urls")),
    path("supervision/", include("garant.oversight.urls")),
    path("risques/", include("garant.risks.urls")),
    path("formation/", include("garant.people.urls")),
    path("evenements/", include("garant.incidents.urls")),
    path("patients/droits/", include("garant.patients.erasure_urls")),
    path("projets/", include("garant.lifecycle.urls")),
    path("comites/", include("garant.governance.urls")),
    path("utilisateurs/", include("garant.core.users_urls")),
    path("patients/", include("garant.patients.urls")),
    # the public register of AI in use: readable without signing in (docs/patients.md)
    path("registre-ia/", include((public_urlpatterns, "public_register"))),
    path("api/", api.urls),
    path("sso/", include("garant.sso.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
