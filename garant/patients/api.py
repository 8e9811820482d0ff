"""REST API of patient information notices and rights requests (docs/patients.md).

Notices: reading needs "view" on the system, writing a version "change", approving
"approve_notice" (the DPO office), publishing "publish_register". Rights requests: only
"handle_rights" (the DPO office and the admins) lists, reads or writes them; any other role
gets 404 on a request, as for another establishment's. The checks and refusals are the web
forms' (no patient identifier: 422 naming the field). The public register is not in the API:
its machine-readable export is the public JSON page (/registre-ia/etablissements/<id>/registre.json).
"""

import datetime as dt

from django.http import Http404
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from garant.core import permissions
from garant.core.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    FormErrors,
    Id,
    Pagination,
    Text,
    forbidden,
    get_scoped,
)
from garant.core.models import Establishment
from garant.patients import notices, referential, rights
from garant.patients.info_forms import (
    AnswerForm,
    ExtendForm,
    NoticeForm,
    RequestForm,
    StepForm,
)
from garant.patients.models import RightsRequest
from garant.registry.models import AISystem

patient_notices = Router(tags=["Patients : notices d'information"])
rights_requests = Router(tags=["Patients : demandes d'exercice de droits"])


# --- notices ---------------------------------------------------------------------------------


class NoticeVersionOut(Schema):
    number: int
    what: str
    care_step: str
    responsible: str
    human_guarantee: str
    data_used: str
    rights: str
    contact: str
    obligations: list[str]
    generated: bool
    change_note: str
    created_at: dt.datetime


class NoticeOut(Schema):
    system: int
    required_obligations: list[str] = Field(
        description="Obligations de la qualification qui appellent une notice."
    )
    state: str | None = Field(description="draft, submitted, approved ; null sans notice.")
    approved_version: int | None
    published: bool
    versions: list[NoticeVersionOut]


class NoticeIn(Schema):
    what: Text
    care_step: Text
    responsible: Text
    human_guarantee: Text
    data_used: Text
    rights: Text
    contact: Text
    change_note: Text = ""


class NoticeReviewIn(Schema):
    approve: bool = Field(description="true : approuver ; false : renvoyer en brouillon.")
    note: Text = ""


class NoticePublicationIn(Schema):
    published: bool


def _system(request, system_id: int, permission: str = "view") -> AISystem:
    queryset = AISystem.objects.select_related("establishment", "vendor")
    return get_scoped(request, queryset, system_id, permission)


def _notice_out(system) -> dict:
    notice = notices.notice_of(system)
    versions = list(notice.versions.all()) if notice else []
    return {
        "system": system.pk,
        "required_obligations": notices.required_obligations(system),
        "state": notice.state if notice else None,
        "approved_version": notice.approved_version.number
        if notice and notice.approved_version_id
        else None,
        "published": bool(notice and notice.published),
        "versions": versions,
    }


def _notice_step(system, action):
    notice = notices.notice_of(system)
    if notice is None:
        raise Http404
    try:
        action(notice)
    except notices.NoticeError as exc:
        raise forbidden(str(exc)) from exc
    return _notice_out(system)


@patient_notices.get(
    "/{system_id}", response={200: NoticeOut, **READ_ERRORS}, summary="Lire la notice d'un système"
)
def get_notice(request, system_id: Id):
    return _notice_out(_system(request, system_id))


@patient_notices.post(
    "/{system_id}/versions",
    response={201: NoticeOut, **WRITE_ERRORS},
    summary="Enregistrer une nouvelle version (brouillon)",
)
def add_version(request, system_id: Id, payload: NoticeIn):
    system = _system(request, system_id, "change")
    form = NoticeForm({k: v or "" for k, v in payload.dict().items()})
    if not form.is_valid():
        raise FormErrors(form.errors)
    data = form.cleaned_data
    notices.save_version(system, data, request.user, note=data["change_note"])
    return Status(201, _notice_out(system))


@patient_notices.post(
    "/{system_id}/generate",
    response={201: NoticeOut, **WRITE_ERRORS},
    summary="Générer une version depuis le registre et la qualification",
)
def generate_version(request, system_id: Id):
    system = _system(request, system_id, "change")
    notices.save_version(system, notices.generate(system), request.user, generated=True)
    return Status(201, _notice_out(system))


@patient_notices.post(
    "/{system_id}/submit", response={200: NoticeOut, **WRITE_ERRORS}, summary="Soumettre au DPO"
)
def submit_notice(request, system_id: Id):
    return _notice_step(_system(request, system_id, "change"), notices.submit)


@patient_notices.post(
    "/{system_id}/review",
    response={200: NoticeOut, **WRITE_ERRORS},
    summary="Approuver ou renvoyer en brouillon (DPO)",
)
def review_notice(request, system_id: Id, payload: NoticeReviewIn):
    system = _system(request, system_id, "approve_notice")
    note = payload.note or ""
    if payload.approve:
        return _notice_step(system, lambda n: notices.approve(n, request.user, note))
    return _notice_step(system, lambda n: notices.send_back(n, note))


@patient_notices.put(
    "/{system_id}/publication",
    response={200: NoticeOut, **WRITE_ERRORS},
    summary="Publier ou retirer la notice approuvée",
)
def publish_notice(request, system_id: Id, payload: NoticePublicationIn):
    system = _system(request, system_id, "publish_register")
    return _notice_step(system, lambda n: notices.set_published(n, payload.published))


# --- rights requests ----------------------------------------------------------------------------


class RightsStepOut(Schema):
    done_on: dt.date
    note: str


class RightsRequestOut(Schema):
    id: int
    establishment: int = Field(alias="establishment_id")
    kind: str
    kind_label: str
    local_reference: str
    received_on: dt.date
    ai_system: int | None = Field(alias="ai_system_id")
    summary: str
    identity_checked_by: str
    identity_check_method: str
    identity_checked_on: dt.date
    state: str
    deadline: dt.date
    overdue: bool
    extended: bool
    extension_reason: str
    answer: str
    answered_on: dt.date | None
    rules_version: str
    steps: list[RightsStepOut]

    @staticmethod
    def resolve_kind_label(obj):
        return referential.kind_label(obj.kind, obj.rules_version)

    @staticmethod
    def resolve_overdue(obj):
        return obj.overdue()

    @staticmethod
    def resolve_steps(obj):
        return list(obj.steps.all())


class RightsRequestIn(Schema):
    establishment: Id
    kind: str = Field(description="access, objection, erasure, withdrawal, explanation")
    local_reference: Text = Field(description="Référence locale : aucune identité du patient.")
    received_on: dt.date
    ai_system: Id | None = None
    summary: Text
    identity_checked_by: Text
    identity_check_method: Text
    identity_checked_on: dt.date


class RightsRequestFilters(Schema):
    establishment: Id | None = None
    state: str | None = Field(None, description="received, in_progress, answered, closed")


class RightsStepIn(Schema):
    done_on: dt.date
    note: Text


class RightsExtensionIn(Schema):
    new_deadline: dt.date
    reason: Text


class RightsAnswerIn(Schema):
    answer: Text
    answered_on: dt.date
    close: bool = False


def _requests(request):
    queryset = RightsRequest.objects.select_related("establishment").prefetch_related("steps")
    return permissions.scope(queryset, request.user, "handle_rights")


def _request(request, request_id: int) -> RightsRequest:
    found = _requests(request).filter(pk=request_id).first()
    if found is None:
        raise Http404
    return found


@rights_requests.get("", response=list[RightsRequestOut], summary="Lister les demandes (DPO)")
@paginate(Pagination)
def list_requests(request, filters: Query[RightsRequestFilters]):
    queryset = _requests(request)
    if filters.establishment:
        queryset = queryset.filter(establishment_id=filters.establishment)
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    return queryset


@rights_requests.post(
    "", response={201: RightsRequestOut, **WRITE_ERRORS}, summary="Enregistrer une demande (DPO)"
)
def create_request(request, payload: RightsRequestIn):
    establishment = get_scoped(
        request, Establishment.objects.all(), payload.establishment, "handle_rights"
    )
    systems = AISystem.objects.within(establishment=establishment)
    data = {k: ("" if v is None else v) for k, v in payload.dict(exclude={"establishment"}).items()}
    form = RequestForm(data, systems=systems)
    if not form.is_valid():
        raise FormErrors(form.errors)
    new = form.save(commit=False)
    new.establishment = establishment
    rights.receive(new, request.user)
    return Status(201, _request(request, new.pk))


@rights_requests.get(
    "/{request_id}",
    response={200: RightsRequestOut, **READ_ERRORS},
    summary="Lire une demande (DPO)",
)
def get_request(request, request_id: Id):
    return _request(request, request_id)


def _write(request, request_id, form_class, payload, action):
    item = _request(request, request_id)
    form = form_class({k: ("" if v is None else v) for k, v in payload.dict().items()})
    if not form.is_valid():
        raise FormErrors(form.errors)
    try:
        action(item, form.cleaned_data)
    except rights.RequestError as exc:
        raise FormErrors({"__all__": [str(exc)]}) from exc
    return _request(request, request_id)


@rights_requests.post(
    "/{request_id}/steps",
    response={200: RightsRequestOut, **WRITE_ERRORS},
    summary="Ajouter une étape",
)
def add_step(request, request_id: Id, payload: RightsStepIn):
    return _write(
        request,
        request_id,
        StepForm,
        payload,
        lambda item, d: rights.add_step(item, d["done_on"], d["note"], request.user),
    )


@rights_requests.post(
    "/{request_id}/extension",
    response={200: RightsRequestOut, **WRITE_ERRORS},
    summary="Prolonger le délai (trois mois au plus, avec motif)",
)
def extend_request(request, request_id: Id, payload: RightsExtensionIn):
    return _write(
        request,
        request_id,
        ExtendForm,
        payload,
        lambda item, d: rights.extend(item, d["new_deadline"], d["reason"], request.user),
    )


@rights_requests.post(
    "/{request_id}/answer", response={200: RightsRequestOut, **WRITE_ERRORS}, summary="Répondre"
)
def answer_request(request, request_id: Id, payload: RightsAnswerIn):
    return _write(
        request,
        request_id,
        AnswerForm,
        payload,
        lambda item, d: rights.answer(
            item, d["answer"], d["answered_on"], request.user, close=d["close"]
        ),
    )
