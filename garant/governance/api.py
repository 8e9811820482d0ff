"""REST API of governance: committees (with their members), meetings (with their agenda),
decisions and actions.

Input goes through the forms of the web pages; records are read and written through
`garant.core.permissions` ("govern" to write). A signed decision refuses PATCH with 409 and a
French message, and the attempt is recorded in the audit trail.
"""

from datetime import date, datetime
from typing import Annotated

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, FilterLookup, FilterSchema, PatchDict, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from garant.core import permissions
from garant.core.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    FormErrors,
    Id,
    Pagination,
    SearchText,
    Text,
    get_scoped,
    merged,
    require_permission,
    save_form,
    without_empty,
)
from garant.core.filtersets import filtered
from garant.governance.decisions import SignRefused, assessment_for, record, sign
from garant.governance.filtersets import ActionFilterSet, DecisionFilterSet
from garant.governance.forms import (
    ActionForm,
    AttendanceForm,
    CommitteeForm,
    ConditionForm,
    DecisionForm,
    MeetingForm,
    MemberForm,
)
from garant.governance.models import (
    TEAM_SIZE,
    Action,
    Committee,
    CommitteeMember,
    Decision,
    DecisionSigned,
    Meeting,
    Outcome,
)
from garant.lifecycle.models import Project

GOVERN = gettext_lazy("Votre rôle ne permet pas d'agir pour les comités de cet établissement.")

# --- committees -----------------------------------------------------------------------------

committees = Router(tags=["Comités"])


class MemberOut(Schema):
    id: int
    user: int | None = Field(alias="user_id")
    name: str = Field(alias="display_name")
    role: str
    role_label: str = Field(alias="get_role_display")
    chair: bool


class MemberIn(Schema):
    user: Id | None = Field(None, description="Utilisateur ; vide pour une personne nommée.")
    name: Text = Field("", description="Nom (obligatoire sans utilisateur).")
    role: Text = Field(
        "", description="direction, cme, nursing, it, quality, legal, dpo, users, field, other."
    )
    chair: bool = False


class CommitteeIn(Schema):
    establishment: Id | None = Field(
        None, description="Établissement (obligatoire ; figé ensuite)."
    )
    name: Text = ""
    kind: Text = Field(
        "single",
        description="strategic, operational, single, college, ethics_committee ou ethics_cell.",
    )
    mandate: Text = ""
    quorum: int | None = Field(
        None, ge=1, le=999, description="Membres présents requis ; vide : la majorité."
    )
    second_signature: bool = Field(False, description="Une décision demande deux signatures.")


class CommitteeOut(Schema):
    id: int
    url: str = Field(alias="get_absolute_url")
    establishment: int = Field(alias="establishment_id")
    name: str
    kind: str
    kind_label: str = Field(alias="get_kind_display")
    mandate: str
    quorum: int | None
    second_signature: bool
    members: list[MemberOut]
    team_size_warning: bool = Field(description="Plus de 15 membres : on ne fait plus équipe.")

    @staticmethod
    def resolve_members(obj):
        return list(obj.members.all())

    @staticmethod
    def resolve_team_size_warning(obj):
        return len(obj.members.all()) > TEAM_SIZE


def committee_queryset():
    return Committee.objects.prefetch_related("members__user")


def save_committee(request, committee, values):
    if committee is not None:
        values["establishment"] = committee.establishment_id
    form = CommitteeForm(values, instance=committee, user=request.user)
    return get_scoped(request, committee_queryset(), save_form(form).pk)


@committees.get("", response=list[CommitteeOut], summary="Lister les comités")
@paginate(Pagination)
def list_committees(request):
    return permissions.scope(committee_queryset(), request.user)


@committees.get(
    "/{committee_id}", response={200: CommitteeOut, **READ_ERRORS}, summary="Lire un comité"
)
def get_committee(request, committee_id: Id):
    return get_scoped(request, committee_queryset(), committee_id)


@committees.post("", response={201: CommitteeOut, **WRITE_ERRORS}, summary="Créer un comité")
def create_committee(request, payload: CommitteeIn):
    require_permission(request, "govern", payload.establishment, GOVERN)
    return Status(201, save_committee(request, None, payload.model_dump()))


@committees.patch(
    "/{committee_id}", response={200: CommitteeOut, **WRITE_ERRORS}, summary="Modifier un comité"
)
def update_committee(request, committee_id: Id, payload: PatchDict[CommitteeIn]):
    committee = get_scoped(request, Committee.objects.all(), committee_id, "govern")
    return save_committee(request, committee, merged(committee, CommitteeIn, payload))


@committees.post(
    "/{committee_id}/members",
    response={201: CommitteeOut, **WRITE_ERRORS},
    summary="Ajouter un membre",
    description="Au-delà de 15 membres, le comité est signalé (team_size_warning) sans refus.",
)
def add_member(request, committee_id: Id, payload: MemberIn):
    committee = get_scoped(request, Committee.objects.all(), committee_id, "govern")
    save_form(MemberForm(payload.model_dump(), committee=committee))
    return Status(201, get_scoped(request, committee_queryset(), committee.pk))


@committees.delete(
    "/members/{member_id}", response={204: None, **WRITE_ERRORS}, summary="Retirer un membre"
)
def delete_member(request, member_id: Id):
    member = get_scoped(request, CommitteeMember.objects.all(), member_id, "govern")
    if Decision.objects.filter(chair=member).exists():
        raise HttpError(409, _("Ce membre a présidé une décision : son siège est conservé."))
    member.delete()
    return Status(204, None)


# --- meetings -------------------------------------------------------------------------------

meetings = Router(tags=["Séances"])


class AgendaItemOut(Schema):
    id: int
    position: int
    kind: str
    project: int | None = Field(alias="project_id")
    alert: int | None = Field(alias="alert_id", description="Alerte de suivi (kind alert).")
    oversight_alert: int | None = Field(
        alias="oversight_alert_id", description="Alerte de supervision humaine (kind alert)."
    )
    title: str
    notes: str


class MeetingIn(Schema):
    committee: Id | None = Field(None, description="Comité (obligatoire ; figé ensuite).")
    starts_at: datetime | None = Field(
        None, description="Date et heure (heure de Paris si sans fuseau)."
    )
    place: Text = ""
    status: Text = Field("planned", description="planned ou held.")
    secretary: Id | None = None
    minutes: Text = ""


class MeetingOut(Schema):
    id: int
    url: str = Field(alias="get_absolute_url")
    committee: int = Field(alias="committee_id")
    starts_at: datetime
    place: str
    status: str
    secretary: int | None = Field(alias="secretary_id")
    minutes: str
    agenda: list[AgendaItemOut]

    @staticmethod
    def resolve_agenda(obj):
        return list(obj.agenda.all())


class MeetingFilters(FilterSchema):
    committee: Annotated[Id | None, FilterLookup("committee_id")] = None
    status: Annotated[str | None, FilterLookup("status")] = None


def meeting_queryset():
    return Meeting.objects.select_related("committee").prefetch_related("agenda")


def save_meeting(request, meeting: Meeting, values):
    values = {**values, "committee": meeting.committee_id}
    if values.get("starts_at") is None:
        raise FormErrors({"starts_at": [_("Ce champ est obligatoire.")]})
    form = MeetingForm(values, instance=meeting, committee=meeting.committee)
    return get_scoped(request, meeting_queryset(), save_form(form).pk)


@meetings.get("", response=list[MeetingOut], summary="Lister les séances")
@paginate(Pagination)
def list_meetings(request, filters: Query[MeetingFilters]):
    return filters.filter(permissions.scope(meeting_queryset(), request.user))


@meetings.get("/{meeting_id}", response={200: MeetingOut, **READ_ERRORS}, summary="Lire une séance")
def get_meeting(request, meeting_id: Id):
    return get_scoped(request, meeting_queryset(), meeting_id)


@meetings.post("", response={201: MeetingOut, **WRITE_ERRORS}, summary="Programmer une séance")
def create_meeting(request, payload: MeetingIn):
    """L'ordre du jour proposé par le cycle de vie s'ajoute ensuite dans l'interface."""
    if payload.committee is None:
        raise FormErrors({"committee": [_("Ce champ est obligatoire.")]})
    committee = get_scoped(request, Committee.objects.all(), payload.committee, "govern")
    return Status(201, save_meeting(request, Meeting(committee=committee), payload.model_dump()))


@meetings.patch(
    "/{meeting_id}", response={200: MeetingOut, **WRITE_ERRORS}, summary="Modifier une séance"
)
def update_meeting(request, meeting_id: Id, payload: PatchDict[MeetingIn]):
    meeting = get_scoped(request, Meeting.objects.select_related("committee"), meeting_id, "govern")
    return save_meeting(request, meeting, merged(meeting, MeetingIn, payload))


# --- decisions ------------------------------------------------------------------------------

decisions = Router(tags=["Décisions"])


class DecisionIn(Schema):
    meeting: Id | None = Field(None, description="Séance (obligatoire à la création).")
    project: Id | None = Field(None, description="Projet (obligatoire à la création).")
    outcome: Text = Field("", description="Code : " + ", ".join(Outcome.values) + ".")
    options: Text = ""
    consensus: bool = False
    votes_for: int | None = Field(None, ge=0, le=999)
    votes_against: int | None = Field(None, ge=0, le=999)
    votes_abstain: int | None = Field(None, ge=0, le=999)
    chair: Id | None = Field(None, description="Membre du comité qui préside.")
    rationale: Text = ""
    conditions: Text = Field("", description="Obligatoires pour generalise_with_conditions.")
    next_review_date: date | None = None


class DecisionOut(Schema):
    id: int
    url: str = Field(alias="get_absolute_url")
    meeting: int = Field(alias="meeting_id")
    project: int = Field(alias="project_id")
    assessment: int = Field(alias="assessment_id")
    outcome: str
    outcome_label: str = Field(alias="get_outcome_display")
    options: str
    consensus: bool
    votes_for: int | None
    votes_against: int | None
    votes_abstain: int | None
    chair: int | None = Field(alias="chair_id")
    rationale: str
    conditions: str
    next_review_date: date | None
    suspension: int | None = Field(
        None, alias="suspension_id", description="Suspension que la décision permet de lever."
    )
    created_at: datetime
    signed_at: datetime | None
    signed_by: int | None = Field(alias="signed_by_id")
    first_signed_at: datetime | None
    first_signed_by: int | None = Field(alias="first_signed_by_id")


class AttendanceIn(Schema):
    member: Id
    status: Text = Field("present", description="present, excused ou absent.")
    conflict_of_interest: bool = False
    conflict_note: Text = ""


class ConditionIn(Schema):
    title: Text
    owner: Id | None = None
    owner_name: Text = ""
    due_date: date


class SignIn(Schema):
    attendance: list[AttendanceIn] = Field(
        [], description="Les présences de la séance, un membre par ligne (à la 1re signature)."
    )
    conditions: list[ConditionIn] = Field(
        [], description="Chaque condition d'une généralisation sous conditions, en action."
    )


class DecisionFilters(Schema):
    """The filters of the decision register's page (`DecisionFilterSet`), as query parameters."""

    q: SearchText | None = Field(None, description="Nom du système d'IA du projet (contient).")
    committee: Id | None = None
    outcome: str | None = Field(None, description="Code : " + ", ".join(Outcome.values) + ".")
    state: str | None = Field(None, description="signed : signées ; draft : à signer.")
    date_from: date | None = Field(None, description="Séances à partir de ce jour.")
    date_to: date | None = Field(None, description="Séances jusqu'à ce jour.")
    meeting: Id | None = None
    project: Id | None = None


def decision_queryset():
    return Decision.objects.select_related("meeting__committee")


def _form_values(values: dict) -> dict:
    return {k: ("" if v is None else v) for k, v in values.items()}


@decisions.get("", response=list[DecisionOut], summary="Lister les décisions (relevé)")
@paginate(Pagination)
def list_decisions(request, filters: Query[DecisionFilters]):
    """Avec les filtres du relevé de décisions."""
    base = permissions.scope(decision_queryset(), request.user)
    filterset, queryset = filtered(DecisionFilterSet, request, base, without_empty(filters))
    if not filterset.is_valid():
        raise FormErrors(filterset.errors)
    return queryset


@decisions.get(
    "/{decision_id}", response={200: DecisionOut, **READ_ERRORS}, summary="Lire une décision"
)
def get_decision(request, decision_id: Id):
    return get_scoped(request, decision_queryset(), decision_id)


@decisions.post("", response={201: DecisionOut, **WRITE_ERRORS}, summary="Consigner une décision")
def create_decision(request, payload: DecisionIn):
    """Sur la dernière évaluation figée du projet (une évaluation en brouillon est figée)."""
    missing = {
        f: [_("Ce champ est obligatoire.")]
        for f in ("meeting", "project")
        if getattr(payload, f) is None
    }
    if missing:
        raise FormErrors(missing)
    meeting = get_scoped(
        request, Meeting.objects.select_related("committee"), payload.meeting, "govern"
    )
    project = get_scoped(request, Project.objects.all(), payload.project)
    if meeting.decisions.filter(project=project).exists():
        raise HttpError(409, _("Une décision sur ce projet existe déjà pour cette séance."))
    assessment = assessment_for(project)
    if assessment is None:
        raise FormErrors(
            {"project": [_("Ce projet n'a pas d'évaluation : évaluez-le avant de décider.")]}
        )
    form = DecisionForm(
        _form_values(payload.model_dump()), meeting=meeting, project=project, assessment=assessment
    )
    if not form.is_valid():
        raise FormErrors(form.errors)
    return Status(201, get_scoped(request, decision_queryset(), record(form, request.user).pk))


@decisions.patch(
    "/{decision_id}",
    response={200: DecisionOut, **WRITE_ERRORS},
    summary="Modifier une décision non signée",
    description="Une décision signée est refusée (409) et la tentative est tracée dans le journal d'audit.",
)
def update_decision(request, decision_id: Id, payload: PatchDict[DecisionIn]):
    decision = get_scoped(request, decision_queryset(), decision_id, "govern")
    if decision.is_signed:
        try:  # outside any transaction, so that the audit event of the attempt stays
            decision.refuse_change({k: [None, v] for k, v in payload.items()})
        except DecisionSigned as refused:
            raise HttpError(409, str(refused)) from None
    values = merged(decision, DecisionIn, payload)
    form = DecisionForm(_form_values(values), instance=decision, meeting=decision.meeting)
    if not form.is_valid():
        raise FormErrors(form.errors)
    try:
        record(form, request.user)
    except DecisionSigned as refused:  # signed meanwhile
        raise HttpError(409, str(refused)) from None
    return get_scoped(request, decision_queryset(), decision.pk)


@decisions.post(
    "/{decision_id}/sign",
    response={200: DecisionOut, **WRITE_ERRORS},
    summary="Signer une décision",
)
def sign_decision(request, decision_id: Id, payload: SignIn):
    """Signée, la décision ne peut plus être modifiée. La séance doit avoir eu lieu, ses
    présences atteindre le quorum du comité, et les conditions devenir des actions."""
    decision = get_scoped(request, decision_queryset(), decision_id, "govern")
    members = {m.pk: m for m in decision.meeting.committee.members.all()}
    attendance, conditions, errors = [], [], {}
    for n, row in enumerate(payload.attendance):
        member = members.get(row.member)
        form = AttendanceForm(row.model_dump(), member=member)
        if member is None:
            errors[f"attendance.{n}.member"] = [_("Ce membre ne siège pas dans ce comité.")]
        elif not form.is_valid():
            errors.update({f"attendance.{n}.{k}": v for k, v in form.errors.items()})
        else:
            attendance.append(form.row())
    for n, row in enumerate(payload.conditions):
        form = ConditionForm(row.model_dump(), meeting=decision.meeting)
        if form.is_valid():
            conditions.append(form.cleaned_data)
        else:
            errors.update({f"conditions.{n}.{k}": v for k, v in form.errors.items()})
    if errors:
        raise FormErrors(errors)
    try:
        sign(decision, request.user, attendance=attendance, conditions=conditions)
    except SignRefused as refused:
        raise HttpError(409, str(refused)) from None
    return get_scoped(request, decision_queryset(), decision.pk)


@decisions.delete(
    "/{decision_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Supprimer une décision non signée",
)
def delete_decision(request, decision_id: Id):
    decision = get_scoped(request, decision_queryset(), decision_id, "govern")
    try:
        decision.delete()
    except DecisionSigned as refused:
        raise HttpError(409, str(refused)) from None
    return Status(204, None)


# --- actions --------------------------------------------------------------------------------

actions = Router(tags=["Actions"])


class ActionIn(Schema):
    meeting: Id | None = Field(None, description="Séance (obligatoire ; figée ensuite).")
    decision: Id | None = Field(None, description="Décision de cette séance.")
    failure_mode: Id | None = Field(
        None, description="Mode de défaillance (AMDEC) que l'action réduit."
    )
    incident: Id | None = Field(
        None, description="Événement indésirable dont l'action est une mesure corrective."
    )
    title: Text = ""
    owner: Id | None = Field(None, description="Porteur (utilisateur).")
    owner_name: Text = Field("", description="Porteur sans compte Garant.")
    due_date: date | None = None
    status: Text = Field("open", description="open, done ou cancelled.")
    notes: Text = ""


class ActionOut(Schema):
    id: int
    meeting: int = Field(alias="meeting_id")
    decision: int | None = Field(alias="decision_id")
    alert: int | None = Field(alias="alert_id", description="Alerte de suivi à l'origine.")
    oversight_alert: int | None = Field(
        alias="oversight_alert_id", description="Alerte de supervision humaine à l'origine."
    )
    failure_mode: int | None = Field(
        alias="failure_mode_id", description="Mode de défaillance (AMDEC) que l'action réduit."
    )
    incident: int | None = Field(
        alias="incident_id", description="Événement indésirable (mesure corrective)."
    )
    title: str
    owner: int | None = Field(alias="owner_id")
    owner_name: str = Field(alias="owner_display")
    due_date: date
    status: str
    done_at: datetime | None
    overdue: bool = Field(alias="is_overdue")
    notes: str


class ActionFilters(Schema):
    """The filters of the actions' follow-up page (`ActionFilterSet`), as query parameters."""

    state: str | None = Field(
        None,
        description="Vide : ouvertes ; overdue : en retard ; all : toutes ; "
        + ", ".join(Action.Status.values)
        + ".",
    )
    committee: Id | None = None
    mine: bool | None = Field(None, description="true : celles dont je suis le porteur.")
    meeting: Id | None = None
    decision: Id | None = None
    owner: Id | None = None


def action_queryset():
    return Action.objects.select_related("meeting__committee", "owner")


def save_action(request, action: Action, values):
    values = {**values, "meeting": action.meeting_id}
    form = ActionForm(_form_values(values), instance=action, meeting=action.meeting)
    return get_scoped(request, action_queryset(), save_form(form).pk)


@actions.get(
    "", response=list[ActionOut], summary="Lister les actions (échéance la plus proche d'abord)"
)
@paginate(Pagination)
def list_actions(request, filters: Query[ActionFilters]):
    """Avec les filtres du suivi des actions : les ouvertes sauf si `state` le précise ;
    en retard d'abord, puis ouvertes, puis closes, par échéance."""
    base = permissions.scope(action_queryset(), request.user)
    filterset, queryset = filtered(ActionFilterSet, request, base, without_empty(filters))
    if not filterset.is_valid():
        raise FormErrors(filterset.errors)
    return queryset


@actions.get("/{action_id}", response={200: ActionOut, **READ_ERRORS}, summary="Lire une action")
def get_action(request, action_id: Id):
    return get_scoped(request, action_queryset(), action_id)


@actions.post("", response={201: ActionOut, **WRITE_ERRORS}, summary="Ajouter une action")
def create_action(request, payload: ActionIn):
    if payload.meeting is None:
        raise FormErrors({"meeting": [_("Ce champ est obligatoire.")]})
    meeting = get_scoped(
        request, Meeting.objects.select_related("committee"), payload.meeting, "govern"
    )
    return Status(201, save_action(request, Action(meeting=meeting), payload.model_dump()))


@actions.patch(
    "/{action_id}", response={200: ActionOut, **WRITE_ERRORS}, summary="Mettre à jour une action"
)
def update_action(request, action_id: Id, payload: PatchDict[ActionIn]):
    """Par le comité ou par le porteur de l'action."""
    action = get_scoped(request, action_queryset(), action_id)
    if not action.updatable_by(request.user):
        raise HttpError(403, _("Seuls le porteur de l'action et le comité la mettent à jour."))
    return save_action(request, action, merged(action, ActionIn, payload))
