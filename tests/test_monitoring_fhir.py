"""FHIR R4 Bundles → Arrow tables: mapping rules, refusals and atomicity.

The fixtures in ``tests/data/fhir`` are realistic bundles of a sepsis risk model with
pseudonymous subjects. No test touches the database.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest

from garant.monitoring.fhir import (
    OUTCOME_SCHEMA,
    PREDICTION_SCHEMA,
    FhirBatchError,
    outcomes_from_bundle,
    predictions_from_bundle,
)

DATA = Path(__file__).parent / "data" / "fhir"
UTC = dt.UTC


def load(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def problems_of(reader, data) -> list[tuple[str, str, str]]:
    with pytest.raises(FhirBatchError) as caught:
        reader(data)
    return caught.value.problems


def one_problem(reader, data) -> tuple[str, str, str]:
    problems = problems_of(reader, data)
    assert len(problems) == 1, problems
    return problems[0]


def with_first_prediction(change) -> dict:
    """The valid predictions bundle with ``change`` applied to its first RiskAssessment."""
    bundle = load("sepsis_predictions_valid.json")
    change(bundle["entry"][0]["resource"])
    return bundle


# --- valid bundles ----------------------------------------------------------------------


def test_predictions_table_types_and_values():
    table = predictions_from_bundle((DATA / "sepsis_predictions_valid.json").read_bytes())
    assert table.schema == PREDICTION_SCHEMA
    assert table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert table.column_names == [
        "prediction_id",
        "timestamp",
        "patient_id",
        "score",
        "model_version",
    ]
    assert table.to_pydict() == {
        "prediction_id": [
            "ra-sepsis-000101",
            "ra-sepsis-000102",
            "pred-2024-000103",
            "ra-sepsis-000104",
        ],
        "timestamp": [
            dt.datetime(2024, 3, 5, 13, 30, tzinfo=UTC),  # 14:30+01:00
            dt.datetime(2024, 3, 5, 23, 59, 59, 123456, tzinfo=UTC),
            dt.datetime(2024, 7, 14, 0, 5, tzinfo=UTC),  # 02:05+02:00
            dt.datetime(2024, 3, 6, 13, 0, tzinfo=UTC),  # 08:00-05:00
        ],
        "patient_id": [
            "pseudo-7f3a9c21",
            "pseudo-0b44e5d8",
            "sejour-2024-118842",
            "pseudo-c91d0072",
        ],
        "score": [0.8734, 0.0, 1.0, 0.1234567890123],
        "model_version": ["sepsis-ews-2.3.1", "sepsis-ews-2.3.1", None, "sepsis-ews-2.4.0"],
    }


def test_outcomes_table_types_and_values():
    table = outcomes_from_bundle((DATA / "sepsis_outcomes_valid.json").read_text(encoding="utf-8"))
    assert table.schema == OUTCOME_SCHEMA
    assert table.schema.field("outcome").type == pa.int8()
    assert table.to_pydict() == {
        # Observation focus, Observation derivedFrom (coded N), Condition active,
        # Condition refuted linked by a logical reference (identifier).
        "prediction_id": [
            "ra-sepsis-000101",
            "ra-sepsis-000102",
            "ra-sepsis-000104",
            "pred-2024-000103",
        ],
        "outcome": [1, 0, 1, 0],
        "outcome_time": [
            dt.datetime(2024, 3, 6, 2, 12, tzinfo=UTC),
            dt.datetime(2024, 3, 7, 23, 59, 59, 999999, tzinfo=UTC),
            dt.datetime(2024, 3, 6, 19, 15, tzinfo=UTC),
            dt.datetime(2024, 7, 16, 9, 0, tzinfo=UTC),  # recordedDate of the refuted one
        ],
    }


def test_input_forms_give_the_same_table():
    raw = (DATA / "sepsis_predictions_valid.json").read_bytes()
    from_bytes = predictions_from_bundle(raw)
    assert predictions_from_bundle(raw.decode()).equals(from_bytes)
    assert predictions_from_bundle(json.loads(raw)).equals(from_bytes)
    assert predictions_from_bundle(b"\xef\xbb\xbf" + raw).equals(from_bytes)  # UTF-8 BOM


def test_round_trip_values_are_exact():
    scores = [0.1, 0.3333333333333333, 1e-12, 0.9999999999999999, 0.123456789012345678]
    bundle = load("sepsis_predictions_valid.json")
    template = bundle["entry"][0]
    bundle["entry"] = []
    for k, score in enumerate(scores):
        entry = copy.deepcopy(template)
        entry["resource"]["id"] = f"ra-rt-{k}"
        entry["resource"]["prediction"][0]["probabilityDecimal"] = score
        entry["resource"]["occurrenceDateTime"] = f"2024-02-29T23:5{k}:59.00000{k}+14:00"
        bundle["entry"].append(entry)
    table = predictions_from_bundle(json.dumps(bundle))
    assert table.column("score").to_pylist() == [float(json.dumps(s)) for s in scores]
    assert table.column("timestamp").to_pylist() == [
        dt.datetime(2024, 2, 29, 9, 50 + k, 59, k, tzinfo=UTC) for k in range(len(scores))
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"valueBoolean": False}, 0),
        ({"valueInteger": 1}, 1),
        ({"valueInteger": 0}, 0),
        (
            {
                "valueCodeableConcept": {
                    "coding": [{"system": "http://snomed.info/sct", "code": "373066001"}]
                }
            },
            1,
        ),
    ],
)
def test_observation_value_forms(value, expected):
    bundle = load("sepsis_outcomes_valid.json")
    observation = bundle["entry"][0]["resource"]
    del observation["valueBoolean"]
    observation.update(value)
    assert outcomes_from_bundle(bundle).column("outcome").to_pylist()[0] == expected


# --- refusals: one problem each, named by entry, path and reason ------------------------


def test_all_problems_of_a_bundle_are_reported_and_nothing_is_returned():
    problems = problems_of(predictions_from_bundle, load("sepsis_predictions_errors.json"))
    # entry[0] is valid, but the batch is atomic: no table, only the problems.
    assert [(entry, path) for entry, path, _ in problems] == [
        ("entry[1]", "RiskAssessment.status"),
        ("entry[2]", "RiskAssessment.prediction[0].probabilityDecimal"),
        ("entry[3]", "RiskAssessment.prediction[0].probabilityDecimal"),
        ("entry[4]", "RiskAssessment.occurrenceDateTime"),
        ("entry[5]", "RiskAssessment.subject.display"),
        ("entry[6]", "RiskAssessment.subject.identifier.system"),
    ]
    reasons = [reason for _, _, reason in problems]
    assert "« cancelled » refusé" in reasons[0]
    assert "probabilité absente" in reasons[1]
    assert "1.7 hors de l'intervalle [0, 1]" in reasons[2]
    assert "date et heure absentes" in reasons[3]
    assert "nom du patient" in reasons[4]
    assert "INS / NIR" in reasons[5]


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        (lambda r: r.update(status="cancelled"), "RiskAssessment.status", "« cancelled » refusé"),
        (lambda r: r.update(status="entered-in-error"), "RiskAssessment.status", "refusé"),
        (
            lambda r: r["prediction"][0].pop("probabilityDecimal"),
            "RiskAssessment.prediction[0].probabilityDecimal",
            "probabilité absente",
        ),
        (
            lambda r: r["prediction"][0].update(probabilityDecimal=1.7),
            "RiskAssessment.prediction[0].probabilityDecimal",
            "hors de l'intervalle [0, 1]",
        ),
        (
            lambda r: r["prediction"][0].update(probabilityDecimal=-0.01),
            "RiskAssessment.prediction[0].probabilityDecimal",
            "hors de l'intervalle",
        ),
        (
            lambda r: r["prediction"][0].update(probabilityDecimal="0.4"),
            "RiskAssessment.prediction[0].probabilityDecimal",
            "non numérique",
        ),
        (lambda r: r.pop("occurrenceDateTime"), "RiskAssessment.occurrenceDateTime", "absentes"),
        (
            lambda r: r.update(occurrenceDateTime="2024-03-05"),
            "RiskAssessment.occurrenceDateTime",
            "fuseau horaire requis",
        ),
        (
            lambda r: r.update(occurrenceDateTime="2024-03-05T14:30:00"),
            "RiskAssessment.occurrenceDateTime",
            "fuseau horaire requis",
        ),
        (
            lambda r: r["subject"].update(display="Jeanne MARTIN"),
            "RiskAssessment.subject.display",
            "nom du patient",
        ),
        (
            lambda r: r["subject"].update(
                identifier={"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "279035121518989"}
            ),
            "RiskAssessment.subject.identifier.system",
            "INS / NIR",
        ),
        (
            lambda r: r["subject"].update(identifier={"value": "2 79 03 51 215 189 89"}),
            "RiskAssessment.subject.identifier.value",
            "NIR",
        ),
        (
            lambda r: r["subject"].update(identifier={"value": "jeanne.martin@example.org"}),
            "RiskAssessment.subject.identifier.value",
            "e-mail",
        ),
        (
            lambda r: r.update(identifier=[{"value": "06 12 34 56 78"}]),
            "RiskAssessment.identifier[0].value",
            "téléphone",
        ),
        (lambda r: r.pop("subject"), "RiskAssessment.subject", "sujet absent"),
        (
            lambda r: r.update(subject={"reference": "Group/service-rea"}),
            "RiskAssessment.subject.reference",
            "« Patient/<id> »",
        ),
        (
            lambda r: r.update(contained=[{"resourceType": "Patient", "id": "p"}]),
            "RiskAssessment.contained",
            "identifiants directs",
        ),
        (lambda r: r.update(riskScore=3), "RiskAssessment.riskScore", "élément inconnu"),
        (
            lambda r: r["method"]["coding"][0].pop("code"),
            "RiskAssessment.method.coding[0].code",
            "version du modèle absente",
        ),
    ],
)
def test_prediction_refusals(change, path, reason):
    entry, got_path, got_reason = one_problem(
        predictions_from_bundle, with_first_prediction(change)
    )
    assert (entry, got_path) == ("entry[0]", path)
    assert reason in got_reason


def test_missing_status_is_reported_once_in_french():
    problem = one_problem(predictions_from_bundle, with_first_prediction(lambda r: r.pop("status")))
    assert problem[:2] == ("entry[0]", "RiskAssessment.status")
    assert problem[2] == "statut absent"


def test_duplicate_prediction_ids_are_refused():
    bundle = load("sepsis_predictions_valid.json")
    bundle["entry"][1]["resource"]["id"] = "ra-sepsis-000101"
    entry, path, reason = one_problem(predictions_from_bundle, bundle)
    assert (entry, path) == ("entry[1]", "RiskAssessment.id")
    assert "en double" in reason and "entry[0]" in reason


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        (lambda o: o.update(status="preliminary"), "Observation.status", "« preliminary » refusé"),
        (lambda o: o.pop("focus"), "Observation.focus", "prédiction liée absente"),
        (
            lambda o: o.update(valueInteger=2) or o.pop("valueBoolean"),
            "Observation.valueInteger",
            "0 ou 1",
        ),
        (lambda o: o.pop("valueBoolean"), "Observation.value[x]", "résultat absent"),
        (
            lambda o: o.update(valueString="oui") or o.pop("valueBoolean"),
            "Observation.valueString",
            "type non lu",
        ),
        (
            lambda o: o.update(effectiveDateTime="2024-03-06"),
            "Observation.effectiveDateTime",
            "fuseau horaire requis",
        ),
        (
            lambda o: o.update(derivedFrom=[{"reference": "RiskAssessment/ra-autre"}]),
            "Observation.derivedFrom[0].reference",
            "plusieurs prédictions liées",
        ),
    ],
)
def test_observation_refusals(change, path, reason):
    bundle = load("sepsis_outcomes_valid.json")
    change(bundle["entry"][0]["resource"])
    entry, got_path, got_reason = one_problem(outcomes_from_bundle, bundle)
    assert (entry, got_path) == ("entry[0]", path)
    assert reason in got_reason


@pytest.mark.parametrize(
    ("change", "path", "reason"),
    [
        (
            lambda c: c["verificationStatus"]["coding"][0].update(code="entered-in-error"),
            "Condition.verificationStatus",
            "« entered-in-error » refusé",
        ),
        (lambda c: c.pop("evidence"), "Condition.evidence", "prédiction liée absente"),
        (lambda c: c.pop("onsetDateTime"), "Condition.onsetDateTime", "absentes"),
        (lambda c: c.pop("clinicalStatus"), "Condition.clinicalStatus", "statut clinique absent"),
        (
            lambda c: c["subject"].update(display="M. Paul Durand"),
            "Condition.subject.display",
            "nom du patient",
        ),
    ],
)
def test_condition_refusals(change, path, reason):
    bundle = load("sepsis_outcomes_valid.json")
    change(bundle["entry"][2]["resource"])
    entry, got_path, got_reason = one_problem(outcomes_from_bundle, bundle)
    assert (entry, got_path) == ("entry[2]", path)
    assert reason in got_reason


def test_resolved_condition_still_counts_as_an_outcome():
    bundle = load("sepsis_outcomes_valid.json")
    bundle["entry"][2]["resource"]["clinicalStatus"]["coding"][0]["code"] = "resolved"
    assert outcomes_from_bundle(bundle).column("outcome").to_pylist()[2] == 1


# --- refusals of the whole document -----------------------------------------------------


def test_malformed_json():
    entry, path, reason = one_problem(
        predictions_from_bundle, (DATA / "malformed.json").read_bytes()
    )
    assert (entry, path) == ("Bundle", "(JSON)")
    assert reason.startswith("JSON mal formé ligne 10, colonne")


@pytest.mark.parametrize("data", [b"\xff\xfe{}", "[1, 2]", "", 42])
def test_unreadable_documents(data):
    entry, _, reason = one_problem(predictions_from_bundle, data)
    assert entry == "Bundle"
    assert reason


def test_patient_resource_at_top_level():
    entry, path, reason = one_problem(
        predictions_from_bundle, (DATA / "patient_not_bundle.json").read_bytes()
    )
    assert (entry, path) == ("Bundle", "resourceType")
    assert "Bundle FHIR est attendu" in reason and "« Patient »" in reason


def test_empty_bundle():
    problem = one_problem(outcomes_from_bundle, (DATA / "empty_bundle.json").read_bytes())
    assert problem == ("Bundle", "Bundle.entry", "le lot est vide (aucune entrée)")


def test_bundle_type_searchset_is_refused():
    bundle = load("sepsis_predictions_valid.json")
    bundle["type"] = "searchset"
    entry, path, reason = one_problem(predictions_from_bundle, bundle)
    assert (entry, path) == ("Bundle", "Bundle.type")
    assert "« searchset » refusé" in reason


def test_unknown_and_unexpected_resource_types_are_named():
    bundle = load("sepsis_predictions_valid.json")
    bundle["entry"][1]["resource"] = {
        "resourceType": "Patient",
        "id": "p1",
        "name": [{"family": "Martin"}],
    }
    bundle["entry"][2]["resource"] = {"resourceType": "NotAFhirType", "id": "x"}
    bundle["entry"][3] = {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000009"}
    problems = problems_of(predictions_from_bundle, bundle)
    assert [(e, p) for e, p, _ in problems] == [
        ("entry[1]", "Bundle.entry[1].resource.resourceType"),
        ("entry[2]", "Bundle.entry[2].resource.resourceType"),
        ("entry[3]", "Bundle.entry[3].resource"),
    ]
    assert "« Patient » non accepté ici : RiskAssessment attendu" in problems[0][2]
    assert "« NotAFhirType »" in problems[1][2]
    assert problems[2][2] == "ressource absente de l'entrée"


def test_predictions_and_outcomes_are_not_mixed():
    entry, path, _ = one_problem(
        outcomes_from_bundle,
        {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [load("sepsis_predictions_valid.json")["entry"][0]],
        },
    )
    assert (entry, path) == ("entry[0]", "Bundle.entry[0].resource.resourceType")


def test_odd_shapes_never_crash():
    bundle = load("sepsis_predictions_valid.json")
    bundle["entry"][0]["resource"]["subject"] = "Patient/pseudo-7f3a9c21"
    bundle["entry"][1]["resource"]["prediction"] = {"probabilityDecimal": 0.2}
    bundle["entry"][2]["resource"]["contained"] = [{"resourceType": "NotAFhirType"}]
    bundle["entry"][3] = "not an object"
    problems = problems_of(predictions_from_bundle, bundle)
    assert {e for e, _, _ in problems} == {"entry[0]", "entry[1]", "entry[2]", "entry[3]"}
    assert all(isinstance(reason, str) and reason for _, _, reason in problems)


def test_error_message_lists_every_problem():
    with pytest.raises(FhirBatchError) as caught:
        predictions_from_bundle(load("sepsis_predictions_errors.json"))
    message = str(caught.value)
    assert message.startswith("Lot FHIR refusé (6 problème(s))")
    assert "entry[3] — RiskAssessment.prediction[0].probabilityDecimal" in message
    assert isinstance(caught.value, ValueError)
