"""The regulatory rulebook: the questionnaire, the rules and the obligations of one version of
the `regulatory` referential (garant/referentials/regulatory/<version>.yaml), and the
evaluation of a set of answers against them.

Everything that changes with the law is in the YAML file; this module only knows how to read
it: a condition language, the order in which facts are derived, and how a result is described.
It has no database access, so the API's side-effect-free evaluation, the wizard and the tests
all run exactly the same code.

Conditions:
    {answer: q}                  question q answered with a true value (a bool True, a
                                 non-empty choice or selection)
    {answer: q, eq: v}           answered exactly v      {answer: q, in: [v, w]}  one of them
    {answer: q, has: v}          multiple choice including v
    {answer: q, has_any: [v, w]} including at least one of them
    {answer: q, min_count: n}    at least n options chosen
    the same with {fact: f, ...} for the facts derived before
    {all: [c, ...]}  {any: [c, ...]}  {not: c}
An unanswered (or skipped) question is None: `eq`, `in`, `has` are false on it, `not` true.

« Je ne sais pas ». A question whose options include `unsure` and that says what such an answer
`unsure_means` lets the user admit not knowing. The referential's conditions give `unsure` its
conservative reading (usually the answer that imposes the most); the evaluation then
- raises a legal-review flag `unsure:<question>` that names the question and what was assumed;
- lists the question under `undetermined`;
- marks `to_confirm` every obligation that a definite answer to that question could remove (each
  other option is tried in turn, the other answers unchanged).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache, cached_property

from garant.core import referentials
from garant.core.referentials import ReferentialError, localized

KIND = "regulatory"
SECTIONS = (
    "prohibited_practices",
    "annex_i_routes",
    "annex_iii_routes",
    "provider_grounds",
    "transparency_duties",
    "dpia_grounds",
)
OPERATORS = ("eq", "in", "has", "has_any", "min_count")
UNSURE = "unsure"  # the option code of « je ne sais pas »
UNSURE_FLAG = "unsure:"  # + question id: the flag that names a question answered « je ne sais pas »


class AnswerError(ValueError):
    """Answers that do not fit the questionnaire; `errors` maps question id → message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- conditions -------------------------------------------------------------------------------


def exclusive_options(question: dict) -> list[str]:
    """The options of a multiple choice that stand alone (`exclusive`: one code or a list)."""
    exclusive = question.get("exclusive") or []
    return [exclusive] if isinstance(exclusive, str) else list(exclusive)


def is_unsure(question: dict, value) -> bool:
    """Whether `value` is the « je ne sais pas » answer of a question that allows one."""
    if "unsure_means" not in question:
        return False
    return value == UNSURE or (isinstance(value, list) and UNSURE in value)


def holds(condition: dict, answers: dict, facts: dict) -> bool:
    if "all" in condition:
        return all(holds(c, answers, facts) for c in condition["all"])
    if "any" in condition:
        return any(holds(c, answers, facts) for c in condition["any"])
    if "not" in condition:
        return not holds(condition["not"], answers, facts)
    value = (
        answers.get(condition["answer"]) if "answer" in condition else facts.get(condition["fact"])
    )
    if "eq" in condition:
        return value is not None and value == condition["eq"]
    if "in" in condition:
        return value is not None and not isinstance(value, list) and value in condition["in"]
    if "has" in condition:
        return isinstance(value, list) and condition["has"] in value
    if "has_any" in condition:
        return isinstance(value, list) and any(v in value for v in condition["has_any"])
    if "min_count" in condition:
        return isinstance(value, list) and len(value) >= condition["min_count"]
    return bool(value)


# --- the rulebook -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rulebook:
    version: str
    path: str
    data: dict

    @cached_property
    def questions(self) -> dict[str, dict]:
        return {q["id"]: q for step in self.data["steps"] for q in step["questions"]}

    @cached_property
    def step_of(self) -> dict[str, int]:
        return {q["id"]: i for i, step in enumerate(self.data["steps"]) for q in step["questions"]}

    def item(self, section: str, code: str) -> dict | None:
        return next((i for i in self.data[section] if i["code"] == code), None)

    @cached_property
    def obligations(self) -> dict[str, dict]:
        return {o["code"]: o for o in self.data["obligations"]}

    @cached_property
    def flags(self) -> dict[str, dict]:
        return {f["code"]: f for f in self.data["flags"]}

    def date(self, key: str) -> dt.date:
        return dt.date.fromisoformat(self.data["dates"][key]["date"])

    # -- the questionnaire

    def visible(self, step: dict, question: dict, answers: dict) -> bool:
        return holds(step.get("when", {"all": []}), answers, {}) and holds(
            question.get("when", {"all": []}), answers, {}
        )

    def steps_for(self, answers: dict) -> list[dict]:
        """The steps with at least one question to ask, given the answers so far."""
        return [
            step
            for step in self.data["steps"]
            if any(self.visible(step, q, answers) for q in step["questions"])
        ]

    def clean(self, raw: dict) -> dict:
        """Answers checked against the questionnaire; skipped questions are dropped.

        Raises AnswerError naming each unknown question, bad value or missing answer.
        """
        if not isinstance(raw, dict):
            raise AnswerError({"answers": "un objet JSON {question: réponse} est attendu"})
        errors: dict[str, str] = {}
        for key in raw:
            if key not in self.questions:
                errors[key] = "question inconnue de ce référentiel"
        answers: dict = {}
        for step in self.data["steps"]:
            for question in step["questions"]:
                qid = question["id"]
                if not self.visible(step, question, answers):
                    continue  # what does not apply is never stored, even if sent
                if raw.get(qid) in (None, "", []):
                    errors[qid] = "réponse obligatoire"
                    continue
                try:
                    answers[qid] = self.clean_value(question, raw[qid])
                except ValueError as exc:
                    errors[qid] = str(exc)
        if errors:
            raise AnswerError(errors)
        return answers

    def ignored_answers(self, raw: dict, answers: dict) -> list[dict]:
        """The answers of `raw` that `clean` dropped because their question does not apply to
        the other answers (so that a client learns they were not taken into account)."""
        if not isinstance(raw, dict):
            return []
        ignored = []
        for step in self.data["steps"]:
            for question in step["questions"]:
                qid = question["id"]
                if qid in answers or raw.get(qid) in (None, "", []):
                    continue
                step_applies = holds(step.get("when", {"all": []}), answers, {})
                ignored.append(
                    {
                        "question": qid,
                        "label": localized(question["text"]),
                        "reason": localized(
                            {
                                "fr": "Question sans objet au vu des autres réponses : la "
                                "réponse envoyée n'a pas été prise en compte.",
                                "en": "The question does not apply given the other answers: "
                                "the answer sent was not taken into account.",
                            }
                        ),
                        "condition": step["when"] if not step_applies else question.get("when"),
                    }
                )
        return ignored

    def applicable(self, answers: dict) -> dict:
        """`answers` without those of the questions that do not apply to the others."""
        kept: dict = {}
        for step in self.data["steps"]:
            for question in step["questions"]:
                if question["id"] in answers and self.visible(step, question, kept):
                    kept[question["id"]] = answers[question["id"]]
        return kept

    def clean_value(self, question: dict, value):
        codes = [o["code"] for o in question.get("options", [])]
        if question["type"] == "bool":
            if isinstance(value, bool):
                return value
            if value in ("true", "oui", "yes", "1"):
                return True
            if value in ("false", "non", "no", "0"):
                return False
            raise ValueError("oui ou non (true / false) attendu")
        if question["type"] == "choice":
            if isinstance(value, bool) and {"yes", "no"} <= set(codes):
                value = "yes" if value else "no"  # a yes/no question that gained « je ne sais pas »
            if not isinstance(value, str) or value not in codes:
                raise ValueError(f"valeur inconnue {value!r} (valeurs : {', '.join(codes)})")
            return value
        values = value if isinstance(value, list) else [value]
        unknown = [v for v in values if not isinstance(v, str) or v not in codes]
        if unknown:
            raise ValueError(f"valeurs inconnues {unknown!r} (valeurs : {', '.join(codes)})")
        values = [c for c in codes if c in values]  # the questionnaire's order, no repeats
        for exclusive in exclusive_options(question):
            if exclusive in values and len(values) > 1:
                label = next(o["fr"] for o in question["options"] if o["code"] == exclusive)
                raise ValueError(f"« {label} » ne se combine pas avec d'autres choix")
        return values

    # -- evaluation

    def evaluate(self, answers: dict) -> dict:
        """The result of cleaned answers: codes only (descriptions come from `describe`)."""
        result = self._derive(answers)
        unsure = [
            qid
            for qid, question in self.questions.items()
            if qid in answers and is_unsure(question, answers[qid])
        ]
        if not unsure:
            return result
        present = [o["code"] for o in result["obligations"]]
        to_confirm: dict[str, list[str]] = {}
        for qid in unsure:
            for alternative in self._alternatives(self.questions[qid]):
                world = self.applicable({**answers, qid: alternative})
                there = {o["code"] for o in self._derive(world)["obligations"]}
                for code in present:
                    if code not in there and qid not in to_confirm.setdefault(code, []):
                        to_confirm[code].append(qid)
        result["flags"] += [UNSURE_FLAG + qid for qid in unsure]
        result["undetermined"] = unsure
        result["to_confirm"] = {code: qids for code, qids in to_confirm.items() if qids}
        return result

    @staticmethod
    def _alternatives(question: dict) -> list:
        """The definite answers a « je ne sais pas » stands for: each other option (alone, for a
        multiple choice)."""
        codes = [o["code"] for o in question["options"] if o["code"] != UNSURE]
        return [[c] for c in codes] if question["type"] == "multi" else codes

    def _derive(self, answers: dict) -> dict:
        facts: dict = {}
        for fact in self.data["facts"]:
            if "section" in fact:
                facts[fact["id"]] = [
                    i["code"]
                    for i in self.data[fact["section"]]
                    if holds(i["when"], answers, facts)
                ]
            elif "first" in fact:
                facts[fact["id"]] = next(
                    (c["value"] for c in fact["first"] if holds(c["when"], answers, facts)),
                    fact.get("default", ""),
                )
            else:
                facts[fact["id"]] = holds(fact["when"], answers, facts)
        obligations = []
        for item in self.data["obligations"]:
            if holds(item["when"], answers, facts):
                date_key = next(
                    c["date"]
                    for c in item["dates"]
                    if holds(c.get("when", {"all": []}), answers, facts)
                )
                obligations.append({"code": item["code"], "date": date_key})
        flags = [f["code"] for f in self.data["flags"] if holds(f["when"], answers, facts)]
        items = [
            self.item(f["section"], code)
            for f in self.data["facts"]
            if "section" in f
            for code in facts[f["id"]]
        ]
        if any(self.obligations[o["code"]]["status"] == "unconfirmed" for o in obligations) or any(
            i["status"] == "unconfirmed" for i in items
        ):
            flags.append("unconfirmed_facts")
        return {"version": self.version, "facts": facts, "flags": flags, "obligations": obligations}

    # -- description for people (in the active language)

    def cite(self, cite: dict) -> dict:
        act = self.data["acts"][cite["act"]]
        return {
            "act": cite["act"],
            "act_short": localized(act["short"]),
            "act_title": localized(act["title"]),
            "ref": cite["ref"],
            "source_version": act["source_version"],
            "text": f"{localized(act['short'])} {cite['ref']}",
        }

    def describe_date(self, key: str) -> dict:
        entry = self.data["dates"][key]
        return {
            "key": key,
            "date": dt.date.fromisoformat(entry["date"]),
            "original_date": dt.date.fromisoformat(entry["original_date"])
            if "original_date" in entry
            else None,
            "amended_by": entry.get("amended_by", ""),
            "label": localized(entry["label"]),
            "status": entry["status"],
            "sources": self.sources(entry["sources"]),
        }

    def sources(self, tags: list[str]) -> list[dict]:
        return [{"tag": t, "title": self.data["sources"][t]} for t in tags]

    def describe_item(self, section: str, code: str) -> dict:
        item = self.item(section, code)
        described = {
            "code": code,
            "title": localized(item["title"]),
            "explanation": localized(item["explanation"]) if "explanation" in item else "",
            "cite": self.cite(item["cite"]),
            "status": item["status"],
            "sources": self.sources(item["sources"]),
        }
        if "date" in item:
            described["date"] = self.describe_date(item["date"])
        if "role" in item:
            described["role"] = item["role"]
        return described

    def describe_obligation(self, code: str, date_key: str, to_confirm=()) -> dict:
        """One obligation; `to_confirm`: the questions answered « je ne sais pas » it rests on."""
        item = self.obligations[code]
        return {
            "code": code,
            "family": item["family"],
            "family_label": localized(self.data["families"][item["family"]]),
            "role": item["role"],
            "title": localized(item["title"]),
            "summary": localized(item["summary"]) if "summary" in item else "",
            "cite": self.cite(item["cite"]),
            "date": self.describe_date(date_key),
            "due_from": item.get("due_from", ""),
            "status": item["status"],
            "sources": self.sources(item["sources"]),
            "to_confirm": [
                {"question": q, "label": localized(self.questions[q]["text"])}
                for q in to_confirm
                if q in self.questions
            ],
        }

    def describe_flag(self, code: str) -> dict:
        if code == "unconfirmed_facts":
            return {
                "code": code,
                "reason": localized(
                    {
                        "fr": "Certaines obligations ou certains fondements du résultat reposent "
                        "sur des faits non confirmés par la recherche documentaire de Garant : "
                        "ils sont marqués « non confirmé ».",
                        "en": "Some obligations or grounds of the result rest on facts that "
                        "Garant's research could not confirm: they are marked “unconfirmed”.",
                    }
                ),
                "cite": None,
            }
        if code.startswith(UNSURE_FLAG):
            question = self.questions[code.removeprefix(UNSURE_FLAG)]
            means = question["unsure_means"]
            return {
                "code": code,
                "question": question["id"],
                "reason": localized(
                    {
                        "fr": f"Réponse « Je ne sais pas » à la question « {question['text']['fr']} » "
                        f": {means['fr']}",
                        "en": f"“I don't know” to the question “{question['text']['en']}”: "
                        f"{means['en']}",
                    }
                ),
                "cite": self.cite(question["cite"]),
            }
        flag = self.flags[code]
        return {"code": code, "reason": localized(flag["reason"]), "cite": self.cite(flag["cite"])}

    def describe(self, result: dict) -> dict:
        """The result as the result page and the API show it."""
        facts = result["facts"]
        items = {
            s: [self.describe_item(s, c) for c in facts.get(_fact_of(self, s), [])]
            for s in SECTIONS
        }
        high_risk = items["annex_i_routes"] + (
            items["annex_iii_routes"] if facts["annex_iii"] else []
        )
        to_confirm = result.get("to_confirm", {})
        obligations = [
            self.describe_obligation(o["code"], o["date"], to_confirm.get(o["code"], ()))
            for o in result["obligations"]
        ]
        roles = []
        if facts["provider"]:
            roles.append("provider")
        if facts["deployer"]:
            roles.append("deployer")
        return {
            "version": result["version"],
            "ai_system": "uncertain"
            if facts["ai_system_uncertain"]
            else ("yes" if facts["ai_system"] else "no"),
            "ai_act_applies": facts["ai_act_applies"],
            "prohibited": items["prohibited_practices"],
            "high_risk": facts["high_risk"],
            "high_risk_bases": high_risk,
            "annex_iii_derogated": items["annex_iii_routes"] if facts["derogation_applies"] else [],
            "roles": roles,
            "provider_grounds": items["provider_grounds"],
            "transparency": items["transparency_duties"],
            "gpai": facts["gpai"],
            "device": facts["device"],
            "rule_11_class": facts["rule_11_class"],
            "dpia_required": facts["dpia"],
            "dpia_grounds": items["dpia_grounds"],
            "fria_required": facts["fria"],
            "flags": [self.describe_flag(c) for c in result["flags"]],
            "undetermined": [
                {
                    "question": q,
                    "label": localized(self.questions[q]["text"]),
                    "means": localized(self.questions[q]["unsure_means"]),
                }
                for q in result.get("undetermined", [])
            ],
            "obligations": obligations,
            "by_date": by_date(obligations),
            "acts": [
                {
                    "short": localized(act["short"]),
                    "title": localized(act["title"]),
                    "version": act["source_version"],
                }
                for key, act in self.data["acts"].items()
                if any(o["cite"]["act"] == key for o in obligations)
            ],
        }

    def questionnaire(self) -> dict:
        """The questionnaire as plain data (the API's GET), in the active language."""
        return {
            "version": self.version,
            "steps": [
                {
                    "id": step["id"],
                    "title": localized(step["title"]),
                    "when": step.get("when"),
                    "questions": [
                        {
                            "id": q["id"],
                            "type": q["type"],
                            "text": localized(q["text"]),
                            "help": localized(q["help"]) if "help" in q else "",
                            "cite": self.cite(q["cite"]),
                            "when": q.get("when"),
                            "exclusive": q.get("exclusive"),
                            "unsure_means": localized(q["unsure_means"])
                            if "unsure_means" in q
                            else None,
                            "options": [
                                {"code": o["code"], "label": localized(o)}
                                for o in q.get("options", [])
                            ],
                        }
                        for q in step["questions"]
                    ],
                }
                for step in self.data["steps"]
            ],
        }


def by_date(obligations: list[dict]) -> list[dict]:
    """Described obligations grouped by application date, earliest first."""
    groups: dict[str, dict] = {}
    for o in obligations:
        groups.setdefault(o["date"]["key"], {"date": o["date"], "obligations": []})
        groups[o["date"]["key"]]["obligations"].append(o)
    return sorted(groups.values(), key=lambda g: g["date"]["date"])


def _fact_of(book: Rulebook, section: str) -> str:
    return next(f["id"] for f in book.data["facts"] if f.get("section") == section)


# --- loading and checking ---------------------------------------------------------------------


@cache
def rulebook(version: str | None = None) -> Rulebook:
    """The rulebook of `version` (default: the one in force), checked beyond its JSON schema;
    built and checked once per version (the default is the cached object of its version)."""
    ref = referentials.load(KIND, version)
    if not version:
        return rulebook(ref.version)
    book = Rulebook(version=ref.version, path=str(ref.path), data=ref.data)
    _Checker(book).run()
    return book


def current_version() -> str:
    return rulebook().version


def check_all() -> None:
    """Load every version (start-up): a broken file names itself and the item at fault."""
    for version in referentials.versions(KIND):
        rulebook(version)


def clear_cache() -> None:
    rulebook.cache_clear()
    referentials.load.cache_clear()


class _Checker:
    """What a JSON schema cannot say: references between the parts of the file."""

    def __init__(self, book: Rulebook):
        self.book = book
        self.data = book.data

    def fail(self, where: str, message: str):
        raise ReferentialError(f"{self.book.path}: {where}: {message}")

    def unique(self, where: str, codes: list[str]) -> None:
        if dupes := sorted({c for c in codes if codes.count(c) > 1}):
            self.fail(where, f"duplicate ids {dupes}")

    def run(self) -> None:
        data = self.data
        for key, entry in data["dates"].items():
            for name in ("date", "original_date"):
                if name in entry:
                    try:
                        dt.date.fromisoformat(entry[name])
                    except ValueError:
                        self.fail(f"dates/{key}/{name}", f"not a date: {entry[name]!r}")
            self.check_sources(f"dates/{key}", entry["sources"])
        self.unique("steps", [s["id"] for s in data["steps"]])
        self.unique("steps/*/questions", [q["id"] for s in data["steps"] for q in s["questions"]])
        from garant.compliance.prefill import PREFILLS

        for index, step in enumerate(data["steps"]):
            where = f"steps/{step['id']}"
            if "when" in step:
                self.check_condition(f"{where}/when", step["when"], before_step=index, facts=())
            for q in step["questions"]:
                qwhere = f"{where}/questions/{q['id']}"
                self.unique(f"{qwhere}/options", [o["code"] for o in q.get("options", [])])
                self.check_cite(qwhere, q["cite"])
                if "when" in q:
                    self.check_condition(f"{qwhere}/when", q["when"], before_step=index, facts=())
                codes = {o["code"] for o in q.get("options", [])}
                if unknown := [c for c in exclusive_options(q) if c not in codes]:
                    self.fail(f"{qwhere}/exclusive", f"unknown options {unknown}")
                if "unsure_means" in q and UNSURE not in codes:
                    self.fail(
                        f"{qwhere}/unsure_means", f"no {UNSURE!r} option to give a meaning to"
                    )
                multi_unsure = q["type"] == "multi" and "unsure_means" in q
                if multi_unsure and UNSURE not in exclusive_options(q):
                    self.fail(f"{qwhere}/exclusive", f"{UNSURE!r} must be exclusive")
                if q.get("prefill") and q["prefill"] not in PREFILLS:
                    self.fail(f"{qwhere}/prefill", f"unknown register prefill {q['prefill']!r}")
        known: list[str] = []
        self.unique("facts", [f["id"] for f in data["facts"]])
        for fact in data["facts"]:
            where = f"facts/{fact['id']}"
            if "section" in fact:
                section = fact["section"]
                self.unique(section, [i["code"] for i in data[section]])
                for item in data[section]:
                    iwhere = f"{section}/{item['code']}"
                    self.check_condition(f"{iwhere}/when", item["when"], facts=known)
                    self.check_cite(iwhere, item["cite"])
                    self.check_sources(iwhere, item["sources"])
                    if "date" in item and item["date"] not in data["dates"]:
                        self.fail(f"{iwhere}/date", f"unknown date {item['date']!r}")
            for case in fact.get("first", []):
                self.check_condition(f"{where}/first", case["when"], facts=known)
            if "when" in fact:
                self.check_condition(f"{where}/when", fact["when"], facts=known)
            known.append(fact["id"])
        for section in SECTIONS:
            if not any(f.get("section") == section for f in data["facts"]):
                self.fail("facts", f"no fact evaluates the section {section!r}")
        self.unique("flags", [f["code"] for f in data["flags"]])
        for flag in data["flags"]:
            self.check_condition(f"flags/{flag['code']}/when", flag["when"], facts=known)
            self.check_cite(f"flags/{flag['code']}", flag["cite"])
        self.unique("obligations", [o["code"] for o in data["obligations"]])
        for item in data["obligations"]:
            where = f"obligations/{item['code']}"
            if item["family"] not in data["families"]:
                self.fail(f"{where}/family", f"unknown family {item['family']!r}")
            self.check_condition(f"{where}/when", item["when"], facts=known)
            self.check_cite(where, item["cite"])
            self.check_sources(where, item["sources"])
            for case in item["dates"]:
                if case["date"] not in data["dates"]:
                    self.fail(f"{where}/dates", f"unknown date {case['date']!r}")
                if "when" in case:
                    self.check_condition(f"{where}/dates", case["when"], facts=known)
            if "when" in item["dates"][-1]:
                self.fail(f"{where}/dates", "the last case must have no `when` (the default)")

    def check_cite(self, where: str, cite: dict) -> None:
        if cite["act"] not in self.data["acts"]:
            self.fail(f"{where}/cite", f"unknown act {cite['act']!r}")

    def check_sources(self, where: str, tags: list[str]) -> None:
        if unknown := [t for t in tags if t not in self.data["sources"]]:
            self.fail(f"{where}/sources", f"unknown sources {unknown}")

    def check_condition(self, where, cond, *, before_step: int | None = None, facts=()) -> None:
        if not isinstance(cond, dict) or not cond:
            self.fail(where, f"a condition must be a non-empty mapping, not {cond!r}")
        combinators = {"all", "any", "not"} & cond.keys()
        if combinators:
            if len(cond) != 1:
                self.fail(where, f"a combinator stands alone: {sorted(cond)}")
            key = combinators.pop()
            parts = [cond[key]] if key == "not" else cond[key]
            if not isinstance(parts, list):
                self.fail(where, f"{key} takes a list of conditions")
            for part in parts:
                self.check_condition(where, part, before_step=before_step, facts=facts)
            return
        subjects = {"answer", "fact"} & cond.keys()
        if len(subjects) != 1:
            self.fail(where, f"a condition names one answer or one fact: {cond!r}")
        subject = subjects.pop()
        ops = set(cond) - {subject}
        if unknown := ops - set(OPERATORS):
            self.fail(where, f"unknown keys {sorted(unknown)} in condition {cond!r}")
        if len(ops) > 1:
            self.fail(where, f"one operator per condition: {cond!r}")
        name = cond[subject]
        if subject == "fact":
            if before_step is not None or name not in facts:
                self.fail(where, f"unknown or later fact {name!r}")
            return
        question = self.book.questions.get(name)
        if question is None:
            self.fail(where, f"dangling reference to question {name!r}")
        if before_step is not None and self.book.step_of[name] >= before_step:
            self.fail(where, f"question {name!r} is not asked in an earlier step")
        if not ops:
            return
        op = ops.pop()
        values = cond[op] if op in ("in", "has_any") else [cond[op]]
        if op == "min_count":
            if question["type"] != "multi" or not isinstance(cond[op], int):
                self.fail(
                    where, f"min_count needs a multiple-choice question and a number: {cond!r}"
                )
            return
        if op in ("has", "has_any") and question["type"] != "multi":
            self.fail(
                where, f"{op} needs a multiple-choice question, {name!r} is {question['type']}"
            )
        if question["type"] == "bool":
            if any(not isinstance(v, bool) for v in values):
                self.fail(where, f"{name!r} is yes/no: compare with true or false, not {values!r}")
            return
        codes = {o["code"] for o in question["options"]}
        if unknown := [v for v in values if v not in codes]:
            self.fail(where, f"unknown options {unknown} of question {name!r}")
