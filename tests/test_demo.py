"""`garant demo`: the fictional group of four CHUs loads completely, through the audit trail."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from garant.core.audit import verify
from garant.core.models import AuditEvent, Establishment, Membership, Role, Service, User
from garant.core.referentials import vocabulary
from garant.demo.load import DEFAULT_PASSWORD, resolve_date
from garant.demo.monitoring import DRIFTING, FEEDS, synthetic_feed
from garant.monitoring import storage
from garant.monitoring.models import Alert, Feed
from garant.registry.models import AISystem, AISystemVersion, Vendor

SOON = dt.timedelta(days=90)


def counts() -> dict[str, int]:
    models = (
        Establishment,
        Service,
        Vendor,
        AISystem,
        AISystemVersion,
        User,
        Membership,
        AuditEvent,
    )
    return {m.__name__: m.objects.count() for m in models}


def test_every_taxonomy_value_across_four_establishments(demo):
    for field in ("solution_type", "domain", "modality", "phase"):
        used = set(AISystem.objects.values_list(field, flat=True))
        assert set(vocabulary(field).items) <= used, field
    assert AISystem.objects.count() >= 36
    assert Establishment.objects.count() == 4
    assert AISystem.objects.values("establishment").distinct().count() == 4
    assert all(e.group and "fictif" in e.group.name for e in Establishment.objects.all())
    for system in AISystem.objects.all():
        assert 1 <= system.versions.count() <= 3, system.name
    llm = AISystem.objects.filter(gpai_based=True)
    assert llm.count() >= 4 and all(s.gpai_model for s in llm)
    assert AISystem.objects.filter(solution_type="S4", gpai_model__icontains="Mistral 7B").exists()
    assert AISystem.objects.exclude(data_categories=[]).count() >= 36


def test_every_role_has_a_user(demo):
    assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
    for est in Establishment.objects.all():
        held = set(est.memberships.values_list("role", flat=True))
        assert held == set(Role.values), est.code
    direction = User.objects.get(username="direction.gcs")
    assert direction.memberships.filter(role=Role.COMMITTEE).count() == 4
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.filter(username="admin.valmont").exists()
    # the command ends with the table of logins and their password
    for username in ("admin", "admin.valmont", "terrain.montclair", "direction.gcs"):
        assert username in demo
    assert demo.rstrip().splitlines()[-2].endswith(DEFAULT_PASSWORD)


def test_deadlines_and_gaps_for_the_home_page(demo):
    today = timezone.localdate()
    assert (
        Vendor.objects.filter(contract_end__gte=today, contract_end__lte=today + SOON).count() >= 3
    )
    assert AISystem.objects.filter(ce_expiry__gte=today, ce_expiry__lte=today + SOON).exists()
    assert AISystem.objects.filter(medical_referent="").count() >= 3
    assert AISystem.objects.exclude(notified_body="").filter(ce_expiry__isnull=False).count() >= 5


def test_everything_is_in_the_audit_trail(demo):
    result = verify()
    assert result.ok, result.message
    events = AuditEvent.objects.all()
    assert events.filter(source="demo").count() == events.count()
    assert events.filter(object_type="registry.aisystem", action="create").count() == (
        AISystem.objects.count()
    )
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert out.getvalue().startswith("OK")


def test_if_empty_adds_nothing_the_second_time(demo):
    before = counts()
    out = StringIO()
    call_command("demo", "--if-empty", stdout=out)
    assert counts() == before
    # the start command runs it every time: the logins are reminded, nothing is loaded
    assert "Démonstration déjà chargée" in out.getvalue()
    assert "referent.valmont" in out.getvalue() and "garant-demo-2026" in out.getvalue()


def test_loading_twice_is_refused_without_changes(demo):
    before = counts()
    with pytest.raises(CommandError, match="déjà chargées"):
        call_command("demo", stdout=StringIO())
    assert counts() == before


def test_existing_superuser_is_left_alone(db):
    root = User.objects.create_superuser("admin", password="mot-de-passe-de-l-installateur")
    call_command("demo", "--password", "autre-secret-demo", stdout=StringIO())
    root.refresh_from_db()
    assert root.check_password("mot-de-passe-de-l-installateur")
    assert User.objects.get(username="dpo.valmont").check_password("autre-secret-demo")


def test_demo_users_can_sign_in_and_see_their_establishment(demo):
    client = Client()
    response = client.post(
        reverse("login"), {"username": "referent.valmont", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    home = client.get(reverse("home"))
    assert home.status_code == 200
    valmont = Establishment.objects.get(code="valmont")
    assert home.context["total"] == valmont.ai_systems.count()
    assert home.context["contracts_ending"] or home.context["ce_expiring"]
    assert home.context["incomplete"]

    client = Client()
    client.post(reverse("login"), {"username": "direction.gcs", "password": DEFAULT_PASSWORD})
    assert client.get(reverse("home")).context["total"] == AISystem.objects.count()


def test_relative_dates():
    today = dt.date(2026, 1, 31)
    assert resolve_date("+45d", today) == dt.date(2026, 3, 17)
    assert resolve_date("-1m", today) == dt.date(2025, 12, 31)
    assert resolve_date("+1m", today) == dt.date(2026, 2, 28)
    assert resolve_date("-2w", today) == dt.date(2026, 1, 17)
    assert resolve_date("-3y", today) == dt.date(2023, 1, 31)
    assert resolve_date("2025-03-01", today) == dt.date(2025, 3, 1)
    assert resolve_date(None, today) is None


def local_dates(feed) -> set[dt.date]:
    """The days (Europe/Paris) on which the feed's stored predictions were made."""
    stamps = storage.read(feed, "predictions", columns=["timestamp"])["timestamp"]
    zone = ZoneInfo("Europe/Paris")
    return {moment.astimezone(zone).date() for moment in stamps.to_pylist()}


def test_three_systems_have_six_months_of_monitoring_and_only_the_sepsis_model_drifts(
    db, client, django_capture_on_commit_callbacks
):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # alerts are evaluated on commit
        call_command("demo", stdout=out)
    demo = out.getvalue()
    today = timezone.localdate()

    feeds = {feed.slug: feed for feed in Feed.objects.select_related("ai_system__establishment")}
    assert len(feeds) == 3 == len(FEEDS)
    assert {f.ai_system.establishment.code for f in feeds.values()} == {
        "valmont",
        "montclair",
        "sainte-aure",
    }
    for spec in FEEDS:
        feed = feeds[spec.slug]
        assert feed.ai_system.name == spec.system, spec.slug
        assert sorted(feed.batches.values_list("kind", flat=True)) == ["outcomes", "predictions"]
        # at least six months of daily history, ending yesterday
        days = local_dates(feed)
        assert min(days) <= today - dt.timedelta(days=183) and max(days) == today - dt.timedelta(
            days=1
        ), spec.slug
        assert len(days) >= 183, spec.slug
        predictions = feed.batches.get(kind="predictions").rows
        assert predictions >= 183 * 60, spec.slug
        # most outcomes known, joined within the declared window
        joined = storage.joined(feed)
        assert joined.num_rows == predictions
        assert 0.9 < 1 - joined["label"].null_count / predictions < 1, spec.slug
        assert len(feed.alert_rules.all()) == len(spec.rules) >= 4
        assert all(rule.last_evaluated_at for rule in feed.alert_rules.all()), spec.slug
        assert f"/suivi/flux/{feed.pk}/tableau/" in demo

    sepsis = feeds[DRIFTING.slug]
    # the model versions come from the register: shadow mode (0.9) before go-live (1.0)
    versions = set(storage.read(sepsis, "predictions", columns=["model_version"])[0].to_pylist())
    assert versions == set(sepsis.ai_system.versions.values_list("version", flat=True))
    # the drift of the last 30 days and the weak site are picked up by the rules
    assert set(
        Alert.objects.filter(feed=sepsis, state="open").values_list("rule__kind", flat=True)
    ) == {"psi_above", "subgroup_ratio_outside", "feature_psi_above", "oe_ratio_outside"}
    assert sepsis.alerts.get(rule__kind="feature_psi_above").rule.feature == "lactate"
    assert "Clinique Est" in sepsis.alerts.get(rule__kind="subgroup_ratio_outside").message
    # the two stable systems: every rule evaluated to a value within its limits, no alert
    for slug in set(feeds) - {DRIFTING.slug}:
        assert not Alert.objects.filter(feed=feeds[slug]).exists(), slug
        assert all(r.last_value is not None for r in feeds[slug].alert_rules.all()), slug

    # the alerts are visible on the system's page (tab Suivi) and the feed's page
    client.force_login(User.objects.get(username="referent.valmont"))
    tab = client.get(f"/suivi/systemes/{sepsis.ai_system_id}/").content.decode()
    assert "4 alertes ouvertes" in tab
    page = client.get(sepsis.get_absolute_url()).content.decode()
    assert "PSI du score" in page and "Prendre en compte" in page
    dashboard = client.get(f"/suivi/flux/{sepsis.pk}/tableau/")
    assert dashboard.status_code == 200 and "<svg" in dashboard.content.decode()
    client.force_login(User.objects.get(username="referent.montclair"))
    stable = feeds["fractures-radio"]
    tab = client.get(f"/suivi/systemes/{stable.ai_system_id}/").content.decode()
    assert "aucune alerte ouverte" in tab and not re.search(r"\d+ alertes? ouvertes?<", tab)


def test_synthetic_feeds_are_reproducible_and_end_yesterday():
    today = dt.date(2026, 3, 29)  # a change to summer time in Paris
    for spec in FEEDS:
        first = synthetic_feed(spec, today, days=70, per_day=20)
        assert first[0].equals(synthetic_feed(spec, today, days=70, per_day=20)[0])
        predictions, outcomes = first
        midnight = dt.datetime.combine(today, dt.time(), tzinfo=ZoneInfo("Europe/Paris"))
        latest = max(predictions["timestamp"].to_pylist() + outcomes["outcome_time"].to_pylist())
        assert midnight - dt.timedelta(days=1) < latest < midnight, spec.slug
        columns = set(predictions.column_names)
        assert {f.name for f in spec.features} | {c.name for c in spec.subgroups} <= columns


def test_two_systems_have_feedback_events_and_one_service_overrides_twice_as_often(demo, client):
    from garant.demo.oversight import DAYS, RISING, SPECS
    from garant.oversight import rates
    from garant.oversight.models import FeedbackBatch, OversightAlert

    today = timezone.localdate()
    systems = []
    for spec in SPECS:
        system = AISystem.objects.get(establishment__code=spec.establishment, name=spec.system)
        batch = FeedbackBatch.objects.unrestricted().get(systems=system)
        assert batch.source == "demo" and batch.stored >= DAYS * spec.per_day * 0.9
        summary = rates.system_summary(system, today - dt.timedelta(days=DAYS), today, "week")
        assert summary["total"]["events"] == batch.stored, spec.system
        assert summary["kappa"]["total"]["kappa"] is not None
        assert summary["total"]["median_decision_seconds"] > 3  # not a blind acceptance
        systems.append(system)
    # the override rate of the emergency department rises in the last weeks: one alert,
    # for that service only (the system as a whole and the other services stay below × 2)
    alerts = OversightAlert.objects.unrestricted().all()
    assert [(a.ai_system, a.service, a.rule.kind) for a in alerts] == [
        (systems[0], RISING.rise.service, "override_rate_doubling")
    ]
    assert alerts[0].value >= 2.5 and alerts[0].state == "open"
    client.force_login(User.objects.get(username="referent.rochebrune"))
    page = client.get(reverse("oversight:system", args=[systems[0].pk])).content.decode()
    assert "Urgences" in page and "Taux d&#x27;écart (service Urgences)" in page


def test_three_valmont_systems_have_a_risk_analysis_one_with_a_mitigation(demo):
    from garant.governance.models import Action
    from garant.risks.models import FailureMode, RiskAnalysis

    analyses = RiskAnalysis.objects.unrestricted()
    assert analyses.values("ai_system").distinct().count() == 3
    assert (
        analyses.filter(status="frozen").count() == 3
        and analyses.filter(status="draft").count() == 1
    )
    mitigation = Action.objects.unrestricted().get(failure_mode__isnull=False)
    assert mitigation.failure_mode.code == "automation_bias"
    overdue = FailureMode.objects.unrestricted().filter(review_date__lt=timezone.localdate())
    assert overdue.count() == 1
    referent = Client()
    referent.force_login(User.objects.get(username="referent.valmont"))
    assert 'id="risk-reviews-overdue"' in referent.get(reverse("home")).text
