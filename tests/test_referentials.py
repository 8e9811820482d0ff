"""Referential files are validated when loaded and name the file and the path of an error."""

import shutil

import pytest

from garant.core import referentials
from garant.core.referentials import ReferentialError, load, vocabulary
from tests.conftest import read_yaml, write_yaml


def test_taxonomy_in_force_has_the_seed_vocabularies():
    taxonomy = load("taxonomy")
    assert taxonomy.version == "2026.1"
    assert list(vocabulary("solution_type").items) == ["S1", "S2", "S3", "S4", "S5", "S6"]
    assert list(vocabulary("domain").items) == ["D1", "D2", "D3"]
    assert list(vocabulary("modality").items) == ["M1", "M2"]
    assert vocabulary("solution_type").label_of("S4") == "Déploiement d'un modèle (LLM) open source"
    vigilance = {c: i["vigilance"] for c, i in vocabulary("data_category").items.items()}
    assert vigilance == {"public": 1, "internal": 2, "personal": 3, "health": 4}


def test_labels_follow_the_active_language():
    from django.utils import translation

    with translation.override("en"):
        assert vocabulary("phase").label_of("routine") == "Routine use"
    with translation.override("fr"):
        assert vocabulary("phase").label_of("routine") == "Routine"


@pytest.fixture
def fake_root(tmp_path, monkeypatch):
    shutil.copytree(referentials.ROOT, tmp_path / "referentials")
    monkeypatch.setattr(referentials, "ROOT", tmp_path / "referentials")
    load.cache_clear()
    yield tmp_path / "referentials"
    load.cache_clear()


def write(root, version, mutate):
    source = read_yaml(root / "taxonomy" / "2026.1.yaml")
    source["version"] = version
    mutate(source)
    write_yaml(root / "taxonomy" / f"{version}.yaml", source)


def test_schema_violation_names_file_and_path(fake_root):
    write(fake_root, "2027.1", lambda d: d["vocabularies"]["domain"]["items"][0].pop("fr"))
    with pytest.raises(ReferentialError) as error:
        load("taxonomy")
    assert "2027.1.yaml" in str(error.value)
    assert "vocabularies/domain/items/0" in str(error.value)
    assert "'fr' is a required property" in str(error.value)


def test_duplicate_codes_and_version_mismatch_are_refused(fake_root):
    write(
        fake_root,
        "2027.1",
        lambda d: d["vocabularies"]["modality"]["items"].append(
            dict(d["vocabularies"]["modality"]["items"][0])
        ),
    )
    with pytest.raises(ReferentialError, match="duplicate codes \\['M1'\\]"):
        load("taxonomy")
    (fake_root / "taxonomy" / "2027.1.yaml").unlink()
    write(fake_root, "2027.2", lambda d: None)
    (fake_root / "taxonomy" / "2027.2.yaml").rename(fake_root / "taxonomy" / "2027.3.yaml")
    with pytest.raises(ReferentialError, match="differs from the file name"):
        load("taxonomy")


def test_newest_version_is_in_force_and_older_ones_stay_loadable(fake_root):
    write(fake_root, "2027.1", lambda d: None)
    assert load("taxonomy").version == "2027.1"
    assert load("taxonomy", "2026.1").version == "2026.1"
    with pytest.raises(ReferentialError, match="unknown version"):
        load("taxonomy", "1999.1")
