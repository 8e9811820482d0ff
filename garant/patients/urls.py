"""Pages of the information part (docs/patients.md). `public_urlpatterns` are the public
register's pages, mounted apart (/registre-ia/) and readable without signing in."""

from django.urls import path

from garant.patients import notice_views, public_views, request_views

app_name = "patients"

urlpatterns = [
    path("systemes/<int:pk>/", notice_views.system_notice, name="system"),
    path("systemes/<int:pk>/notice/", notice_views.notice_edit, name="notice_edit"),
    path("systemes/<int:pk>/notice/generer/", notice_views.notice_generate, name="notice_generate"),
    path("systemes/<int:pk>/notice/soumettre/", notice_views.notice_submit, name="notice_submit"),
    path("systemes/<int:pk>/notice/approuver/", notice_views.notice_approve, name="notice_approve"),
    path(
        "systemes/<int:pk>/notice/renvoyer/", notice_views.notice_send_back, name="notice_send_back"
    ),
    path("systemes/<int:pk>/notice/publier/", notice_views.notice_publish, name="notice_publish"),
    path("systemes/<int:pk>/notice.pdf", notice_views.notice_pdf, name="notice_pdf"),
    path(
        "systemes/<int:pk>/notice-gros-caracteres.pdf",
        notice_views.notice_pdf_large,
        name="notice_pdf_large",
    ),
    path("systemes/<int:pk>/moyens/", notice_views.channel_add, name="channel_add"),
    path("moyens/<int:pk>/supprimer/", notice_views.channel_delete, name="channel_delete"),
    path("registre-public/<int:pk>/", public_views.register_settings, name="register_settings"),
    path("demandes/", request_views.request_list, name="requests"),
    path("demandes/nouvelle/<int:pk>/", request_views.request_create, name="request_create"),
    path("demandes/<int:pk>/", request_views.request_detail, name="request"),
    path("demandes/<int:pk>/etape/", request_views.request_step, name="request_step"),
    path("demandes/<int:pk>/prolonger/", request_views.request_extend, name="request_extend"),
    path("demandes/<int:pk>/repondre/", request_views.request_answer, name="request_answer"),
    path("demandes/<int:pk>/courrier.pdf", request_views.request_letter, name="request_letter"),
    path(
        "demandes/<int:pk>/courrier-prolongation.pdf",
        request_views.request_extension_letter,
        name="request_extension_letter",
    ),
]

public_urlpatterns = [
    path("etablissements/<int:pk>/", public_views.public_establishment, name="establishment"),
    path("etablissements/<int:pk>/registre.json", public_views.public_json, name="json"),
    path("groupements/<int:pk>/", public_views.public_group, name="group"),
]
