"""Human oversight (issue 12, items 2 and 3): feedback events from the clinical software and
what they show (rates, blind acceptance, kappa, alert rules)."""

from __future__ import annotations

import datetime as dt
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.test import Client
from django.urls import reverse

from garant.core.audit import audit_context
from garant.core.models import AuditEvent, Role
from garant.oversight import alerts, ingest, rates
from garant.oversight.models import FeedbackBatch, FeedbackToken, OversightAlert, OversightRule

URL = "/api/oversight/events"
PARIS = dt.timezone(dt.timedelta(hours=1))


def token_for(establishment) -> tuple[FeedbackToken, Client]:
    with audit_context(source="test"):
        token, raw = FeedbackToken.issue(establishment, "DPI de test")
    return token, Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def event(system, i: int, **fields) -> dict:
    values = {
        "system": system.pk,
        "event_id": f"e-{i}",
        "time": "2026-01-15T10:00:00+01:00",
        "outcome": "accepted",
        "role": "medecin",
        "service": "Urgences",
    }
    values.update(fields)
    return values


def post(client, events):
    return client.post(URL, {"events": events}, content_type="application/json")


# --- ingestion ---------------------------------------------------------------------------------


def test_events_are_stored_once_per_event_id(world):
    system = world["a"]["system"]
    token, client = token_for(world["a"]["est"])
    events = [event(system, i, reason="other" if i % 2 else None) for i in range(5)]
    first = post(client, events)
    assert first.status_code == 201, first.content
    assert first.json()["stored"] == 5
    again = post(client, events)
    assert again.status_code == 200
    assert again.json() | {"detail": ""} == {
        "batch": None,
        "received": 5,
        "stored": 0,
        "already_received": 5,
        "referential_version": "2026.1",
        "detail": "",
    }
    mixed = post(client, [*events[:2], event(system, 99)])
    assert mixed.status_code == 201
    assert (mixed.json()["stored"], mixed.json()["already_received"]) == (1, 2)
    assert rates.events(system).num_rows == 6
    batch = FeedbackBatch.objects.unrestricted().get(pk=first.json()["batch"])
    assert batch.token == token and list(batch.systems.all()) == [system]
    created = AuditEvent.objects.filter(object_type="oversight.feedbackbatch", action="create")
    assert created.count() == 2


def test_a_batch_of_10000_events_is_stored_and_one_more_is_refused(world):
    system = world["a"]["system"]
    _token, client = token_for(world["a"]["est"])
    events = [event(system, i) for i in range(10_000)]
    response = post(client, events)
    assert response.status_code == 201, response.content[:500]
    assert response.json()["stored"] == 10_000
    too_many = post(client, [*events, event(system, 10_000)])
    assert too_many.status_code == 422
    assert "10000 événements au plus" in too_many.json()["detail"][0]["message"]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("reason_text", "appelé le 06 12 34 56 78", "téléphone"),
        ("reason_text", "voir jean.dupont@chu.fr", "e-mail"),
        ("service", "Dr 10003456789", "RPPS"),
        ("reason_text", "infirmière ADELI 751234567", "RPPS ou ADELI"),
        ("event_id", "1 84 12 75 108 042 31", "NIR"),
    ],
)
def test_a_batch_with_an_identifier_is_refused_whole(world, field, value, reason):
    system = world["a"]["system"]
    _token, client = token_for(world["a"]["est"])
    events = [event(system, i) for i in range(3)]
    events[2][field] = value
    response = post(client, events)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["row"], error["column"]) == (3, field)
    assert reason in error["message"]
    assert value not in response.content.decode()
    assert rates.events(system).num_rows == 0
    assert not FeedbackBatch.objects.unrestricted().exists()


def test_a_column_naming_an_identifier_is_refused(world):
    system = world["a"]["system"]
    _token, client = token_for(world["a"]["est"])
    response = post(client, [event(system, 1, rpps="x"), event(system, 2, nom_patient="x")])
    assert response.status_code == 422
    assert {e["column"] for e in response.json()["detail"]} == {"rpps", "nom_patient"}


def test_a_token_of_a_cannot_send_events_for_b(world):
    _token, client = token_for(world["a"]["est"])
    mine, theirs = world["a"]["system"], world["b"]["system"]
    response = post(client, [event(mine, 1), event(theirs, 2)])
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["row"], error["column"]) == (2, "system")
    assert rates.events(mine).num_rows == 0 and rates.events(theirs).num_rows == 0


def test_no_token_or_a_revoked_one_or_a_person_token_is_refused(world):
    system = world["a"]["system"]
    assert post(Client(), [event(system, 1)]).status_code == 401
    token, client = token_for(world["a"]["est"])
    token.revoked = True
    with audit_context(source="test"):
        token.save()
    assert post(client, [event(system, 1)]).status_code == 401
    from tests.conftest import token_client

    person = token_client(world["users"]["a"][Role.ADMIN])
    assert post(person, [event(system, 1)]).status_code == 401


def test_invalid_values_are_named_with_row_and_column(world):
    system = world["a"]["system"]
    _token, client = token_for(world["a"]["est"])
    events = [
        event(system, 1, outcome="validé"),
        event(system, 2, reason="pas_de_code"),
        event(system, 3, role="chef"),
        event(system, 4, decision_ms=-5),
        event(system, 5, time="hier"),
        event(system, 5),
    ]
    response = post(client, events)
    assert response.status_code == 422
    found = {(e["row"], e["column"]) for e in response.json()["detail"]}
    assert {(1, "outcome"), (2, "reason"), (3, "role"), (4, "decision_ms"), (5, "time")} <= found
    assert (5, "event_id") in found and (6, "event_id") in found
    unknown = post(client, [event(system, 1, couleur="bleu")])
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["column"] == "couleur"


def test_file_import_from_the_tab_uses_the_same_rules(world, client_for):
    system = world["a"]["system"]
    user = world["users"]["a"][Role.REFERENT]
    client = client_for(user)
    table = pa.table(
        {
            "event_id": ["f1", "f2"],
            "time": ["2026-01-15 09:00", "2026-01-15 09:05"],
            "outcome": ["overridden", "accepted"],
            "reason": ["clinical_judgement", None],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    upload = io.BytesIO(sink.getvalue())
    upload.name = "retours.parquet"
    url = reverse("oversight:upload", args=[system.pk])
    response = client.post(url, {"file": upload})
    assert response.status_code == 302
    assert rates.events(system).num_rows == 2
    csv = io.BytesIO(b"event_id;time;outcome;service\nf3;2026-01-15 10:00;accepted;jean@x.fr\n")
    csv.name = "retours.csv"
    refused = client.post(url, {"file": csv})
    assert refused.status_code == 422
    assert "adresse e-mail" in refused.content.decode()
    assert rates.events(system).num_rows == 2


# --- what the events show ----------------------------------------------------------------------

# hand-computed case: 10 events, Urgences 6 (3 accepted, 1 modified, 2 overridden),
# Cardiologie 4 (2 accepted, 1 ignored, 1 not shown)
HAND = [
    ("Urgences", "accepted", None, 1000, "pos", "pos"),
    ("Urgences", "accepted", None, 2000, "neg", "neg"),
    ("Urgences", "accepted", None, 3000, "pos", "pos"),
    ("Urgences", "modified", "wording", 20000, "pos", "pos"),
    ("Urgences", "overridden", "false_positive", 30000, "pos", "neg"),
    ("Urgences", "overridden", "clinical_judgement", 40000, "neg", "pos"),
    ("Cardiologie", "accepted", None, 500, "neg", "neg"),
    ("Cardiologie", "accepted", None, 700, "neg", "neg"),
    ("Cardiologie", "ignored", "no_time", None, "pos", None),
    ("Cardiologie", "not_shown", "technical_issue", None, None, None),
]


def hand_table() -> pa.Table:
    start = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    return pa.table(
        {
            "time": pa.array(
                [start + dt.timedelta(days=i % 2 * 7) for i in range(len(HAND))],
                pa.timestamp("us", tz="UTC"),
            ),
            "outcome": [r[1] for r in HAND],
            "reason": [r[2] for r in HAND],
            "role": ["medecin"] * len(HAND),
            "service": [r[0] for r in HAND],
            "decision_ms": pa.array([r[3] for r in HAND], pa.int64()),
            "edit_ratio": pa.array([0.25 if r[1] == "modified" else None for r in HAND]),
            "ai_decision": [r[4] for r in HAND],
            "final_decision": [r[5] for r in HAND],
        }
    )


def test_rates_match_the_hand_computed_case():
    data = rates.summarise(hand_table(), by="week")
    total = data["total"]
    assert (total["events"], total["shown"]) == (10, 9)
    assert total["accepted_rate"] == pytest.approx(5 / 9)
    assert total["modified_rate"] == pytest.approx(1 / 9)
    assert total["overridden_rate"] == pytest.approx(2 / 9)
    assert total["ignored_rate"] == pytest.approx(1 / 9)
    assert total["not_shown_rate"] == pytest.approx(1 / 10)
    assert total["median_decision_seconds"] == pytest.approx(1.0)  # of 500 700 1000 2000 3000
    assert total["mean_edit_ratio"] == pytest.approx(0.25)
    services = {row["service"]: row for row in data["by_service"]}
    assert services["Urgences"]["overridden_rate"] == pytest.approx(2 / 6)
    assert services["Cardiologie"]["accepted_rate"] == pytest.approx(2 / 3)
    reasons = {row["reason"]: row["events"] for row in data["by_reason"]}
    assert reasons == {
        "": 5,
        "wording": 1,
        "false_positive": 1,
        "clinical_judgement": 1,
        "no_time": 1,
        "technical_issue": 1,
    }
    weeks = [(row["period"], row["events"]) for row in data["by_period"]]
    assert weeks == [(dt.date(2026, 1, 5), 5), (dt.date(2026, 1, 12), 5)]
    assert sum(row["events"] for row in data["by_period_service"]) == 10


def test_kappa_matches_the_hand_computed_case_and_sklearn():
    # 8 pairs: (pos,pos)×3, (neg,neg)×3, (pos,neg), (neg,pos): po = 6/8; AI pos 4/8, human
    # pos 4/8: pe = 0.5·0.5 + 0.5·0.5 = 0.5; κ = (0.75 − 0.5) / 0.5 = 0.5
    data = rates.summarise(hand_table())
    assert data["kappa"]["total"]["pairs"] == 8
    assert data["kappa"]["total"]["agreement"] == pytest.approx(0.75)
    assert data["kappa"]["total"]["kappa"] == pytest.approx(0.5)
    sklearn = pytest.importorskip("sklearn.metrics")
    pairs = [(r[4], r[5]) for r in HAND if r[4] and r[5]]
    expected = sklearn.cohen_kappa_score([a for a, _ in pairs], [b for _, b in pairs])
    assert data["kappa"]["total"]["kappa"] == pytest.approx(expected)
    three = {("a", "a"): 5, ("a", "b"): 2, ("b", "b"): 4, ("c", "a"): 1, ("c", "c"): 3}
    ai = [k[0] for k, n in three.items() for _ in range(n)]
    human = [k[1] for k, n in three.items() for _ in range(n)]
    got = rates.cohen_kappa(three)["kappa"]
    assert got == pytest.approx(sklearn.cohen_kappa_score(ai, human))
    assert rates.cohen_kappa({("a", "a"): 4})["kappa"] is None  # pe = 1: undefined


def test_blind_acceptance_is_flagged():
    n = 40
    table = pa.table(
        {
            "time": pa.array(
                [dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)] * n, pa.timestamp("us", tz="UTC")
            ),
            "outcome": ["accepted"] * (n - 1) + ["overridden"],
            "reason": [None] * n,
            "role": ["interne"] * n,
            "service": ["Radiologie"] * n,
            "decision_ms": pa.array([800] * n, pa.int64()),
            "edit_ratio": pa.nulls(n, pa.float64()),
            "ai_decision": pa.nulls(n, pa.string()),
            "final_decision": pa.nulls(n, pa.string()),
        }
    )
    assert rates.summarise(table)["total"]["blind_acceptance"] is True
    slow = table.set_column(5, "decision_ms", pa.array([9000] * n, pa.int64()))
    assert rates.summarise(slow)["total"]["blind_acceptance"] is False


# --- alert rules -------------------------------------------------------------------------------


def _send(establishment, system, days: range, service: str, overridden_every: int, today):
    rows = []
    for d in days:
        day = today - dt.timedelta(days=d)
        for i in range(10):
            outcome = "overridden" if i % overridden_every == 0 else "accepted"
            moment = dt.datetime.combine(day, dt.time(10, i), tzinfo=PARIS)
            rows.append(
                event(system, f"{service}-{day}-{i}", time=moment.isoformat(), outcome=outcome)
                | {"service": service, "reason": "clinical_judgement" * (outcome == "overridden")}
            )
    with audit_context(source="test"):
        ingest.ingest(establishment, ingest.read_records(rows), "api", evaluate=False)


def test_override_doubling_opens_an_alert_then_resolves(world):
    est, system = world["a"]["est"], world["a"]["system"]
    today = dt.date(2026, 3, 1)
    with audit_context(source="test"):
        rule = OversightRule.objects.create(
            ai_system=system,
            kind=OversightRule.Kind.OVERRIDE_DOUBLING,
            threshold=2.0,
            window_days=14,
            min_events=30,
        )
        stable = OversightRule.objects.create(
            ai_system=system,
            kind=OversightRule.Kind.ACCEPTANCE_ABOVE,
            threshold=0.98,
            window_days=14,
            min_events=30,
        )
    _send(est, system, range(15, 29), "Urgences", 10, today)  # 10 % overridden before
    _send(est, system, range(1, 15), "Urgences", 3, today)  # then 40 %
    _send(est, system, range(1, 29), "Pédiatrie", 10, today)  # stable
    with audit_context(source="test"):
        opened = alerts.evaluate(rule, today)
        assert alerts.evaluate(stable, today) == []
    services = sorted(a.service for a in opened)
    assert services == ["", "Urgences"]
    urgences = next(a for a in opened if a.service == "Urgences")
    assert urgences.value == pytest.approx(4.0)
    assert "40,0 %" in urgences.message and "10,0 %" in urgences.message
    with audit_context(source="test"):
        assert alerts.evaluate(rule, today) == []  # already open: no second alert
        alerts.acknowledge(urgences, world["users"]["a"][Role.REFERENT], "Vu en staff")
        # a month later, nothing new: back to normal (no events: not judged, stays)
        later = today + dt.timedelta(days=14)
        _send(est, system, range(1, 15), "Urgences", 3, later)
        alerts.evaluate(rule, later)
    urgences.refresh_from_db()
    assert urgences.state == OversightAlert.State.RESOLVED
    assert urgences.resolution == OversightAlert.Resolution.BACK_TO_NORMAL


def test_acceptance_above_threshold_opens_an_alert(world):
    est, system = world["a"]["est"], world["a"]["system"]
    today = dt.date(2026, 3, 1)
    with audit_context(source="test"):
        rule = OversightRule.objects.create(
            ai_system=system,
            kind=OversightRule.Kind.ACCEPTANCE_ABOVE,
            threshold=0.98,
            window_days=30,
            min_events=30,
        )
    _send(est, system, range(1, 31), "Radiologie", 1000, today)  # 1 in 10 overridden (i=0)
    with audit_context(source="test"):
        assert alerts.evaluate(rule, today) == []
    rows = [
        event(system, f"ok-{i}", time=f"2026-02-{1 + i % 27:02d}T10:00:00+01:00")
        | {"service": "Imagerie"}
        for i in range(60)
    ]
    with audit_context(source="test"):
        ingest.ingest(est, ingest.read_records(rows), "api", evaluate=False)
        opened = alerts.evaluate(rule, today)
    assert [a.service for a in opened] == ["Imagerie"]
    assert "100,0 %" in opened[0].message


# --- pages -------------------------------------------------------------------------------------


def test_the_tab_shows_rates_in_french(world, client_for):
    est, system = world["a"]["est"], world["a"]["system"]
    _token, client = token_for(est)
    events = [
        event(system, i, outcome="overridden" if i < 3 else "accepted", decision_ms=1500)
        | ({"reason": "false_positive"} if i < 3 else {})
        for i in range(8)
    ]
    assert post(client, events).status_code == 201
    page = client_for(world["users"]["a"][Role.AUDITOR])
    url = reverse("oversight:system", args=[system.pk])
    response = page.get(url, {"du": "01/01/2026", "au": "31/01/2026", "par": "month"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Supervision humaine" in body
    assert "37,5\u202f%" in body and "62,5\u202f%" in body  # 3/8 overridden, 5/8 accepted
    assert "Faux positif manifeste" in body
    assert "01/01/2026" in body
    assert "Importer un fichier" not in body  # an auditor reads only
    api = page.get(
        f"/api/oversight/systems/{system.pk}/rates",
        {"start": "2026-01-01", "end": "2026-01-31", "by": "day"},
    )
    assert api.status_code == 200
    assert api.json()["total"]["events"] == 8
    other = client_for(world["users"]["b"][Role.ADMIN])
    assert other.get(url).status_code == 404


def test_rules_are_added_and_alerts_acknowledged_from_the_tab(world, client_for):
    system = world["a"]["system"]
    client = client_for(world["users"]["a"][Role.REFERENT])
    url = reverse("oversight:rule_add", args=[system.pk])
    bad = client.post(
        url, {"kind": "acceptance_above", "threshold": "1,5", "window_days": 30, "min_events": 30}
    )
    assert bad.status_code == 422
    ok = client.post(
        url, {"kind": "acceptance_above", "threshold": "0,98", "window_days": 30, "min_events": 30}
    )
    assert ok.status_code == 302
    rule = OversightRule.objects.unrestricted().get(ai_system=system)
    assert rule.threshold == pytest.approx(0.98)
    with audit_context(source="test"):
        alert = OversightAlert.objects.create(rule=rule, ai_system=system, message="m", value=1)
    ack = reverse("oversight:alert_acknowledge", args=[alert.pk])
    client.post(ack, {"comment": ""})
    alert.refresh_from_db()
    assert alert.state == OversightAlert.State.OPEN
    client.post(ack, {"comment": "Audit des dossiers prévu"})
    alert.refresh_from_db()
    assert alert.state == OversightAlert.State.ACKNOWLEDGED
    client.post(reverse("oversight:rule_deactivate", args=[rule.pk]))
    alert.refresh_from_db()
    assert alert.resolution == OversightAlert.Resolution.RULE_DEACTIVATED


def test_referential_is_valid_and_versioned():
    from garant.oversight import referential

    codes = referential.codes()
    assert codes.version == "2026.1"
    assert set(codes.outcomes) == set(rates.OUTCOMES)
    assert "clinical_judgement" in codes.reasons and "infirmier" in codes.roles
    json.dumps(codes.blind)


def test_the_documented_payloads_are_accepted(world):
    """Every `{"events": …}` example of docs/oversight.md (the sending example and the CDS
    Hooks mapping's) is accepted as written, system 12 being the world's system."""
    import re
    from pathlib import Path

    from tests.conftest import make_feed

    system = world["a"]["system"]
    make_feed(system, name="Fractures", slug="fractures", operating_threshold=0.5)
    text = (Path(__file__).resolve().parents[1] / "docs" / "oversight.md").read_text()
    blocks = [b for b in re.findall(r"```json\n(.*?)```", text, re.S) if '"events"' in b]
    assert len(blocks) >= 2
    _, client = token_for(world["a"]["est"])
    for block in blocks:
        events = json.loads(block)["events"]
        for e in events:
            e["system"] = str(e["system"]).replace("12", str(system.pk), 1)
            if e["system"].isdigit():
                e["system"] = int(e["system"])
        response = post(client, events)
        assert response.status_code == 201, response.content
        assert response.json()["stored"] == len(events)
