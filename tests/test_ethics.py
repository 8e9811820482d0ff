"""Ethics referrals (issue 12, item 6) and the human guarantee in the decision dossier and
the compliance checklist (item 7), on the demo: a question referred to the ethics committee,
its opinion and recommendations followed up as actions (pages, API, validation, audit); the
dossier (HTML and PDF) shows the oversight rates, the collège's review and the referral; the
checklist links them as evidence of HAS 3.1-06 and of the AI Act deployer obligations."""

from __future__ import annotations

import datetime as dt
import io
import json
from html import unescape

import pypdf
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from garant.compliance.linked import linked_evidence
from garant.core.audit_models import AuditEvent
from garant.core.models import User
from garant.core.numbers import percent
from garant.governance.models import Action, Committee, EthicsRecommendation, EthicsReferral
from garant.lifecycle import dossier
from garant.oversight import rates
from garant.registry.models import AISystem
from tests.conftest import token_client

pytestmark = pytest.mark.django_db

FRACTURES = "Détection des fractures sur radiographies"


def _system():
    return AISystem.objects.unrestricted().get(name=FRACTURES, establishment__code="valmont")


def _user(name):
    return User.objects.get(username=f"{name}.valmont")


def _ethics_committee():
    return Committee.objects.unrestricted().get(
        establishment__code="valmont", kind=Committee.Kind.ETHICS_COMMITTEE
    )


def test_the_demo_referral_has_an_opinion_and_a_recommendation_turned_into_an_action(demo):
    referral = EthicsReferral.objects.unrestricted().get(ai_system=_system())
    assert referral.committee.is_ethics_body and referral.asked_by == _user("terrain")
    assert referral.opinion == EthicsReferral.Opinion.RESERVED
    assert referral.opinion_date > referral.referred_on
    first, second = referral.recommendations.order_by("position")
    assert first.action.meeting.committee.name == "Copil IA" and second.action is None
    # the recommendations are audited, under the referral's history
    assert (
        AuditEvent.objects.filter(
            object_type="governance.ethicsrecommendation", action="create"
        ).count()
        == 2
    )


def test_the_dossier_shows_rates_college_review_and_ethics_referral(demo, client_for):
    system = _system()
    project = system.project
    client = client_for(_user("comite"))
    html = unescape(client.get(reverse("lifecycle:dossier", args=[project.pk])).content.decode())
    pdf = client.get(reverse("lifecycle:dossier_pdf", args=[project.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    text = " ".join(text.split())
    # the rates are those of oversight.rates, over the last twelve months
    end = timezone.localdate() + dt.timedelta(days=1)
    total = rates.system_summary(system, end - dt.timedelta(days=dossier.RATES_DAYS), end)["total"]
    assert total["events"] > 0
    accepted = percent(total["accepted_rate"])
    expected = [
        "Supervision humaine : ce que font les professionnels des sorties",
        "Taux d'acceptation",
        "Revues du collège de garantie humaine",
        "Revue du trimestre",
        "kappa de Cohen",
        "Rappeler aux équipes la relecture du cliché",  # the finding's action
        "Saisines éthiques",
        "favorable avec réserves",
        "Note de service aux internes",  # the recommendation's action
    ]
    for wanted in [*expected, accepted]:
        assert wanted in html, wanted
        assert wanted.replace("\u202f", " ").replace("\xa0", " ") in text.replace("\xa0", " "), (
            wanted
        )


def test_the_checklist_links_referral_rates_and_college_as_evidence(demo, client_for):
    system = _system()
    found = linked_evidence(system)
    referral = EthicsReferral.objects.unrestricted().get(ai_system=system)
    assert [e["url"] for e in found["has_3_1_06"]] == [referral.get_absolute_url()]
    assert "favorable avec réserves" in found["has_3_1_06"][0]["detail"]
    rates_url = reverse("oversight:system", args=[system.pk])
    for code in ("aia_26_5", "aia_26_6", "aia_14_oversight"):
        assert rates_url in [e["url"] for e in found[code]], code
    for code in ("aia_26_2", "aia_26_5", "aia_14_oversight"):
        assert any("Revue du collège" in e["title"] for e in found[code]), code
    page = client_for(_user("referent")).get(reverse("compliance:system", args=[system.pk]))
    assert referral.get_absolute_url() in page.content.decode()


def test_validation_of_a_referral(demo):
    system = _system()
    copil = Committee.objects.unrestricted().get(establishment__code="valmont", name="Copil IA")
    referral = EthicsReferral(committee=copil, ai_system=system, question="?")
    with pytest.raises(ValidationError) as error:
        referral.full_clean()
    assert {"committee", "asked_by_name"} <= set(error.value.message_dict)
    referral.committee = _ethics_committee()
    referral.asked_by_name = "Cadre de santé"
    referral.opinion, referral.opinion_text = "favourable", "Oui"
    referral.opinion_date = referral.referred_on - dt.timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        referral.full_clean()
    assert set(error.value.message_dict) == {"opinion_date"}
    other = AISystem.objects.unrestricted().exclude(establishment__code="valmont").first()
    referral.ai_system, referral.opinion_date = other, referral.referred_on
    with pytest.raises(ValidationError) as error:
        referral.full_clean()
    assert "committee" in error.value.message_dict


def test_refer_record_opinion_and_follow_up_on_the_pages(demo, client_for):
    system = _system()
    nurse, chair, auditor = _user("terrain"), _user("comite"), _user("auditeur")
    # the « Éthique » tab is on the system's pages, its project's page among them
    project_page = client_for(nurse).get(
        reverse("lifecycle:project_detail", args=[system.project.pk])
    )
    assert reverse("governance:system_ethics", args=[system.pk]) in project_page.content.decode()
    tab = client_for(nurse).get(reverse("governance:system_ethics", args=[system.pk]))
    assert "Saisir l'instance d'éthique" in unescape(tab.content.decode())
    create = reverse("governance:referral_create", args=[system.pk])
    assert client_for(auditor).get(create).status_code == 403
    response = client_for(nurse).post(
        create,
        {
            "committee": _ethics_committee().pk,
            "question": "Peut-on utiliser l'outil chez la femme enceinte ?",
            "asked_by": nurse.pk,
            "referred_on": timezone.localdate().strftime("%d/%m/%Y"),
        },
    )
    referral = EthicsReferral.objects.unrestricted().get(question__startswith="Peut-on")
    assert response.status_code == 302 and response["Location"] == referral.get_absolute_url()
    opinion = reverse("governance:referral_opinion", args=[referral.pk])
    assert client_for(nurse).get(opinion).status_code == 403
    values = {
        "opinion": "unfavourable",
        "opinion_text": "Pas d'étude chez la femme enceinte.",
        "opinion_date": timezone.localdate().strftime("%d/%m/%Y"),
        "recommendations": "- Exclure la femme enceinte du périmètre\n\n• Informer les équipes",
    }
    assert client_for(chair).post(opinion, values).status_code == 302
    referral.refresh_from_db()
    assert referral.opinion == "unfavourable" and referral.opinion_recorded_by == chair
    texts = list(referral.recommendations.values_list("text", flat=True))
    assert texts == ["Exclure la femme enceinte du périmètre", "Informer les équipes"]
    # given once: a second opinion changes nothing
    client_for(chair).post(opinion, {**values, "opinion": "favourable"})
    referral.refresh_from_db()
    assert referral.opinion == "unfavourable" and referral.recommendations.count() == 2
    recommendation = referral.recommendations.get(position=1)
    follow = reverse("governance:recommendation_action", args=[recommendation.pk])
    page = client_for(chair).get(follow)
    meeting = page.context["form"].fields["meeting"].initial
    response = client_for(chair).post(
        follow,
        {
            "meeting": meeting.pk,
            "title": "Modifier la notice d'utilisation locale",
            "owner": chair.pk,
            "due_date": (timezone.localdate() + dt.timedelta(days=30)).strftime("%d/%m/%Y"),
        },
    )
    assert response.status_code == 302
    recommendation.refresh_from_db()
    assert recommendation.action.title == "Modifier la notice d'utilisation locale"
    detail = unescape(client_for(auditor).get(referral.get_absolute_url()).content.decode())
    for listing in (
        reverse("governance:referral_list"),
        reverse("governance:committee_detail", args=[referral.committee_id]),
    ):
        assert referral.get_absolute_url() in client_for(auditor).get(listing).content.decode()
    assert "Modifier la notice d'utilisation locale" in detail and "défavorable" in detail
    # every write is in the audit trail, by its author
    events = AuditEvent.objects.filter(
        object_type="governance.ethicsreferral", object_id=str(referral.pk)
    )
    assert {(e.action, e.actor_id) for e in events} >= {("create", nurse.pk), ("update", chair.pk)}
    assert AuditEvent.objects.filter(
        object_type="governance.action", object_id=str(recommendation.action_id), actor_id=chair.pk
    ).exists()


def test_the_api_lists_creates_and_records_an_opinion(demo):
    system, nurse, chair = _system(), _user("terrain"), _user("comite")
    url = "/api/ethics-referrals"
    listed = token_client(_user("auditeur")).get(f"{url}?system={system.pk}").json()
    assert [r["ai_system"] for r in listed["items"]] == [system.pk]
    body = {"ai_system": system.pk, "committee": _ethics_committee().pk, "question": "Q ?"}
    refused = token_client(_user("auditeur")).post(url, json.dumps(body), "application/json")
    assert refused.status_code == 403
    copil = Committee.objects.unrestricted().get(establishment__code="valmont", name="Copil IA")
    wrong = token_client(nurse).post(
        url, json.dumps({**body, "committee": copil.pk}), "application/json"
    )
    assert wrong.status_code == 422 and "committee" in wrong.content.decode()
    created = token_client(nurse).post(url, json.dumps(body), "application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["asked_by"] == nurse.pk and data["opinion"] == ""
    opinion_url = f"{url}/{data['id']}/opinion"
    opinion = {
        "opinion": "favourable",
        "opinion_text": "Avis favorable.",
        "opinion_date": timezone.localdate().isoformat(),
        "recommendations": ["Réévaluer dans un an"],
    }
    assert (
        token_client(nurse).post(opinion_url, json.dumps(opinion), "application/json").status_code
        == 403
    )
    bad = token_client(chair).post(
        opinion_url, json.dumps({**opinion, "opinion": "maybe"}), "application/json"
    )
    assert bad.status_code == 422
    given = token_client(chair).post(opinion_url, json.dumps(opinion), "application/json")
    assert given.status_code == 200
    assert [r["text"] for r in given.json()["recommendations"]] == ["Réévaluer dans un an"]
    again = token_client(chair).post(opinion_url, json.dumps(opinion), "application/json")
    assert again.status_code == 409
    assert EthicsRecommendation.objects.unrestricted().filter(referral_id=data["id"]).count() == 1
    assert not Action.objects.unrestricted().filter(ethics_recommendations__referral_id=data["id"])
