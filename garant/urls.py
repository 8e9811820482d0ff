from django.urls import include, path

from garant.api import api

urlpatterns = [
    path("", include("garant.core.urls")),
    path("systemes/", include("garant.registry.urls")),
    path("suivi/", include("garant.monitoring.urls")),
    path("conformite/", include("garant.compliance.urls")),
    path("supervision/", include("garant.oversight.urls")),
    path("risques/", include("garant.risks.urls")),
    path("evenements/", include("garant.incidents.urls")),
    path("patients/droits/", include("garant.patients.erasure_urls")),
    path("projets/", include("garant.lifecycle.urls")),
    path("comites/", include("garant.governance.urls")),
    path("utilisateurs/", include("garant.core.users_urls")),
    path("api/", api.urls),
    path("sso/", include("garant.sso.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
