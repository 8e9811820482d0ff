"""REST API of compliance: the qualification questionnaire and a side-effect-free evaluation,
stored qualifications, and the checklist of obligations.

- `GET /compliance/questionnaire` (`?version=` for an older referential) and
  `POST /compliance/evaluate` run `rules.Rulebook`, the code of the wizard, without touching
  the database: other tools and scripts can qualify a system and store nothing.
- `POST /compliance/qualifications` stores a qualification exactly as the wizard does
  (`qualifications.qualify`: the answers, the result and the checklist), "change" permission
  on the system.
- `PATCH /compliance/obligations/{id}` goes through `ObligationForm`, the form of the
  obligation's page, and the page's save (a due date set by hand is kept on re-qualification).

Answers that do not fit the questionnaire are refused (422) with one error per question,
`field` being `answers.<question id>`. Answers to questions that do not apply to the other
answers are not taken into account, and both POSTs say so in `ignored_answers`.
"""

from datetime import date, datetime
from typing import Annotated, Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, FilterLookup, FilterSchema, PatchDict, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from garant.compliance.dashboard import OPEN
from garant.compliance.forms import ObligationForm
from garant.compliance.models import Obligation, ObligationStatus, Qualification
from garant.compliance.qualifications import is_stale, qualify, staleness
from garant.compliance.rules import KIND, AnswerError, Rulebook, rulebook
from garant.core import permissions, referentials
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
)
from garant.registry.models import AISystem

compliance = Router(tags=["Conformité réglementaire"])


def _rulebook(version: str | None) -> Rulebook:
    """The rulebook in force, or the one of `version` (404 for a version that does not exist)."""
    if version is None:
        return rulebook()
    known = referentials.versions(KIND)
    if version not in known:  # checked first: the name never reaches the file system
        raise HttpError(
            404,
            _("Version inconnue du référentiel réglementaire : %(v)s (versions : %(known)s).")
            % {"v": version, "known": ", ".join(known)},
        )
    return rulebook(version)


def _answer_errors(exc: AnswerError) -> FormErrors:
    return FormErrors(
        {key if key == "answers" else f"answers.{key}": [msg] for key, msg in exc.errors.items()}
    )


# --- questionnaire and evaluation -------------------------------------------------------------


@compliance.get(
    "/questionnaire",
    response={200: dict, **READ_ERRORS},
    summary="Lire le questionnaire de qualification",
)
def get_questionnaire(request, version: SearchText | None = None):
    """Étapes, questions, options, conditions d'affichage (`when`) et articles cités, dans la
    langue de la requête ; `version` pour une version antérieure du référentiel."""
    return _rulebook(version).questionnaire()


class IgnoredAnswer(Schema):
    question: str = Field(description="Identifiant de la question.")
    label: str = Field(description="Libellé de la question.")
    reason: str = Field(description="Pourquoi la réponse n'a pas été prise en compte.")
    condition: dict | None = Field(
        None,
        description="La condition d'affichage (`when`) que les autres réponses ne remplissent pas.",
    )


IGNORED = Field(
    description="Réponses envoyées pour des questions qui ne s'appliquent pas au vu des autres "
    "réponses : elles ne sont ni évaluées ni enregistrées."
)


class EvaluateOut(Schema):
    """The described result (`Rulebook.describe`), its risk level and the ignored answers."""

    version: str = Field(description="Version du référentiel appliquée.")
    risk_level: str = Field(
        description="not_ai, out_of_scope, prohibited, high, transparency ou minimal."
    )
    ai_system: str = Field(description="yes, no ou uncertain (à confirmer).")
    ai_act_applies: bool
    prohibited: list[dict]
    high_risk: bool
    high_risk_bases: list[dict]
    annex_iii_derogated: list[dict]
    roles: list[str] = Field(description="provider et/ou deployer.")
    provider_grounds: list[dict]
    transparency: list[dict]
    gpai: bool
    device: bool
    rule_11_class: str
    dpia_required: bool
    dpia_grounds: list[dict]
    fria_required: bool
    flags: list[dict] = Field(description="Points à confirmer par une revue juridique.")
    undetermined: list[dict] = Field(
        description="Questions répondues « je ne sais pas » : le point est à confirmer."
    )
    obligations: list[dict] = Field(
        description="Obligations ; `to_confirm` nomme les réponses « je ne sais pas » dont "
        "chacune dépend."
    )
    by_date: list[dict]
    acts: list[dict]
    ignored_answers: list[IgnoredAnswer] = IGNORED


class EvaluateIn(Schema):
    answers: dict[str, Any] = Field(description="{identifiant de question: réponse}.")
    version: SearchText | None = Field(
        None, description="Version du référentiel (défaut : en vigueur)."
    )


@compliance.post(
    "/evaluate",
    response={200: EvaluateOut, **READ_ERRORS},
    summary="Évaluer des réponses (sans rien enregistrer)",
)
def evaluate(request, payload: EvaluateIn):
    """Le résultat de la qualification (système d'IA ou non, pratiques interdites, haut risque
    et fondements, transparence, rôles, DM, AIPD, FRIA, points à confirmer, obligations et
    dates) ; rien n'est enregistré. Une réponse « je ne sais pas » est signalée et rend à
    confirmer les obligations qui en dépendent."""
    book = _rulebook(payload.version)
    try:
        answers = book.clean(payload.answers)
    except AnswerError as exc:
        raise _answer_errors(exc) from exc
    result = book.evaluate(answers)
    return {
        "risk_level": Qualification.risk_level_of(result),
        **book.describe(result),
        "ignored_answers": book.ignored_answers(payload.answers, answers),
    }


# --- stored qualifications --------------------------------------------------------------------


class QualificationOut(Schema):
    id: int
    url: str = Field(alias="get_absolute_url", description="Page de la qualification.")
    system: int = Field(alias="ai_system_id")
    system_name: str = Field(alias="ai_system.name")
    establishment: int = Field(alias="ai_system.establishment_id")
    referential_version: str
    risk_level: str
    risk_label: str = Field(alias="get_risk_level_display")
    high_risk_bases: list[str]
    legal_review: bool = Field(description="Des points sont à confirmer par une revue juridique.")
    answers: dict
    result: dict = Field(description="Le résultat en codes (faits, signalements, obligations).")
    created_at: datetime
    created_by: int | None = Field(alias="created_by_id")
    created_by_name: str | None
    stale: bool = Field(description="Le registre ou le référentiel a changé depuis.")
    stale_reasons: list[str]

    @staticmethod
    def resolve_created_by_name(obj):
        return obj.created_by.get_username() if obj.created_by else None

    @staticmethod
    def resolve_stale(obj):
        return is_stale(obj)

    @staticmethod
    def resolve_stale_reasons(obj):
        return [str(r) for r in staleness(obj)]


class QualificationDetailOut(QualificationOut):
    description: dict = Field(description="Le résultat décrit, comme par POST /evaluate.")

    @staticmethod
    def resolve_description(obj):
        return rulebook(obj.referential_version).describe(obj.result)


class QualificationCreatedOut(QualificationDetailOut):
    ignored_answers: list[IgnoredAnswer] = IGNORED

    @staticmethod
    def resolve_ignored_answers(obj):
        return getattr(obj, "ignored_answers", [])


class QualificationFilters(FilterSchema):
    system: Annotated[Id | None, FilterLookup("ai_system_id")] = None


class QualifyIn(Schema):
    system: Id = Field(description="Système d'IA qualifié.")
    answers: dict[str, Any] = Field(description="{identifiant de question: réponse}.")


def qualification_queryset():
    return Qualification.objects.select_related("ai_system__establishment", "created_by")


@compliance.get(
    "/qualifications", response=list[QualificationOut], summary="Lister les qualifications"
)
@paginate(Pagination)
def list_qualifications(request, filters: Query[QualificationFilters]):
    """Les plus récentes d'abord ; la première d'un système est sa qualification en cours."""
    return filters.filter(permissions.scope(qualification_queryset(), request.user))


@compliance.get(
    "/qualifications/{qualification_id}",
    response={200: QualificationDetailOut, **READ_ERRORS},
    summary="Lire une qualification",
)
def get_qualification(request, qualification_id: Id):
    return get_scoped(request, qualification_queryset(), qualification_id)


@compliance.post(
    "/qualifications",
    response={201: QualificationCreatedOut, **WRITE_ERRORS},
    summary="Enregistrer une qualification",
)
def create_qualification(request, payload: QualifyIn):
    """Comme l'assistant : enregistre réponses, résultat et version du référentiel, et met la
    liste des obligations du système en cohérence. Réservé à qui peut modifier le système."""
    system = get_scoped(
        request, AISystem.objects.select_related("establishment"), payload.system, "change"
    )
    try:
        qualification = qualify(system, payload.answers, request.user)
    except AnswerError as exc:
        raise _answer_errors(exc) from exc
    created = get_scoped(request, qualification_queryset(), qualification.pk)
    created.ignored_answers = rulebook(qualification.referential_version).ignored_answers(
        payload.answers, qualification.answers
    )
    return Status(201, created)


# --- obligations ------------------------------------------------------------------------------


class ObligationOut(Schema):
    id: int
    url: str = Field(alias="get_absolute_url", description="Page de l'obligation.")
    system: int = Field(alias="ai_system_id")
    system_name: str = Field(alias="ai_system.name")
    establishment: int = Field(alias="ai_system.establishment_id")
    code: str
    family: str
    family_label: str
    title: str
    article: str
    referential_version: str
    applies_from: date
    original_date: date | None = Field(description="Date d'application avant son report.")
    amended_by: str = Field(description="Acte qui a reporté la date d'application.")
    required: bool = Field(description="Faux quand la qualification en cours ne la demande plus.")
    status: str = Field(description="todo, in_progress, done ou not_applicable.")
    status_label: str = Field(alias="get_status_display")
    justification: str
    owner: int | None = Field(alias="owner_id")
    owner_name: str | None
    proposed_owner: int | None = Field(
        alias="proposed_owner_id",
        description="Responsable proposé d'après les rôles de l'établissement (à accepter).",
    )
    due_date: date
    due_date_manual: bool = Field(description="Échéance fixée par un utilisateur.")
    completed_at: datetime | None
    overdue: bool
    evidence_count: int

    @staticmethod
    def resolve_family_label(obj):
        return _described(obj)["family_label"]

    @staticmethod
    def resolve_title(obj):
        return _described(obj)["title"]

    @staticmethod
    def resolve_article(obj):
        return _described(obj)["cite"]["ref"]

    @staticmethod
    def resolve_original_date(obj):
        return _described(obj)["date"]["original_date"]

    @staticmethod
    def resolve_amended_by(obj):
        return _described(obj)["date"]["amended_by"]

    @staticmethod
    def resolve_owner_name(obj):
        return obj.owner.get_username() if obj.owner else None

    @staticmethod
    def resolve_overdue(obj):
        return obj.overdue()


def _described(obligation: Obligation) -> dict:
    """The obligation as its referential version describes it (once per object)."""
    described = getattr(obligation, "_described", None)
    if described is None:
        book = rulebook(obligation.referential_version)
        described = obligation._described = book.describe_obligation(
            obligation.code, obligation.date_key
        )
    return described


class ObligationFilters(Schema):
    system: Id | None = None
    status: SearchText | None = Field(
        None, description=f"Statut : {', '.join(ObligationStatus.values)}."
    )
    overdue: bool | None = Field(
        None, description="true : en retard seulement ; false : les autres."
    )


class ObligationIn(Schema):
    status: Text = Field(None, description=f"{', '.join(ObligationStatus.values)}.")
    justification: Text = Field(None, description="Obligatoire pour not_applicable.")
    owner: Id | None = Field(None, description="Responsable (membre de l'établissement).")
    due_date: date | None = Field(None, description="Échéance ; fixée, elle n'est plus recalculée.")


def obligation_queryset():
    return Obligation.objects.select_related("ai_system", "owner").annotate(
        evidence_count=Count("evidence")
    )


@compliance.get("/obligations", response=list[ObligationOut], summary="Lister les obligations")
@paginate(Pagination)
def list_obligations(request, filters: Query[ObligationFilters]):
    obligations = permissions.scope(obligation_queryset(), request.user)
    if filters.system is not None:
        obligations = obligations.filter(ai_system_id=filters.system)
    if filters.status:
        if filters.status not in ObligationStatus.values:
            raise FormErrors(
                {
                    "status": [
                        _("Statut inconnu « %(v)s » (valeurs : %(values)s).")
                        % {"v": filters.status, "values": ", ".join(ObligationStatus.values)}
                    ]
                }
            )
        obligations = obligations.filter(status=filters.status)
    if filters.overdue is not None:
        late = Q(required=True, status__in=OPEN, due_date__lt=timezone.localdate())
        obligations = obligations.filter(late) if filters.overdue else obligations.exclude(late)
    return obligations.order_by("ai_system_id", "due_date", "pk")


@compliance.get(
    "/obligations/{obligation_id}",
    response={200: ObligationOut, **READ_ERRORS},
    summary="Lire une obligation",
)
def get_obligation(request, obligation_id: Id):
    return get_scoped(request, obligation_queryset(), obligation_id)


@compliance.patch(
    "/obligations/{obligation_id}",
    response={200: ObligationOut, **WRITE_ERRORS},
    summary="Suivre une obligation",
)
def update_obligation(request, obligation_id: Id, payload: PatchDict[ObligationIn]):
    """Statut, justification (obligatoire pour « non applicable »), responsable, échéance."""
    obligation = get_scoped(
        request, Obligation.objects.select_related("ai_system"), obligation_id, "change"
    )
    form = ObligationForm(merged(obligation, ObligationIn, payload), instance=obligation)
    if not form.is_valid():
        raise FormErrors(form.errors)
    form.save()
    return get_scoped(request, obligation_queryset(), obligation.pk)
