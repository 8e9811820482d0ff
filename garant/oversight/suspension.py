"""Suspension and resumption of an AI system (docs/oversight.md, « Suspension »).

A proposal (`propose`) names its cause: a monitoring alert, an oversight alert or a free
text. An authorised person (permission "suspend") confirms it (`suspend`): the suspension
takes effect at once, the status endpoint `GET /api/systems/{id}/status` says so and the
clinical software switches the tool off; or declines it (`decline`) with a note. The
suspension is lifted (`resume`) only on a signed committee decision that references it.

The apps above this one plug in through two registries filled from their AppConfig.ready:

* `on_change(callback)`: called with (suspension, event) after a suspension takes effect
  ("suspended") or is lifted ("resumed"), in the same transaction — lifecycle notifies
  the system's users and referents (in-app and by e-mail);
* `decision_finder(callback)`: `callback(suspension)` returns the signed decisions that
  reference the suspension — governance, whose `Decision.suspension` points here;
* `finding_source(find, linked)`: `find(system, pk)` returns the collège finding (a reviewed
  case, `ReviewCase`) `pk` of `system` or None, `linked(suspension)` the findings a proposal
  rests on — governance, whose `ReviewCase.suspension` points here. A proposal may name such
  a finding as its cause.

Every write goes through the audit trail (the models are `Audited`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.oversight.models import Suspension

State = Suspension.State

_LISTENERS: list[Callable] = []
_FINDERS: list[Callable] = []
_FINDING_SOURCES: list[tuple[Callable, Callable]] = []


class Refused(Exception):
    """A French message saying why the step is refused (nothing was stored)."""


def on_change(callback: Callable) -> None:
    if callback not in _LISTENERS:
        _LISTENERS.append(callback)


def decision_finder(callback: Callable) -> None:
    if callback not in _FINDERS:
        _FINDERS.append(callback)


def finding_source(find: Callable, linked: Callable) -> None:
    if (find, linked) not in _FINDING_SOURCES:
        _FINDING_SOURCES.append((find, linked))


def find_finding(system, pk: int):
    """The collège finding `pk` of `system` (from the registered sources), or None."""
    for find, _linked in _FINDING_SOURCES:
        if (found := find(system, pk)) is not None:
            return found
    return None


def findings(suspension: Suspension) -> list:
    """The collège findings the proposal rests on (each has `get_absolute_url`)."""
    return [f for _find, linked in _FINDING_SOURCES for f in linked(suspension)]


def _announce(suspension: Suspension, event: str) -> None:
    for callback in list(_LISTENERS):
        callback(suspension, event)


def in_effect(system) -> Suspension | None:
    """The suspension in effect on `system` (system code: the caller scoped the system)."""
    return (
        Suspension.objects.unrestricted()
        .select_related("suspended_by")
        .filter(ai_system_id=system.pk, state=State.SUSPENDED)
        .first()
    )


def status(system) -> dict:
    """What the clinical software reads: active, or suspended with reason and since when."""
    current = in_effect(system)
    if current is None:
        return {
            "system": system.pk,
            "status": "active",
            "since": None,
            "reason": None,
            "suspension": None,
        }
    return {
        "system": system.pk,
        "status": "suspended",
        "since": current.suspended_at,
        "reason": current.reason,
        "suspension": current.pk,
    }


def propose(
    system, user, cause: str, *, alert=None, oversight_alert=None, finding=None
) -> Suspension:
    """A proposal to suspend `system`, caused by a monitoring or oversight alert, a collège
    finding (a reviewed case, which then points at the proposal) or a free text."""
    cause = (cause or "").strip()
    if not cause:
        raise Refused(_("Indiquez la cause de la proposition de suspension."))
    for source in (alert, oversight_alert):
        owner = getattr(source, "ai_system_id", None) or getattr(
            getattr(source, "feed", None), "ai_system_id", None
        )
        if source is not None and owner != system.pk:
            raise Refused(_("L'alerte ne concerne pas ce système."))
    if finding is not None:
        if finding.ai_system_id != system.pk:
            raise Refused(_("Le constat du collège ne concerne pas ce système."))
        earlier = finding.suspension
        if earlier is not None and earlier.state not in Suspension.CLOSED_STATES:
            raise Refused(_("Ce constat a déjà donné lieu à une proposition de suspension."))
    with transaction.atomic():
        proposal = Suspension.objects.create(
            ai_system=system,
            cause=cause,
            alert=alert,
            oversight_alert=oversight_alert,
            proposed_by=user,
        )
        if finding is not None:
            finding.suspension = proposal
            finding.save(update_fields=["suspension"])
    return proposal


def suspend(suspension: Suspension, user, reason: str) -> Suspension:
    """Confirm a proposal: the suspension takes effect now."""
    reason = (reason or "").strip()
    if not reason:
        raise Refused(_("Indiquez le motif de la suspension."))
    if suspension.state != State.PROPOSED:
        raise Refused(_("Seule une proposition en attente peut être confirmée."))
    if in_effect(suspension.ai_system) is not None:
        raise Refused(_("Ce système est déjà suspendu."))
    try:
        with transaction.atomic():
            suspension.state = State.SUSPENDED
            suspension.reason = reason
            suspension.suspended_by = user
            suspension.suspended_at = timezone.now()
            suspension.save()
            _announce(suspension, "suspended")
    except IntegrityError as exc:  # another suspension took effect meanwhile
        suspension.refresh_from_db()
        raise Refused(_("Ce système est déjà suspendu.")) from exc
    return suspension


def decline(suspension: Suspension, user, note: str) -> Suspension:
    note = (note or "").strip()
    if not note:
        raise Refused(_("Indiquez pourquoi la suspension n'est pas retenue."))
    if suspension.state != State.PROPOSED:
        raise Refused(_("Seule une proposition en attente peut être refusée."))
    suspension.state = State.DECLINED
    suspension.declined_by = user
    suspension.declined_at = timezone.now()
    suspension.decline_note = note
    suspension.save()
    return suspension


def resumption_decisions(suspension: Suspension) -> list:
    """The signed decisions referencing `suspension` (from the registered finders)."""
    found = []
    for finder in _FINDERS:
        found.extend(finder(suspension))
    return found


def resume(suspension: Suspension, user, decision) -> Suspension:
    """Lift the suspension on `decision`: signed, referencing this suspension, not a stop."""
    if suspension.state != State.SUSPENDED:
        raise Refused(_("Ce système n'est pas suspendu."))
    if decision is None:
        raise Refused(
            _(
                "La reprise exige une décision signée du comité qui fait référence à cette "
                "suspension : enregistrez-la et faites-la signer, puis revenez ici."
            )
        )
    if getattr(decision, "suspension_id", None) != suspension.pk:
        raise Refused(_("Cette décision ne fait pas référence à cette suspension."))
    if not getattr(decision, "is_signed", False):
        raise Refused(_("La décision de reprise n'est pas encore signée."))
    if getattr(decision, "outcome", "") == "stop":
        raise Refused(_("La décision arrête le projet : elle ne permet pas la reprise."))
    suspension.state = State.RESUMED
    suspension.resumed_by = user
    suspension.resumed_at = timezone.now()
    suspension.resumption_decision_id = decision.pk
    suspension.resumption_reference = str(decision)[:300]
    with transaction.atomic():
        suspension.save()
        _announce(suspension, "resumed")
    return suspension
