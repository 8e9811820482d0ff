"""The regulatory reports one qualified adverse event opens, with recipients and deadlines to
the hour (garant/incidents/rules.py reading garant/referentials/incident_reports/)."""

import shutil
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from garant.core import referentials
from garant.core.referentials import ReferentialError, load
from garant.incidents import referential
from garant.incidents.rules import Facts, add_months

PARIS = ZoneInfo("Europe/Paris")
A = datetime(2028, 9, 12, 14, 0)  # after both AI Act application dates (Annex I and III)

# the facts of a high-risk AI system's serious incident with a suspected causal link
AI = dict(ai_act_high_risk=True, ai_act_serious=True, causal_link="suspected")

SCENARIOS = [
    # (name, facts, {report code: (recipient, deadline "dd/mm/yyyy HH:MM")})
    ("near miss, no serious potential", dict(consequence="near_miss"), {}),
    ("no consequence, not device", dict(consequence="none", causal_link="established"), {}),
    (
        "device near miss that could have caused serious deterioration",
        dict(consequence="near_miss", is_device=True, mdr_serious=True),
        {"materiovigilance": ("ansm", "14/09/2028 14:00")},
    ),
    (
        "device, serious harm, provider reachable: Art 73(10) sends health harm to vigilance",
        dict(AI, consequence="serious", is_device=True, mdr_serious=True),
        {
            "ai_provider_notice": ("provider", "13/09/2028 14:00"),
            "materiovigilance": ("ansm", "14/09/2028 14:00"),
        },
    ),
    (
        "device, death, EIGS, provider unreachable: still no AI Act report (73(10))",
        dict(
            AI,
            consequence="death",
            is_device=True,
            mdr_serious=True,
            eigs=True,
            provider_unreachable=True,
        ),
        {
            "ai_provider_notice": ("provider", "13/09/2028 14:00"),
            "materiovigilance": ("ansm", "14/09/2028 14:00"),
            "eigs_part1": ("ars", "14/09/2028 14:00"),
            "eigs_part2": ("ars", "12/12/2028 14:00"),
        },
    ),
    (
        "device, fundamental-rights infringement: the AI Act channel opens",
        dict(AI, consequence="none", is_device=True, fundamental_rights=True),
        {
            "ai_provider_notice": ("provider", "13/09/2028 14:00"),
            "ai_msa_notice": ("msa", "14/09/2028 14:00"),
        },
    ),
    (
        "device, fundamental rights, provider unreachable: deployer's Art 73 duty, 15 days",
        dict(AI, is_device=True, fundamental_rights=True, provider_unreachable=True),
        {
            "ai_provider_notice": ("provider", "13/09/2028 14:00"),
            "ai_msa_notice": ("msa", "14/09/2028 14:00"),
            "ai_art73_report": ("msa", "27/09/2028 14:00"),
        },
    ),
    (
        "not a device, serious harm, provider reachable",
        dict(AI, consequence="serious"),
        {
            "ai_provider_notice": ("provider", "13/09/2028 14:00"),
            "ai_msa_notice": ("msa", "14/09/2028 14:00"),
        },
    ),
    (
        "not a device, serious harm, provider unreachable: Art 73(2) 15 days",
        dict(AI, consequence="serious", provider_unreachable=True),
        {
            "ai_provider_notice": ("provider", "13/09/2028 14:00"),
            "ai_msa_notice": ("msa", "14/09/2028 14:00"),
            "ai_art73_report": ("msa", "27/09/2028 14:00"),
        },
    ),
    (
        "not a device, death, provider unreachable: Art 73(4) 10 days",
        dict(AI, consequence="death", provider_unreachable=True, causal_link="established"),
        {
            "ai_provider_notice": ("provider", "13/09/2028 14:00"),
            "ai_msa_notice": ("msa", "14/09/2028 14:00"),
            "ai_art73_report": ("msa", "22/09/2028 14:00"),
        },
    ),
    (
        "widespread infringement, provider unreachable: Art 73(3) 2 days",
        dict(AI, widespread_infringement=True, fundamental_rights=True, provider_unreachable=True),
        {
            "ai_provider_notice": ("provider", "13/09/2028 14:00"),
            "ai_msa_notice": ("msa", "14/09/2028 14:00"),
            "ai_art73_report": ("msa", "14/09/2028 14:00"),
        },
    ),
    (
        "death and critical infrastructure: the earliest clock (2 days) wins",
        dict(AI, consequence="death", critical_infrastructure=True, provider_unreachable=True),
        {
            "ai_provider_notice": ("provider", "13/09/2028 14:00"),
            "ai_msa_notice": ("msa", "14/09/2028 14:00"),
            "ai_art73_report": ("msa", "14/09/2028 14:00"),
        },
    ),
    (
        "causal link excluded: no AI Act nor vigilance report, the EIGS remains",
        dict(
            AI,
            consequence="life_threat",
            causal_link="excluded",
            is_device=True,
            mdr_serious=True,
            eigs=True,
            provider_unreachable=True,
        ),
        {"eigs_part1": ("ars", "14/09/2028 14:00"), "eigs_part2": ("ars", "12/12/2028 14:00")},
    ),
    (
        "not high-risk under the AI Act: no Art 26(5) chain",
        dict(
            causal_link="established",
            ai_act_serious=True,
            consequence="serious",
            provider_unreachable=True,
        ),
        {},
    ),
    (
        "data breach unlikely to result in a risk: documented only",
        dict(data_breach=True, breach_risk="none"),
        {},
    ),
    (
        "data breach with a risk: CNIL within 72 h",
        dict(data_breach=True, breach_risk="risk"),
        {"gdpr_cnil": ("cnil", "15/09/2028 14:00")},
    ),
    (
        "data breach with a high risk: CNIL and the patients",
        dict(data_breach=True, breach_risk="high"),
        {
            "gdpr_cnil": ("cnil", "15/09/2028 14:00"),
            "gdpr_data_subjects": ("data_subjects", "15/09/2028 14:00"),
        },
    ),
    (
        "security incident alone: ANS / CERT Santé",
        dict(security_incident=True),
        {"security_ans": ("ans", "13/09/2028 14:00")},
    ),
    (
        "ransomware at an essential operator: ANS, ANSSI, CNIL and patients",
        dict(security_incident=True, essential_operator=True, data_breach=True, breach_risk="high"),
        {
            "gdpr_cnil": ("cnil", "15/09/2028 14:00"),
            "gdpr_data_subjects": ("data_subjects", "15/09/2028 14:00"),
            "security_ans": ("ans", "13/09/2028 14:00"),
            "security_anssi": ("anssi", "13/09/2028 14:00"),
        },
    ),
    (
        "EIGS without AI causation or device",
        dict(consequence="permanent_deficit", eigs=True, causal_link="excluded"),
        {"eigs_part1": ("ars", "14/09/2028 14:00"), "eigs_part2": ("ars", "12/12/2028 14:00")},
    ),
]


@pytest.mark.parametrize(("name", "facts", "expected"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_reports_opened_with_recipient_and_deadline(name, facts, expected):
    due = referential.due(Facts(awareness=A, **facts))
    got = {d.code: (d.recipient, f"{d.deadline:%d/%m/%Y %H:%M}") for d in due}
    assert got == expected
    for d in due:
        assert d.clock_start == A.replace(tzinfo=PARIS)
        assert d.deadline.tzinfo is not None and d.required


def test_at_least_fifteen_scenarios():
    assert len(SCENARIOS) >= 15


def test_unconfirmed_recipient_is_never_settled():
    """The French AI Act authority is ❓: every report addressed to it says so."""
    due = referential.due(Facts(awareness=A, **AI, provider_unreachable=True))
    status = {d.code: d.status for d in due}
    assert status["ai_msa_notice"] == status["ai_art73_report"] == "unconfirmed"
    # the provider notice rests on Art 26(5) (✅) but its application date is secondary (🟡)
    assert status["ai_provider_notice"] == "secondary"
    gdpr = referential.due(Facts(awareness=A, data_breach=True, breach_risk="risk"))
    assert [d.status for d in gdpr] == ["confirmed"]


def test_ai_act_reports_before_the_obligation_applies_are_not_required():
    due = referential.due(Facts(awareness=datetime(2026, 12, 7, 10), **AI, consequence="serious"))
    notice = next(d for d in due if d.code == "ai_provider_notice")
    assert not notice.required
    assert "02/12/2027" in notice.reason
    device = referential.due(Facts(awareness=datetime(2027, 12, 7, 10), **AI, is_device=True))
    assert "02/08/2028" in next(d for d in device if d.code == "ai_provider_notice").reason


def test_elapsed_hours_and_calendar_days_across_the_change_to_summer_time():
    # 26/03/2028: clocks go forward one hour in Paris
    breach = referential.due(
        Facts(awareness=datetime(2028, 3, 24, 14), data_breach=True, breach_risk="risk")
    )
    assert f"{breach[0].deadline:%d/%m/%Y %H:%M}" == "27/03/2028 15:00"  # 72 elapsed hours
    art73 = referential.due(
        Facts(
            awareness=datetime(2028, 3, 20, 14),
            **AI,
            consequence="serious",
            provider_unreachable=True,
        )
    )
    report = next(d for d in art73 if d.code == "ai_art73_report")
    assert f"{report.deadline:%d/%m/%Y %H:%M}" == "04/04/2028 14:00"  # 15 calendar days


def test_aware_datetimes_are_read_on_the_paris_clock():
    utc = datetime(2028, 9, 12, 12, tzinfo=ZoneInfo("UTC"))  # 14:00 in Paris
    due = referential.due(Facts(awareness=utc, security_incident=True))
    assert f"{due[0].clock_start:%H:%M}" == "14:00"


def test_eigs_part2_three_calendar_months_clamped_to_month_end():
    due = referential.due(Facts(awareness=datetime(2028, 11, 30, 9), eigs=True))
    assert f"{due[1].deadline:%d/%m/%Y %H:%M}" == "28/02/2029 09:00"
    assert add_months(datetime(2028, 1, 31), 1) == datetime(2028, 2, 29)


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    shutil.copytree(referentials.ROOT, tmp_path / "referentials")
    monkeypatch.setattr(referentials, "ROOT", tmp_path / "referentials")
    load.cache_clear()
    referential.rules.cache_clear()
    yield tmp_path / "referentials" / "incident_reports" / "2026.1.yaml"
    load.cache_clear()
    referential.rules.cache_clear()


def test_changing_a_clock_in_the_referential_changes_the_deadline(fake_root):
    text = fake_root.read_text(encoding="utf-8")
    assert text.count("[]}, hours: 72,") == 1
    fake_root.write_text(text.replace("[]}, hours: 72,", "[]}, hours: 48,"), encoding="utf-8")
    due = referential.due(Facts(awareness=A, data_breach=True, breach_risk="risk"))
    assert f"{due[0].deadline:%d/%m/%Y %H:%M}" == "14/09/2028 14:00"


def test_a_condition_on_an_unknown_fact_is_refused_at_load(fake_root):
    text = fake_root.read_text(encoding="utf-8")
    fake_root.write_text(
        text.replace("when: {fact: eigs}", "when: {fact: eigz}", 1), encoding="utf-8"
    )
    with pytest.raises(ReferentialError, match="eigs_part1: unknown fact 'eigz'"):
        referential.rules()


def test_a_clock_with_two_periods_is_refused_by_the_schema(fake_root):
    text = fake_root.read_text(encoding="utf-8")
    fake_root.write_text(
        text.replace("[]}, hours: 72,", "[]}, hours: 72, days: 3,"), encoding="utf-8"
    )
    with pytest.raises(ReferentialError, match="2026.1.yaml: reports/"):
        referential.rules()
