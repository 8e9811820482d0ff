"""Qualifying a system: the wizard, stored qualifications and their staleness, the checklist
kept in line with re-qualifications, evidence, permissions and the audit trail."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from garant.compliance import checklist, prefill, rules
from garant.compliance.models import Evidence, Obligation, Qualification
from garant.compliance.qualifications import is_stale, qualify, staleness
from garant.core import referentials
from garant.core.audit import audit_context
from garant.core.models import AuditEvent, Role
from tests.conftest import make_system, read_yaml, write_yaml
from tests.test_compliance_scenarios import BASE, HEALTH_CARE, TRIAGE

TRIAGE_ANSWERS = {**BASE, **TRIAGE, **HEALTH_CARE}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "files"


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    shutil.copytree(referentials.ROOT, tmp_path / "referentials")
    monkeypatch.setattr(referentials, "ROOT", tmp_path / "referentials")
    rules.clear_cache()
    yield tmp_path / "referentials"
    rules.clear_cache()


def bump_version(root, change=None) -> str:
    """A new referential version, as a law change would bring (a copy of the version in force,
    possibly amended); returns its name."""
    current = referentials.versions("regulatory")[-1]
    year, number = current.split(".")
    new = f"{year}.{int(number) + 1}"
    data = read_yaml(root / "regulatory" / f"{current}.yaml")
    data["version"] = new
    if change:
        change(data)
    write_yaml(root / "regulatory" / f"{new}.yaml", data, sort_keys=False)
    rules.clear_cache()
    return new


def test_qualify_stores_answers_result_version_author_and_the_checklist(world):
    system, referent = world["a"]["system"], world["users"]["a"][Role.REFERENT]
    with audit_context(user=referent, source="test"):
        q = qualify(system, TRIAGE_ANSWERS, referent)
    assert q.referential_version == rules.current_version() and q.created_by == referent
    assert q.risk_level == "high" and q.high_risk_bases == ["annex_iii_5d"]
    assert q.legal_review  # the CHU-as-public-authority point is flagged
    assert q.answers["uses"] == ["emergency_triage"]
    codes = set(system.obligations.values_list("code", flat=True))
    assert {o["code"] for o in q.result["obligations"]} == codes
    fria = system.obligations.get(code="aia_27_fria")
    assert fria.applies_from == dt.date(2027, 12, 2) and fria.due_date == dt.date(2027, 12, 2)
    literacy = system.obligations.get(code="aia_4_literacy")  # in force since 02/02/2025
    grace = checklist.policy().grace_days("aia_4_literacy")
    assert literacy.due_date == timezone.localdate() + dt.timedelta(days=grace)
    events = AuditEvent.objects.filter(object_type="compliance.qualification", object_id=str(q.pk))
    assert events.get().actor_name == referent.username
    assert AuditEvent.objects.filter(object_type="compliance.obligation").count() == len(codes)


def test_a_new_referential_version_makes_qualifications_stale_until_requalified(world, fake_root):
    system, user = world["a"]["system"], world["users"]["a"][Role.REFERENT]
    q = qualify(system, TRIAGE_ANSWERS, user)
    assert staleness(q) == [] and not is_stale(q)
    old = q.referential_version
    new = bump_version(fake_root)
    assert is_stale(q)
    with translation.override("fr"):
        reasons = staleness(q)
    assert reasons == [
        f"Le référentiel réglementaire est passé de la version {old} à la version {new}."
    ]
    again = qualify(system, TRIAGE_ANSWERS, user)
    assert again.referential_version == new and staleness(again) == []
    assert not is_stale(again)


def test_the_page_says_what_the_new_referential_changes(world, fake_root):
    system, user = world["a"]["system"], world["users"]["a"][Role.REFERENT]
    q = qualify(system, TRIAGE_ANSWERS, user)

    def amend(data):  # a new amendment moves the Annex III date and drops Art 26(7)
        data["dates"]["ai_act_annex_iii"]["date"] = "2028-06-01"
        data["obligations"] = [o for o in data["obligations"] if o["code"] != "aia_26_7"]

    bump_version(fake_root, amend)
    with translation.override("fr"):
        reasons = staleness(q)
    assert (
        "Obligation qui ne s'applique plus : Informer les représentants du personnel et les agents concernés avant la mise en service."
        in reasons
    )
    assert (
        "Date d'application modifiée : Réaliser l'analyse d'impact sur les droits fondamentaux "
        "(AIDF) avant le premier usage : 02/12/2027 → 01/06/2028."
    ) in reasons


def test_a_new_question_is_named(world, fake_root):
    system, user = world["a"]["system"], world["users"]["a"][Role.REFERENT]
    q = qualify(system, TRIAGE_ANSWERS, user)

    def amend(data):
        data["steps"][0]["questions"].append(
            {
                "id": "autonomy",
                "type": "bool",
                "text": {"fr": "Le système agit-il sans validation humaine ?", "en": "Autonomous?"},
                "cite": {"act": "ai_act", "ref": "Art. 3(1)"},
            }
        )

    bump_version(fake_root, amend)
    with translation.override("fr"):
        reasons = staleness(q)
    assert (
        "Nouvelle question à laquelle répondre : « Le système agit-il sans validation humaine ? »."
        in reasons
    )


def test_a_change_of_the_register_entry_makes_it_stale_and_says_what_changed(world, client_for):
    system, user = world["a"]["system"], world["users"]["a"][Role.REFERENT]
    qualify(system, TRIAGE_ANSWERS, user)
    system.device_status = "mdr_iia"
    system.hosting = "cloud_fr"
    system.save()
    assert is_stale(system.qualifications.get())
    response = client_for(user).get(reverse("compliance:system", args=[system.pk]))
    page = response.content.decode()
    assert "Qualification à revoir" in page
    assert (
        "« statut dispositif médical » a changé dans le registre : À déterminer → DM classe IIa."
        in page
    )
    assert "« hébergement » a changé dans le registre : — → Cloud en France." in page


def test_requalifying_keeps_the_work_done_and_marks_what_is_no_longer_required(world):
    system, user = world["a"]["system"], world["users"]["a"][Role.REFERENT]
    qualify(system, TRIAGE_ANSWERS, user)
    fria = system.obligations.get(code="aia_27_fria")
    fria.status, fria.owner = "in_progress", user
    fria.save()
    Evidence.objects.create(obligation=fria, url="https://intranet/aidf", description="AIDF v1")
    literacy = system.obligations.get(code="aia_4_literacy")
    literacy.due_date, literacy.due_date_manual = dt.date(2027, 1, 15), True
    literacy.save()
    # the hospital turns out to be a private clinic: no FRIA any more
    qualify(system, {**TRIAGE_ANSWERS, "legal_status": "private"}, user)
    fria.refresh_from_db()
    literacy.refresh_from_db()
    assert not fria.required and fria.status == "in_progress" and fria.evidence.count() == 1
    assert literacy.due_date == dt.date(2027, 1, 15)  # a date set by a person is kept
    assert system.obligations.get(code="aia_26_1").required


def test_not_applicable_needs_a_justification(world, client_for):
    system, user = world["a"]["system"], world["users"]["a"][Role.DPO]
    qualify(system, TRIAGE_ANSWERS, user)
    obligation = system.obligations.get(code="aia_26_7")
    url = reverse("compliance:obligation", args=[obligation.pk])
    client = client_for(user)
    post = {
        "action": "update",
        "status": "not_applicable",
        "justification": "",
        "due_date": "02/12/2027",
    }
    response = client.post(url, post)
    assert response.status_code == 200
    assert (
        "Justifiez pourquoi l&#x27;obligation ne s&#x27;applique pas." in response.content.decode()
    )
    obligation.refresh_from_db()
    assert obligation.status == "todo"
    post["justification"] = (
        "Aucun agent concerné : outil utilisé par le SAMU d'un autre établissement."
    )
    assert client.post(url, post).status_code == 302
    obligation.refresh_from_db()
    assert obligation.status == "not_applicable" and obligation.completed_at is not None
    assert not obligation.due_date_manual  # the date sent is the one already there


def test_evidence_upload_download_and_scope(world, client_for):
    system, dpo = world["a"]["system"], world["users"]["a"][Role.DPO]
    qualify(system, TRIAGE_ANSWERS, dpo)
    obligation = system.obligations.get(code="gdpr_35_dpia")
    url = reverse("compliance:obligation", args=[obligation.pk])
    upload = SimpleUploadedFile("aipd-triage.pdf", b"%PDF-1.4 AIPD", content_type="application/pdf")
    response = client_for(dpo).post(
        url, {"action": "evidence", "description": "AIPD signée", "file": upload}
    )
    assert response.status_code == 302
    evidence = obligation.evidence.get()
    assert evidence.added_by == dpo and evidence.filename == "aipd-triage.pdf"
    download = reverse("compliance:evidence_file", args=[evidence.pk])
    got = client_for(world["users"]["a"][Role.AUDITOR]).get(download)
    assert got.status_code == 200 and b"".join(got.streaming_content) == b"%PDF-1.4 AIPD"
    assert client_for(world["users"]["b"][Role.ADMIN]).get(download).status_code == 404
    # an auditor reads but cannot add; nothing is stored
    response = client_for(world["users"]["a"][Role.AUDITOR]).post(
        url, {"action": "evidence", "description": "x", "url": "https://x.example"}
    )
    assert response.status_code == 403 and obligation.evidence.count() == 1
    # neither a file nor a link: a clear error, nothing stored
    response = client_for(dpo).post(url, {"action": "evidence", "description": "vide"})
    assert "Joignez un fichier ou indiquez un lien." in response.content.decode()
    assert obligation.evidence.count() == 1
    assert (
        AuditEvent.objects.filter(object_type="compliance.evidence", action="create").count() == 1
    )


def walk_wizard(client, system, answers: dict):
    """Answer the wizard step by step as a browser would, keeping the prefilled answers it
    offers for questions not in `answers`; returns the last response and the steps seen."""
    url = reverse("compliance:wizard", args=[system.pk])
    response = client.get(url)
    seen = []
    for _ in range(30):
        if response.status_code == 302:
            return response, seen
        if "sections" in response.context:  # the review page: save
            seen.append("review")
            save = {"state": response.context["state"], "step": "review", "save": "1"}
            response = client.post(url, save)
            continue
        form = response.context["form"]
        seen.append(response.context["step"]["id"])
        data = {"state": response.context["state"], "step": seen[-1]}
        for name in form.fields:
            value = answers.get(name, form.fields[name].initial)
            if isinstance(value, bool):
                value = "true" if value else "false"
            data[name] = value
        response = client.post(url, data)
    raise AssertionError("the wizard did not finish")


def test_the_wizard_prefills_from_the_register_skips_what_does_not_apply_and_stores(
    world, client_for
):
    system = world["a"]["system"]
    system.device_status, system.ce_expiry = "mdr_iib", dt.date(2029, 3, 31)
    system.save()
    client = client_for(world["users"]["a"][Role.REFERENT])
    first = client.get(reverse("compliance:wizard", args=[system.pk]))
    assert first.context["form"].fields["technique"].initial == "learned"  # S1, not GPAI
    answers = {**BASE, "personal_data": "none"}
    answers.pop("medical_purpose")  # let the register say it is a device
    response, seen = walk_wizard(client, system, answers)
    assert "device_class" in seen and "annex_iii_detail" not in seen and "profiling" not in seen
    q = Qualification.objects.get(ai_system=system)
    assert response.url == q.get_absolute_url()
    assert q.answers["regime"] == "ce_mdr" and q.answers["mdr_class"] == "IIb"  # prefilled
    assert q.risk_level == "high" and q.high_risk_bases == ["annex_i_mdr"]
    assert system.obligations.get(code="mdr_certificate").due_date == dt.date(2029, 3, 31)
    page = client.get(response.url).content.decode()
    assert "Dispositif médical soumis à un organisme notifié (MDR)" in page
    assert "02/08/2028" in page and "initialement le 02/08/2027" in page


def answer_first_step(client, url, technique: str):
    first = client.get(url)
    data = {"state": first.context["state"], "step": "definition", "technique": technique}
    return client.post(url, {**data, "research_only": "false"})


def test_going_back_keeps_the_answers(world, client_for):
    system = world["a"]["system"]
    client = client_for(world["users"]["a"][Role.REFERENT])
    url = reverse("compliance:wizard", args=[system.pk])
    r = answer_first_step(client, url, "llm")
    assert r.context["step"]["id"] == "prohibited"
    back = client.post(url, {"state": r.context["state"], "step": "prohibited", "back": "1"})
    assert back.context["step"]["id"] == "definition"
    assert back.context["form"].fields["technique"].initial == "llm"


def test_wizard_errors_are_clear_and_nothing_is_stored(world, client_for):
    system = world["a"]["system"]
    client = client_for(world["users"]["a"][Role.REFERENT])
    url = reverse("compliance:wizard", args=[system.pk])
    r = answer_first_step(client, url, "learned")
    bad = client.post(
        url,
        {"state": r.context["state"], "step": "prohibited", "practices": ["none", "manipulation"]},
    )
    assert bad.status_code == 200
    assert "« Aucune » ne se combine pas avec d&#x27;autres choix" in bad.content.decode()
    tampered = client.post(url, {"state": r.context["state"][:-4] + "AAAA", "step": "prohibited"})
    assert tampered.status_code == 400
    other = make_system(world["a"]["est"], name="Autre")
    replayed = client.post(
        reverse("compliance:wizard", args=[other.pk]),
        {"state": r.context["state"], "step": "prohibited"},
    )
    assert replayed.status_code == 400  # a state is bound to its system
    assert not Qualification.objects.exists()


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.CONTRIBUTOR, 403), (Role.AUDITOR, 403), (Role.COMMITTEE, 200), (Role.DPO, 200)],
)
def test_who_may_qualify(world, client_for, role, status):
    system = world["a"]["system"]
    url = reverse("compliance:wizard", args=[system.pk])
    assert client_for(world["users"]["a"][role]).get(url).status_code == status
    tab = client_for(world["users"]["a"][role]).get(reverse("compliance:system", args=[system.pk]))
    assert tab.status_code == 200
    assert client_for(world["users"]["b"][Role.ADMIN]).get(url).status_code == 404


def test_obligation_with_an_unknown_action_is_a_400(world, client_for):
    system, user = world["a"]["system"], world["users"]["a"][Role.REFERENT]
    qualify(system, TRIAGE_ANSWERS, user)
    obligation = Obligation.objects.filter(ai_system=system).first()
    url = reverse("compliance:obligation", args=[obligation.pk])
    assert client_for(user).post(url, {"action": "explode"}).status_code == 400


# --- what users know ----------------------------------------------------------------------------


def test_the_wizard_offers_je_ne_sais_pas_and_the_result_says_what_to_confirm(world, client_for):
    system = world["a"]["system"]
    client = client_for(world["users"]["a"][Role.REFERENT])
    answers = {**BASE, **HEALTH_CARE, "hosting": "unsure", "uses": ["unsure"]}
    response, seen = walk_wizard(client, system, answers)
    assert "annex_iii_detail" not in seen  # no derogation to examine for an unknown use
    q = Qualification.objects.get(ai_system=system)
    assert q.legal_review and q.risk_level == "high"
    assert q.result["undetermined"] == ["uses", "hosting"]
    assert q.result["to_confirm"]["hds_hosting"] == ["hosting"]
    assert system.obligations.filter(code="hds_hosting").exists()
    with translation.override("fr"):
        page = client.get(response.url).content.decode()
        tab = client.get(reverse("compliance:system", args=[system.pk])).content.decode()
    assert "Réponse « Je ne sais pas » à la question « Où les données sont-elles hébergées ? »" in (
        page.replace("&#x27;", "'")
    )
    assert "Usage de l&#x27;annexe III non déterminé : haut risque retenu par prudence" in page
    assert "Points non déterminés" in page
    for html in (page, tab):
        assert (
            "Dépend de la réponse « Je ne sais pas » à : « Où les données sont-elles hébergées ? »"
            in html
        )


def test_dpia_criteria_aucun_stands_alone(world, client_for):
    book = rules.rulebook()
    answers = {**BASE, **HEALTH_CARE, "dpia_criteria": ["none", "sensitive"]}
    with pytest.raises(rules.AnswerError) as exc:
        book.clean(answers)
    assert exc.value.errors == {
        "dpia_criteria": "« Aucun de ces critères » ne se combine pas avec d'autres choix"
    }
    system = world["a"]["system"]
    client = client_for(world["users"]["a"][Role.REFERENT])
    url = reverse("compliance:wizard", args=[system.pk])
    response = client.get(url)
    for _ in range(20):  # up to the data step, with the answers of BASE and HEALTH_CARE
        step = response.context["step"]["id"]
        if step == "data_detail":
            break
        data = {"state": response.context["state"], "step": step}
        for name, field in response.context["form"].fields.items():
            value = {**BASE, **HEALTH_CARE}.get(name, field.initial)
            data[name] = ("true" if value else "false") if isinstance(value, bool) else value
        response = client.post(url, data)
    data = {
        "state": response.context["state"],
        "step": "data_detail",
        "subjects": ["patients"],
        "data_use": ["care"],
        "dpia_criteria": ["none", "sensitive"],
        "solely_automated": "no",
        "hosting": "on_premises",
    }
    refused = client.post(url, data)
    assert refused.context["step"]["id"] == "data_detail"
    assert "« Aucun de ces critères » ne se combine pas avec d&#x27;autres choix" in (
        refused.content.decode()
    )
    accepted = client.post(url, {**data, "dpia_criteria": ["none"]})
    assert accepted.context["step"]["id"] != "data_detail"
    assert not Qualification.objects.exists()


def test_a_2026_1_qualification_says_what_2026_2_changes(world):
    """The role rule changed: a modification not settled with the vendor no longer leaves the
    establishment a mere deployer. Stored 2026.1 answers (with a yes/no full-automation answer)
    are re-evaluated under 2026.2 on the staleness page."""
    system, user = world["a"]["system"], world["users"]["a"][Role.REFERENT]
    answers = {
        **TRIAGE_ANSWERS,
        "solely_automated": False,
        "origin": "vendor_modified",
        "substantial_modification": "unsure",
        "legal_status": "private",
    }
    q = qualify(system, answers, user, rules.rulebook("2026.1"))
    assert q.referential_version == "2026.1" and "aia_9_risk" not in str(q.result)
    with translation.override("fr"):
        reasons = staleness(q)
    assert (
        reasons[0]
        == "Le référentiel réglementaire est passé de la version 2026.1 à la version 2026.2."
    )
    assert (
        "Nouvelle obligation : Système de gestion des risques tout au long du cycle de vie."
        in reasons
    )
    assert not any("Nouvelle question" in r for r in reasons)
    # the 2026.1 result still reads as it was
    described = rules.rulebook("2026.1").describe(q.result)
    assert {f["code"] for f in described["flags"]} == {"substantial_unsure"}
    assert described["roles"] == ["deployer"] and described["undetermined"] == []


def test_a_retrained_device_in_the_register_prefills_the_modified_regime(world):
    system = make_system(world["a"]["est"], solution_type="S3", device_status="mdr_iia")
    suggested = prefill.initial_answers(rules.rulebook(), system)
    assert suggested["regime"] == "ce_modified" and suggested["modified_class"] == "IIa"
    assert suggested["origin"] == "vendor_modified"
    # a version whose question lacks the option gets no suggestion rather than a wrong one
    assert "regime" not in prefill.initial_answers(rules.rulebook("2026.1"), system)


def test_a_retrained_device_is_shown_as_the_hospital_s_with_what_is_unconfirmed(world, client_for):
    system, user = world["a"]["system"], world["users"]["a"][Role.REFERENT]
    answers = {
        **BASE,
        "medical_purpose": "yes",
        "regime": "ce_modified",
        "modified_class": "IIb",
        "origin": "vendor_modified",
        "own_name": True,
        "substantial_modification": "yes",
    }
    q = qualify(system, answers, user)
    assert q.risk_level == "high" and q.high_risk_bases == ["annex_i_modified"]
    assert system.obligations.filter(code="mdr_16_manufacturer").exists()
    assert not system.obligations.filter(code="mdr_certificate").exists()
    with translation.override("fr"):
        page = client_for(user).get(q.get_absolute_url()).content.decode()
    result = page.split("Rôle de l")[1].split("</dd>")[0]
    assert "Fournisseur" in result and "Déployeur" in result
    assert "Dispositif marqué CE par l&#x27;éditeur, modifié ou réentraîné" in result
    assert "non confirmé" in result  # MDR Art 16 is not in the research
    assert "certains fondements du résultat reposent sur des faits non confirmés" in page
