"""Alert rules of monitoring feeds, on real Delta tables: each kind opens an alert on data
that breaches it and not on data that does not, undefined values open nothing, resolution,
acknowledgement with a comment (audited), evaluation after ingestion, `alert_state`, the API,
the pages and tenancy."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.models import AuditEvent, Role
from garant.monitoring import alerts, ingest
from garant.monitoring.models import Alert, AlertRule
from tests.conftest import make_feed, token_client

JSON = "application/json"
TODAY = dt.date(2024, 6, 30)


@pytest.fixture(autouse=True)
def monitoring_dir(settings, tmp_path):
    settings.GARANT_MONITORING_DIR = tmp_path / "monitoring"


@pytest.fixture
def feed(world):
    return make_feed(world["a"]["system"], operating_threshold=0.5, subgroup_columns=["site"])


_counter = iter(range(10**9))


def store(feed, rows, today=TODAY):
    """rows: (days before `today`, score, label or None, site); outcomes 1 h later."""
    predictions, outcomes = [], []
    for days_ago, score, label, site in rows:
        pid = f"p{next(_counter)}"
        moment = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(10), dt.UTC)
        predictions.append(
            {
                "prediction_id": pid,
                "timestamp": moment.isoformat(),
                "patient_id": f"S{pid}",
                "score": score,
                "model_version": "1",
                "site": site,
            }
        )
        if label is not None:
            later = (moment + dt.timedelta(hours=1)).isoformat()
            outcomes.append({"prediction_id": pid, "outcome": label, "outcome_time": later})
    ingest.ingest(feed, "predictions", ingest.read_records(predictions), "api")
    if outcomes:
        ingest.ingest(feed, "outcomes", ingest.read_records(outcomes), "api")


def discriminating(days, good=True, site="A", n=10):
    """n/2 positives and n/2 negatives per day; scores rank them right (good) or wrong."""
    rows = []
    for d in days:
        for i in range(n):
            label = i % 2
            high = 0.8 + i / 100
            low = 0.2 + i / 100
            score = (high if label else low) if good else (low if label else high)
            rows.append((d, score, label, site))
    return rows


def rule(feed, kind, threshold, **extra):
    with audit_context(source="test"):
        return AlertRule.objects.create(feed=feed, kind=kind, threshold=threshold, **extra)


def test_auc_below_opens_an_alert_only_when_breached(feed):
    auc = rule(feed, "auc_below", 0.7)
    store(feed, discriminating(range(0, 5), good=True))
    assert alerts.evaluate_feed(feed, TODAY) == []
    auc.refresh_from_db()
    assert auc.last_value == 1.0 and "AUC 1,000" in auc.last_status
    store(feed, discriminating(range(5, 15), good=False))
    opened = alerts.evaluate_feed(feed, TODAY)
    assert len(opened) == 1 and opened[0].value < 0.7 and opened[0].state == "open"
    assert "sous le plancher 0,700" in opened[0].message
    assert alerts.evaluate_feed(feed, TODAY) == []  # still breached: no second alert
    assert Alert.objects.count() == 1


def test_undefined_auc_opens_nothing_and_says_why(feed):
    auc = rule(feed, "auc_below", 0.7)
    store(feed, [(d, 0.9, 0, "A") for d in range(5)])  # one class only
    assert alerts.evaluate_feed(feed, TODAY) == []
    auc.refresh_from_db()
    assert auc.last_value is None and "une seule classe" in auc.last_status
    assert not Alert.objects.exists()


def test_psi_above(feed):
    psi = rule(feed, "psi_above", 0.2, window_days=10)
    store(feed, [(d, 0.1 + (d % 5) / 100, None, "A") for d in range(10, 20)])  # reference
    store(feed, [(d, 0.1 + (d % 5) / 100, None, "A") for d in range(0, 10)])  # same
    assert alerts.evaluate_feed(feed, TODAY) == []
    psi.refresh_from_db()
    assert psi.last_value is not None and psi.last_value < 0.2
    later = TODAY + dt.timedelta(days=10)  # reference = the same days, current: shifted
    store(feed, [(d, 0.9 - (d % 5) / 100, None, "A") for d in range(0, 10)], today=later)
    opened = alerts.evaluate_feed(feed, later)
    assert len(opened) == 1 and opened[0].value > 0.2 and "PSI du score" in opened[0].message


def test_subgroup_sensitivity_ratio_outside_tolerance(feed):
    ratio = rule(feed, "subgroup_ratio_outside", 0.8, subgroup_column="site")
    store(feed, discriminating(range(3), site="A") + discriminating(range(2), site="B"))
    assert alerts.evaluate_feed(feed, TODAY) == []
    ratio.refresh_from_db()
    assert ratio.last_value == 1.0
    # site C: every positive below the threshold, sensitivity 0
    store(feed, [(d, 0.1, i % 2, "C") for d in range(2) for i in range(10)])
    opened = alerts.evaluate_feed(feed, TODAY)
    assert len(opened) == 1 and opened[0].value == 0.0 and "site = C" in opened[0].message


def test_subgroup_rule_with_no_comparable_group_is_undefined(feed):
    ratio = rule(feed, "subgroup_ratio_outside", 0.8, subgroup_column="site")
    store(feed, discriminating(range(3), site="A"))
    assert alerts.evaluate_feed(feed, TODAY) == []
    ratio.refresh_from_db()
    assert ratio.last_value is None and "indéfini" in ratio.last_status


def test_volume_drop(feed):
    volume = rule(feed, "volume_drop", 0.5)
    steady = [(d, 0.3, None, "A") for d in range(1, 36) for _ in range(4)]
    store(feed, steady)
    assert alerts.evaluate_feed(feed, TODAY) == []
    volume.refresh_from_db()
    assert volume.last_value == 0.0
    later = TODAY + dt.timedelta(days=7)  # the last 7 days: 1 a day instead of 4
    store(feed, [(d, 0.3, None, "A") for d in range(1, 8)], today=later)
    opened = alerts.evaluate_feed(feed, later)
    assert len(opened) == 1 and opened[0].value == 0.75


def test_outcomes_late(feed):
    late = rule(feed, "outcomes_late", 0.2)
    store(feed, discriminating(range(3, 10)))  # every outcome received
    assert alerts.evaluate_feed(feed, TODAY) == []
    late.refresh_from_db()
    assert late.last_value == 0.0
    store(feed, [(d, 0.4, None, "A") for d in range(3, 10) for _ in range(10)])
    store(feed, [(0, 0.4, None, "A")] * 1)  # today: not yet due, not counted
    opened = alerts.evaluate_feed(feed, TODAY)
    assert len(opened) == 1 and opened[0].value == 0.5
    assert "70 prédiction(s) sur 140" in opened[0].message


def test_an_alert_is_resolved_when_back_to_normal(feed):
    rule(feed, "auc_below", 0.7, window_days=10)
    store(feed, discriminating(range(20, 25), good=False) + discriminating(range(0, 5)))
    earlier = TODAY - dt.timedelta(days=18)
    [alert] = alerts.evaluate_feed(feed, earlier)
    with audit_context(source="test"):
        alerts.acknowledge(alert, None, "Vu en comité")
    assert alerts.evaluate_feed(feed, earlier) == []  # acknowledged: not opened again
    assert alerts.evaluate_feed(feed, TODAY) == []
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolved_at is not None


def test_evaluation_runs_after_an_ingestion(feed, django_capture_on_commit_callbacks):
    rule(feed, "outcomes_late", 0.2)
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        store(feed, [(5, 0.4, None, "A")] * 3, today=today)
    assert Alert.objects.filter(state="open", rule__kind="outcomes_late").count() == 1


def test_acknowledge_needs_a_comment_and_is_audited(world, feed):
    rule(feed, "auc_below", 0.7)
    store(feed, discriminating(range(5), good=False))
    [alert] = alerts.evaluate_feed(feed, TODAY)
    url = f"/api/alerts/{alert.pk}/acknowledge"
    referent = token_client(world["users"]["a"][Role.REFERENT])
    assert referent.post(url, {"comment": "  "}, content_type=JSON).status_code == 422
    assert referent.post(url, {}, content_type=JSON).status_code == 422
    for comment in ("vu\x00", "x" * 2001):  # a NUL byte, over 2,000 characters (issue 19)
        response = referent.post(url, {"comment": comment}, content_type=JSON)
        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert error["field"] == "comment" and error["message"]
    auditor = token_client(world["users"]["a"][Role.AUDITOR])
    assert auditor.post(url, {"comment": "vu"}, content_type=JSON).status_code == 403
    alert.refresh_from_db()
    assert alert.state == "open"
    response = referent.post(url, {"comment": "Recalibrage demandé"}, content_type=JSON)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == "acknowledged" and body["comment"] == "Recalibrage demandé"
    assert body["acknowledged_by"] == world["users"]["a"][Role.REFERENT].username
    event = AuditEvent.objects.filter(object_type="monitoring.alert", action="update").last()
    assert event is not None and event.changes["comment"][1] == "Recalibrage demandé"
    assert event.actor_id == world["users"]["a"][Role.REFERENT].pk
    again = referent.post(url, {"comment": "encore"}, content_type=JSON)
    assert again.status_code == 409


def test_alert_state_and_api_reflect_states(world, feed):
    system = world["a"]["system"]
    assert alerts.alert_state(system) == {
        "open": 0,
        "acknowledged": 0,
        "worst": None,
        "alerts": [],
    }
    rule(feed, "auc_below", 0.7)
    rule(feed, "outcomes_late", 0.2)
    store(feed, discriminating(range(3, 8), good=False))
    store(feed, [(4, 0.4, None, "A")] * 60)
    opened = alerts.evaluate_feed(feed, TODAY)
    assert {a.rule.kind for a in opened} == {"auc_below", "outcomes_late"}
    state = alerts.alert_state(system)
    assert state["open"] == 2 and state["acknowledged"] == 0 and state["worst"] == "auc_below"
    auc_alert = next(a for a in opened if a.rule.kind == "auc_below")
    alerts.acknowledge(auc_alert, world["users"]["a"][Role.REFERENT], "suivi")
    state = alerts.alert_state(system)
    assert (state["open"], state["acknowledged"], state["worst"]) == (1, 1, "outcomes_late")
    api = token_client(world["users"]["a"][Role.AUDITOR])
    listed = api.get(f"/api/feeds/{feed.pk}/alerts").json()
    assert {(a["kind"], a["state"]) for a in listed} == {
        ("auc_below", "acknowledged"),
        ("outcomes_late", "open"),
    }
    only_open = api.get(f"/api/feeds/{feed.pk}/alerts?state=open").json()
    assert [a["kind"] for a in only_open] == ["outcomes_late"]
    rules = api.get(f"/api/feeds/{feed.pk}/rules").json()
    assert {r["kind"] for r in rules} == {"auc_below", "outcomes_late"}
    assert all(r["last_evaluated_at"] for r in rules)


def test_rules_api_validates_and_needs_change(world, feed):
    url = f"/api/feeds/{feed.pk}/rules"
    auditor = token_client(world["users"]["a"][Role.AUDITOR])
    payload = {"kind": "psi_above", "threshold": 0.2}
    assert auditor.post(url, payload, content_type=JSON).status_code == 403
    referent = token_client(world["users"]["a"][Role.REFERENT])
    response = referent.post(url, payload, content_type=JSON)
    assert response.status_code == 201 and response.json()["window_days"] == 30
    bad = {"kind": "subgroup_ratio_outside", "threshold": 0.8, "subgroup_column": "age"}
    assert referent.post(url, bad, content_type=JSON).status_code == 422
    bad = {"kind": "auc_below", "threshold": 1.5}
    assert referent.post(url, bad, content_type=JSON).status_code == 422
    bad = {"kind": "nonsense", "threshold": 0.5}
    assert referent.post(url, bad, content_type=JSON).status_code == 422
    assert AlertRule.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="monitoring.alertrule").exists()


def test_pages_show_rules_alerts_and_the_open_count(world, client_for, feed):
    store(feed, discriminating(range(5), good=False))
    referent = client_for(world["users"]["a"][Role.REFERENT])
    response = referent.post(
        reverse("monitoring:alert_rule_add", args=[feed.pk]),
        {"kind": "auc_below", "threshold": "0.7", "window_days": "3650", "active": "on"},
    )
    assert response.status_code == 302 and AlertRule.objects.count() == 1
    alert = Alert.objects.get()  # evaluated when the rule is added
    page = referent.get(feed.get_absolute_url()).content.decode()
    assert "Règles d'alerte" in page and alert.message in page and "Prendre en compte" in page
    tab = referent.get(reverse("monitoring:system_feeds", args=[feed.ai_system_id]))
    assert "1 alerte ouverte" in tab.content.decode()
    url = reverse("monitoring:alert_acknowledge", args=[alert.pk])
    referent.post(url, {"comment": ""})
    alert.refresh_from_db()
    assert alert.state == "open"
    referent.post(url, {"comment": "Vu"})
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.comment == "Vu"
    auditor = client_for(world["users"]["a"][Role.AUDITOR])
    page = auditor.get(feed.get_absolute_url()).content.decode()
    assert "Ajouter une règle" not in page and "Vu" in page
    assert auditor.post(url, {"comment": "x"}).status_code == 403


def test_command_line_evaluate(feed):
    rule(feed, "auc_below", 0.7)
    store(feed, discriminating(range(5), good=False))
    out = io.StringIO()
    call_command("monitor", "evaluate", "--date", TODAY.isoformat(), stdout=out)
    assert f"{feed.reference} : 1 alerte(s)" in out.getvalue()
    call_command(
        "monitor", "evaluate", "--feed", feed.reference, "--date", "2024-06-30", stdout=out
    )
    assert Alert.objects.count() == 1


# --- editing, deactivating and deleting rules ---------------------------------------------


def rule_events(rule_id, action):
    return AuditEvent.objects.filter(
        object_type="monitoring.alertrule", object_id=str(rule_id), action=action
    )


def breached(feed, **extra):
    """An AUC rule with an open alert (a window wide enough for evaluation as of today)."""
    auc = rule(feed, "auc_below", 0.7, window_days=3650, **extra)
    store(feed, discriminating(range(5), good=False))
    [alert] = alerts.evaluate_feed(feed, TODAY)
    return auc, alert


def test_a_rule_is_edited_with_the_checks_of_the_add_form(world, client_for, feed):
    psi = rule(feed, "psi_above", 0.2)
    url = reverse("monitoring:alert_rule_edit", args=[psi.pk])
    referent = client_for(world["users"]["a"][Role.REFERENT])
    page = referent.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="threshold"' in body and 'value="0.2"' in body
    assert 'name="kind"' in body and "disabled" in body  # shown, not editable
    refused = referent.post(url, {"threshold": "-1", "window_days": "10", "active": "on"})
    assert refused.status_code == 200
    assert "Le seuil du PSI doit être positif." in refused.content.decode()
    refused = referent.post(url, {"threshold": "0.3", "window_days": "0", "active": "on"})
    assert "La fenêtre doit compter au moins un jour." in refused.content.decode()
    refused = referent.post(url, {"threshold": "0.3", "window_days": "99999", "active": "on"})
    assert "La fenêtre ne peut pas dépasser 3650 jours." in refused.content.decode()
    refused = referent.post(
        url, {"kind": "auc_below", "threshold": "0.3", "window_days": "10", "active": "on"}
    )
    assert "Le type d&#x27;une règle ne peut pas être modifié" in refused.content.decode()
    psi.refresh_from_db()
    assert (psi.kind, psi.threshold, psi.window_days) == ("psi_above", 0.2, 30)
    assert not rule_events(psi.pk, "update").exists()
    response = referent.post(url, {"threshold": "0.25", "window_days": "14", "active": "on"})
    assert response.status_code == 302
    assert response["Location"] == f"{feed.get_absolute_url()}#alertes"
    psi.refresh_from_db()
    assert (psi.kind, psi.threshold, psi.window_days, psi.active) == ("psi_above", 0.25, 14, True)
    [event] = rule_events(psi.pk, "update")
    assert event.changes == {"threshold": [0.2, 0.25], "window_days": [30, 14]}
    assert event.actor_id == world["users"]["a"][Role.REFERENT].pk and event.source == "ui"


def test_the_subgroup_rule_keeps_its_column_checks_when_edited(world, client_for, feed):
    ratio = rule(feed, "subgroup_ratio_outside", 0.8, subgroup_column="site")
    url = reverse("monitoring:alert_rule_edit", args=[ratio.pk])
    referent = client_for(world["users"]["a"][Role.REFERENT])
    refused = referent.post(url, {"threshold": "0.8", "window_days": "30", "subgroup_column": ""})
    assert "Choisissez une des colonnes de sous-groupes du flux." in refused.content.decode()
    refused = referent.post(
        url, {"threshold": "1.5", "window_days": "30", "subgroup_column": "site"}
    )
    assert "Le rapport minimal doit être compris entre 0 et 1" in refused.content.decode()
    ratio.refresh_from_db()
    assert ratio.threshold == 0.8 and ratio.subgroup_column == "site"


def test_deactivation_closes_the_alerts_in_progress_and_stops_evaluation(world, client_for, feed):
    auc, alert = breached(feed)
    late = rule(feed, "outcomes_late", 0.2, window_days=3650)
    store(feed, [(4, 0.4, None, "A")] * 60)
    [late_alert] = alerts.evaluate_feed(feed, TODAY)
    alerts.acknowledge(late_alert, world["users"]["a"][Role.REFERENT], "Relance du DIM")
    referent = client_for(world["users"]["a"][Role.REFERENT])
    page = referent.get(feed.get_absolute_url()).content.decode()
    assert "(clôt l'alerte en cours)" in page
    for r, a in ((auc, alert), (late, late_alert)):
        response = referent.post(reverse("monitoring:alert_rule_deactivate", args=[r.pk]))
        assert response.status_code == 302
        r.refresh_from_db()
        a.refresh_from_db()
        assert r.active is False
        assert a.state == "resolved" and a.resolution == "rule_deactivated" and a.resolved_at
        [event] = rule_events(r.pk, "update")
        assert event.changes == {"active": [True, False]}
        assert event.actor_id == world["users"]["a"][Role.REFERENT].pk
        closing = AuditEvent.objects.filter(
            object_type="monitoring.alert", object_id=str(a.pk), action="update"
        ).latest("id")
        assert closing.changes["state"][1] == "resolved"
        assert closing.changes["resolution"] == ["", "rule_deactivated"]
        assert closing.actor_id == world["users"]["a"][Role.REFERENT].pk
    assert late_alert.comment == "Relance du DIM"  # the acknowledgement is kept
    assert alerts.alert_state(feed.ai_system)["open"] == 0
    # not evaluated any more: no alert, no new evaluation, although still breached
    evaluated_at = auc.last_evaluated_at
    assert alerts.evaluate_feed(feed, TODAY) == []
    auc.refresh_from_db()
    assert auc.last_evaluated_at == evaluated_at
    page = referent.get(feed.get_absolute_url()).content.decode()
    assert "Alertes closes récemment" in page and "règle désactivée" in page
    assert "Aucune alerte en cours." in page and "désactivée" in page
    # reactivated: evaluated at once, a new alert opens (the old one stays closed)
    assert (
        referent.post(reverse("monitoring:alert_rule_activate", args=[auc.pk])).status_code == 302
    )
    auc.refresh_from_db()
    assert auc.active is True
    assert auc.alerts.filter(state="open").count() == 1
    alert.refresh_from_db()
    assert alert.resolution == "rule_deactivated"


def test_deactivating_through_the_edit_form_closes_the_alert_too(world, client_for, feed):
    auc, alert = breached(feed)
    referent = client_for(world["users"]["a"][Role.REFERENT])
    url = reverse("monitoring:alert_rule_edit", args=[auc.pk])
    response = referent.post(url, {"threshold": "0.7", "window_days": "3650"})  # unticked
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolution == "rule_deactivated"
    assert not Alert.objects.filter(state="open").exists()  # not evaluated, not reopened


def test_a_rule_going_back_to_normal_says_so(feed):
    auc, alert = breached(feed)
    store(feed, discriminating(range(5), good=True) * 3)
    alerts.evaluate_feed(feed, TODAY)
    alert.refresh_from_db()
    assert alert.state == "resolved" and alert.resolution == "back_to_normal"


def test_a_rule_deactivated_during_its_evaluation_opens_nothing(feed, monkeypatch):
    auc = rule(feed, "auc_below", 0.7)
    store(feed, discriminating(range(5), good=False))
    real = alerts.check_rules

    def deactivated_meanwhile(*args, **kwargs):
        checks = real(*args, **kwargs)
        AlertRule.objects.filter(pk=auc.pk).update(active=False)
        return checks

    monkeypatch.setattr(alerts, "check_rules", deactivated_meanwhile)
    assert alerts.evaluate_feed(feed, TODAY) == []
    assert not Alert.objects.exists()


def test_only_a_rule_that_never_raised_an_alert_is_deleted(world, client_for, feed):
    quiet = rule(feed, "volume_drop", 0.5)
    auc, alert = breached(feed)
    referent = client_for(world["users"]["a"][Role.REFERENT])
    page = referent.get(reverse("monitoring:alert_rule_delete", args=[quiet.pk])).content.decode()
    assert "Supprimer la règle" in page and "jamais déclenché" in page
    response = referent.post(reverse("monitoring:alert_rule_delete", args=[quiet.pk]))
    assert response.status_code == 302
    assert not AlertRule.objects.filter(pk=quiet.pk).exists()
    [event] = rule_events(quiet.pk, "delete")
    assert event.changes["kind"] == ["volume_drop", None]
    assert event.actor_id == world["users"]["a"][Role.REFERENT].pk
    url = reverse("monitoring:alert_rule_delete", args=[auc.pk])
    page = referent.get(url).content.decode()
    assert "ne peut pas être supprimée" in page and "Désactiver la règle" in page
    assert "Supprimer la règle</button>" not in page
    response = referent.post(url, follow=True)
    assert "Désactivez-la : elle ne sera plus évaluée." in response.content.decode()
    assert AlertRule.objects.filter(pk=auc.pk).exists() and Alert.objects.filter(pk=alert.pk)
    assert not rule_events(auc.pk, "delete").exists()


def test_alerts_are_kept_even_against_a_direct_deletion(feed):
    auc, alert = breached(feed)
    from django.db.models import RestrictedError

    with pytest.raises(RestrictedError):
        auc.delete()
    with pytest.raises(alerts.RuleHasAlerts):
        alerts.delete_rule(auc)
    assert Alert.objects.filter(pk=alert.pk).exists()
    with audit_context(source="test"):
        feed.delete()  # the whole feed still goes, with its rules and alerts
    assert not AlertRule.objects.exists() and not Alert.objects.exists()


def test_rule_pages_need_change_and_stay_in_the_establishment(world, client_for, feed):
    auc, alert = breached(feed)
    auditor = client_for(world["users"]["a"][Role.AUDITOR])
    page = auditor.get(feed.get_absolute_url()).content.decode()
    assert (
        "Désactiver" not in page
        and reverse("monitoring:alert_rule_edit", args=[auc.pk]) not in page
    )
    other = client_for(world["users"]["b"][Role.ADMIN])
    urls = [
        reverse(name, args=[auc.pk])
        for name in (
            "monitoring:alert_rule_edit",
            "monitoring:alert_rule_activate",
            "monitoring:alert_rule_deactivate",
            "monitoring:alert_rule_delete",
        )
    ]
    data = {"threshold": "0.1", "window_days": "5"}
    for url in urls:
        assert auditor.post(url, data).status_code == 403, url
        assert other.post(url, data).status_code == 404, url
    assert auditor.get(urls[0]).status_code == 403
    assert other.get(urls[0]).status_code == 404
    assert other.get(urls[3]).status_code == 404
    auc.refresh_from_db()
    alert.refresh_from_db()
    assert (auc.threshold, auc.active, alert.state) == (0.7, True, "open")
    assert client_for(world["users"]["a"][Role.REFERENT]).get(urls[1]).status_code == 405


def test_rules_api_edit_deactivate_delete(world, feed):
    auc, alert = breached(feed)
    quiet = rule(feed, "psi_above", 0.2)
    referent = token_client(world["users"]["a"][Role.REFERENT])
    url = f"/api/rules/{quiet.pk}"
    assert referent.get(url).json()["threshold"] == 0.2
    response = referent.patch(url, {"threshold": 0.3, "window_days": 14}, content_type=JSON)
    assert response.status_code == 200, response.json()
    assert (response.json()["threshold"], response.json()["window_days"]) == (0.3, 14)
    assert response.json()["kind"] == "psi_above" and response.json()["active"] is True
    [event] = rule_events(quiet.pk, "update")
    assert event.changes == {"threshold": [0.2, 0.3], "window_days": [30, 14]}
    assert event.source == "api" and event.actor_id == world["users"]["a"][Role.REFERENT].pk
    for payload, field, message in (
        ({"threshold": -1}, "threshold", "Le seuil du PSI doit être positif."),
        ({"threshold": None}, "threshold", "Ce champ est obligatoire."),
        ({"window_days": 0}, "window_days", "La fenêtre doit compter au moins un jour."),
        ({"kind": "auc_below"}, "kind", "Le type d'une règle ne peut pas être modifié"),
        ({"active": None}, "active", "Saisissez true ou false."),
        ({"threshold": "beaucoup"}, "threshold", None),
        ({"window_days": 1e30}, "window_days", "Saisissez un nombre entier."),
        ({"window_days": 10**30}, "window_days", "La fenêtre ne peut pas dépasser 3650 jours."),
    ):
        refused = referent.patch(url, payload, content_type=JSON)
        assert refused.status_code == 422, (payload, refused.content)
        [error] = refused.json()["detail"]
        assert error["field"] == field
        assert message is None or error["message"].startswith(message), error
    quiet.refresh_from_db()
    assert (quiet.kind, quiet.threshold, quiet.window_days) == ("psi_above", 0.3, 14)
    # deactivation closes the open alert
    response = referent.patch(f"/api/rules/{auc.pk}", {"active": False}, content_type=JSON)
    assert response.status_code == 200 and response.json()["active"] is False
    [listed] = referent.get(f"/api/feeds/{feed.pk}/alerts").json()
    assert listed["state"] == "resolved" and listed["resolution"] == "rule_deactivated"
    # deletion: refused while alerts exist, done otherwise
    response = referent.delete(f"/api/rules/{auc.pk}")
    assert response.status_code == 409
    assert (
        "font preuve" in response.json()["detail"] and "Désactivez-la" in response.json()["detail"]
    )
    assert referent.delete(url).status_code == 204
    assert not AlertRule.objects.filter(pk=quiet.pk).exists()
    [event] = rule_events(quiet.pk, "delete")
    assert event.source == "api"
    assert referent.delete(url).status_code == 404


def test_rules_api_permissions_and_tenancy(world, feed):
    auc, alert = breached(feed)
    url = f"/api/rules/{auc.pk}"
    auditor = token_client(world["users"]["a"][Role.AUDITOR])
    assert auditor.get(url).status_code == 200
    assert auditor.patch(url, {"active": False}, content_type=JSON).status_code == 403
    assert auditor.delete(url).status_code == 403
    other = token_client(world["users"]["b"][Role.ADMIN])
    assert other.get(url).status_code == 404
    assert other.patch(url, {"active": False}, content_type=JSON).status_code == 404
    assert other.delete(url).status_code == 404
    assert (
        token_client(world["users"]["a"][Role.REFERENT]).get("/api/rules/999999").status_code == 404
    )
    auc.refresh_from_db()
    alert.refresh_from_db()
    assert auc.active is True and alert.state == "open"
    assert not rule_events(auc.pk, "update").exists()


def test_figures_in_messages_are_french_and_never_minus_zero():
    assert alerts._fr(0.81234) == "0,812"
    assert alerts._percent(-0.00001) == "0,0 %"
    assert alerts._percent(-0.5) == "-50,0 %"
