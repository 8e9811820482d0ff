from django.urls import path

from garant.governance import (
    action_views,
    alert_views,
    board,
    college_views,
    decision_views,
    views,
)

app_name = "governance"

urlpatterns = [
    path("", views.committee_list, name="committee_list"),
    path("nouveau/", views.committee_form, name="committee_create"),
    path("<int:pk>/", views.committee_detail, name="committee_detail"),
    path("<int:pk>/modifier/", views.committee_form, name="committee_edit"),
    path("<int:pk>/membres/", views.member_add, name="member_add"),
    path("membres/<int:pk>/modifier/", views.member_edit, name="member_edit"),
    path("membres/<int:pk>/retirer/", views.member_delete, name="member_delete"),
    path("<int:pk>/seances/nouvelle/", views.meeting_create, name="meeting_create"),
    path("seances/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("seances/<int:pk>/modifier/", views.meeting_edit, name="meeting_edit"),
    path("seances/<int:pk>/ordre-du-jour/", views.agenda_add, name="agenda_add"),
    path(
        "seances/<int:pk>/ordre-du-jour/completer/",
        views.agenda_complete,
        name="agenda_complete",
    ),
    path("ordre-du-jour/<int:pk>/retirer/", views.agenda_delete, name="agenda_delete"),
    path(
        "seances/<int:pk>/decider/<int:project_pk>/",
        decision_views.decision_create,
        name="decision_create",
    ),
    path("seances/<int:pk>/actions/", action_views.action_add, name="action_add"),
    path("decisions/", decision_views.decision_register, name="decision_register"),
    path("decisions/export.<str:fmt>", decision_views.decision_export, name="decision_export"),
    path("decisions/<int:pk>/", decision_views.decision_detail, name="decision_detail"),
    path("decisions/<int:pk>/modifier/", decision_views.decision_edit, name="decision_edit"),
    path("decisions/<int:pk>/signer/", decision_views.decision_sign, name="decision_sign"),
    path("actions/", action_views.action_list, name="action_list"),
    path("actions/<int:pk>/modifier/", action_views.action_edit, name="action_edit"),
    path("etat-par-etablissement.<str:fmt>", board.board_export, name="board_export"),
    path("<int:pk>/revues/nouvelle/", college_views.campaign_create, name="campaign_create"),
    path("revues/<int:pk>/", college_views.campaign_detail, name="campaign_detail"),
    path("revues/<int:pk>/verifier/", college_views.campaign_verify, name="campaign_verify"),
    path("revues/<int:pk>/clore/", college_views.campaign_close, name="campaign_close"),
    path("revues/cas/<int:pk>/avis/", college_views.case_review, name="case_review"),
    path("revues/cas/<int:pk>/action/", college_views.case_action, name="case_action"),
    path(
        "revues/cas/<int:pk>/recommandation/",
        college_views.case_recommendation,
        name="case_recommendation",
    ),
    path("alertes/<int:pk>/action/", alert_views.alert_action, name="alert_action"),
    path("alertes/<int:pk>/ordre-du-jour/", alert_views.alert_agenda, name="alert_agenda"),
]
