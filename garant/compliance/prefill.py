"""Initial answers of the qualification wizard, read from the system's register entry, its
establishment and the system's previous qualification.

A question's `prefill` (in the referential) names one function here. A prefilled answer is only
a suggestion that the user sees and confirms; None leaves the question blank. The register
fields read here are also those whose change makes a stored qualification stale
(`RELEVANT_FIELDS`), so the two cannot drift apart.

Requalifying starts from the previous answers (`starting_answers`): they win over the register,
unless the register changed since in a way that changes the suggestion; the establishment's
legal status always wins (it is a fact of the establishment, kept on its page).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

# register field → the prefills that read it (a change of one of them makes a qualification stale)
RELEVANT_FIELDS = (
    "intended_purpose",
    "use_case",
    "solution_type",
    "domain",
    "device_status",
    "hosting",
    "hds_certified",
    "data_categories",
    "gpai_based",
)

_DEVICE_CLASSES = {"mdr_i": "I", "mdr_iia": "IIa", "mdr_iib": "IIb", "mdr_iii": "III"}
_IVD_CLASSES = {"ivd_a": "A", "ivd_b": "B", "ivd_c": "C", "ivd_d": "D"}
_ORIGINS = {
    "S1": "vendor",
    "S2": "in_house",
    "S3": "vendor_modified",
    "S4": "gpai_app",
    "S5": "in_house",
    "S6": "vendor",
}
_DATA_USE = {"D1": ["care"], "D2": ["management"], "D3": ["research_reuse"]}


def _technique(system):
    if system.gpai_based or system.solution_type == "S4":
        return "llm"
    return None if system.solution_type == "S5" else "learned"


def _research_only(system):
    return None if system.domain == "D3" else False


def _medical_purpose(system):
    status = system.device_status
    if status == "not_device":
        return "no"
    return None if status in ("", "unknown") else "yes"


def _regime(system):
    status = system.device_status
    if system.solution_type == "S3" and (status in _DEVICE_CLASSES or status in _IVD_CLASSES):
        return "ce_modified"  # a CE-marked product retrained by the establishment
    if status in _DEVICE_CLASSES:
        return "ce_mdr"
    if status in _IVD_CLASSES:
        return "ce_ivdr"
    return "in_house" if status == "in_house" else None


def _personal_data(system):
    categories = set(system.data_categories or ())
    if "health" in categories:
        return "health"
    if "personal" in categories:
        return "personal"
    return "none" if categories else None


def _data_use(system):
    uses = list(_DATA_USE.get(system.domain, []))
    if system.solution_type == "S5" and "health" in (system.data_categories or ()):
        uses.append("warehouse")
    return uses or None


def _dpia_criteria(system):
    categories = set(system.data_categories or ())
    if not categories & {"personal", "health"}:
        return None
    criteria = ["sensitive"] if "health" in categories else []
    if system.solution_type != "S5":
        criteria.append("innovative")  # the EDPB counts AI as an innovative technology
    return criteria or None


PREFILLS: dict[str, Callable] = {
    "technique": _technique,
    "research_only": _research_only,
    "medical_purpose": _medical_purpose,
    "regime": _regime,
    "mdr_class": lambda s: _DEVICE_CLASSES.get(s.device_status),
    "ivd_class": lambda s: _IVD_CLASSES.get(s.device_status),
    "modified_class": lambda s: (
        _DEVICE_CLASSES.get(s.device_status) or _IVD_CLASSES.get(s.device_status)
    ),
    "origin": lambda s: _ORIGINS.get(s.solution_type),
    "personal_data": _personal_data,
    "data_use": _data_use,
    "dpia_criteria": _dpia_criteria,
    "hosting": lambda s: s.hosting or None,
    "hds_certified": lambda s: s.hds_certified,
    "legal_status": lambda s: s.establishment.legal_status or None,
}

# prefills that read the establishment, not the register entry: they win over previous answers
FROM_ESTABLISHMENT = frozenset({"legal_status"})

# where a starting answer comes from (`starting_answers`)
REGISTER, ESTABLISHMENT, PREVIOUS, REGISTER_CHANGED = (
    "register",
    "establishment",
    "previous",
    "register_changed",
)


def initial_answers(book, system) -> dict:
    """{question id: suggested answer} for the questions that have a prefill and a value (one
    that the question of this referential version offers)."""
    answers = {}
    for qid, question in book.questions.items():
        if (name := question.get("prefill")) and (value := PREFILLS[name](system)) is not None:
            codes = {o["code"] for o in question.get("options", [])}
            values = value if isinstance(value, list) else [value]
            if codes and any(v not in codes for v in values):
                continue
            answers[qid] = value
    return answers


def snapshot(system) -> dict:
    """The relevant register fields as stored with a qualification (JSON values)."""
    values = {}
    for name in RELEVANT_FIELDS:
        value = getattr(system, name)
        values[name] = sorted(value) if isinstance(value, (list, set, tuple)) else value
    return values


def as_of(system, snapshot: dict):
    """`system` as its register entry was when `snapshot` was taken (for the prefills only)."""
    values = {name: getattr(system, name) for name in RELEVANT_FIELDS}
    values.update({k: v for k, v in snapshot.items() if k in values})
    return SimpleNamespace(**values, establishment=system.establishment)


def starting_answers(book, system, previous=None) -> tuple[dict, dict]:
    """The wizard's starting answers and, for each, where it comes from:
    ({question id: answer}, {question id: {"origin": …, "previous": answer or None}}).

    Without a previous qualification: the register's and the establishment's suggestions. With
    one: its answers (those the referential in force still accepts) win, except where the
    register changed since so that the suggestion differs (then the new suggestion, with the
    previous answer to compare) and for the establishment's legal status (always its own)."""
    now = initial_answers(book, system)
    before = initial_answers(book, as_of(system, previous.system_snapshot)) if previous else {}
    kept = _still_valid(book, previous.answers) if previous else {}
    answers, origins = {}, {}
    for qid, question in book.questions.items():
        old = kept.get(qid)
        if qid in now and question.get("prefill") in FROM_ESTABLISHMENT:
            answers[qid], origin = now[qid], ESTABLISHMENT
        elif qid in now and previous and now[qid] not in (before.get(qid), old):
            answers[qid], origin = now[qid], REGISTER_CHANGED
        elif old is not None:
            answers[qid], origin = old, PREVIOUS
        elif qid in now:
            answers[qid], origin = now[qid], REGISTER
        else:
            continue
        origins[qid] = {"origin": origin, "previous": old}
    return answers, origins


def _still_valid(book, answers: dict) -> dict:
    valid = {}
    for qid, value in (answers or {}).items():
        if qid in book.questions:
            try:
                valid[qid] = book.clean_value(book.questions[qid], value)
            except ValueError:
                continue  # an option this version no longer offers: asked again
    return valid
