"""An alert leads to action: the new rule kinds (feature drift, calibration) on the demo's
drifting feed, outcome lag and volume on crafted data, the drift reference chosen from the
page, the API and the command line, the alert's page in plain French, the dashboard at the
alert's window, acknowledged alerts staying in progress until back to normal, explicit
resolution with a note, the action and the agenda item opened from an alert (governance),
and systems in routine use without a feed shown as a gap."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import audit_context
from garant.core.models import AuditEvent, Role
from garant.core.referentials import ReferentialError
from garant.demo.monitoring import DRIFTING, load_demo_feed
from garant.governance.models import Action, AgendaItem, Committee, Meeting
from garant.monitoring import alerts, rule_kinds
from garant.monitoring.alert_forms import AlertRuleForm
from garant.monitoring.models import Alert, AlertRule
from tests.conftest import make_feed, make_system, token_client
from tests.test_monitoring_alerts import TODAY, discriminating, rule, store

JSON = "application/json"


@pytest.fixture
def feed(world):
    return make_feed(world["a"]["system"], operating_threshold=0.5, subgroup_columns=["site"])


@pytest.fixture
def feature_feed(world):
    return make_feed(
        world["a"]["system"],
        slug="variables",
        operating_threshold=0.5,
        subgroup_columns=["site"],
        feature_columns=["lactate"],
        categorical_columns=["service"],
    )


def store_features(feed, rows, today=TODAY):
    """rows: (days before `today`, score, label or None, lactate, service)."""
    from garant.monitoring import ingest

    predictions, outcomes = [], []
    for i, (days_ago, score, label, lactate, service) in enumerate(rows):
        pid = f"f{days_ago}-{i}-{today:%m%d}"
        moment = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(10), dt.UTC)
        predictions.append(
            {
                "prediction_id": pid,
                "timestamp": moment.isoformat(),
                "patient_id": f"S{pid}",
                "score": score,
                "model_version": "1",
                "site": "A",
                "lactate": lactate,
                "service": service,
            }
        )
        if label is not None:
            later = (moment + dt.timedelta(hours=1)).isoformat()
            outcomes.append({"prediction_id": pid, "outcome": label, "outcome_time": later})
    ingest.ingest(feed, "predictions", ingest.read_records(predictions), "api")
    if outcomes:
        ingest.ingest(feed, "outcomes", ingest.read_records(outcomes), "api")


# --- the demo's drifting feed ------------------------------------------------------------------


@pytest.fixture
def drifting(world):
    today = timezone.localdate()
    with audit_context(source="test"):
        system = make_system(world["a"]["est"], name=DRIFTING.system)
        feed = load_demo_feed(DRIFTING, system, today, days=70, per_day=40)
    alerts.evaluate_feed(feed)  # as when the ingestion commits
    return feed


def test_feature_drift_and_calibration_rules_fire_on_the_demo_drift(drifting):
    today = timezone.localdate()
    opened = {a.rule.kind: a for a in Alert.objects.filter(feed=drifting, state="open")}
    assert set(opened) == {
        "psi_above",
        "subgroup_ratio_outside",
        "feature_psi_above",
        "oe_ratio_outside",
    }
    # the lactate drifted upwards (a new dosage protocol): PSI far above its default 0,2
    lactate = opened["feature_psi_above"]
    assert lactate.rule.feature == "lactate" and lactate.rule.threshold == 0.2
    assert lactate.value > 0.5 and "PSI de « lactate »" in lactate.message
    assert lactate.facts["after"] > lactate.facts["before"]
    assert (lactate.window_start, lactate.window_end) == (today - dt.timedelta(days=29), today)
    assert lactate.reference_end == today - dt.timedelta(days=30)
    # the scores overstate the risk since the drift: fewer events than announced
    ratio = opened["oe_ratio_outside"]
    assert ratio.value < 0.8 and ratio.facts["observed"] < ratio.facts["expected"]
    text = alerts.plain_text(ratio)
    assert "les scores surestiment le risque" in text["how_much"]
    assert text["meaning"] == rule_kinds.text("oe_ratio_outside", "meaning")
    # the temperature did not move: its KS rule evaluated, within its limit
    ks = drifting.alert_rules.get(kind="feature_ks_above")
    assert ks.last_value is not None and ks.last_value < ks.threshold

    # an ECE rule on the same feed opens an alert too (scores no longer match the risks)
    ece = rule(drifting, "ece_above", 0.05)
    [alert] = alerts.evaluate_feed(drifting)
    assert alert.rule == ece and alert.value > 0.05
    assert "Risque annoncé en moyenne" in alerts.plain_text(alert)["how_much"]


# --- crafted data: feature KS, outcome lag, volume -------------------------------------------


def test_feature_ks_rule_on_crafted_data(feature_feed):
    feed = feature_feed
    ks = rule(feed, "feature_ks_above", 0.3, window_days=10, feature="lactate")
    store_features(feed, [(d, 0.3, None, 1.0 + k, "réa") for d in range(0, 20) for k in range(3)])
    assert alerts.evaluate_feed(feed, TODAY) == []
    ks.refresh_from_db()
    assert ks.last_value == 0.0  # the same three values every window
    later = TODAY + dt.timedelta(days=10)
    store_features(
        feed, [(d, 0.3, None, 5.0 + k, "réa") for d in range(0, 10) for k in range(3)], later
    )
    [alert] = alerts.evaluate_feed(feed, later)
    assert alert.value == 1.0 and "KS de « lactate » 1,000" in alert.message
    assert "Moyenne de « lactate » passée de 2,00 à 6,00" in alerts.how_much(alert)


def test_the_rule_form_checks_the_feature_and_proposes_defaults(feature_feed):
    feed = feature_feed

    def form(**data):
        return AlertRuleForm(data, feed=feed)

    refused = form(kind="feature_psi_above")
    assert not refused.is_valid() and "feature" in refused.errors
    assert not form(kind="feature_psi_above", feature="absent").is_valid()
    categorical = form(kind="feature_ks_above", feature="service")
    assert not categorical.is_valid()
    assert "catégorielle" in str(categorical.errors["feature"])
    psi = form(kind="feature_psi_above", feature="service")  # PSI works on categories
    assert psi.is_valid(), psi.errors
    saved = psi.save()
    assert (saved.threshold, saved.window_days) == (0.2, 30)  # from the referential
    ratio = form(kind="oe_ratio_outside", threshold="1.2")
    assert not ratio.is_valid() and "rapport minimal" in str(ratio.errors["threshold"])
    # a feature given to a rule that needs none is dropped
    ece = form(kind="ece_above", feature="lactate")
    assert ece.is_valid() and ece.cleaned_data["feature"] == ""


def test_the_referential_describes_every_kind_and_is_validated(tmp_path, monkeypatch):
    assert set(rule_kinds.kinds()) == set(AlertRule.Kind.values)
    from garant.core import referentials

    folder = tmp_path / "alert_rules"
    folder.mkdir()
    (tmp_path / "schemas").mkdir()
    schema = referentials.ROOT / "schemas" / "alert_rules.schema.json"
    (tmp_path / "schemas" / "alert_rules.schema.json").write_text(schema.read_text())
    text = (referentials.ROOT / "alert_rules" / "2026.1.yaml").read_text()
    (folder / "2026.1.yaml").write_text(text.replace("bounds: ratio", "bounds: anything", 1))
    monkeypatch.setattr(referentials, "ROOT", tmp_path)
    referentials.load.cache_clear()
    try:
        with pytest.raises(ReferentialError, match="oe_ratio_outside/bounds"):
            referentials.load("alert_rules")
    finally:
        referentials.load.cache_clear()


def test_outcome_lag_and_volume_alerts_say_how_much(feed):
    rule(feed, "outcomes_late", 0.2)
    store(feed, [(d, 0.4, None, "A") for d in range(3, 10) for _ in range(4)])
    [late] = alerts.evaluate_feed(feed, TODAY)
    assert alerts.how_much(late) == (
        "28 prédictions sur 28 toujours sans issue 48 h après la prédiction "
        "(100,0 %, seuil 20,0 %)."
    )
    volume = rule(feed, "volume_drop", 0.5)
    store(feed, [(d, 0.3, None, "A") for d in range(10, 40) for _ in range(3)])
    later = TODAY + dt.timedelta(days=9)  # nothing in the last 7 complete days
    opened = [a for a in alerts.evaluate_feed(feed, later) if a.rule == volume]
    assert len(opened) == 1 and opened[0].value == 1.0
    assert "0,0 prédictions par jour sur les 7 derniers jours complets" in alerts.how_much(
        opened[0]
    )
    assert opened[0].window_end == later - dt.timedelta(days=1)


# --- drift reference: page, API, command line ---------------------------------------------------


def _drifted_scores(feed):
    """Scores low 40-60 days ago (the validation period), high since: against a rolling
    reference the last window equals the previous one; against the validation it drifted."""
    store(feed, [(d, 0.1 + (d % 5) / 100, None, "A") for d in range(40, 60)])
    store(feed, [(d, 0.8 + (d % 5) / 100, None, "A") for d in range(0, 40)])


def test_drift_reference_from_the_page(world, client_for, feed):
    psi = rule(feed, "psi_above", 0.2, window_days=10)
    _drifted_scores(feed)
    assert alerts.evaluate_feed(feed, TODAY) == []  # rolling: no change window to window
    referent = client_for(world["users"]["a"][Role.REFERENT])
    url = reverse("monitoring:drift_reference", args=[feed.pk])
    refused = referent.post(url, {"drift_reference": "fixed", "reference_start": "2024-05-01"})
    assert refused.status_code == 302
    feed.refresh_from_db()
    assert feed.drift_reference == "rolling"
    sent = {
        "drift_reference": "fixed",
        "reference_start": "2024-05-01",
        "reference_end": "2024-05-20",
    }
    referent.post(url, sent)
    feed.refresh_from_db()
    assert feed.fixed_reference == (dt.date(2024, 5, 1), dt.date(2024, 5, 20))
    [alert] = alerts.evaluate_feed(feed, TODAY)
    assert alert.rule == psi and "référence fixe du 01/05/2024 au 20/05/2024" in alert.message
    assert (alert.reference_start, alert.reference_end) == feed.fixed_reference
    page = referent.get(feed.get_absolute_url()).content.decode()
    assert "Période fixe du 01/05/2024 au 20/05/2024" in page
    viewer = client_for(world["users"]["a"][Role.CONTRIBUTOR])
    assert viewer.post(url, {"drift_reference": "rolling"}).status_code == 403
    event = AuditEvent.objects.filter(object_type="monitoring.feed", action="update").last()
    assert event.changes["drift_reference"] == ["rolling", "fixed"]


def test_drift_reference_from_the_api(world, feed):
    url = f"/api/feeds/{feed.pk}/drift-reference"
    referent = token_client(world["users"]["a"][Role.REFERENT])
    bad = {
        "drift_reference": "fixed",
        "reference_start": "2024-05-20",
        "reference_end": "2024-05-01",
    }
    refused = referent.put(url, bad, content_type=JSON)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["detail"]] == ["reference_end"]
    good = {**bad, "reference_start": "01/05/2024", "reference_end": "2024-05-20"}
    response = referent.put(url, good, content_type=JSON)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["drift_reference"], body["reference_start"]) == ("fixed", "2024-05-01")
    back = referent.put(url, {"drift_reference": "rolling"}, content_type=JSON).json()
    assert (back["drift_reference"], back["reference_start"]) == ("rolling", None)
    reader = token_client(world["users"]["a"][Role.AUDITOR])
    assert reader.put(url, good, content_type=JSON).status_code == 403
    other = token_client(world["users"]["b"][Role.ADMIN])
    assert other.put(url, good, content_type=JSON).status_code == 404


def test_drift_reference_from_the_command_line(feed):
    out = io.StringIO()
    ref = feed.reference
    call_command(
        "monitor", "reference", "--feed", ref, "--fixed", "--from", "2024-05-01",
        "--to", "2024-05-20", stdout=out,
    )  # fmt: skip
    assert "référence fixe du 01/05/2024 au 20/05/2024" in out.getvalue()
    feed.refresh_from_db()
    assert feed.fixed_reference == (dt.date(2024, 5, 1), dt.date(2024, 5, 20))
    with pytest.raises(CommandError, match="Une référence fixe a besoin d'une fin"):
        call_command("monitor", "reference", "--feed", ref, "--fixed", "--from", "2024-05-01")
    call_command("monitor", "reference", "--feed", ref, "--rolling", stdout=out)
    feed.refresh_from_db()
    assert feed.fixed_reference is None and feed.reference_start is None


# --- the alert's life: acknowledged stays in progress, auto-close, explicit resolution ------------


def test_an_acknowledged_alert_stays_in_progress_until_back_to_normal(world, client_for, feed):
    rule(feed, "auc_below", 0.7, window_days=10)
    store(feed, discriminating(range(20, 25), good=False) + discriminating(range(0, 5)))
    earlier = TODAY - dt.timedelta(days=18)
    [alert] = alerts.evaluate_feed(feed, earlier)
    with audit_context(source="test"):
        alerts.acknowledge(alert, None, "Vu avec l'équipe")
    assert alerts.evaluate_feed(feed, earlier) == []
    alert.refresh_from_db()
    assert alert.state == "acknowledged" and alert.ongoing  # still breached: in progress
    viewer = client_for(world["users"]["a"][Role.CONTRIBUTOR])
    overview = viewer.get(reverse("monitoring:overview")).content.decode()
    assert "alerte en cours (prise en compte)" in overview
    assert "1 avec une alerte prise en compte, toujours en cours" in overview
    home = viewer.get(reverse("home")).content.decode()
    assert "1 alerte prise en compte, toujours en cours" in home

    assert alerts.evaluate_feed(feed, TODAY) == []  # the AUC is back above its floor
    alert.refresh_from_db()
    assert (alert.state, alert.resolution) == ("resolved", "back_to_normal")
    page = viewer.get(alert.get_absolute_url()).content.decode()
    assert "Close automatiquement le" in page and "revenu à la normale" in page
    feed_page = viewer.get(feed.get_absolute_url()).content.decode()
    assert "close automatiquement : retour à la normale" in feed_page


def test_an_alert_is_resolved_explicitly_with_a_note(world, client_for, feed):
    rule(feed, "auc_below", 0.7)
    store(feed, discriminating(range(0, 5), good=False))
    [alert] = alerts.evaluate_feed(feed, TODAY)
    referent = client_for(world["users"]["a"][Role.REFERENT])
    url = reverse("monitoring:alert_resolve", args=[alert.pk])
    referent.post(url, {"note": "  ", "from": "alert"})
    alert.refresh_from_db()
    assert alert.state == "open"  # a note is required
    response = referent.post(url, {"note": "Modèle réentraîné et revalidé.", "from": "alert"})
    assert response.url == alert.get_absolute_url()
    alert.refresh_from_db()
    assert (alert.state, alert.resolution) == ("resolved", "manual")
    assert alert.resolved_by == world["users"]["a"][Role.REFERENT]
    page = referent.get(alert.get_absolute_url()).content.decode()
    assert "Modèle réentraîné et revalidé." in page and "Résolue par" in page
    event = AuditEvent.objects.filter(object_type="monitoring.alert", action="update").last()
    assert event.changes["resolution"] == ["", "manual"]

    # the API: 409 once closed; a note is required
    api = token_client(world["users"]["a"][Role.REFERENT])
    again = api.post(f"/api/alerts/{alert.pk}/resolve", {"note": "x"}, content_type=JSON)
    assert again.status_code == 409
    store(feed, discriminating(range(0, 5), good=False))
    [second] = alerts.evaluate_feed(feed, TODAY)  # still breached: a new alert opens
    empty = api.post(f"/api/alerts/{second.pk}/resolve", {"note": ""}, content_type=JSON)
    assert empty.status_code == 422
    done = api.post(f"/api/alerts/{second.pk}/resolve", {"note": "Fait"}, content_type=JSON)
    assert done.status_code == 200 and done.json()["resolution"] == "manual"
    read = api.get(f"/api/alerts/{second.pk}").json()
    assert read["resolution_note"] == "Fait" and read["text"]["todo"]
    assert (
        token_client(world["users"]["b"][Role.ADMIN]).get(f"/api/alerts/{second.pk}").status_code
        == 404
    )


# --- the alert's page, the dashboard at its window -------------------------------------------


def test_the_alert_page_speaks_plain_french_and_opens_the_dashboard_at_its_window(
    world, client_for, feed
):
    rule(feed, "psi_above", 0.2, window_days=10)
    store(feed, [(d, 0.1 + (d % 5) / 100, None, "A") for d in range(10, 20)])
    store(feed, [(d, 0.8 + (d % 5) / 100, None, "A") for d in range(0, 10)])
    [alert] = alerts.evaluate_feed(feed, TODAY)
    viewer = client_for(world["users"]["a"][Role.AUDITOR])
    page = viewer.get(alert.get_absolute_url()).content.decode()
    for heading in ("Ce qui a changé", "Depuis quand", "De combien", "pour les patients"):
        assert heading in page
    assert "Que faire" in page and "Détail statistique" in page
    assert "Score moyen passé de" in page
    window = f"du {alert.window_start:%d/%m/%Y} au {alert.window_end:%d/%m/%Y}"
    assert window in page
    assert "Prendre en compte" not in page and "Ouvrir une action" not in page  # read only
    dashboard_url = f"{reverse('monitoring:dashboard', args=[feed.pk])}?alerte={alert.pk}"
    assert dashboard_url in page
    dashboard = viewer.get(dashboard_url).content.decode()
    assert "Période de l&#x27;alerte" in dashboard or "Période de l'alerte" in dashboard
    assert f"fenêtre {window}" in dashboard
    reference = f"référence du {alert.reference_start:%d/%m/%Y} au {alert.reference_end:%d/%m/%Y}"
    assert reference in dashboard
    assert f'value="{alert.window_start:%Y-%m-%d}"' in dashboard  # the form shows the window
    # another feed's alert is ignored (the default period), never a server error
    other = make_feed(world["a"]["system"], slug="autre", operating_threshold=0.5)
    response = viewer.get(f"{reverse('monitoring:dashboard', args=[other.pk])}?alerte={alert.pk}")
    assert response.status_code == 200 and "Période de l" not in response.content.decode()
    assert (
        client_for(world["users"]["b"][Role.ADMIN]).get(alert.get_absolute_url()).status_code == 404
    )


# --- governance: an action and the committee's agenda --------------------------------------


def _meeting(establishment, days=7):
    with audit_context(source="test"):
        committee, _ = Committee.objects.get_or_create(establishment=establishment, name="Copil IA")
        return Meeting.objects.create(
            committee=committee, starts_at=timezone.now() + dt.timedelta(days=days)
        )


def test_an_action_and_an_agenda_item_are_opened_from_an_alert(world, client_for, feed):
    rule(feed, "auc_below", 0.7)
    store(feed, discriminating(range(0, 5), good=False))
    [alert] = alerts.evaluate_feed(feed, TODAY)
    referent_user = world["users"]["a"][Role.REFERENT]
    referent = client_for(referent_user)
    page = referent.get(alert.get_absolute_url()).content.decode()
    assert "Aucune séance de comité n&#x27;est prévue" in page or "Aucune séance" in page
    later = _meeting(world["a"]["est"], days=30)
    nearest = _meeting(world["a"]["est"], days=7)
    page = referent.get(alert.get_absolute_url()).content.decode()
    assert "Ouvrir une action" in page and "Inscrire à l'ordre du jour" in page

    action_url = reverse("governance:alert_action", args=[alert.pk])
    due = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    refused = referent.post(action_url, {"action-meeting": nearest.pk, "action-title": "x",
                                         "action-due_date": due})  # fmt: skip
    assert refused.status_code == 302 and not Action.objects.exists()  # no owner
    referent.post(
        action_url,
        {
            "action-meeting": nearest.pk,
            "action-title": "Vérifier le dosage du lactate",
            "action-owner": referent_user.pk,
            "action-due_date": due,
        },
    )
    action = Action.objects.get()
    assert (action.alert, action.meeting, action.owner) == (alert, nearest, referent_user)
    agenda_url = reverse("governance:alert_agenda", args=[alert.pk])
    referent.post(agenda_url, {"odj-meeting": nearest.pk})
    referent.post(agenda_url, {"odj-meeting": nearest.pk})  # once per meeting
    item = AgendaItem.objects.get()
    assert (item.alert, item.meeting, item.kind) == (alert, nearest, "alert")
    assert "AUC" in item.title and "Constaté le" in item.notes
    assert later.agenda.count() == 0
    page = referent.get(alert.get_absolute_url()).content.decode()
    assert "Vérifier le dosage du lactate" in page
    meeting_page = referent.get(nearest.get_absolute_url()).content.decode()
    assert alert.get_absolute_url() in meeting_page and "alerte de suivi" in meeting_page
    assert AuditEvent.objects.filter(object_type="governance.action", action="create").exists()

    # read-only users, other establishments, meetings of another establishment
    auditor = client_for(world["users"]["a"][Role.AUDITOR])
    assert auditor.post(agenda_url, {"odj-meeting": later.pk}).status_code == 403
    assert (
        client_for(world["users"]["b"][Role.ADMIN])
        .post(agenda_url, {"odj-meeting": later.pk})
        .status_code
        == 404
    )
    foreign = _meeting(world["b"]["est"])
    referent.post(agenda_url, {"odj-meeting": foreign.pk})
    assert foreign.agenda.count() == 0


# --- gap: systems in routine use without a feed ------------------------------------------------


def test_a_routine_system_without_feed_is_a_gap(world, client_for, feed):
    with audit_context(source="test"):
        unwatched = make_system(world["a"]["est"], name="Triage aux urgences", phase="routine")
        watched = make_system(world["a"]["est"], name="Lecture ECG", phase="routine")
        make_feed(watched, slug="ecg", operating_threshold=0.5)
        make_system(world["b"]["est"], name="Autre établissement", phase="routine")
    viewer = client_for(world["users"]["a"][Role.CONTRIBUTOR])
    overview = viewer.get(reverse("monitoring:overview")).content.decode()
    assert "Systèmes en routine sans flux de suivi" in overview
    assert "Triage aux urgences" in overview
    section = overview.split("Systèmes en routine sans flux de suivi", 1)[1].split("</section>")[0]
    assert "Lecture ECG" not in section and "Autre établissement" not in section
    home = viewer.get(reverse("home")).content.decode()
    assert "En routine sans flux de suivi :" in home and "Triage aux urgences" in home
    assert reverse("monitoring:system_feeds", args=[unwatched.pk]) in home
    assert "Rien d&#x27;urgent" not in home and "Rien d'urgent" not in home
