"""The decision grids referential: the two grids of the seeds, and broken files refused with
the file and the item at fault."""

from __future__ import annotations

import shutil

import pytest

from garant.core import referentials
from garant.core.referentials import ReferentialError
from garant.lifecycle import grids
from tests.conftest import read_yaml, write_yaml

SOURCE = referentials.ROOT / "decision_grid" / "2026.1.yaml"


def clear_caches():
    referentials.load.cache_clear()
    grids.load_checked.cache_clear()
    grids.grid.cache_clear()


@pytest.fixture
def broken_root(tmp_path, monkeypatch):
    """A copy of the referentials folder whose grid file each test breaks in its own way."""
    (tmp_path / "schemas").mkdir()
    shutil.copy(referentials.ROOT / "schemas" / "decision_grid.schema.json", tmp_path / "schemas")
    (tmp_path / "decision_grid").mkdir()
    monkeypatch.setattr(referentials, "ROOT", tmp_path)
    clear_caches()
    yield tmp_path / "decision_grid" / "2026.1.yaml"
    clear_caches()


def write(path, data):
    write_yaml(path, data)


def original() -> dict:
    return read_yaml(SOURCE)


def test_the_two_grids_of_the_seeds_have_six_criteria_each():
    medical, support = grids.grid("medical_and_care"), grids.grid("support_functions")
    assert [c.n for c in medical.criteria] == [1, 2, 3, 4, 5, 6]
    assert len(support.criteria) == 6
    assert medical.version == "2026.1"
    assert medical.criterion("safety_risk").title == "Sécurité et gestion des risques"


def test_provenance_seeds_for_medical_2_4_5_6_and_completed_elsewhere():
    medical = grids.grid("medical_and_care")
    from_seeds = [c.n for c in medical.criteria if not c.completed_by_garant]
    assert from_seeds == [2, 4, 5, 6]
    assert all(c.completed_by_garant for c in grids.grid("support_functions").criteria)
    safety = medical.criterion("safety_risk")
    assert safety.text("stop_if") == "Incidents critiques ou non contrôlables"


def test_grid_is_chosen_from_the_domain():
    assert grids.grid_for_domain("D1") == "medical_and_care"
    assert grids.grid_for_domain("D3") == "medical_and_care"
    assert grids.grid_for_domain("D2") == "support_functions"


def test_unknown_grid_is_refused():
    with pytest.raises(ReferentialError, match="unknown grid 'nope'"):
        grids.grid("nope")


def first_criterion(data, grid="medical_and_care"):
    return data["grids"][grid]["criteria"][0]


def test_missing_field_names_file_and_item(broken_root):
    data = original()
    del first_criterion(data)["stop_if"]
    write(broken_root, data)
    with pytest.raises(ReferentialError) as exc:
        grids.load_checked()
    message = str(exc.value)
    assert str(broken_root) in message
    assert "grids/medical_and_care/criteria/0" in message
    assert "'stop_if' is a required property" in message


def test_unknown_key_names_file_and_item(broken_root):
    data = original()
    first_criterion(data, "support_functions")["deploy_when"] = "toujours"
    write(broken_root, data)
    with pytest.raises(ReferentialError) as exc:
        grids.load_checked()
    assert str(broken_root) in str(exc.value)
    assert "grids/support_functions/criteria/0" in str(exc.value)
    assert "deploy_when" in str(exc.value)


def test_duplicate_criterion_names_file_and_item(broken_root):
    data = original()
    criteria = data["grids"]["medical_and_care"]["criteria"]
    criteria[1]["code"] = criteria[0]["code"]
    write(broken_root, data)
    with pytest.raises(ReferentialError) as exc:
        grids.load_checked()
    assert str(broken_root) in str(exc.value)
    assert "grids/medical_and_care/criteria: duplicate criterion codes ['clinical_impact']" in str(
        exc.value
    )


@pytest.mark.parametrize(
    "breakage, expected",
    [
        (lambda s: s.update(min=4, max=4), "min 4 must be below max 4"),
        (lambda s: s["labels"].pop(), "labels must cover each value from 0 to 4"),
        (lambda s: s["labels"][0].update(value=7), "labels must cover each value from 0 to 4"),
        (lambda s: s.update(max="quatre"), "'quatre' is not of type 'integer'"),
    ],
)
def test_bad_scale_names_file_and_item(broken_root, breakage, expected):
    data = original()
    criterion = first_criterion(data)
    scale = dict(criterion["scale"], labels=[dict(x) for x in criterion["scale"]["labels"]])
    breakage(scale)
    criterion["scale"] = scale
    write(broken_root, data)
    with pytest.raises(ReferentialError) as exc:
        grids.load_checked()
    assert str(broken_root) in str(exc.value)
    assert "clinical_impact/scale" in str(exc.value) or "criteria/0/scale" in str(exc.value)
    assert expected in str(exc.value)


def test_thresholds_out_of_order_are_refused(broken_root):
    data = original()
    data["grids"]["medical_and_care"]["thresholds"]["extend_poc"]["mean"] = 3.5
    write(broken_root, data)
    with pytest.raises(ReferentialError, match="thresholds/extend_poc/mean"):
        grids.load_checked()


def test_a_domain_judged_by_two_grids_is_refused(broken_root):
    data = original()
    data["grids"]["support_functions"]["domains"] = ["D2", "D1"]
    write(broken_root, data)
    with pytest.raises(ReferentialError, match="D1 is already judged by grid medical_and_care"):
        grids.load_checked()
