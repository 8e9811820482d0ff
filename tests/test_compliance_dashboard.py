"""The compliance dashboard, the deadlines page, the gap report and the home page's items."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from garant.compliance.models import Obligation, ObligationStatus
from garant.compliance.qualifications import qualify
from garant.core.audit import audit_context
from garant.core.models import Membership, Role
from garant.demo.load import DEFAULT_PASSWORD
from tests.conftest import make_system, make_user
from tests.test_browser import chromium, page  # noqa: F401, F811  (browser fixtures)

# an emergency-department triage aid: high-risk under Annex III 5(d), FRIA required
TRIAGE = {
    "technique": "learned",
    "research_only": False,
    "practices": ["none"],
    "medical_purpose": "no",
    "uses": ["emergency_triage"],
    "derogation": "none",
    "exposure": ["none"],
    "origin": "vendor",
    "own_name": False,
    "purpose_change": False,
    "personal_data": "health",
    "subjects": ["patients"],
    "data_use": ["care"],
    "dpia_criteria": ["sensitive"],
    "solely_automated": False,
    "hosting": "on_premises",
    "legal_status": "public",
}
# a CE-marked class IIa device: high-risk under Annex I through the MDR
DEVICE = {
    **{k: v for k, v in TRIAGE.items() if k != "derogation"},
    "medical_purpose": "yes",
    "regime": "ce_mdr",
    "mdr_class": "IIa",
    "uses": ["none"],
}
# fixed rules written by people: not an AI system, no obligation
RULES_ONLY = {
    "technique": "rules_only",
    "research_only": False,
    "medical_purpose": "no",
    "personal_data": "none",
    "legal_status": "public",
}

TODAY = timezone.localdate()


def qualified(system, answers=TRIAGE, user=None):
    with audit_context(user=user, source="test"):
        return qualify(system, answers, user)


def set_obligation(system, code, **fields):
    with audit_context(source="test"):
        obligation = Obligation.objects.get(ai_system=system, code=code)
        for name, value in fields.items():
            setattr(obligation, name, value)
        obligation.save()
        return obligation


@pytest.fixture
def qualified_world(world):
    """In A: the triage system qualified (high risk, 5(d)), a device (Annex I MDR), a
    rules-only system (not AI) and one never qualified; in B: its triage system qualified."""
    a, b = world["a"], world["b"]
    with audit_context(source="test"):
        a["device"] = make_system(a["est"], name="Fractures", device_status="mdr_iia")
        a["rules"] = make_system(a["est"], name="Score de Glasgow")
        a["new"] = make_system(a["est"], name="Chatbot RH")
    qualified(a["system"])
    qualified(a["device"], DEVICE)
    qualified(a["rules"], RULES_ONLY)
    qualified(b["system"])
    return world


def get(client, name, **query):
    return client.get(reverse(f"compliance:{name}"), query)


def test_dashboard_counts_systems_by_risk_level_and_basis(qualified_world, client_for):
    users = qualified_world["users"]["a"]
    response = get(client_for(users[Role.AUDITOR]), "dashboard")
    assert response.status_code == 200
    data = response.context["data"]
    risks = {r["code"]: r["count"] for r in data.risks}
    assert risks["high"] == 2
    assert risks["not_ai"] == 1
    assert risks["not_qualified"] == 1
    assert risks["stale"] == 0
    assert risks["minimal"] == 0
    bases = {r["code"]: r["count"] for r in data.bases}
    assert bases["annex_iii_5d"] == 1
    assert bases["annex_i_mdr"] == 1
    assert bases["annex_i_ivdr"] == 0
    assert {"annex_iii_1a", "annex_iii_4b", "annex_iii_5a"} <= bases.keys()
    body = response.content.decode()
    assert "Triage A" in body and "Triage B" not in body  # B's systems are out of scope
    assert "Tri des appels d&#x27;urgence" in body or "Tri des appels d'urgence" in body


def test_stale_qualification_is_counted(qualified_world, client_for):
    system = qualified_world["a"]["system"]
    with audit_context(source="test"):
        system.hosting = "cloud_fr"
        system.save()
    response = get(client_for(qualified_world["users"]["a"][Role.REFERENT]), "dashboard")
    risks = {r["code"]: r["count"] for r in response.context["data"].risks}
    assert risks["stale"] == 1
    assert risks["high"] == 2  # still counted at its level until re-qualified
    assert "à revoir" in response.content.decode()


def test_done_versus_due_and_the_matrix(qualified_world, client_for):
    system = qualified_world["a"]["system"]
    required = Obligation.objects.filter(ai_system__establishment=qualified_world["a"]["est"])
    due = required.filter(required=True).count()
    set_obligation(system, "aia_27_fria", status=ObligationStatus.DONE)
    set_obligation(
        system, "aia_26_1", status=ObligationStatus.NOT_APPLICABLE, justification="Pas de notice"
    )
    set_obligation(system, "aia_26_2", status=ObligationStatus.IN_PROGRESS)
    response = get(client_for(qualified_world["users"]["a"][Role.REFERENT]), "dashboard")
    data = response.context["data"]
    assert data.totals["due"] == due
    assert data.totals["done"] == 2
    assert data.totals["remaining"] == due - 2

    families = [f["code"] for f in data.families]
    assert families[0] == "ai_act_general" and "has" in families
    row = next(r for r in data.rows if r.state.system == system)
    deployer = row.cells[families.index("ai_act_deployer")]
    expected = Obligation.objects.filter(
        ai_system=system, family="ai_act_deployer", required=True
    ).count()
    assert (deployer.done, deployer.total) == (2, expected)
    assert deployer.state == "partial"
    assert row.cells[families.index("ai_act_provider")].state == "none"  # a deployer only
    rules_row = next(r for r in data.rows if r.state.system == qualified_world["a"]["rules"])
    assert all(c.state == "none" for c in rules_row.cells)
    body = response.content.decode()
    link = reverse("compliance:system", args=[system.pk])
    assert f'href="{link}#checklist"' in body
    assert f"2/{expected}" in body
    assert 'class="cell cell-partial"' in body


def test_a_cell_with_an_overdue_obligation_is_late(qualified_world, client_for):
    system = qualified_world["a"]["system"]
    set_obligation(system, "gdpr_30_record", due_date=TODAY - dt.timedelta(days=3))
    response = get(client_for(qualified_world["users"]["a"][Role.REFERENT]), "dashboard")
    data = response.context["data"]
    families = [f["code"] for f in data.families]
    row = next(r for r in data.rows if r.state.system == system)
    assert row.cells[families.index("gdpr")].state == "late"
    assert data.totals["overdue"] == 1
    overdue = response.context["overdue"]
    assert [r["obligation"].code for r in overdue] == ["gdpr_30_record"]
    body = response.content.decode()
    assert "en retard de 3 jours" in body
    assert (TODAY - dt.timedelta(days=3)).strftime("%d/%m/%Y") in body


def test_deadlines_page_toggles_30_and_90_days(qualified_world, client_for):
    system = qualified_world["a"]["system"]
    set_obligation(system, "gdpr_30_record", due_date=TODAY - dt.timedelta(days=1))
    set_obligation(system, "gdpr_35_dpia", due_date=TODAY + dt.timedelta(days=10))
    set_obligation(system, "has_3_4_06", due_date=TODAY + dt.timedelta(days=45))
    set_obligation(
        system,
        "gdpr_legal_basis",
        due_date=TODAY + dt.timedelta(days=5),
        status=ObligationStatus.DONE,
    )
    client = client_for(qualified_world["users"]["a"][Role.REFERENT])
    codes = {}
    for days in (30, 90):
        response = get(client, "deadlines", jours=days)
        assert response.status_code == 200
        assert response.context["days"] == days
        codes[days] = [
            r["obligation"].code
            for r in response.context["upcoming"]
            if r["obligation"].ai_system_id == system.pk
        ]
        assert [r["obligation"].code for r in response.context["overdue"]] == ["gdpr_30_record"]
    assert "gdpr_35_dpia" in codes[30] and "has_3_4_06" not in codes[30]
    assert "gdpr_35_dpia" in codes[90] and "has_3_4_06" in codes[90]
    assert "gdpr_legal_basis" not in codes[90]  # done
    assert 'aria-current="page">90 jours' in response.content.decode()
    # a bad window is refused by the form, not a server error, and 30 days apply
    response = get(client, "deadlines", jours="365")
    assert response.status_code == 200 and response.context["days"] == 30


def test_a_group_user_filters_by_establishment(qualified_world, client_for):
    a, b = qualified_world["a"], qualified_world["b"]
    director = make_user("direction", a["est"], Role.AUDITOR)
    Membership.objects.create(user=director, establishment=b["est"], role=Role.AUDITOR)
    client = client_for(director)
    everything = get(client, "dashboard")
    names = {r.state.system.name for r in everything.context["data"].rows}
    assert {"Triage A", "Triage B"} <= names
    assert everything.context["show_establishment"]
    only_b = get(client, "dashboard", establishment=b["est"].pk)
    assert {r.state.system.name for r in only_b.context["data"].rows} == {"Triage B"}
    assert not only_b.context["show_establishment"]
    # an establishment the user cannot see is a form error, not a leak
    outsider = make_user("outsider", a["est"], Role.REFERENT)
    response = get(client_for(outsider), "dashboard", establishment=b["est"].pk)
    assert response.status_code == 200
    assert "Triage B" not in response.content.decode()


@pytest.mark.parametrize("count", [2, 10])
def test_dashboard_queries_do_not_grow_with_systems(
    count, world, client_for, django_assert_max_num_queries
):
    est = world["a"]["est"]
    for index in range(count):
        with audit_context(source="test"):
            system = make_system(est, name=f"Système {index}")
        qualified(system, TRIAGE if index % 2 else DEVICE)
        set_obligation(system, "gdpr_30_record", due_date=TODAY - dt.timedelta(days=2))
    client = client_for(world["users"]["a"][Role.REFERENT])
    with django_assert_max_num_queries(12):
        response = get(client, "dashboard")
    assert len(response.context["data"].rows) == count + 1
    assert len(response.context["overdue"]) == min(count, 10)
    with django_assert_max_num_queries(10):
        get(client, "deadlines", jours=90)
    with django_assert_max_num_queries(12):
        client.get(reverse("compliance:gap_report", args=["xlsx"]))


# --- the gap report ---------------------------------------------------------------------------


def _gap_world(qualified_world):
    system = qualified_world["a"]["system"]
    set_obligation(system, "aia_27_fria", status=ObligationStatus.DONE)
    owner = qualified_world["users"]["a"][Role.DPO]
    set_obligation(
        system, "gdpr_35_dpia", owner=owner, due_date=dt.date(2027, 3, 15), due_date_manual=True
    )
    obligation = Obligation.objects.get(ai_system=system, code="gdpr_35_dpia")
    with audit_context(source="test"):
        obligation.evidence.create(description="Brouillon AIPD", url="https://intranet/aipd")
    return system


def test_gap_report_xlsx(qualified_world, client_for):
    system = _gap_world(qualified_world)
    response = client_for(qualified_world["users"]["a"][Role.AUDITOR]).get(
        reverse("compliance:gap_report", args=["xlsx"])
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="rapport-ecarts-')
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Synthèse", "Écarts", "Faites sans preuve"]
    summary = {row[0]: row[1] for row in book["Synthèse"].iter_rows(min_row=2, values_only=True)}
    assert summary["Systèmes d'IA"] == 4
    assert summary["Haut risque"] == 2
    assert summary["Non qualifié"] == 1
    assert summary["Faites ou non applicables"] == 1
    due = Obligation.objects.filter(ai_system__establishment=system.establishment, required=True)
    assert summary["Obligations requises"] == due.count()
    sheet = book["Écarts"]
    headers = [c.value for c in sheet[1]]
    assert headers[:5] == ["Établissement", "Système", "Obligation", "Famille", "Article"]
    rows = [
        dict(zip(headers, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)
    ]
    assert len(rows) == due.count() - 1  # every required obligation but the one done
    assert {r["Système"] for r in rows} == {"Triage A", "Fractures"}  # not B's, not AI ones
    assert not any(r["Obligation"].startswith("Analyse d'impact sur les droits") for r in rows)
    dpia = next(
        r for r in rows if r["Système"] == "Triage A" and r["Article"].startswith("Art. 35")
    )
    assert dpia["Échéance"] == dt.datetime(2027, 3, 15)
    assert dpia["Responsable"] == str(qualified_world["users"]["a"][Role.DPO])
    assert dpia["Preuves"] == 1
    assert dpia["Statut"] == "À faire"
    moved = next(r for r in rows if r["Système"] == "Triage A" and r["Date initiale"])
    assert moved["Applicable le"] == dt.datetime(2027, 12, 2)
    assert moved["Date initiale"] == dt.datetime(2026, 8, 2)
    assert "2026/1744" in moved["Modifiée par"]
    # dates are real cells shown dd/mm/yyyy
    column = headers.index("Échéance") + 1
    assert sheet.cell(row=2, column=column).number_format == "DD/MM/YYYY"


def test_gap_report_pdf(qualified_world, client_for):
    _gap_world(qualified_world)
    response = client_for(qualified_world["users"]["a"][Role.REFERENT]).get(
        reverse("compliance:gap_report", args=["pdf"])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(response.content)).pages
    text = "\n".join(p.extract_text() for p in pages)
    assert "Rapport d'écarts de conformité" in text
    assert "Synthèse" in text and "Haut risque" in text
    assert "Triage A" in text and "Fractures" in text and "Triage B" not in text
    assert "15/03/2027" in text
    assert "02/12/2027" in text and "02/08/2026" in text
    assert "Art. 35" in text


def test_gap_report_is_scoped_and_formats_are_known(qualified_world, client_for):
    client = client_for(qualified_world["users"]["b"][Role.REFERENT])
    response = client.get(reverse("compliance:gap_report", args=["xlsx"]))
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    systems = {r[1] for r in book["Écarts"].iter_rows(min_row=2, values_only=True)}
    assert systems == {"Triage B"}
    assert client.get(reverse("compliance:gap_report", args=["csv"])).status_code == 404
    response = client.get(
        reverse("compliance:gap_report", args=["pdf"]), {"establishment": "nimporte"}
    )
    assert response.status_code == 200


def test_pages_need_a_login(db, client):
    for name in ("dashboard", "deadlines"):
        response = get(client, name)
        assert response.status_code == 302 and "/connexion/" in response["Location"]


# --- the home page and the navigation ----------------------------------------------------------


def test_home_lists_overdue_obligations_and_systems_to_qualify(qualified_world, client_for):
    a = qualified_world["a"]
    set_obligation(a["system"], "gdpr_30_record", due_date=TODAY - dt.timedelta(days=1))
    with audit_context(source="test"):
        a["device"].hosting = "cloud_fr"
        a["device"].save()
    body = client_for(qualified_world["users"]["a"][Role.REFERENT]).get("/").content.decode()
    assert "1 obligation réglementaire en retard" in body
    assert "1 système jamais qualifié" in body
    assert "1 qualification à revoir" in body
    assert f'href="{reverse("compliance:dashboard")}"' in body  # the navigation link


def test_home_says_nothing_when_everything_is_in_order(world, client_for):
    qualified(world["a"]["system"], RULES_ONLY)
    body = client_for(world["users"]["a"][Role.REFERENT]).get("/").content.decode()
    assert "obligation réglementaire" not in body and "jamais qualifié" not in body


# --- in a browser, on the demo (and the documentation's screenshot) ---------------------------

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "img" / "compliance-dashboard.png"


@pytest.mark.browser
def test_dashboard_on_the_demo_in_a_browser(page, live_server):  # noqa: F811
    """Set GARANT_SCREENSHOTS=1 to (re)write docs/img/compliance-dashboard.png."""
    call_command("demo", stdout=io.StringIO())
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"{live_server.url}/connexion/")
    page.get_by_label("Nom d’utilisateur").fill("referent.valmont")
    page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Conformité"
    ).click()
    page.get_by_role("heading", name="Conformité réglementaire").wait_for()
    matrix = page.get_by_role("table", name="Avancement des obligations par système et par famille")
    assert matrix.get_by_role(
        "link", name="Aide au tri des patients aux urgences (IOA)"
    ).is_visible()
    assert page.locator("td.cell-done, td.cell-partial, td.cell-late").count() > 0
    if os.environ.get("GARANT_SCREENSHOTS"):
        page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.get_by_role("link", name="Échéances").first.click()
    page.get_by_role("link", name="90 jours").click()
    page.get_by_role("heading", name="À échéance dans les 90 jours").wait_for()


def test_referential_labels_follow_the_language(qualified_world, client_for):
    client = client_for(qualified_world["users"]["a"][Role.REFERENT])
    client.post(reverse("set_language"), {"language": "en"})
    response = get(client, "dashboard")
    labels = [f["label"] for f in response.context["data"].families]
    assert "AI Act — high-risk deployer" in labels and "GDPR" in labels
    bases = {r["code"]: r["label"] for r in response.context["data"].bases}
    assert bases["annex_iii_5d"].startswith("Emergency call triage")
    xlsx = client.get(reverse("compliance:gap_report", args=["xlsx"]))
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[1].values)
    assert "AI Act — high-risk deployer" in {r[3] for r in rows[1:]}
