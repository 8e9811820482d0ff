"""Rights requests received by the DPO office: their deadlines (referential `patients`,
requests: one month from receipt, extension to three months in total with a reason), the
refusal of patient identifiers, the steps and the answer, the answer letters (PDF) and the
DPO's to-do on the home page."""

from __future__ import annotations

import calendar
import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.core.documents import PdfDocument, display
from garant.core.referentials import localized
from garant.core.tenancy import scope
from garant.patients import referential
from garant.patients.models import RequestStep, RightsRequest


class RequestError(ValueError):
    """A step the request's state does not allow (French message for the person)."""


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later; the month's last day when it is shorter (31/01 → 28/02)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def deadline_for(received_on: dt.date, version: str | None = None) -> dt.date:
    return add_months(received_on, referential.data(version)["requests"]["deadline"]["months"])


def latest_extension(received_on: dt.date, version: str | None = None) -> dt.date:
    months = referential.data(version)["requests"]["extension"]["total_months"]
    return add_months(received_on, months)


def rules_text(kind: str, version: str | None = None) -> dict:
    """What the page says about a request's deadline: text, article, confidence mark."""
    requests = referential.data(version)["requests"]
    spec = referential.request_kinds(version).get(kind, {})
    note = spec.get("deadline_note")
    return {
        "deadline": localized(requests["deadline"]),
        "deadline_ref": requests["deadline"]["ref"],
        "deadline_status": spec.get("deadline_status", requests["deadline"]["status"]),
        "deadline_note": localized(note) if note else "",
        "extension": localized(requests["extension"]),
        "kind_ref": spec.get("ref", ""),
        "kind_status": spec.get("status", ""),
    }


# --- writes -----------------------------------------------------------------------------------


@transaction.atomic
def receive(request: RightsRequest, user) -> RightsRequest:
    """Store a new request with its deadline from the referential in force."""
    request.rules_version = referential.rules().version
    request.deadline = deadline_for(request.received_on, request.rules_version)
    request.created_by = user if getattr(user, "is_authenticated", False) else None
    request.full_clean()
    request.save()
    return request


@transaction.atomic
def extend(request: RightsRequest, new_deadline: dt.date, reason: str, user) -> None:
    if not request.open:
        raise RequestError(_("Cette demande est close : son délai ne peut plus être prolongé."))
    if not reason.strip():
        raise RequestError(_("Indiquez le motif de la prolongation."))
    limit = latest_extension(request.received_on, request.rules_version)
    if new_deadline > limit:
        raise RequestError(
            _("Le délai ne peut pas dépasser le %(d)s (trois mois après la réception).")
            % {"d": limit.strftime("%d/%m/%Y")}
        )
    if new_deadline <= request.deadline:
        raise RequestError(_("La nouvelle échéance doit être postérieure à l'actuelle."))
    request.deadline = new_deadline
    request.extended = True
    request.extension_reason = reason.strip()
    if request.state == RightsRequest.State.RECEIVED:
        request.state = RightsRequest.State.IN_PROGRESS
    request.save()
    RequestStep.objects.create(
        request=request,
        done_on=timezone.localdate(),
        note=_("Délai prolongé jusqu'au %(d)s : %(r)s")
        % {"d": new_deadline.strftime("%d/%m/%Y"), "r": request.extension_reason},
        created_by=user,
    )


@transaction.atomic
def add_step(request: RightsRequest, done_on: dt.date, note: str, user) -> RequestStep:
    if not request.open:
        raise RequestError(_("Cette demande est close."))
    step = RequestStep.objects.create(request=request, done_on=done_on, note=note, created_by=user)
    if request.state == RightsRequest.State.RECEIVED:
        request.state = RightsRequest.State.IN_PROGRESS
        request.save(update_fields=["state"])
    return step


@transaction.atomic
def answer(request: RightsRequest, text: str, answered_on: dt.date, user, close=False) -> None:
    if not request.open:
        raise RequestError(_("Cette demande a déjà reçu sa réponse."))
    request.answer = text
    request.answered_on = answered_on
    request.state = RightsRequest.State.CLOSED if close else RightsRequest.State.ANSWERED
    request.save()
    RequestStep.objects.create(
        request=request,
        done_on=answered_on,
        note=_("Réponse envoyée.") if not close else _("Demande close sans suite."),
        created_by=user,
    )


# --- letters ----------------------------------------------------------------------------------


class _Blank(dict):
    def __missing__(self, key):
        return ""


def letter_pdf(request: RightsRequest, kind: str | None = None, signatory: str = "") -> bytes:
    """The answer letter (or, with kind="extension", the extension letter) from the
    referential's template of the request's version."""
    kind = kind or request.kind
    values = _Blank(
        establishment=request.establishment.name,
        reference=request.local_reference,
        received=display(request.received_on),
        kind=referential.kind_label(request.kind, request.rules_version),
        system=request.ai_system.name if request.ai_system_id else _("(non précisé)"),
        answer=(
            request.extension_reason if kind == referential.EXTENSION_LETTER else request.answer
        )
        or _("[réponse à compléter]"),
        deadline=display(request.deadline),
        signatory=signatory or _("Le délégué à la protection des données"),
    )
    doc = PdfDocument(request.establishment.name, subtitle=_("Délégué à la protection des données"))
    doc.paragraph(_("Le %(d)s") % {"d": display(timezone.localdate())})
    for paragraph in referential.letter(kind, request.rules_version):
        doc.paragraph(paragraph.format_map(values))
    doc.paragraph(values["signatory"])
    return doc.render()


# --- the DPO's to-do --------------------------------------------------------------------------


def open_requests(user):
    return scope(RightsRequest.objects.all(), user, "handle_rights").filter(
        state__in=[RightsRequest.State.RECEIVED, RightsRequest.State.IN_PROGRESS]
    )


def home_todo(user) -> dict:
    today = timezone.localdate()
    soon_days = referential.data()["requests"]["due_soon_days"]
    requests = open_requests(user).select_related("ai_system")
    return {
        "rights_overdue": list(requests.filter(deadline__lt=today)[:10]),
        "rights_soon": list(
            requests.filter(deadline__gte=today, deadline__lte=today + dt.timedelta(soon_days))[:10]
        ),
    }


def home_context(user) -> dict:
    """The DPO office's entry points: its requests, each establishment's public register."""
    from garant.core.models import Establishment
    from garant.core.permissions import can

    return {
        "patients_can_handle": can(user, "handle_rights"),
        "patients_registers": list(
            Establishment.objects.restrict(user, "publish_register").order_by("name")
        ),
    }


def draft_answer(request: RightsRequest) -> str:
    """For an explanation request (AI Act Art 86) about a system with an approved notice: a
    first draft of the answer from that notice (what the tool does, where, the human
    guarantee), for the DPO office to complete with the main elements of the decision."""
    from garant.patients.notices import notice_of

    if request.kind != "explanation" or request.ai_system_id is None:
        return ""
    notice = notice_of(request.ai_system)
    version = notice.approved_version if notice else None
    if version is None:
        return ""
    return "\n\n".join(
        [
            version.what,
            version.care_step,
            version.human_guarantee,
            version.responsible,
            _("[Principaux éléments de la décision vous concernant : à compléter.]"),
        ]
    )
