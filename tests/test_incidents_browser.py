"""Adverse events in a real headless Chromium (issue 13's acceptance): a nurse declares an
event from a system's page in under ten fields; the quality manager qualifies it (a CE-marked
device, a life-threatening harm: matériovigilance and an EIGS in two parts); the reports appear
with their deadlines to the hour; the matériovigilance report is marked sent with its proof (a
real PDF file); the quality manager analyses the causes, links the event to the AMDEC failure
mode and confirms the occurrence the real events suggest: the AMDEC draft has it."""

import datetime as dt
import re
from calendar import monthrange

import pytest
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.models import Role, Service
from garant.incidents.models import Incident
from garant.risks import analyses
from garant.risks.models import FailureMode
from tests.conftest import make_system, make_user
from tests.test_browser import chromium, login, page  # noqa: F401 (the browser fixtures)
from tests.test_risks import scored

pytestmark = pytest.mark.browser

#: a small, valid PDF: the acknowledgment the ANSM portal gave
PDF = b"""%PDF-1.4
1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj
trailer<</Root 1 0 R>>
%%EOF
"""


def months_later(moment: dt.datetime, months: int) -> dt.datetime:
    """Calendar months on the Paris wall clock, the day clamped (31/01 + 1 → 28/02)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def hours_later(moment: dt.datetime, hours: int) -> dt.datetime:
    """Elapsed hours, shown on the Paris wall clock."""
    return timezone.localtime(moment.astimezone(dt.UTC) + dt.timedelta(hours=hours))


def test_declare_qualify_report_and_reestimate_the_amdec(
    page,  # noqa: F811
    live_server,
    est_a,
    tmp_path,
):
    make_user("terrain.ide", est_a, Role.CONTRIBUTOR, first_name="Inès")
    quality = make_user("qualite.grv", est_a, Role.DPO, first_name="Quentin")
    referent = make_user("referent.ia", est_a, Role.REFERENT)
    service = Service.objects.create(establishment=est_a, name="Urgences adultes")
    with audit_context(source="test"):
        system = make_system(est_a, name="Triage IA urgences", device_status="mdr_iia")
        system.services.add(service)
    analysis = scored(system, referent, codes=["automation_bias", "data_drift"])
    with audit_context(user=referent, source="test"):
        analyses.freeze(analysis, referent)
    row = analysis.failure_modes.get(code="automation_bias")

    # a nurse declares from the system's page, in under ten fields
    aware = timezone.localtime().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=3)
    occurred = aware - dt.timedelta(hours=1)
    login(page, live_server, "terrain.ide")
    page.goto(live_server.url + reverse("registry:system_detail", args=[system.pk]))
    page.get_by_role("link", name="Déclarer un événement").click()
    form = page.locator("main form")
    fields = form.locator("input:not([type=hidden]), select, textarea")
    assert fields.count() < 10
    form.get_by_label("Survenu le").fill(occurred.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Connu le").fill(aware.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Service").select_option(label="Urgences adultes")
    form.get_by_label("Conséquence pour le patient").select_option("life_threat")
    form.get_by_label("Ce qui s'est passé").fill(
        "Score de triage bas accepté sans relecture ; choc septique reconnu deux heures après."
    )
    form.get_by_label("Mesures immédiates").fill("Transfert en réanimation ; médecin prévenu.")
    form.get_by_label("Référence locale").fill("FEI-2026-311")
    form.get_by_role("button").last.click()
    page.wait_for_url(re.compile(r".*/evenements/\d+/$"))
    incident = Incident.objects.unrestricted().get(local_reference="FEI-2026-311")
    assert incident.is_device and incident.declared_by.username == "terrain.ide"

    # the quality manager qualifies it: matériovigilance and an EIGS open, with their clocks
    page.context.clear_cookies()
    login(page, live_server, "qualite.grv")
    page.goto(live_server.url + incident.get_absolute_url())
    page.get_by_role("link", name="Qualifier l'événement").click()
    assert page.get_by_label(re.compile("le système est un dispositif médical", re.I)).is_checked()
    page.get_by_label("Lien de causalité avec le système").select_option("established")
    page.get_by_label(re.compile(r"incident grave de dispositif médical", re.I)).check()
    page.get_by_label(re.compile(r"événement indésirable grave associé aux soins", re.I)).check()
    page.get_by_role("button", name="Enregistrer la qualification").click()
    page.get_by_text("Qualification enregistrée : déclarations mises à jour.").wait_for()
    table = page.get_by_role("region", name="Déclarations réglementaires")
    in_48h = hours_later(aware, 48).strftime("%d/%m/%Y %H:%M")
    in_3_months = months_later(aware, 3).strftime("%d/%m/%Y %H:%M")
    expected = {
        "Signalement de matériovigilance": in_48h,
        "Déclaration d'EIGS — partie 1": in_48h,
        "Déclaration d'EIGS — partie 2 (analyse)": in_3_months,
    }
    rows = table.locator("tbody tr")
    assert rows.count() == len(expected)
    for title, deadline in expected.items():
        line = rows.filter(has_text=title)
        assert deadline in line.inner_text(), (title, line.inner_text())
    assert "ANSM" in rows.filter(has_text="matériovigilance").inner_text()

    # the matériovigilance report is marked sent, with the portal's acknowledgment (a PDF)
    proof = tmp_path / "accuse-ansm-portail.pdf"  # a name no other test stores
    proof.write_bytes(PDF)
    rows.filter(has_text="matériovigilance").get_by_role("link").first.click()
    page.get_by_label("Envoyé le").fill(timezone.localtime().strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Preuve d'envoi").set_input_files(str(proof))
    page.get_by_role("button", name="Marquer envoyée").click()
    page.get_by_text("Déclaration marquée envoyée, avec sa preuve.").wait_for()
    sent = incident.reports.get(code="materiovigilance")
    assert sent.status == "sent" and sent.proof_name == "accuse-ansm-portail.pdf"
    assert sent.proof.read().startswith(b"%PDF-")
    line = page.get_by_role("region", name="Déclarations réglementaires").locator("tbody tr")
    assert "envoyé" in line.filter(has_text="matériovigilance").inner_text()

    # the causes are analysed and the event linked to the AMDEC failure mode it realises
    page.get_by_role("link", name="Analyser les causes et lier à l'AMDEC").click()
    page.get_by_label("Confiance excessive dans la sortie (biais d'automatisation)").check()
    page.get_by_label("Analyse des causes").fill("Score affiché sans contexte ; relecture omise.")
    page.get_by_label("Mode de défaillance (AMDEC)").select_option(str(row.pk))
    page.get_by_role("button", name="Enregistrer l'analyse").click()
    box = page.locator("#frequence")
    assert "1 événement(s) déclaré(s), dont 1 grave(s)" in box.inner_text()
    assert "fréquence suggérée 2" in box.inner_text()
    # the quality manager confirms the suggested level: the AMDEC's occurrence is updated
    assert box.get_by_label("Fréquence retenue").input_value() == "2"
    box.get_by_role("button", name="Réestimer la fréquence dans l'AMDEC").click()
    assert page.get_by_text(
        "Fréquence résiduelle 2 enregistrée dans l'AMDEC version 2"
    ).is_visible()
    draft = FailureMode.objects.unrestricted().get(
        analysis__ai_system=system, analysis__status="draft", lineage=row.lineage
    )
    assert draft.residual_occurrence == 2 and "Événements indésirables liés" in (
        draft.occurrence_basis
    )
    page.goto(live_server.url + reverse("risks:system", args=[system.pk]))
    assert page.get_by_text("Réestimation de la fréquence après événement").first.is_visible()
    assert (
        quality.pk == incident.__class__.objects.unrestricted().get(pk=incident.pk).analysed_by_id
    )
