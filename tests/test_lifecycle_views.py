"""The lifecycle's web pages: ideas and triage, the project page, charter, indicators,
assessments, portfolio, home panel and the decision dossier (HTML and PDF)."""

from __future__ import annotations

import io

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from garant.core.models import AuditEvent
from garant.lifecycle.models import Assessment, Idea, Indicator, Notification, Project
from tests.conftest import make_system
from tests.test_lifecycle_builders import (
    add_value,
    frozen_assessment,
    make_charter,
    make_decision,
    make_project,
)


@pytest.fixture
def contributor(world):
    user = world["users"]["a"]["contributor"]
    user.email = "terrain@chu-a.fr"
    user.save()
    return user


def submit_idea(client, world, title="Tri des courriers"):
    return client.post(
        "/projets/idees/proposer/",
        {
            "establishment": world["a"]["est"].pk,
            "title": title,
            "need": "Les secrétaires trient 300 courriers par jour.",
            "service": world["a"]["service"].pk,
            "expected_benefit": "staff",
            "solution_known": "",
        },
    )


def test_a_field_professional_submits_an_idea_and_follows_it(world, client_for, contributor):
    client = client_for(contributor)
    response = submit_idea(client, world)
    assert response.status_code == 302
    idea = Idea.objects.get()
    assert idea.author == contributor and idea.status == "submitted"
    event = AuditEvent.objects.filter(object_type="lifecycle.idea").get()
    assert event.actor_id == contributor.pk and event.source == "ui"
    page = client.get("/projets/idees/").content.decode()
    assert "Tri des courriers" in page and "Soumise, en attente de tri" in page
    assert "Idées à trier" not in page  # a contributor does not triage
    assert client.post(f"/projets/idees/{idea.pk}/tri/", {"action": "decline"}).status_code == 403


def test_idea_form_refuses_bad_input_naming_the_field(world, client_for, contributor):
    client = client_for(contributor)
    response = client.post(
        "/projets/idees/proposer/",
        {"establishment": world["b"]["est"].pk, "title": "", "solution_known": "on"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) >= {"establishment", "title", "need", "expected_benefit"}
    assert Idea.objects.count() == 0


def test_accepting_an_idea_creates_the_register_entry_and_the_project(
    world, client_for, contributor, django_capture_on_commit_callbacks
):
    submit_idea(client_for(contributor), world)
    idea = Idea.objects.get()
    committee = client_for(world["users"]["a"]["committee"])
    with django_capture_on_commit_callbacks(execute=True):
        response = committee.post(
            f"/projets/idees/{idea.pk}/tri/",
            {
                "action": "accept",
                "accept-solution_type": "S1",
                "accept-domain": "D2",
                "accept-modality": "M1",
            },
        )
    idea.refresh_from_db()
    project = idea.project
    assert response.status_code == 302 and response.url == project.get_absolute_url()
    assert project.phase == "instruction" and project.ai_system.phase == "instruction"
    assert project.ai_system.name == "Tri des courriers"
    assert project.effective_grid_code == "support_functions"
    assert list(project.ai_system.services.all()) == [world["a"]["service"]]
    note = Notification.objects.get(user=contributor)
    assert "acceptée pour instruction" in note.message
    assert mail.outbox and mail.outbox[0].to == ["terrain@chu-a.fr"]
    home = client_for(contributor).get("/").content.decode()
    assert "acceptée pour instruction" in home


def test_declining_needs_a_reason_and_tells_the_author(world, client_for, contributor):
    submit_idea(client_for(contributor), world)
    idea = Idea.objects.get()
    committee = client_for(world["users"]["a"]["committee"])
    committee.post(f"/projets/idees/{idea.pk}/tri/", {"action": "decline", "decline-reason": ""})
    idea.refresh_from_db()
    assert idea.status == "submitted"
    committee.post(
        f"/projets/idees/{idea.pk}/tri/",
        {"action": "decline", "decline-reason": "Déjà couvert par le projet GED"},
    )
    idea.refresh_from_db()
    assert idea.status == "declined"
    page = client_for(contributor).get(idea.get_absolute_url()).content.decode()
    assert "Déjà couvert par le projet GED" in page and "Non retenue" in page


def test_merge_into_another_idea(world, client_for, contributor):
    client = client_for(contributor)
    submit_idea(client, world, "Idée 1")
    submit_idea(client, world, "Idée 2")
    first, second = Idea.objects.order_by("pk")
    client_for(world["users"]["a"]["referent"]).post(
        f"/projets/idees/{second.pk}/tri/", {"action": "merge", "merge-into": first.pk}
    )
    second.refresh_from_db()
    assert second.status == "merged" and second.merged_into == first


@pytest.fixture
def project(world):
    return make_project(world["a"]["system"])


def test_project_page_shows_the_refusal_of_a_gate(world, client_for, project):
    client = client_for(world["users"]["a"]["referent"])
    response = client.post(
        f"/projets/{project.pk}/phase/", {"to_phase": "poc", "reason": "go"}, follow=True
    )
    page = response.content.decode()
    assert "Passage refusé : Pas de charte de PoC" in page
    project.refresh_from_db()
    assert project.phase == "instruction"


def test_auditor_reads_but_cannot_move_a_project(world, client_for, project):
    client = client_for(world["users"]["a"]["auditor"])
    assert client.get(project.get_absolute_url()).status_code == 200
    assert (
        client.post(f"/projets/{project.pk}/phase/", {"to_phase": "suspended"}).status_code == 403
    )
    assert (
        client_for(world["users"]["b"]["admin"]).get(project.get_absolute_url()).status_code == 404
    )


def test_charter_form_warns_when_vague_then_the_poc_starts(world, client_for, project):
    client = client_for(world["users"]["a"]["referent"])
    response = client.post(
        f"/projets/{project.pk}/charte/",
        {"use_case": "Sepsis aux urgences", "operational_objective": "Réduire le délai"},
    )
    assert response.status_code == 302
    page = client.get(project.get_absolute_url()).content.decode()
    assert "Aucun indicateur de succès mesurable" in page
    assert "Pas de date de fin" in page
    assert "Aucun utilisateur impliqué" in page
    response = client.post(
        f"/projets/{project.pk}/indicateurs/nouveau/",
        {
            "name": "Délai d'antibiothérapie",
            "unit": "min",
            "baseline": "95",
            "target": "60",
            "direction": "lower",
            "measurement_method": "Extraction DPI",
            "frequency": "monthly",
            "source": "manual",
            "grid_indicator": "clinical_outcome",
        },
    )
    assert response.status_code == 302
    client.post(
        f"/projets/{project.pk}/charte/",
        {
            "use_case": "Sepsis aux urgences",
            "operational_objective": "Réduire le délai",
            "start_date": "2026-06-01",
            "end_date": "2026-05-01",
        },
    )
    assert project.charter.end_date is None  # end before start: refused
    client.post(
        f"/projets/{project.pk}/charte/",
        {
            "use_case": "Sepsis aux urgences",
            "operational_objective": "Réduire le délai",
            "start_date": "2026-06-01",
            "end_date": "2026-09-30",
            "users_involved": "Dr Martin — urgentiste référent",
        },
    )
    page = client.get(project.get_absolute_url()).content.decode()
    assert "Aucun indicateur de succès mesurable" not in page
    client.post(f"/projets/{project.pk}/phase/", {"to_phase": "poc", "reason": "Charte validée"})
    project.refresh_from_db()
    assert project.phase == "poc"


def test_indicator_from_monitoring_needs_a_feed_and_a_metric(world, client_for, project):
    make_charter(project)
    client = client_for(world["users"]["a"]["referent"])
    response = client.post(
        f"/projets/{project.pk}/indicateurs/nouveau/",
        {"name": "AUC", "direction": "higher", "frequency": "monthly", "source": "monitoring"},
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"feed", "metric"}


def test_indicator_values_entry_and_history(world, client_for, project):
    charter = make_charter(project)
    indicator = charter.indicators.get()
    client = client_for(world["users"]["a"]["referent"])
    url = f"/projets/indicateurs/{indicator.pk}/valeurs/"
    assert client.post(url, {"value": "abc", "measured_on": "2026-07-01"}).status_code == 200
    client.post(url, {"value": "82", "measured_on": "2026-07-01"})
    client.post(url, {"value": "71,5", "measured_on": "2026-08-01"})
    values = list(indicator.values.values_list("value", flat=True))
    assert [str(v.normalize()) for v in values] == ["82", "71.5"]
    page = client.get(url).content.decode()
    assert "<svg" in page and "01/08/2026" in page
    assert client_for(world["users"]["a"]["auditor"]).post(url, {"value": "1"}).status_code == 403


def test_assessment_scoring_recommendation_and_freeze(world, client_for, project):
    charter = make_charter(project)
    add_value(charter.indicators.get())
    client = client_for(world["users"]["a"]["committee"])
    response = client.post(f"/projets/{project.pk}/evaluations/nouvelle/")
    assessment = Assessment.objects.get()
    assert response.url == assessment.get_absolute_url()
    page = client.get(response.url).content.decode()
    assert "complété par Garant" in page and "issu de la source" in page
    codes = [s.criterion_code for s in assessment.scores.all()]
    data = {f"{code}-score": "3" for code in codes}
    data.update({f"{code}-stop_if_met": "no" for code in codes})
    data["regulatory_ethics-stop_if_met"] = "yes"
    client.post(response.url, data)
    assessment.refresh_from_db()
    assert assessment.recommendation == "stop"
    assert "Non-conformité réglementaire" in assessment.reasons[0]
    assert client.post(response.url, {"safety_risk-score": "9"}).status_code == 400
    client.post(f"/projets/evaluations/{assessment.pk}/figer/", {"confirm": "yes"})
    assessment.refresh_from_db()
    assert assessment.is_frozen
    assert client.post(response.url, data).status_code == 403
    assert "<svg" in client.get(response.url).content.decode()


def test_portfolio_shows_phases_blocked_projects_and_no_n_plus_one(world, client_for):
    est = world["a"]["est"]
    for i in range(3):
        make_charter(make_project(make_system(est, name=f"Projet {i}")))
    client = client_for(world["users"]["a"]["admin"])
    with CaptureQueriesContext(connection) as few:
        client.get("/projets/")
    for i in range(3, 9):
        p = make_project(make_system(est, name=f"Projet {i}"))
        make_charter(p)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/projets/")
    assert len(many) == len(few)
    page = response.content.decode()
    assert "Projet 8" in page and "Bloqué" in page
    filtered = client.get("/projets/?domain=D2").content.decode()
    assert "Projet 8" not in filtered
    assert client.get("/projets/?establishment=abc&service=999999").status_code == 200


def test_group_view_for_users_of_several_establishments(world, client_for):
    from garant.core.models import Membership

    user = world["users"]["a"]["committee"]
    Membership.objects.create(user=user, establishment=world["b"]["est"], role="committee")
    make_project(world["a"]["system"])
    make_project(world["b"]["system"])
    page = client_for(user).get("/projets/").content.decode()
    assert "Vue du groupement" in page and "CHU A" in page and "CHU B" in page


def test_dossier_html_and_pdf_contain_the_decision(world, client_for, project):
    charter = make_charter(project, users_involved="Dr Martin")
    add_value(charter.indicators.get(), "64")
    assessment = frozen_assessment(project)
    make_decision(project, assessment, "generalise_with_conditions")
    client = client_for(world["users"]["a"]["auditor"])
    html = client.get(f"/projets/{project.pk}/dossier/").content.decode()
    assert "Généraliser sous conditions".lower() in html.lower()
    response = client.get(f"/projets/{project.pk}/dossier.pdf")
    assert response["Content-Type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(response.content)).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "Dossier de décision" in text
    assert "Délai d'antibiothérapie" in text and "64" in text
    assert "sous conditions" in text
    assert "Impact clinique et qualité des soins" in text


def test_system_tab_opens_a_project(world, client_for):
    system = world["b"]["system"]
    client = client_for(world["users"]["b"]["referent"])
    assert "Ouvrir un projet" in client.get(f"/projets/systeme/{system.pk}/").content.decode()
    client.post(f"/projets/systeme/{system.pk}/")
    project = Project.objects.get(ai_system=system)
    assert project.phase == "instruction"
    assert client.get(f"/projets/systeme/{system.pk}/").url == project.get_absolute_url()
    assert Indicator.objects.count() == 0
