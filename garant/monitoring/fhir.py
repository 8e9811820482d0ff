"""Read FHIR R4 Bundles of predictions and outcomes into Arrow tables, all rows or none.

Pure Python (no Django): the ingestion code calls :func:`predictions_from_bundle` and
:func:`outcomes_from_bundle` with the raw upload (``bytes``, ``str`` or an already decoded
``dict``) and receives a ``pyarrow.Table``, or a :class:`FhirBatchError` listing *every*
problem found in the bundle. Nothing is returned when any problem exists.

Validation happens in two layers:

1. Structure and types: the bundle is validated with the ``fhir.resources`` R4B models
   (``fhir.resources.R4B.bundle.Bundle``; R4B reads R4 ``RiskAssessment``, ``Observation``
   and ``Condition`` unchanged). Those models check element names, cardinalities and
   primitive formats, not code values.
2. Meaning, checked here: status codes, required elements, pseudonymous subjects, value
   ranges, links between outcomes and predictions (rules below).

The bundle
----------
``resourceType`` must be ``Bundle`` and ``type`` one of ``collection``, ``batch`` or
``transaction``, with at least one entry. Each ``entry[i].resource`` must be of a type
this function reads (``RiskAssessment`` for predictions; ``Observation`` or ``Condition``
for outcomes): a bundle mixing predictions and outcomes is refused; send them separately.
``contained`` resources are refused (they could carry a whole ``Patient``).

Problems
--------
Each problem is a :class:`FhirProblem` ``(entry, path, reason)``: ``entry`` is
``"entry[i]"`` with ``i`` counted from 0 as in the JSON array and in FHIRPath
(``Bundle.entry[i]``), or ``"Bundle"`` for the bundle itself; ``path`` is a FHIRPath-like
location (``"RiskAssessment.prediction[0].probabilityDecimal"``); ``reason`` is French.

Dates
-----
Every time used (``occurrenceDateTime``, ``effectiveDateTime``, ``onsetDateTime``,
``recordedDate``) must be a full FHIR ``dateTime`` with a time *and* a timezone
(``2024-03-05T14:30:00+01:00`` or ``...Z``), at most microsecond precision; it is stored
in UTC. A date alone is refused: the monitoring windows need an instant.

Direct identifiers are refused
------------------------------
The subject must be pseudonymous. In ``subject`` (and in the resource's own
``identifier``), are refused: any non-empty ``subject.display`` (a display is where names
travel); an identifier whose ``system`` is an INS OID (INS-NIR ``urn:oid:1.2.250.1.213.1.4.8``,
INS-NIA ``...1.4.9``, their test OIDs ``...1.4.10`` / ``...1.4.11``) or mentions ``INS-NIR``,
or whose ``type`` is coded ``INS-NIR``/``INS-NIA``/``NIR``; ``mailto:``/``tel:`` systems; any
identifier value or reference id that looks like an e-mail address, a telephone number or a
NIR (``identifiers.NIR``, the one rule of every ingestion path; key checked).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import pyarrow as pa

from garant.monitoring.identifiers import nir_key_valid  # the one NIR rule of every path

__all__ = [
    "OUTCOME_SCHEMA",
    "PREDICTION_SCHEMA",
    "FhirBatchError",
    "FhirProblem",
    "outcomes_from_bundle",
    "predictions_from_bundle",
]

PREDICTION_SCHEMA = pa.schema(
    [
        pa.field("prediction_id", pa.string(), nullable=False),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("patient_id", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("model_version", pa.string(), nullable=True),
    ]
)
OUTCOME_SCHEMA = pa.schema(
    [
        pa.field("prediction_id", pa.string(), nullable=False),
        pa.field("outcome", pa.int8(), nullable=False),
        pa.field("outcome_time", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

BUNDLE_TYPES = ("collection", "batch", "transaction")
RISK_STATUSES = ("final", "amended", "corrected", "preliminary")
OBSERVATION_STATUSES = ("final", "amended", "corrected")
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_PRESENT = ("active", "recurrence", "relapse", "inactive", "remission", "resolved")
YES_NO_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0136"
SNOMED = "http://snomed.info/sct"
#: valueCodeableConcept codings read as an outcome: (system, code) -> 0/1.
CODED_OUTCOMES = {
    (YES_NO_SYSTEM, "Y"): 1,
    (YES_NO_SYSTEM, "N"): 0,
    (SNOMED, "373066001"): 1,  # Yes
    (SNOMED, "373067005"): 0,  # No
}
INS_SYSTEMS = frozenset(
    f"urn:oid:1.2.250.1.213.1.4.{n}" for n in (8, 9, 10, 11)
)  # INS-NIR, INS-NIA and their test OIDs
INS_TYPE_CODES = frozenset({"INS-NIR", "INS-NIA", "INS-NIR-TEST", "INS-NIA-TEST", "NIR"})

_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_SUBJECT_REFERENCE = re.compile(r"(Patient|Encounter)/([A-Za-z0-9\-.]{1,64})")
_RISK_REFERENCE = re.compile(r"RiskAssessment/([A-Za-z0-9\-.]{1,64})")
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})"
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE_FR = re.compile(r"(?:\+33|0033|0)\s?[1-9](?:[\s.\-]?\d{2}){4}")
_PHONE_INTL = re.compile(r"\+\d[\d\s.\-]{7,17}")


class FhirProblem(NamedTuple):
    """One problem of a bundle: where it is and why, in French."""

    entry: str  # "entry[3]" (0-based, as in Bundle.entry[3]) or "Bundle"
    path: str  # "RiskAssessment.prediction[0].probabilityDecimal"
    reason: str


class FhirBatchError(ValueError):
    """The bundle is refused as a whole; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[tuple[str, str, str]]):
        self.problems = [FhirProblem(*p) for p in problems]
        lines = [f"{p.entry} — {p.path} : {p.reason}" for p in self.problems]
        super().__init__(f"Lot FHIR refusé ({len(lines)} problème(s)) :\n" + "\n".join(lines))


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


def predictions_from_bundle(data: bytes | str | dict) -> pa.Table:
    """Read a Bundle of ``RiskAssessment`` into the predictions table.

    Mapping, per ``RiskAssessment`` (one row each, in bundle order):

    - ``prediction_id`` ← ``id``; if absent, ``identifier[0].value``. Required, unique in
      the bundle. Outcomes refer to it as ``RiskAssessment/<prediction_id>``.
    - ``timestamp`` ← ``occurrenceDateTime`` (time and timezone required), in UTC.
    - ``patient_id`` ← the id in ``subject.reference``, which must be ``Patient/<id>`` or
      ``Encounter/<id>`` (relative reference, pseudonymous id; for an Encounter the id is
      the stay's). ``subject.display`` must be absent.
    - ``score`` ← ``prediction[0].probabilityDecimal``, a number in [0, 1]; exactly one
      ``prediction`` element.
    - ``model_version`` ← ``method.coding[0].code`` (null when ``method`` is absent; if
      ``method`` is given its first coding must carry a ``code``).
    - ``status`` must be ``final``, ``amended``, ``corrected`` or ``preliminary``
      (``registered``, ``cancelled``, ``entered-in-error`` and ``unknown`` are refused).
    """
    resources, problems = _read_bundle(data, ("RiskAssessment",))
    rows: list[dict[str, Any]] = []
    _each_resource(resources, problems, rows, _risk_assessment_row)
    _check_unique(rows, problems, "RiskAssessment", "identifiant de prédiction")
    if problems:
        raise FhirBatchError(problems)
    return _table(rows, PREDICTION_SCHEMA)


def outcomes_from_bundle(data: bytes | str | dict) -> pa.Table:
    """Read a Bundle of ``Observation`` and/or ``Condition`` into the outcomes table.

    Both link to the prediction the same way: among the references listed below, exactly
    one distinct ``RiskAssessment`` must be named, either as ``reference:
    "RiskAssessment/<prediction_id>"`` or as a logical reference ``{"type":
    "RiskAssessment", "identifier": {"value": "<prediction_id>"}}``; that id is
    ``prediction_id`` (one outcome per prediction in a bundle).

    ``Observation`` (the observed outcome of the predicted event):

    - ``status`` must be ``final``, ``amended`` or ``corrected``.
    - ``prediction_id`` ← ``focus[*]`` and ``derivedFrom[*]``.
    - ``outcome`` ← ``valueBoolean`` (true → 1, false → 0), or ``valueInteger`` 0 or 1,
      or ``valueCodeableConcept`` with a coding ``v2-0136`` ``Y``/``N``
      (``http://terminology.hl7.org/CodeSystem/v2-0136``) or SNOMED CT ``373066001`` (Yes)
      / ``373067005`` (No). Any other value type is refused.
    - ``outcome_time`` ← ``effectiveDateTime`` (time and timezone required).

    ``Condition`` (the predicted condition, e.g. sepsis, was or was not diagnosed):

    - ``prediction_id`` ← ``evidence[*].detail[*]``.
    - ``outcome`` = 0 when ``verificationStatus`` is ``refuted``; otherwise 1 when
      ``clinicalStatus`` is ``active``, ``recurrence`` or ``relapse`` — and also
      ``inactive``, ``remission`` or ``resolved``: the condition did occur at its onset, its
      later resolution does not change the outcome. ``verificationStatus``
      ``entered-in-error``, ``unconfirmed``, ``provisional`` or ``differential`` is refused
      (not an established outcome); ``confirmed`` or absent is accepted. Codes are read
      from the codings of the HL7 ``condition-clinical`` / ``condition-ver-status`` systems
      (or codings without a system).
    - ``outcome_time`` ← ``onsetDateTime``; for a refuted condition without onset,
      ``recordedDate``. Time and timezone required.
    """
    resources, problems = _read_bundle(data, ("Observation", "Condition"))
    rows: list[dict[str, Any]] = []
    _each_resource(resources, problems, rows, _outcome_row)
    _check_unique(rows, problems, None, "résultat pour la même prédiction")
    if problems:
        raise FhirBatchError(problems)
    return _table(rows, OUTCOME_SCHEMA)


# ---------------------------------------------------------------------------------------
# Bundle envelope and structural validation (fhir.resources)
# ---------------------------------------------------------------------------------------


def _read_bundle(
    data: bytes | str | dict, accepted: tuple[str, ...]
) -> tuple[list[tuple[int, dict]], list[FhirProblem]]:
    """Decode, check the envelope, validate structure.

    Returns the readable resources as ``(entry index, resource)`` and the problems so far.
    """
    problems: list[FhirProblem] = []
    readable: list[tuple[int, dict]] = []
    bundle = _decode(data, problems)
    if bundle is None:
        return readable, problems
    if bundle.get("resourceType") != "Bundle":
        found = bundle.get("resourceType")
        what = f"une ressource « {found} »" if isinstance(found, str) else "pas une ressource FHIR"
        problems.append(
            FhirProblem(
                "Bundle",
                "resourceType",
                f"un Bundle FHIR est attendu, le document est {what}",
            )
        )
        return readable, problems
    if bundle.get("type") not in BUNDLE_TYPES:
        problems.append(
            FhirProblem(
                "Bundle",
                "Bundle.type",
                f"type de Bundle « {bundle.get('type')} » refusé : "
                f"{', '.join(BUNDLE_TYPES)} attendu",
            )
        )
    entries = bundle.get("entry")
    if entries is None or entries == []:
        problems.append(FhirProblem("Bundle", "Bundle.entry", "le lot est vide (aucune entrée)"))
        return readable, problems
    if not isinstance(entries, list):
        problems.append(FhirProblem("Bundle", "Bundle.entry", "Bundle.entry doit être une liste"))
        return readable, problems

    # Entries whose resource cannot be read are reported here and left out of the
    # fhir.resources validation (it cannot validate an unknown resource type).
    shell_entries: list[Any] = []
    for i, entry in enumerate(entries):
        label = f"entry[{i}]"
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(entry, dict):
            problems.append(
                FhirProblem(label, f"Bundle.entry[{i}]", "une entrée doit être un objet JSON")
            )
            shell_entries.append({})
        elif not isinstance(resource, dict):
            problems.append(
                FhirProblem(label, f"Bundle.entry[{i}].resource", "ressource absente de l'entrée")
            )
            shell_entries.append({k: v for k, v in entry.items() if k != "resource"})
        elif resource.get("resourceType") not in accepted:
            problems.append(
                FhirProblem(
                    label,
                    f"Bundle.entry[{i}].resource.resourceType",
                    f"type de ressource « {resource.get('resourceType')} » non accepté ici : "
                    f"{' ou '.join(accepted)} attendu",
                )
            )
            shell_entries.append({k: v for k, v in entry.items() if k != "resource"})
        else:
            shell_entries.append(entry)
            readable.append((i, resource))
    problems.extend(_structure_problems({**bundle, "entry": shell_entries}))
    return readable, problems


def _decode(data: bytes | str | dict, problems: list[FhirProblem]) -> dict | None:
    if isinstance(data, dict):
        return data
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problems.append(
                FhirProblem("Bundle", "(fichier)", f"encodage illisible, UTF-8 attendu ({exc})")
            )
            return None
    if not isinstance(data, str):
        problems.append(
            FhirProblem("Bundle", "(fichier)", "le lot doit être du JSON (octets, texte ou objet)")
        )
        return None
    try:
        decoded = json.loads(data)
    except json.JSONDecodeError as exc:
        problems.append(
            FhirProblem(
                "Bundle",
                "(JSON)",
                f"JSON mal formé ligne {exc.lineno}, colonne {exc.colno} : "
                f"{_JSON_FAULTS.get(exc.msg, 'syntaxe JSON invalide')}",
            )
        )
        return None
    except (ValueError, RecursionError):
        problems.append(
            FhirProblem(
                "Bundle",
                "(JSON)",
                "JSON illisible (imbrication trop profonde ou valeur hors limites)",
            )
        )
        return None
    if not isinstance(decoded, dict):
        problems.append(
            FhirProblem("Bundle", "(JSON)", "un objet JSON (Bundle FHIR) est attendu à la racine")
        )
        return None
    return decoded


def _structure_problems(bundle: dict) -> list[FhirProblem]:
    """Validate with the fhir.resources R4B ``Bundle`` model; translate its errors.

    fhir.resources raises plain exceptions (e.g. ``KeyError``) on some inputs, such as an
    unknown type in ``contained``: the bundle is then validated entry by entry so that the
    problem still names its entry.
    """
    try:
        return _validate(bundle)
    except Exception:
        pass
    problems = []
    envelope = {k: v for k, v in bundle.items() if k != "entry"}
    try:
        problems.extend(_validate(envelope))
    except Exception as exc:
        problems.append(FhirProblem("Bundle", "Bundle", _unreadable(exc)))
    for i, entry in enumerate(bundle["entry"]):
        single = {"resourceType": "Bundle", "type": "collection", "entry": [entry]}
        try:
            found = _validate(single)
        except Exception as exc:
            rtype = str(entry.get("resource", {}).get("resourceType", "Bundle.entry"))
            problems.append(FhirProblem(f"entry[{i}]", rtype, _unreadable(exc)))
            continue
        for p in found:
            path = p.path.replace("Bundle.entry[0]", f"Bundle.entry[{i}]", 1)
            problems.append(FhirProblem(f"entry[{i}]", path, p.reason))
    return problems


def _validate(bundle: dict) -> list[FhirProblem]:
    import pydantic
    from fhir.resources.R4B.bundle import Bundle

    try:
        Bundle.model_validate(bundle)
    except pydantic.ValidationError as exc:
        return [_translate(bundle, err) for err in exc.errors()]
    return []


def _unreadable(exc: Exception) -> str:
    return "structure FHIR R4 illisible : élément d'un type inattendu ou ressource inconnue"


# json's own messages are English: the common ones in French
_JSON_FAULTS = {
    "Expecting value": "valeur attendue",
    "Expecting ',' delimiter": "virgule attendue",
    "Expecting ':' delimiter": "deux-points attendus",
    "Expecting property name enclosed in double quotes": "nom d'élément entre guillemets attendu",
    "Unterminated string starting at": "texte jamais refermé par un guillemet",
    "Extra data": "contenu en trop après la fin du document",
    "Invalid control character at": "caractère de contrôle dans un texte",
    "Invalid \\escape": "séquence d'échappement invalide",
}

# pydantic's messages are English: the French reason of each kind of error
_TYPE_FAULTS = {
    "string_type": "texte attendu",
    "string_pattern_mismatch": "format non conforme",
    "string_too_short": "texte vide",
    "int_type": "entier attendu",
    "int_parsing": "entier attendu",
    "int_from_float": "entier attendu",
    "float_type": "nombre attendu",
    "float_parsing": "nombre attendu",
    "decimal_type": "nombre attendu",
    "decimal_parsing": "nombre attendu",
    "bool_type": "booléen attendu (true ou false)",
    "bool_parsing": "booléen attendu (true ou false)",
    "list_type": "liste attendue",
    "dict_type": "objet attendu",
    "model_type": "objet attendu",
    "model_validation_format": "objet attendu",
    "model_attributes_type": "objet attendu",
    "datetime_type": "date et heure attendues",
    "datetime_parsing": "date et heure non conformes",
    "datetime_from_date_parsing": "date et heure non conformes",
    "date_type": "date attendue",
    "date_parsing": "date non conforme",
    "url_type": "URI attendue",
    "url_parsing": "URI non conforme",
}


def _translate(bundle: dict, err: Any) -> FhirProblem:
    loc = list(err.get("loc", ()))
    if len(loc) >= 3 and loc[0] == "entry" and isinstance(loc[1], int) and loc[2] == "resource":
        i = loc[1]
        resource = bundle["entry"][i].get("resource", {})
        entry, path = f"entry[{i}]", _path(str(resource.get("resourceType")), loc[3:])
    elif len(loc) >= 2 and loc[0] == "entry" and isinstance(loc[1], int):
        entry, path = f"entry[{loc[1]}]", _path("Bundle", loc)
    else:
        entry, path = "Bundle", _path("Bundle", loc)
    kind = str(err.get("type", ""))
    if kind == "extra_forbidden":
        reason = "élément inconnu pour ce type de ressource en FHIR R4"
    elif kind.endswith("missing"):
        reason = "élément obligatoire en FHIR R4 absent"
    else:
        fault = _TYPE_FAULTS.get(kind)
        reason = (
            f"valeur non conforme au type FHIR R4 ({fault})"
            if fault
            else ("valeur non conforme au type FHIR R4")
        )
    return FhirProblem(entry, path, reason)


def _path(root: str, loc: Iterable[Any]) -> str:
    out = root
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


# ---------------------------------------------------------------------------------------
# Per-resource rules
# ---------------------------------------------------------------------------------------


class _Checker:
    """Collects the problems of one resource; ``path`` is relative to the resource."""

    def __init__(self, entry: str, resource_type: str):
        self.entry = entry
        self.resource_type = resource_type
        self.problems: list[FhirProblem] = []

    def fail(self, path: str, reason: str) -> None:
        full = self.resource_type + (f".{path}" if path else "")
        self.problems.append(FhirProblem(self.entry, full, reason))


def _each_resource(
    resources: list[tuple[int, dict]],
    problems: list[FhirProblem],
    rows: list[dict[str, Any]],
    row_of: Callable[[dict, _Checker], dict[str, Any] | None],
) -> None:
    """Apply ``row_of`` to every readable resource; merge with structural problems.

    Where the structural validation and a rule here flag the same path, the rule's
    (more precise, French) reason is kept.
    """
    structural = {(p.entry, p.path) for p in problems}
    for i, resource in resources:
        label = f"entry[{i}]"
        checker = _Checker(label, resource["resourceType"])
        try:
            row = row_of(resource, checker)
        except Exception as exc:  # never let odd JSON shapes escape as a crash
            checker.fail("", f"ressource illisible ({type(exc).__name__} : {exc})")
            row = None
        mine = {(p.entry, p.path) for p in checker.problems}
        if mine & structural:
            problems[:] = [p for p in problems if (p.entry, p.path) not in mine]
        problems.extend(checker.problems)
        if row is not None and not checker.problems:
            row["_entry"] = label
            rows.append(row)
    problems.sort(key=_problem_order)


def _problem_order(p: FhirProblem) -> tuple[int, int]:
    m = re.fullmatch(r"entry\[(\d+)\]", p.entry)
    return (1, int(m.group(1))) if m else (0, 0)


def _risk_assessment_row(res: dict, c: _Checker) -> dict[str, Any] | None:
    _refuse_contained(res, c)
    status = res.get("status")
    if status not in RISK_STATUSES:
        c.fail(
            "status",
            f"statut « {status} » refusé : {', '.join(RISK_STATUSES)} attendu"
            if status is not None
            else "statut absent",
        )

    prediction_id = _resource_id(res, c)
    timestamp = _instant(res, "occurrenceDateTime", c, required=True)
    patient_id = _subject(res, c, required=True)
    score = _score(res, c)
    model_version = None
    method = res.get("method")
    if method is not None:
        code = _first_code(method)
        if not isinstance(code, str) or not code.strip():
            c.fail(
                "method.coding[0].code",
                "version du modèle absente : method.coding[0].code attendu (ou retirez method)",
            )
        else:
            model_version = code
    if c.problems:
        return None
    return {
        "prediction_id": prediction_id,
        "timestamp": timestamp,
        "patient_id": patient_id,
        "score": score,
        "model_version": model_version,
    }


def _outcome_row(res: dict, c: _Checker) -> dict[str, Any] | None:
    _refuse_contained(res, c)
    _subject(res, c, required=False)
    _private_identifiers(res.get("identifier"), "identifier", c)
    if res["resourceType"] == "Observation":
        status = res.get("status")
        if status not in OBSERVATION_STATUSES:
            c.fail(
                "status",
                f"statut « {status} » refusé : {', '.join(OBSERVATION_STATUSES)} attendu"
                if status is not None
                else "statut absent",
            )
        prediction_id = _linked_prediction(
            [("focus", res.get("focus")), ("derivedFrom", res.get("derivedFrom"))],
            "focus",
            "focus ou derivedFrom",
            c,
        )
        outcome = _observation_value(res, c)
        outcome_time = _instant(res, "effectiveDateTime", c, required=True)
    else:
        details = []
        for k, evidence in enumerate(_as_list(res.get("evidence"))):
            detail = evidence.get("detail") if isinstance(evidence, dict) else None
            details.append((f"evidence[{k}].detail", detail))
        prediction_id = _linked_prediction(details, "evidence", "evidence.detail", c)
        outcome = _condition_value(res, c)
        if outcome == 0 and res.get("onsetDateTime") is None:
            outcome_time = _instant(res, "recordedDate", c, required=True)
        else:
            outcome_time = _instant(res, "onsetDateTime", c, required=True)
    if c.problems:
        return None
    return {"prediction_id": prediction_id, "outcome": outcome, "outcome_time": outcome_time}


# ---------------------------------------------------------------------------------------
# Element rules
# ---------------------------------------------------------------------------------------


def _resource_id(res: dict, c: _Checker) -> str | None:
    rid = res.get("id")
    if rid is not None:
        if not isinstance(rid, str) or not _FHIR_ID.fullmatch(rid):
            c.fail("id", "id FHIR invalide (1 à 64 caractères A-Z a-z 0-9 - .)")
            return None
        _private_value(rid, "id", c)
        _private_identifiers(res.get("identifier"), "identifier", c)
        return rid
    _private_identifiers(res.get("identifier"), "identifier", c)
    identifiers = _as_list(res.get("identifier"))
    value = (
        identifiers[0].get("value") if identifiers and isinstance(identifiers[0], dict) else None
    )
    if not isinstance(value, str) or not value.strip():
        c.fail("id", "identifiant de prédiction absent : id ou identifier[0].value attendu")
        return None
    return value


def _subject(res: dict, c: _Checker, *, required: bool) -> str | None:
    subject = res.get("subject")
    if subject is None:
        if required:
            c.fail("subject", "sujet absent : subject.reference « Patient/<id> » attendu")
        return None
    if not isinstance(subject, dict):
        return None  # reported by the structural validation
    display = subject.get("display")
    if isinstance(display, str) and display.strip():
        c.fail(
            "subject.display",
            "subject.display refusé : il peut porter le nom du patient "
            "(identifiant direct) ; n'envoyez que la référence pseudonyme",
        )
    identifier = subject.get("identifier")
    if identifier is not None:
        _private_identifiers([identifier], "subject.identifier", c, single=True)
    reference = subject.get("reference")
    if reference is None:
        if required:
            c.fail(
                "subject.reference",
                "référence du sujet absente : « Patient/<id> » ou « Encounter/<id> » attendu",
            )
        return None
    match = _SUBJECT_REFERENCE.fullmatch(reference) if isinstance(reference, str) else None
    if match is None:
        if required:
            c.fail(
                "subject.reference",
                f"référence « {reference} » refusée : « Patient/<id> » ou « Encounter/<id> » "
                "(référence relative, id pseudonyme) attendu",
            )
        return None
    _private_value(match.group(2), "subject.reference", c)
    return match.group(2)


def _private_identifiers(identifiers: Any, path: str, c: _Checker, *, single: bool = False) -> None:
    """Refuse INS/NIR identifiers, e-mail and telephone values."""
    for k, ident in enumerate(_as_list(identifiers)):
        if not isinstance(ident, dict):
            continue
        where = path if single else f"{path}[{k}]"
        system = ident.get("system")
        system = system if isinstance(system, str) else ""
        type_codes = {
            str(coding.get("code")).upper()
            for coding in _as_list((ident.get("type") or {}).get("coding"))
            if isinstance(coding, dict)
        }
        if system in INS_SYSTEMS or "INS-NIR" in system.upper() or type_codes & INS_TYPE_CODES:
            c.fail(
                f"{where}.system",
                "identifiant national de santé (INS / NIR) refusé : identifiant direct ; "
                "utilisez un identifiant pseudonyme",
            )
            continue
        if system.startswith(("mailto:", "tel:")):
            c.fail(f"{where}.system", "adresse e-mail ou téléphone refusé : identifiant direct")
            continue
        value = ident.get("value")
        if isinstance(value, str):
            _private_value(value, f"{where}.value", c)


def _private_value(value: str, path: str, c: _Checker) -> None:
    text = value.strip()
    if _EMAIL.fullmatch(text):
        c.fail(path, "adresse e-mail refusée : identifiant direct")
    elif _PHONE_FR.fullmatch(text) or _PHONE_INTL.fullmatch(text):
        c.fail(path, "numéro de téléphone refusé : identifiant direct")
    elif nir_key_valid(text):
        c.fail(path, "numéro NIR (sécurité sociale) refusé : identifiant direct")


def _score(res: dict, c: _Checker) -> float | None:
    if not isinstance(res.get("prediction", []), list):
        return None  # reported by the structural validation
    predictions = _as_list(res.get("prediction"))
    if not predictions:
        c.fail(
            "prediction[0].probabilityDecimal",
            "probabilité absente : prediction[0].probabilityDecimal attendu",
        )
        return None
    if len(predictions) > 1:
        c.fail("prediction", "une seule prediction par RiskAssessment est lue ; scindez-les")
    first = predictions[0] if isinstance(predictions[0], dict) else {}
    value = first.get("probabilityDecimal")
    path = "prediction[0].probabilityDecimal"
    if value is None:
        other = " (probabilityRange n'est pas lu)" if "probabilityRange" in first else ""
        c.fail(path, f"probabilité absente : prediction[0].probabilityDecimal attendu{other}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        c.fail(path, f"probabilité non numérique : « {value} »")
        return None
    score = float(value)
    if not (math.isfinite(score) and 0.0 <= score <= 1.0):
        c.fail(path, f"probabilité {value} hors de l'intervalle [0, 1]")
        return None
    return score


def _instant(res: dict, name: str, c: _Checker, *, required: bool) -> dt.datetime | None:
    value = res.get(name)
    if value is None:
        if required:
            c.fail(name, f"date et heure absentes : {name} attendu (avec fuseau horaire)")
        return None
    if not isinstance(value, str):
        c.fail(name, "dateTime FHIR attendu (texte)")
        return None
    match = _DATETIME.fullmatch(value)
    if match is None:
        c.fail(
            name,
            f"« {value} » refusé : date, heure et fuseau horaire requis "
            "(ex. 2024-03-05T14:30:00+01:00)",
        )
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    fraction = fraction or ""
    if fraction[6:].strip("0"):
        c.fail(name, f"« {value} » : précision au-delà de la microseconde non prise en charge")
        return None
    try:
        if zone == "Z":
            tz = dt.UTC
        else:
            sign = 1 if zone[0] == "+" else -1
            tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
        moment = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction + "000000")[:6]),
            tzinfo=tz,
        )
    except ValueError as exc:
        c.fail(name, f"« {value} » n'est pas une date valide ({exc})")
        return None
    return moment.astimezone(dt.UTC)


def _linked_prediction(
    sources: list[tuple[str, Any]], missing_path: str, where: str, c: _Checker
) -> str | None:
    """The one RiskAssessment id named among the references of ``sources``."""
    found: dict[str, str] = {}
    for path, references in sources:
        for k, ref in enumerate(_as_list(references)):
            if not isinstance(ref, dict):
                continue
            reference = ref.get("reference")
            identifier = ref.get("identifier")
            if isinstance(reference, str):
                match = _RISK_REFERENCE.fullmatch(reference)
                if match:
                    found.setdefault(match.group(1), f"{path}[{k}].reference")
            elif ref.get("type") == "RiskAssessment" and isinstance(identifier, dict):
                value = identifier.get("value")
                if isinstance(value, str) and value.strip():
                    found.setdefault(value, f"{path}[{k}].identifier.value")
    if not found:
        c.fail(
            missing_path,
            f"prédiction liée absente : une référence « RiskAssessment/<id> » est attendue "
            f"dans {where}",
        )
        return None
    if len(found) > 1:
        first_path = list(found.values())[1]
        c.fail(
            first_path,
            f"plusieurs prédictions liées ({', '.join(found)}) : une seule attendue",
        )
        return None
    return next(iter(found))


def _observation_value(res: dict, c: _Checker) -> int | None:
    if "valueBoolean" in res:
        value = res["valueBoolean"]
        if isinstance(value, bool):
            return int(value)
        c.fail("valueBoolean", "booléen attendu")
        return None
    if "valueInteger" in res:
        value = res["valueInteger"]
        if not isinstance(value, bool) and value in (0, 1):
            return int(value)
        c.fail("valueInteger", f"valeur {value} refusée : 0 ou 1 attendu")
        return None
    if "valueCodeableConcept" in res:
        concept = res["valueCodeableConcept"]
        codings = _as_list(concept.get("coding")) if isinstance(concept, dict) else []
        values = {
            CODED_OUTCOMES[(cd.get("system"), cd.get("code"))]
            for cd in codings
            if isinstance(cd, dict) and (cd.get("system"), cd.get("code")) in CODED_OUTCOMES
        }
        if len(values) == 1:
            return values.pop()
        c.fail(
            "valueCodeableConcept",
            "code de résultat non reconnu ou contradictoire : v2-0136 Y/N ou SNOMED CT "
            "373066001/373067005 attendu",
        )
        return None
    other = [k for k in res if k.startswith("value")]
    c.fail(
        other[0] if other else "value[x]",
        "résultat absent ou d'un type non lu : valueBoolean, valueInteger (0/1) ou "
        "valueCodeableConcept (Oui/Non) attendu",
    )
    return None


def _condition_value(res: dict, c: _Checker) -> int | None:
    verification = _status_code(res.get("verificationStatus"), CONDITION_VERIFICATION)
    clinical = _status_code(res.get("clinicalStatus"), CONDITION_CLINICAL)
    if verification == "refuted":
        return 0
    if verification not in (None, "confirmed"):
        c.fail(
            "verificationStatus",
            f"statut de vérification « {verification} » refusé : confirmed ou refuted attendu",
        )
        return None
    if clinical in CONDITION_PRESENT:
        return 1
    c.fail(
        "clinicalStatus",
        f"statut clinique « {clinical} » non lu : {', '.join(CONDITION_PRESENT)} attendu"
        if clinical
        else "statut clinique absent (ou verificationStatus refuted pour un résultat négatif)",
    )
    return None


def _status_code(concept: Any, system: str) -> str | None:
    if not isinstance(concept, dict):
        return None
    for coding in _as_list(concept.get("coding")):
        if isinstance(coding, dict) and coding.get("system") in (system, None):
            code = coding.get("code")
            return code if isinstance(code, str) else None
    return None


def _refuse_contained(res: dict, c: _Checker) -> None:
    if res.get("contained"):
        c.fail(
            "contained",
            "ressources contenues refusées : elles peuvent porter des identifiants directs",
        )


def _first_code(concept: Any) -> Any:
    if not isinstance(concept, dict):
        return None
    codings = _as_list(concept.get("coding"))
    return codings[0].get("code") if codings and isinstance(codings[0], dict) else None


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _check_unique(
    rows: list[dict[str, Any]], problems: list[FhirProblem], rtype: str | None, what: str
) -> None:
    seen: dict[str, str] = {}
    for row in rows:
        pid = row["prediction_id"]
        if pid in seen:
            problems.append(
                FhirProblem(
                    row["_entry"],
                    f"{rtype}.id" if rtype else "(lien vers la prédiction)",
                    f"{what} « {pid} » en double (déjà en {seen[pid]})",
                )
            )
        else:
            seen[pid] = row["_entry"]
    problems.sort(key=_problem_order)


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    columns = {field.name: [row[field.name] for row in rows] for field in schema}
    return pa.table(columns, schema=schema)
