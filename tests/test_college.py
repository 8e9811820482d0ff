"""The collège de garantie humaine: reproducible draws of feedback events, reviewers'
findings, inter-reviewer agreement (Cohen, Fleiss) against hand-computed cases, quorum, and
findings turned into actions or recommendations."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.models import AuditEvent
from garant.governance import college
from garant.governance.models import (
    Action,
    AgendaItem,
    CaseReview,
    Committee,
    CommitteeMember,
    Meeting,
    ReviewCampaign,
)
from garant.oversight import ingest

SERVICES = ["Urgences", "Réanimation", "Cardiologie"]
OUTCOMES = ["accepted", "overridden", "modified"]


def send_events(establishment, system, n: int, prefix: str = "e", day: dt.date | None = None):
    """`n` events spread over outcomes and services, on `day` (15/01/2026 by default)."""
    day = day or dt.date(2026, 1, 15)
    rows = []
    for i in range(n):
        outcome = OUTCOMES[i % 3]
        rows.append(
            {
                "system": system.pk,
                "event_id": f"{prefix}-{i:04d}",
                "prediction_id": f"p-{prefix}-{i:04d}",
                "time": f"{day.isoformat()}T{8 + i % 10:02d}:00:00+01:00",
                "outcome": outcome,
                "role": "medecin",
                "service": SERVICES[(i // 3) % 3],
                "reason": "clinical_judgement" if outcome != "accepted" else None,
            }
        )
    with audit_context(source="test"):
        ingest.ingest(establishment, ingest.read_records(rows), "api", evaluate=False)


def make_college(world, key="a", quorum=2, reviewers=("committee", "contributor")):
    est = world[key]["est"]
    users = world["users"][key]
    with audit_context(source="test"):
        committee = Committee.objects.create(
            establishment=est,
            name="Collège de garantie humaine",
            kind=Committee.Kind.COLLEGE,
            quorum=quorum,
        )
        roles = [CommitteeMember.Role.PHYSICIAN, CommitteeMember.Role.NURSE]
        roles += [CommitteeMember.Role.DATA_SCIENTIST]
        for role, name in zip(roles, reviewers, strict=False):
            CommitteeMember.objects.create(committee=committee, user=users[name], role=role)
        CommitteeMember.objects.create(
            committee=committee, name="Mme Usagère", role=CommitteeMember.Role.USERS
        )
    return committee


def make_campaign(world, committee, seed=42, per_stratum=2):
    with audit_context(source="test"):
        return college.draw(
            committee,
            title="Revue de janvier",
            start=dt.date(2026, 1, 1),
            end=dt.date(2026, 1, 31),
            system_ids=[],
            per_stratum=per_stratum,
            seed=seed,
            user=world["users"]["a"]["committee"],
        )


# --- the draw ---------------------------------------------------------------------------------


def test_the_draw_remade_from_its_seed_gives_the_same_cases(world):
    est, system = world["a"]["est"], world["a"]["system"]
    send_events(est, system, 90)
    committee = make_college(world)
    campaign = make_campaign(world, committee)
    stored = college.stored_draw(campaign)
    # 3 outcomes × 3 services = 9 strata, 2 cases each, strata in sorted order
    assert len(stored) == 18
    assert campaign.rule["per_stratum"] == 2 and campaign.rule["strata"] == ["outcome", "service"]
    strata = [(c.outcome, c.service) for c in campaign.cases.order_by("position")]
    assert strata == sorted(strata)
    assert {s for s in strata} == {(o, s) for o in OUTCOMES for s in SERVICES}
    # made again from the recorded rule and seed: the same events, in the same order
    campaign = ReviewCampaign.objects.unrestricted().get(pk=campaign.pk)
    assert college.redraw(campaign) == stored
    # the campaign and each case are in the audit trail
    audited = AuditEvent.objects.filter(object_type="governance.reviewcase", action="create")
    assert audited.count() == 18
    # events arriving after the draw, even inside the period, do not change it
    send_events(est, system, 30, prefix="late")
    assert college.redraw(campaign) == stored
    # another seed draws other cases from the same strata
    other = college.select(est.pk, campaign.rule, campaign.seed + 1)
    assert [(r["system_id"], r["event_id"]) for r in other] != stored
    assert len(other) == 18


def test_a_small_stratum_gives_all_its_events_and_the_period_bounds_hold(world):
    est, system = world["a"]["est"], world["a"]["system"]
    send_events(est, system, 3)  # one event per outcome, all in "Urgences"
    send_events(est, system, 5, prefix="feb", day=dt.date(2026, 2, 1))  # outside the period
    committee = make_college(world)
    campaign = make_campaign(world, committee, per_stratum=5)
    assert sorted(e for _, e in college.stored_draw(campaign)) == ["e-0000", "e-0001", "e-0002"]


def test_no_event_in_the_period_draws_nothing(world, client_for):
    committee = make_college(world)
    client = client_for(world["users"]["a"]["committee"])
    response = client.post(
        reverse("governance:campaign_create", args=[committee.pk]),
        {"title": "Vide", "start": "2026-01-01", "end": "2026-01-31", "per_stratum": 2},
    )
    assert response.status_code == 200
    assert "Aucun événement de retour" in response.content.decode()
    assert not ReviewCampaign.objects.unrestricted().exists()


# --- agreement ----------------------------------------------------------------------------------


def test_fleiss_kappa_matches_the_hand_computed_case():
    # Fleiss (1971) as worked in the literature: 10 cases, 14 raters, 5 categories;
    # P̄ = 0.378, P̄e = 0.213, κ = 0.210
    counts = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    result = college.fleiss_kappa(counts)
    assert result["agreement"] == pytest.approx(0.378, abs=5e-4)
    assert result["kappa"] == pytest.approx(0.210, abs=5e-4)
    # by hand, 3 raters, 4 cases, 2 categories: P_i = 1, 1/3, 1/3, 1 → P̄ = 2/3;
    # p = (3+1+2+0)/12 = 1/2 → P̄e = 1/2; κ = (2/3 − 1/2)/(1/2) = 1/3
    small = college.fleiss_kappa([[3, 0], [1, 2], [2, 1], [0, 3]])
    assert small["kappa"] == pytest.approx(1 / 3)
    assert college.fleiss_kappa([[3, 0], [3, 0]])["kappa"] is None  # P̄e = 1: undefined
    with pytest.raises(ValueError):
        college.fleiss_kappa([[3, 0], [1, 0]])


def _review(case, user, ai, human, reason="appropriate"):
    with audit_context(source="test"):
        CaseReview.objects.create(
            case=case,
            reviewer=user,
            ai_output_appropriate=ai,
            human_decision_appropriate=human,
            reason=reason,
        )


def test_agreement_is_cohen_for_two_reviewers_and_fleiss_for_three(world):
    send_events(world["a"]["est"], world["a"]["system"], 12)
    users = world["users"]["a"]
    committee = make_college(world, reviewers=("committee", "contributor", "referent"))
    campaign = make_campaign(world, committee, per_stratum=1)
    cases = list(campaign.cases.order_by("position"))[:4]
    a, b, c = users["committee"], users["contributor"], users["referent"]
    # question "ai", by hand (Cohen): A = yes yes no no, B = yes no no no
    # po = 3/4; A: yes 1/2, no 1/2; B: yes 1/4, no 3/4 → pe = 1/8 + 3/8 = 1/2; κ = 1/2
    for case, (x, y) in zip(cases, ["yy", "yn", "nn", "nn"], strict=True):
        ans = {"y": "yes", "n": "no"}
        _review(case, a, ans[x], "yes")
        _review(case, b, ans[y], "yes")
    result = college.agreement(campaign)
    assert result["ai"]["method"] == "cohen" and result["ai"]["cases"] == 4
    assert result["ai"]["agreement"] == pytest.approx(0.75)
    assert result["ai"]["kappa"] == pytest.approx(0.5)
    sklearn = pytest.importorskip("sklearn.metrics")
    expected = sklearn.cohen_kappa_score(["yes", "yes", "no", "no"], ["yes", "no", "no", "no"])
    assert result["ai"]["kappa"] == pytest.approx(expected)
    assert result["human"]["kappa"] is None  # everyone said yes: chance agreement is 1
    # a third reviewer on the same 4 cases: Fleiss
    for case, x in zip(cases, ["yes", "no", "no", "unsure"], strict=True):
        _review(case, c, x, "no")
    result = college.agreement(campaign)
    assert result["ai"]["method"] == "fleiss" and result["ai"]["raters"] == 3
    # counts (yes, no, unsure) per case: [3,0,0] [1,2,0] [0,3,0] [0,2,1]
    # P_i = 1, 1/3, 1, 1/3 → P̄ = 2/3; p = 4/12, 7/12, 1/12 → P̄e = (16+49+1)/144 = 66/144
    # κ = (2/3 − 66/144) / (1 − 66/144) = (96 − 66) / (144 − 66) = 30/78
    assert result["ai"]["kappa"] == pytest.approx(30 / 78)


# --- pages ---------------------------------------------------------------------------------------


def test_reviewers_record_findings_and_the_committee_closes_at_quorum(world, client_for):
    send_events(world["a"]["est"], world["a"]["system"], 6)
    users = world["users"]["a"]
    committee = make_college(world)
    campaign = make_campaign(world, committee, per_stratum=1)
    cases = list(campaign.cases.order_by("position"))
    url = campaign.get_absolute_url()
    page = client_for(users["committee"]).get(url).content.decode()
    assert cases[0].event_id in page and "Mon avis" in page
    # pseudonymous references only: no patient field is stored nor shown
    assert "patient_id" not in {f.name for f in type(cases[0])._meta.fields}

    # the home page tells each reviewer what is left to review
    home = client_for(users["contributor"]).get("/").content.decode()
    assert "Revue de janvier" in home and f"0 cas relus sur {len(cases)}" in home
    assert "college-todo" not in client_for(users["referent"]).get("/").content.decode()
    close = reverse("governance:campaign_close", args=[campaign.pk])
    governor = client_for(users["committee"])
    governor.post(close, {"close-conclusion": "RAS"})
    campaign.refresh_from_db()
    assert campaign.status == ReviewCampaign.Status.OPEN  # no quorum yet

    for user in (users["committee"], users["contributor"]):
        client = client_for(user)
        for case in cases:
            response = client.post(
                reverse("governance:case_review", args=[case.pk]),
                {
                    f"c{case.pk}-ai_output_appropriate": "yes",
                    f"c{case.pk}-human_decision_appropriate": "no",
                    f"c{case.pk}-reason": "automation_bias",
                    f"c{case.pk}-note": "",
                },
            )
            assert response.status_code == 302
    assert CaseReview.objects.unrestricted().filter(case__campaign=campaign).count() == 2 * len(
        cases
    )
    # "other" needs a note; an unknown code is refused
    client = client_for(users["committee"])
    for reason in ("other", "nope"):
        client.post(
            reverse("governance:case_review", args=[cases[0].pk]),
            {
                f"c{cases[0].pk}-ai_output_appropriate": "no",
                f"c{cases[0].pk}-human_decision_appropriate": "no",
                f"c{cases[0].pk}-reason": reason,
            },
        )
    mine = CaseReview.objects.unrestricted().get(case=cases[0], reviewer=users["committee"])
    assert mine.reason == "automation_bias"

    assert college.progress(campaign)["quorum_reached"]
    assert "college-todo" not in client_for(users["contributor"]).get("/").content.decode()
    governor.post(close, {"close-conclusion": "Biais d'automatisation à travailler."})
    campaign.refresh_from_db()
    assert campaign.status == ReviewCampaign.Status.CLOSED
    assert campaign.closed_at is not None


def test_only_members_of_the_college_review(world, client_for):
    send_events(world["a"]["est"], world["a"]["system"], 3)
    users = world["users"]["a"]
    committee = make_college(world, reviewers=("committee", "auditor"))
    campaign = make_campaign(world, committee, per_stratum=1)
    case = campaign.cases.first()
    data = {
        f"c{case.pk}-ai_output_appropriate": "yes",
        f"c{case.pk}-human_decision_appropriate": "yes",
        f"c{case.pk}-reason": "appropriate",
    }
    url = reverse("governance:case_review", args=[case.pk])
    assert client_for(users["referent"]).post(url, data).status_code == 403  # no seat
    assert client_for(users["auditor"]).post(url, data).status_code == 403  # read-only role
    assert client_for(world["users"]["b"]["committee"]).post(url, data).status_code == 404
    assert (
        client_for(world["users"]["b"]["admin"]).get(campaign.get_absolute_url()).status_code == 404
    )
    assert not CaseReview.objects.unrestricted().exists()
    # drawing is the committee's ("govern")
    create = reverse("governance:campaign_create", args=[committee.pk])
    assert client_for(users["contributor"]).get(create).status_code == 403


def test_a_finding_becomes_an_action_or_a_recommendation(world, client_for):
    send_events(world["a"]["est"], world["a"]["system"], 3)
    users = world["users"]["a"]
    committee = make_college(world)
    with audit_context(source="test"):
        meeting = Meeting.objects.create(
            committee=committee, starts_at=timezone.now() + dt.timedelta(days=7)
        )
    campaign = make_campaign(world, committee, per_stratum=1)
    case = campaign.cases.first()
    _review(case, users["committee"], "no", "no", "automation_bias")
    client = client_for(users["committee"])
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert "En faire une action" in page
    form = client.get(reverse("governance:case_action", args=[case.pk])).content.decode()
    assert "Biais d'automatisation" in form or "biais d&#x27;automatisation" in form
    # a past due date is refused, nothing is stored
    response = client.post(
        reverse("governance:case_action", args=[case.pk]),
        {"meeting": meeting.pk, "title": "X", "owner_name": "IDE", "due_date": "2020-01-01"},
    )
    assert response.status_code == 200 and "déjà passée" in response.content.decode()
    assert not Action.objects.unrestricted().exists()
    due = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    client.post(
        reverse("governance:case_action", args=[case.pk]),
        {
            "meeting": meeting.pk,
            "title": "Former l'équipe au biais d'automatisation",
            "owner": users["referent"].pk,
            "due_date": due,
        },
    )
    case.refresh_from_db()
    action = Action.objects.unrestricted().get()
    assert case.action == action and action.meeting == meeting
    client.post(
        reverse("governance:case_recommendation", args=[case.pk]),
        {"meeting": meeting.pk, "title": "Revoir le seuil d'alerte"},
    )
    case.refresh_from_db()
    item = AgendaItem.objects.unrestricted().get()
    assert case.agenda_item == item and "Revoir le seuil" in item.title
    # a second action on the same case is not opened
    client.post(reverse("governance:case_action", args=[case.pk]), {})
    assert Action.objects.unrestricted().count() == 1
    # the verification of the draw
    response = client.post(reverse("governance:campaign_verify", args=[campaign.pk]), follow=True)
    assert "Tirage vérifié" in response.content.decode()


def test_the_review_referential_is_versioned_and_valid():
    reasons = college.reasons()
    assert reasons.version == "2026.1"
    assert {"automation_bias", "other", "appropriate"} <= set(reasons.items)


def test_the_demo_has_a_completed_review_whose_finding_became_an_action(demo):
    campaign = ReviewCampaign.objects.unrestricted().get(committee__name__startswith="Collège")
    assert campaign.status == ReviewCampaign.Status.CLOSED
    assert campaign.committee.kind == Committee.Kind.COLLEGE
    cases = list(campaign.cases.order_by("position"))
    assert len(cases) >= 4
    reviews = CaseReview.objects.unrestricted().filter(case__campaign=campaign)
    assert reviews.count() == 2 * len(cases)
    assert cases[0].action is not None and cases[0].action.meeting.committee.name == "Copil IA"
    assert college.redraw(campaign) == college.stored_draw(campaign)
    assert college.progress(campaign)["quorum_reached"]
    assert college.agreement(campaign)["ai"]["method"] == "cohen"
