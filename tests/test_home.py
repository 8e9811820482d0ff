"""The home page per role: the governance status of each establishment side by side (and its
export for the board), a referent's work queue, a field professional's ideas and declarations,
and an « À faire » list whose items name their establishment, each once."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pypdf
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from garant.compliance.models import Obligation, Qualification
from garant.core.audit import audit_context
from garant.core.models import Establishment, EstablishmentGroup, Membership, Role, User
from garant.governance import board
from garant.governance.models import Committee, Meeting
from garant.lifecycle.models import Idea, Project
from garant.monitoring.models import Alert, AlertRule
from garant.registry.models import AISystem, Declaration
from tests.conftest import make_feed, make_system, make_user
from tests.test_lifecycle_builders import make_project


def pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(content)).pages)


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- a hand-built world with known counts --------------------------------------------------


def qualify_as(system, level):
    return Qualification.objects.create(
        ai_system=system, referential_version="test", risk_level=level
    )


def obligation(system, status="todo", due=30, required=True):
    return Obligation.objects.create(
        ai_system=system,
        code=f"ob-{Obligation.objects.count()}",
        family="gdpr",
        referential_version="test",
        date_key="now",
        applies_from=dt.date(2025, 1, 1),
        status=status,
        justification="sans objet" if status == "not_applicable" else "",
        required=required,
        due_date=timezone.localdate() + dt.timedelta(days=due),
    )


def alert(feed, kind, state=Alert.State.OPEN):
    rule = AlertRule.objects.create(feed=feed, kind=kind, threshold=0.7)
    return Alert.objects.create(rule=rule, feed=feed, value=0.6, message="AUC basse", state=state)


def meeting(committee, days, status=Meeting.Status.PLANNED):
    return Meeting.objects.create(
        committee=committee,
        starts_at=timezone.now() + dt.timedelta(days=days),
        status=status,
    )


def establishment_with_everything(group, code, name):
    """An establishment whose figures are: 3 systems, 1 high-risk, 2 qualified (67 %),
    obligations 2 done of 4 due and 1 overdue, 3 ongoing alerts (one acknowledged), 1 routine system without a feed,
    1 blocked project, next committee in 10 days."""
    est = Establishment.objects.create(group=group, code=code, name=name)
    with audit_context(source="test"):
        high = make_system(est, name=f"Sepsis {code}", phase="instruction")
        fed = make_system(est, name=f"Radio {code}", phase="routine")
        make_system(est, name=f"Dictée {code}", phase="routine")  # no feed, never qualified
        qualify_as(high, "minimal")  # an older qualification: the latest one counts
        qualify_as(high, "high")
        qualify_as(fed, "minimal")
        obligation(high, "done")
        obligation(high, "not_applicable")
        obligation(high, "todo", due=-3)  # overdue
        obligation(high, "in_progress", due=40)
        obligation(high, "todo", due=-10, required=False)  # no longer required
        feed = make_feed(fed, operating_threshold=0.5)
        alert(feed, "auc_below")
        alert(feed, "psi_above")
        alert(feed, "brier_above", state=Alert.State.ACKNOWLEDGED)
        make_project(high)  # in instruction without a charter: blocked before the PoC
        committee = Committee.objects.create(establishment=est, name=f"Copil IA {code}")
        meeting(committee, 20)
        meeting(committee, 10)
        meeting(committee, -30, status=Meeting.Status.HELD)
    return est


def quiet_establishment(group, code, name):
    """An establishment with one system and nothing else."""
    est = Establishment.objects.create(group=group, code=code, name=name)
    with audit_context(source="test"):
        make_system(est, name=f"Seul {code}")
    return est


@pytest.fixture
def governed(db):
    group = EstablishmentGroup.objects.create(name="GCS de test")
    full = establishment_with_everything(group, "chu-nord", "CHU Nord")
    quiet = quiet_establishment(group, "chu-sud", "CHU Sud")
    other = establishment_with_everything(group, "chu-est", "CHU Est")
    director = make_user("directrice", full, Role.COMMITTEE, first_name="Catherine")
    Membership.objects.create(user=director, establishment=quiet, role=Role.COMMITTEE)
    # a contributor in the third: that role does not oversee it
    Membership.objects.create(user=director, establishment=other, role=Role.CONTRIBUTOR)
    return {"full": full, "quiet": quiet, "other": other, "director": director, "group": group}


def test_figures_are_computed_from_the_data(governed):
    rows = board.statuses(governed["director"])
    assert [r.establishment.name for r in rows] == ["CHU Nord", "CHU Sud"]
    full, quiet = rows
    assert (full.systems, full.high_risk, full.qualified, full.qualified_percent) == (3, 1, 2, 67)
    assert (full.obligations_done, full.obligations_due, full.obligations_overdue) == (2, 4, 1)
    assert (full.open_alerts, full.routine_without_feed, full.blocked_projects) == (3, 1, 1)
    assert full.next_meeting.starts_at.date() == (timezone.now() + dt.timedelta(days=10)).date()
    assert full.next_meeting.committee.name == "Copil IA chu-nord"
    assert (quiet.systems, quiet.high_risk, quiet.qualified_percent) == (1, 0, 0)
    assert (quiet.obligations_due, quiet.open_alerts, quiet.blocked_projects) == (0, 0, 0)
    assert quiet.next_meeting is None


def test_roles_that_do_not_oversee_see_no_table(governed):
    contributor = make_user("infirmiere", governed["full"], Role.CONTRIBUTOR)
    referent = make_user("referente", governed["full"], Role.REFERENT)
    for user in (contributor, referent):
        assert board.statuses(user) == []
        response = client_for(user).get(reverse("home"))
        assert "governance-board" not in response.content.decode()
        export = reverse("governance:board_export", args=["pdf"])
        assert client_for(user).get(export).status_code == 403


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DPO, Role.AUDITOR, Role.COMMITTEE])
def test_overseeing_roles_see_their_establishment_only(governed, role):
    user = make_user(f"u-{role}", governed["quiet"], role)
    page = client_for(user).get(reverse("home")).content.decode()
    assert "governance-board" in page
    assert "CHU Sud" in page and "CHU Nord" not in page and "CHU Est" not in page


def test_query_count_does_not_grow_with_establishments(governed, django_assert_max_num_queries):
    director = governed["director"]
    with CaptureQueriesContext(connection) as two:
        board.statuses(director)
    for n in range(3):
        est = establishment_with_everything(governed["group"], f"chu-{n}", f"CHU {n}")
        Membership.objects.create(user=director, establishment=est, role=Role.COMMITTEE)
    director = type(director).objects.get(pk=director.pk)  # roles cached on the object
    with django_assert_max_num_queries(len(two.captured_queries)):
        rows = board.statuses(director)
    assert len(rows) == 5
    assert sum(r.blocked_projects for r in rows) == 4


def test_table_on_the_home_page_in_french(governed):
    page = client_for(governed["director"]).get(reverse("home")).content.decode()
    assert "Gouvernance par établissement" in page
    assert "67\u00a0%" in page and "2 / 4" in page
    when = timezone.localtime(timezone.now() + dt.timedelta(days=10)).strftime("%d/%m/%Y")
    assert when in page
    assert "Aucune séance prévue" in page
    assert reverse("governance:board_export", args=["pdf"]) in page


def test_board_export_pdf_and_xlsx(governed):
    client = client_for(governed["director"])
    response = client.get(reverse("governance:board_export", args=["pdf"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    assert "CHU Nord" in text and "CHU Sud" in text and "CHU Est" not in text
    assert "2 / 4" in text and "67" in text
    response = client.get(reverse("governance:board_export", args=["xlsx"]))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:10] == ("CHU Nord", 3, 1, 67, 2, 4, 1, 3, 1, 1)
    assert rows[2][0] == "CHU Sud" and len(rows) == 3
    assert client.get(reverse("governance:board_export", args=["doc"])).status_code == 404


def test_big_numbers_are_french():
    assert board.fr_number(18000) == "18\u202f000"
    assert board.fr_percent(None) == "—"


def test_demo_director_sees_the_four_chus(demo):
    user = User.objects.get(username="direction.gcs")
    rows = board.statuses(user)
    assert [r.establishment.name for r in rows] == sorted(
        Establishment.objects.values_list("name", flat=True)
    )
    assert sum(r.systems for r in rows) == AISystem.objects.count()


# --- per role ---------------------------------------------------------------------------------


def home_page(user) -> str:
    return client_for(user).get(reverse("home")).content.decode()


def todo_card(page: str) -> str:
    """The « À faire » card of the home page."""
    start = page.index('id="h-todo"')
    return page[start : page.index("</section>", start)]


def test_referent_sees_their_work_queue(world):
    from garant.compliance.qualifications import qualify
    from tests.test_compliance_scenarios import BASE, HEALTH_CARE, TRIAGE

    a = world["a"]
    referent = world["users"]["a"][Role.REFERENT]
    with audit_context(user=referent, source="test"):
        unqualified = make_system(a["est"], name="Dictée vocale")
        qualify(a["system"], {**BASE, **TRIAGE, **HEALTH_CARE}, referent)
        mine = a["system"].obligations.filter(required=True).first()
        mine.owner = referent
        mine.due_date = timezone.localdate() - dt.timedelta(days=2)
        mine.save()
        feed = make_feed(unqualified, operating_threshold=0.5)
        alert(feed, "auc_below")
    page = home_page(referent)
    assert "Ma file de travail" in page and 'id="work-queue"' in page
    queue = page[page.index('id="work-queue"') : page.index("</table>", page.index("work-queue"))]
    assert mine.get_absolute_url() in queue and "en retard" in queue
    assert reverse("compliance:wizard", args=[unqualified.pk]) in queue
    assert reverse("monitoring:dashboard", args=[feed.pk]) in queue
    assert "CHU A" in queue and "CHU B" not in queue
    assert "governance-board" not in page  # the governance table is for those who oversee
    # the overdue obligation comes first: soonest due
    assert queue.index(mine.get_absolute_url()) < queue.index("Dictée vocale")


def test_contributor_sees_their_ideas_and_declarations(world):
    a = world["a"]
    contributor = world["users"]["a"][Role.CONTRIBUTOR]
    with audit_context(user=contributor, source="test"):
        Idea.objects.create(
            establishment=a["est"],
            author=contributor,
            title="Tri des courriers",
            need="Trop de courriers",
        )
        Idea.objects.create(
            establishment=a["est"],
            author=contributor,
            title="Chatbot accueil",
            need="Appels",
            status=Idea.Status.DECLINED,
            triage_reason="Déjà couvert par le standard.",
        )
        make_system(a["est"], name="Outil déclaré", created_by=contributor)
        Idea.objects.create(  # someone else's
            establishment=a["est"], author=world["users"]["a"][Role.REFERENT], title="Autre"
        )
    page = home_page(contributor)
    assert "Mes idées et déclarations" in page
    table = page[page.index('id="my-contributions"') :]
    table = table[: table.index("</table>")]
    assert "Tri des courriers" in table and "Le comité va examiner votre idée" in table
    assert "Chatbot accueil" in table and "Déjà couvert par le standard." in table
    assert "Outil déclaré" in table and "Le référent IA complète la fiche" in table
    assert ">Autre<" not in table
    assert "CHU A" in table
    assert "Ma file de travail" not in page and "governance-board" not in page


def test_short_declarations_reach_both_home_pages(world):
    """A nurse's short declaration is in her « Mes idées et déclarations » with what happens
    next, and in the referent's work queue with the number of answers still missing."""
    a, b = world["a"], world["b"]
    nurse = world["users"]["a"][Role.CONTRIBUTOR]
    with audit_context(user=nurse, source="test"):
        mine = Declaration.objects.create(
            establishment=a["est"],
            declared_by=nurse,
            name="Dictée intelligente",
            purpose_unknown=True,
        )
        Declaration.objects.create(
            establishment=b["est"],
            declared_by=world["users"]["b"][Role.CONTRIBUTOR],
            name="Ailleurs",
        )
    table = home_page(nurse)
    table = table[table.index('id="my-contributions"') :]
    table = table[: table.index("</table>")]
    assert "Dictée intelligente" in table and mine.get_absolute_url() in table
    assert "Un référent IA de votre établissement va l" in table
    page = home_page(world["users"]["a"][Role.REFERENT])
    queue = page[page.index('id="work-queue"') : page.index("</table>", page.index("work-queue"))]
    assert "Déclaration à examiner" in queue and mine.get_absolute_url() in queue
    assert "3 réponses à compléter" in queue  # what it does, service, where: not answered
    assert "Ailleurs" not in queue


def test_a_contributor_with_nothing_yet_is_told_so(world):
    page = home_page(world["users"]["a"][Role.CONTRIBUTOR])
    assert "Vous n'avez encore proposé aucune idée" in page


@pytest.mark.parametrize("role", [Role.COMMITTEE, Role.ADMIN, Role.AUDITOR, Role.DPO])
def test_overseeing_roles_see_the_table_of_their_establishment(world, role):
    page = home_page(world["users"]["a"][role])
    assert 'id="governance-board"' in page
    table = page[page.index('id="governance-board"') : page.index("</table>")]
    assert "CHU A" in table and "CHU B" not in table
    assert "Exporter pour le conseil (PDF)" in page
    assert ("Ma file de travail" in page) == (role == Role.DPO)


def test_todo_items_name_their_establishment_once(world):
    """A user in two establishments: each line of « À faire » names its establishment, and an
    item several sections could list (a project in routine past its re-evaluation, which is
    also "blocked") is listed once."""
    from garant.governance.models import Action

    b = world["b"]
    user = world["users"]["a"][Role.COMMITTEE]
    Membership.objects.create(user=user, establishment=b["est"], role=Role.COMMITTEE)
    today = timezone.localdate()
    with audit_context(source="test"):
        for key in ("a", "b"):
            system = world[key]["system"]
            system.phase = "routine"
            system.save()
            project = make_project(system)
            Project.objects.filter(pk=project.pk).update(
                next_review_date=today - dt.timedelta(days=5)
            )
            feed = make_feed(system, operating_threshold=0.5)
            alert(feed, "auc_below")
            committee = Committee.objects.create(establishment=world[key]["est"], name="Copil")
            m = meeting(committee, 5)
            Action.objects.create(
                meeting=m, title=f"Action {key}", owner_name="IDE", due_date=today - dt.timedelta(1)
            )
            Idea.objects.create(establishment=world[key]["est"], title=f"Idée {key}", need="x")
            obligation(system, "todo", due=-1)
    card = todo_card(home_page(user))
    for heading in ("Alertes de suivi", "Actions en retard", "Séances à venir", "Idées à trier"):
        assert heading in card
    assert "Réévaluations en retard" in card
    items = [line for line in card.split("<li>")[1:]]
    assert len(items) >= 12
    for item in items:
        assert ("CHU A" in item) != ("CHU B" in item), item  # one establishment, named
    assert len(items) == len(set(items))  # no line twice
    for key in ("a", "b"):
        project_url = world[key]["system"].project.get_absolute_url()
        assert card.count(f'href="{project_url}"') == 1
