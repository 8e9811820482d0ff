"""A broken regulatory referential fails to load with a message naming the file and the item."""

from __future__ import annotations

import shutil

import pytest

from garant.compliance import rules
from garant.core import referentials
from garant.core.referentials import ReferentialError
from tests.conftest import read_yaml, write_yaml


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    shutil.copytree(referentials.ROOT, tmp_path / "referentials")
    monkeypatch.setattr(referentials, "ROOT", tmp_path / "referentials")
    rules.clear_cache()
    yield tmp_path / "referentials"
    rules.clear_cache()


def edit(root, change) -> str:
    path = root / "regulatory" / f"{referentials.versions('regulatory')[-1]}.yaml"
    data = read_yaml(path)
    change(data)
    write_yaml(path, data, sort_keys=False)
    return str(path)


def obligation(data, code):
    return next(o for o in data["obligations"] if o["code"] == code)


def question(data, qid):
    return next(q for s in data["steps"] for q in s["questions"] if q["id"] == qid)


def load_error(root, change) -> str:
    path = edit(root, change)
    with pytest.raises(ReferentialError) as exc:
        rules.rulebook()
    message = str(exc.value)
    assert path in message
    return message


def test_the_referential_in_force_loads_and_cites_every_item():
    book = rules.rulebook()
    assert book.version == "2026.2"
    for section in rules.SECTIONS:
        for item in book.data[section]:
            assert item["cite"]["ref"] and item["cite"]["act"] in book.data["acts"]
    for item in book.data["obligations"]:
        assert book.cite(item["cite"])["source_version"]


def test_missing_article(fake_root):
    message = load_error(fake_root, lambda d: obligation(d, "aia_26_1").pop("cite"))
    assert "obligations/" in message and "'cite' is a required property" in message


def test_unknown_key(fake_root):
    message = load_error(fake_root, lambda d: obligation(d, "aia_26_2").update(deadline="soon"))
    assert "obligations/" in message and "'deadline' was unexpected" in message


def test_unknown_key_in_a_condition(fake_root):
    def change(d):
        obligation(d, "aia_26_4")["when"] = {"fact": "high_risk", "equals": True}

    message = load_error(fake_root, change)
    assert "obligations/aia_26_4/when" in message and "unknown keys ['equals']" in message


def test_bad_date(fake_root):
    def change(d):
        d["dates"]["ai_act_annex_iii"]["date"] = "2027-02-30"

    message = load_error(fake_root, change)
    assert "dates/ai_act_annex_iii/date" in message and "2027-02-30" in message


def test_amended_date_needs_its_amending_act(fake_root):
    message = load_error(fake_root, lambda d: d["dates"]["ai_act_annex_i"].pop("amended_by"))
    assert "dates/ai_act_annex_i" in message and "amended_by" in message


def test_dangling_question_reference(fake_root):
    def change(d):
        obligation(d, "gdpr_22_human")["when"] = {"answer": "fully_automatic", "eq": True}

    message = load_error(fake_root, change)
    assert "obligations/gdpr_22_human/when" in message
    assert "dangling reference to question 'fully_automatic'" in message


def test_question_condition_on_a_later_step(fake_root):
    def change(d):
        question(d, "technique")["when"] = {"answer": "origin", "eq": "vendor"}

    message = load_error(fake_root, change)
    assert "steps/definition/questions/technique/when" in message
    assert "not asked in an earlier step" in message


def test_unknown_option_in_a_condition(fake_root):
    def change(d):
        d["annex_iii_routes"][0]["when"] = {"answer": "uses", "has": "telepathy"}

    message = load_error(fake_root, change)
    assert "annex_iii_routes/annex_iii_1a/when" in message and "telepathy" in message


def test_fact_used_before_it_is_derived(fake_root):
    def change(d):
        d["prohibited_practices"][0]["when"] = {"fact": "high_risk"}

    message = load_error(fake_root, change)
    assert "prohibited_practices/manipulation/when" in message and "'high_risk'" in message


def test_unknown_date_act_source_and_family(fake_root):
    assert "unknown date 'ai_act_2099'" in load_error(
        fake_root, lambda d: obligation(d, "aia_26_5").update(dates=[{"date": "ai_act_2099"}])
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: obligation(d, "aia_26_6")["cite"].update(act="lex_imaginaria"), "unknown act"),
        (lambda d: obligation(d, "aia_26_6").update(sources=["S999"]), "unknown sources"),
        (lambda d: obligation(d, "aia_26_6").update(family="astrology"), "unknown family"),
        (lambda d: obligation(d, "aia_26_6").update(code="aia_26_1"), "duplicate ids"),
        (
            lambda d: question(d, "uses").update(exclusive=["none", "nothing"]),
            "questions/uses/exclusive: unknown options ['nothing']",
        ),
        (
            lambda d: question(d, "uses").update(exclusive="none"),
            "questions/uses/exclusive: 'unsure' must be exclusive",
        ),
        (
            lambda d: question(d, "legal_status").update(
                unsure_means={"fr": "par prudence", "en": "as a precaution"}
            ),
            "questions/legal_status/unsure_means: no 'unsure' option",
        ),
    ],
)
def test_other_references_are_checked(fake_root, change, expected):
    message = load_error(fake_root, change)
    assert expected in message


def test_start_up_checks_every_version(fake_root):
    broken = fake_root / "regulatory" / "2026.1.yaml"  # an older version, not the one in force
    data = read_yaml(broken)
    obligation(data, "aia_27_fria")["when"] = {"fact": "nowhere"}
    write_yaml(broken, data)
    with pytest.raises(ReferentialError) as exc:
        rules.check_all()
    assert str(broken) in str(exc.value) and "obligations/aia_27_fria/when" in str(exc.value)
