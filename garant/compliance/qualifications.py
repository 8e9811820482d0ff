"""Qualifying a system: storing answers and result, keeping its checklist in line, and telling
when a stored qualification is stale (the referential or the register entry changed since)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.compliance import checklist, prefill
from garant.compliance.models import Obligation, Qualification
from garant.compliance.rules import AnswerError, Rulebook, current_version, rulebook
from garant.core.referentials import localized, vocabulary


def current(system) -> Qualification | None:
    """The latest qualification of `system` (prefetched `qualifications` are used if present)."""
    cache = getattr(system, "_prefetched_objects_cache", {})
    if "qualifications" in cache:
        return next(iter(cache["qualifications"]), None)
    return system.qualifications.order_by("-created_at", "-pk").first()


@transaction.atomic
def qualify(system, raw_answers: dict, user, book: Rulebook | None = None) -> Qualification:
    """Store a qualification of `system` from raw answers (AnswerError if they do not fit)."""
    book = book or rulebook()
    answers = book.clean(raw_answers)
    result = book.evaluate(answers)
    qualification = Qualification.objects.create(
        ai_system=system,
        referential_version=book.version,
        answers=answers,
        result=result,
        system_snapshot=prefill.snapshot(system),
        risk_level=Qualification.risk_level_of(result),
        legal_review=bool(result["flags"]),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    sync_checklist(qualification, book)
    return qualification


def sync_checklist(qualification: Qualification, book: Rulebook) -> None:
    """Create the obligations the qualification requires, refresh the ones that exist, and mark
    the others as no longer required. Status, owner, evidence and comments are kept.

    Due dates and owner proposals follow the `checklist` referential: a duty already in force is
    due after a short grace, a future one on its application date. A due date is moved only if
    no user set it and its application date changed (or the duty comes back): requalifying does
    not push a duty that is due now further away. An obligation without owner gets a proposal."""
    system = qualification.ai_system
    qualified_on = timezone.localdate(qualification.created_at)
    policy = checklist.policy()
    existing = {o.code: o for o in system.obligations.all()}
    wanted = {item["code"] for item in qualification.result["obligations"]}
    proposals = checklist.propose_owners(
        system, {code: book.obligations[code]["family"] for code in wanted}, policy
    )
    for item in qualification.result["obligations"]:
        code = item["code"]
        applies_from = book.date(item["date"])
        due = policy.due_date(code, applies_from, qualified_on)
        follows_ce = book.obligations[code].get("due_from") == "ce_expiry"
        if follows_ce and system.ce_expiry:
            due = system.ce_expiry
        obligation = existing.get(code)
        if obligation is None:
            Obligation.objects.create(
                ai_system=system,
                code=code,
                family=book.obligations[code]["family"],
                referential_version=book.version,
                date_key=item["date"],
                applies_from=applies_from,
                due_date=due,
                proposed_owner=proposals[code],
            )
            continue
        moved = obligation.applies_from != applies_from or not obligation.required or follows_ce
        obligation.family = book.obligations[code]["family"]
        obligation.referential_version = book.version
        obligation.date_key = item["date"]
        obligation.applies_from = applies_from
        obligation.required = True
        if not obligation.due_date_manual and moved:
            obligation.due_date = due
        if obligation.owner_id is None:
            obligation.proposed_owner = proposals[code]
        obligation.save()
    for code, obligation in existing.items():
        if code not in wanted and obligation.required:
            obligation.required = False
            obligation.save(update_fields=["required", "updated_at"])


def is_stale(qualification: Qualification, system=None) -> bool:
    """Whether `staleness` would give reasons, without building them (lists, home page)."""
    system = system or qualification.ai_system
    if qualification.referential_version != current_version():
        return True
    now = prefill.snapshot(system)
    return any(qualification.system_snapshot.get(name) != value for name, value in now.items())


def staleness(qualification: Qualification, system=None) -> list[str]:
    """Why `qualification` no longer reflects the referential or the register (empty if it does)."""
    system = system or qualification.ai_system
    reasons = []
    if qualification.referential_version != current_version():
        reasons.append(
            _("Le référentiel réglementaire est passé de la version %(old)s à la version %(new)s.")
            % {"old": qualification.referential_version, "new": current_version()}
        )
        reasons.extend(referential_changes(qualification))
    now = prefill.snapshot(system)
    for name, value in now.items():
        before = qualification.system_snapshot.get(name)
        if before != value:
            field = system._meta.get_field(name)
            reasons.append(
                _("« %(field)s » a changé dans le registre : %(old)s → %(new)s.")
                % {
                    "field": field.verbose_name,
                    "old": _display(system, name, before),
                    "new": _display(system, name, value),
                }
            )
    return reasons


def referential_changes(qualification: Qualification) -> list[str]:
    """What the referential in force would change in this qualification's result, on the same
    answers: obligations added or dropped, application dates moved, questions to answer."""
    old, new = rulebook(qualification.referential_version), rulebook()
    try:
        result = new.evaluate(new.clean(qualification.answers))
    except AnswerError as exc:
        questions = [new.questions[q] for q in exc.errors if q in new.questions]
        return [
            _("Nouvelle question à laquelle répondre : « %(q)s ».") % {"q": localized(q["text"])}
            for q in questions
        ]
    before = {o["code"]: o["date"] for o in qualification.result.get("obligations", [])}
    after = {o["code"]: o["date"] for o in result["obligations"]}
    changes = []
    for code in after.keys() - before.keys():
        title = localized(new.obligations[code]["title"])
        changes.append(_("Nouvelle obligation : %(t)s.") % {"t": title})
    for code in before.keys() - after.keys():
        title = localized(old.obligations[code]["title"])
        changes.append(_("Obligation qui ne s'applique plus : %(t)s.") % {"t": title})
    for code in before.keys() & after.keys():
        was, now = old.date(before[code]), new.date(after[code])
        if was != now:
            changes.append(
                _("Date d'application modifiée : %(t)s : %(old)s → %(new)s.")
                % {
                    "t": localized(new.obligations[code]["title"]),
                    "old": was.strftime("%d/%m/%Y"),
                    "new": now.strftime("%d/%m/%Y"),
                }
            )
    return sorted(changes)


def _display(system, name: str, value) -> str:
    if value in (None, "", []):
        return "—"
    if isinstance(value, bool):
        return _("oui") if value else _("non")
    field = system._meta.get_field(name)
    vocab = getattr(field, "vocabulary", None)
    if vocab:
        values = value if isinstance(value, list) else [value]
        return ", ".join(vocabulary(vocab).label_of(v) for v in values)
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"
