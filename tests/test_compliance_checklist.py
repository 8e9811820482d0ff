"""How a qualification's obligations start: due dates that make sense (a duty in force is due
now, after a short grace that is data; a future one on its application date) and an owner
proposed from the establishment's roles, that a person accepts or changes. Also the wizard's
starting answers: previous answers, the register when it changed, the establishment's status."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from django.urls import reverse
from django.utils import timezone

from garant.compliance import checklist, prefill, rules
from garant.compliance.forms import ObligationForm
from garant.compliance.models import Obligation
from garant.compliance.qualifications import qualify
from garant.core import referentials
from garant.core.audit import audit_context
from garant.core.models import AuditEvent, Role
from garant.core.referentials import ReferentialError
from tests.conftest import make_system, make_user, read_yaml, write_yaml
from tests.test_compliance_scenarios import BASE, HEALTH_CARE, TRIAGE

TRIAGE_ANSWERS = {**BASE, **TRIAGE, **HEALTH_CARE}
D = dt.date


# --- due dates ----------------------------------------------------------------------------------


def test_a_future_duty_is_due_on_its_application_date_one_in_force_after_the_grace():
    policy = checklist.policy()
    today = D(2026, 12, 7)
    grace = policy.data["due_dates"]["grace_days"]
    assert grace == 30
    assert policy.due_date("aia_27_fria", D(2027, 12, 2), today) == D(2027, 12, 2)
    assert policy.due_date("gdpr_30_record", D(2018, 5, 25), today) == D(2027, 1, 6)
    # a duty applying in ten days is due on that day, not after the grace
    assert policy.due_date("aia_26_1", D(2026, 12, 17), today) == D(2026, 12, 17)
    # on its application day it is in force: the grace applies
    assert policy.due_date("aia_26_1", today, today) == today + dt.timedelta(days=grace)
    # a prohibited practice must stop at once
    assert policy.grace_days("aia_5_cease") == 0
    assert policy.due_date("aia_5_cease", D(2025, 2, 2), today) == today


def test_the_checklist_spreads_due_dates_by_application_date(world):
    system, referent = world["a"]["system"], world["users"]["a"][Role.REFERENT]
    with audit_context(user=referent, source="test"):
        qualify(system, TRIAGE_ANSWERS, referent)
    today = timezone.localdate()
    grace = dt.timedelta(days=checklist.policy().grace_days("gdpr_30_record"))
    obligations = list(system.obligations.all())
    for o in obligations:
        expected = o.applies_from if o.applies_from > today else today + grace
        assert o.due_date == expected, o.code
    assert {o.due_date for o in obligations} == {today + grace, D(2027, 12, 2)}
    assert system.obligations.get(code="aia_26_1").due_date == D(2027, 12, 2)


def test_a_prohibited_practice_is_due_the_day_it_is_qualified(world):
    system, referent = world["a"]["system"], world["users"]["a"][Role.REFERENT]
    with audit_context(user=referent, source="test"):
        qualify(system, {**BASE, "practices": ["social_scoring"]}, referent)
    assert system.obligations.get(code="aia_5_cease").due_date == timezone.localdate()


def test_requalifying_does_not_push_a_duty_due_now_further_away(world):
    system, referent = world["a"]["system"], world["users"]["a"][Role.REFERENT]
    with audit_context(user=referent, source="test"):
        qualify(system, TRIAGE_ANSWERS, referent)
        record = system.obligations.get(code="gdpr_30_record")
        record.due_date = D(2026, 11, 1)  # as set by a qualification weeks ago
        record.save()
        qualify(system, {**TRIAGE_ANSWERS, "dpia_criteria": ["sensitive"]}, referent)
    record.refresh_from_db()
    assert record.due_date == D(2026, 11, 1)  # still due (overdue), not moved by 30 days


# --- owner proposals ----------------------------------------------------------------------------


def test_owners_are_proposed_from_the_establishment_s_roles(world):
    system, users = world["a"]["system"], world["users"]["a"]
    with audit_context(user=users[Role.REFERENT], source="test"):
        qualify(system, TRIAGE_ANSWERS, users[Role.REFERENT])
    proposed = {o.code: o.proposed_owner for o in system.obligations.all()}
    assert proposed["gdpr_30_record"] == users[Role.DPO]  # GDPR → the DPO
    assert proposed["gdpr_9_exception"] == users[Role.DPO]
    assert proposed["aia_26_1"] == users[Role.REFERENT]  # AI Act deployer → the AI referent
    assert proposed["aia_27_fria"] == users[Role.DPO]  # by obligation: the FRIA builds on the DPIA
    assert proposed["aia_4_literacy"] == users[Role.COMMITTEE]
    assert not system.obligations.filter(owner__isnull=False).exists()  # only proposals


def test_the_author_of_the_entry_comes_first_and_inactive_people_are_skipped(world):
    est, users = world["a"]["est"], world["users"]["a"]
    author = make_user("zoe-referent", est, Role.REFERENT, last_name="Zola")
    with audit_context(source="test"):
        system = make_system(est, name="Autre", created_by=author)
    assert checklist.propose_owners(system, {"aia_26_1": "ai_act_deployer"}) == {"aia_26_1": author}
    author.is_active = False
    author.save()
    users[Role.DPO].is_active = False
    users[Role.DPO].save()
    proposals = checklist.propose_owners(
        system, {"aia_26_1": "ai_act_deployer", "gdpr_30_record": "gdpr"}
    )
    # nobody holds DPO any more: the next role of the list (admin) is proposed
    assert proposals == {"aia_26_1": users[Role.REFERENT], "gdpr_30_record": users[Role.ADMIN]}


def test_no_one_holds_a_listed_role_no_proposal(world):
    est = world["a"]["est"]
    with audit_context(source="test"):
        lone = make_system(world["b"]["est"], name="Seul")
    lone.establishment.memberships.all().delete()
    assert checklist.propose_owners(lone, {"gdpr_30_record": "gdpr"}) == {"gdpr_30_record": None}
    assert est  # the other establishment is untouched


def test_a_proposal_is_accepted_or_changed_on_the_obligation_page(world, client_for):
    system, users = world["a"]["system"], world["users"]["a"]
    with audit_context(user=users[Role.REFERENT], source="test"):
        qualify(system, TRIAGE_ANSWERS, users[Role.REFERENT])
    record = system.obligations.get(code="gdpr_30_record")
    assert ObligationForm(instance=record).initial["owner"] == users[Role.DPO].pk
    client = client_for(users[Role.REFERENT])
    page = client.get(record.get_absolute_url()).content.decode()
    assert "Proposition : dpo-a" in page and "Accepter la proposition" in page
    tab = client.get(reverse("compliance:system", args=[system.pk])).content.decode()
    assert "proposé : dpo-a" in tab
    response = client.post(record.get_absolute_url(), {"action": "accept_owner"})
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.owner == users[Role.DPO]
    event = AuditEvent.objects.filter(object_type="compliance.obligation", object_id=str(record.pk))
    assert event.filter(action="update").exists()
    # a requalification does not replace a chosen owner with a proposal
    with audit_context(user=users[Role.REFERENT], source="test"):
        qualify(system, TRIAGE_ANSWERS, users[Role.REFERENT])
    record.refresh_from_db()
    assert record.owner == users[Role.DPO]


def test_a_refused_client_cannot_accept_a_proposal(world, client_for):
    system, users = world["a"]["system"], world["users"]["a"]
    with audit_context(user=users[Role.REFERENT], source="test"):
        qualify(system, TRIAGE_ANSWERS, users[Role.REFERENT])
    record = system.obligations.get(code="gdpr_30_record")
    refused = client_for(users[Role.AUDITOR]).post(
        record.get_absolute_url(), {"action": "accept_owner"}
    )
    assert refused.status_code == 403
    assert Obligation.objects.get(pk=record.pk).owner is None


# --- the checklist referential is checked -------------------------------------------------------


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    shutil.copytree(referentials.ROOT, tmp_path / "referentials")
    monkeypatch.setattr(referentials, "ROOT", tmp_path / "referentials")
    rules.clear_cache()
    checklist.clear_cache()
    yield tmp_path / "referentials"
    rules.clear_cache()
    checklist.clear_cache()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["owners"]["by_family"].update(gdpr=["dpo", "chief"]),
            "owners/by_family/gdpr: unknown roles ['chief']",
        ),
        (
            lambda d: d["owners"]["by_family"].update(space_law=["dpo"]),
            "owners/by_family/space_law: unknown family 'space_law'",
        ),
        (
            lambda d: d["owners"].setdefault("by_obligation", {}).update(aia_99=["dpo"]),
            "owners/by_obligation/aia_99: unknown obligation 'aia_99'",
        ),
        (
            lambda d: d["due_dates"].update(grace_days=-1),
            "due_dates/grace_days: -1 is less than the minimum of 0",
        ),
    ],
)
def test_a_wrong_checklist_referential_names_its_file_and_entry(fake_root, change, message):
    path = fake_root / "checklist" / "2026.1.yaml"
    data = read_yaml(path)
    change(data)
    write_yaml(path, data, sort_keys=False)
    with pytest.raises(ReferentialError) as exc:
        checklist.policy()
    assert "2026.1.yaml" in str(exc.value) and message in str(exc.value)


# --- where the wizard starts from ---------------------------------------------------------------


def test_a_first_qualification_starts_from_the_register_and_the_establishment(world):
    system, est = world["a"]["system"], world["a"]["est"]
    book = rules.rulebook()
    answers, origins = prefill.starting_answers(book, system)
    assert "legal_status" not in answers  # not recorded on the establishment
    est.legal_status = "private_public_service"
    est.save()
    system.refresh_from_db()
    answers, origins = prefill.starting_answers(book, system)
    assert answers["legal_status"] == "private_public_service"
    assert origins["legal_status"]["origin"] == prefill.ESTABLISHMENT
    assert answers["technique"] == "learned" and origins["technique"]["origin"] == prefill.REGISTER


def test_a_requalification_starts_from_the_previous_answers_unless_the_register_changed(world):
    system, est, user = world["a"]["system"], world["a"]["est"], world["users"]["a"][Role.ADMIN]
    book = rules.rulebook()
    answers = {**TRIAGE_ANSWERS, "technique": "logic_inference", "legal_status": "private"}
    with audit_context(user=user, source="test"):
        previous = qualify(system, {**answers, "hosting": "cloud_fr", "hds_certified": True}, user)
        est.legal_status = "public"
        est.save()
        system.refresh_from_db()
    start, origins = prefill.starting_answers(book, system, previous)
    # the previous answer wins over the register's suggestion (learned)
    assert start["technique"] == "logic_inference"
    assert origins["technique"] == {"origin": prefill.PREVIOUS, "previous": "logic_inference"}
    assert start["uses"] == ["emergency_triage"] and start["derogation"] == "none"
    # the establishment's legal status wins over the previous answer
    assert start["legal_status"] == "public"
    assert origins["legal_status"] == {"origin": prefill.ESTABLISHMENT, "previous": "private"}
    # the register moved the hosting since: its new suggestion, with the previous answer
    with audit_context(user=user, source="test"):
        system.hosting = "cloud_eu"
        system.save()
    start, origins = prefill.starting_answers(book, system, previous)
    assert start["hosting"] == "cloud_eu"
    assert origins["hosting"] == {"origin": prefill.REGISTER_CHANGED, "previous": "cloud_fr"}


def test_previous_answers_the_referential_no_longer_accepts_are_asked_again(world):
    system, user = world["a"]["system"], world["users"]["a"][Role.ADMIN]
    with audit_context(user=user, source="test"):
        previous = qualify(system, TRIAGE_ANSWERS, user)
    previous.answers = {**previous.answers, "hosting": "moon", "retired_question": "x"}
    start, origins = prefill.starting_answers(rules.rulebook(), system, previous)
    assert "retired_question" not in start
    assert start.get("hosting") in (None, system.hosting or None)  # the register's, if any
    assert origins.get("hosting", {}).get("origin") != prefill.PREVIOUS


# --- the wizard's pages (server side) -----------------------------------------------------------


def test_the_wizard_counts_its_steps_goes_back_and_returns_to_the_review(world, client_for):
    system = world["a"]["system"]
    client = client_for(world["users"]["a"][Role.REFERENT])
    url = reverse("compliance:wizard", args=[system.pk])
    first = client.get(url)
    assert first.context["position"] == 1 and first.context["total"] > 2
    assert "Étape 1 sur" in first.content.decode()
    data = {"state": first.context["state"], "step": "definition", "technique": "learned"}
    second = client.post(url, {**data, "research_only": "false"})
    assert second.context["step"]["id"] == "prohibited" and second.context["position"] == 2
    back = client.post(url, {"state": second.context["state"], "step": "prohibited", "back": "1"})
    assert back.context["step"]["id"] == "definition"
    # a review cannot be reached with answers missing: the first step without them is shown
    jump = client.post(url, {"state": second.context["state"], "step": "review", "save": "1"})
    assert jump.status_code == 200 and jump.context["step"]["id"] == "prohibited"
    # the required-answer error is summarised and linked to its question
    missing = client.post(url, {"state": second.context["state"], "step": "prohibited"})
    html = missing.content.decode()
    assert 'id="error-summary"' in html and 'href="#id_practices_0"' in html
    assert 'aria-describedby="practices-error practices-help"' in html
