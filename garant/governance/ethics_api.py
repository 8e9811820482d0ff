"""REST API of the ethics referrals: list, read, refer a question (permission
"refer_ethics" on the system), record the body's opinion with its recommendations ("govern";
409 once an opinion is recorded). Input goes through the forms of the web pages."""

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from garant.core import permissions
from garant.core.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    FormErrors,
    Id,
    Pagination,
    Text,
    get_scoped,
    save_form,
)
from garant.governance import ethics
from garant.governance.ethics_views import OpinionForm, ReferralForm
from garant.governance.models import EthicsReferral
from garant.registry.models import AISystem

referrals = Router(tags=["Saisines éthiques"])


class RecommendationOut(Schema):
    id: int
    position: int
    text: str
    action: int | None = Field(alias="action_id", description="Action de suivi.")


class ReferralOut(Schema):
    id: int
    url: str = Field(alias="get_absolute_url")
    ai_system: int = Field(alias="ai_system_id")
    committee: int = Field(alias="committee_id")
    question: str
    context: str
    asked_by: int | None = Field(alias="asked_by_id")
    asked_by_name: str
    referred_on: date
    opinion: str = Field(description="Vide tant que l'avis n'est pas rendu.")
    opinion_label: str = Field(alias="get_opinion_display")
    opinion_text: str
    opinion_date: date | None
    recommendations: list[RecommendationOut]

    @staticmethod
    def resolve_recommendations(obj):
        return list(obj.recommendations.all())


class ReferralIn(Schema):
    ai_system: Id
    committee: Id = Field(description="Comité d'éthique ou cellule de soutien éthique.")
    question: Text
    context: Text = ""
    asked_by: Id | None = Field(None, description="Utilisateur ; vide : la personne connectée.")
    asked_by_name: Text = Field("", description="Nom et fonction (sans compte Garant).")
    referred_on: date | None = Field(None, description="Vide : aujourd'hui.")


class OpinionIn(Schema):
    opinion: Text = Field(description=", ".join(EthicsReferral.Opinion.values) + ".")
    opinion_text: Text
    opinion_date: date
    recommendations: list[Text] = Field([], description="Une recommandation par élément.")


class ReferralFilters(Schema):
    system: Id | None = None
    committee: Id | None = None


def referral_queryset():
    return EthicsReferral.objects.select_related("committee", "ai_system").prefetch_related(
        "recommendations"
    )


@referrals.get("", response=list[ReferralOut], summary="Lister les saisines éthiques")
@paginate(Pagination)
def list_referrals(request, filters: Query[ReferralFilters]):
    queryset = permissions.scope(referral_queryset(), request.user)
    if filters.system is not None:
        queryset = queryset.filter(ai_system_id=filters.system)
    if filters.committee is not None:
        queryset = queryset.filter(committee_id=filters.committee)
    return queryset


@referrals.get(
    "/{ethics_referral_id}",
    response={200: ReferralOut, **READ_ERRORS},
    summary="Lire une saisine éthique",
)
def get_referral(request, ethics_referral_id: Id):
    return get_scoped(request, referral_queryset(), ethics_referral_id)


@referrals.post(
    "", response={201: ReferralOut, **WRITE_ERRORS}, summary="Saisir l'instance d'éthique"
)
def create_referral(request, payload: ReferralIn):
    system = get_scoped(
        request, AISystem.objects.select_related("establishment"), payload.ai_system
    )
    if not permissions.object_permission(request.user, system, "refer_ethics"):
        raise HttpError(403, _("Votre rôle ne permet pas de saisir l'instance d'éthique."))
    values = payload.model_dump()
    if values["asked_by"] is None and not values["asked_by_name"]:
        values["asked_by"] = request.user.pk
    if values["referred_on"] is None:
        values["referred_on"] = timezone.localdate()
    values = {k: ("" if v is None else v) for k, v in values.items()}
    referral = save_form(ReferralForm(values, system=system))
    return Status(201, get_scoped(request, referral_queryset(), referral.pk))


@referrals.post(
    "/{ethics_referral_id}/opinion",
    response={200: ReferralOut, **WRITE_ERRORS},
    summary="Enregistrer l'avis de l'instance d'éthique",
    description="L'avis se donne une fois : un second envoi est refusé (409).",
)
def record_opinion(request, ethics_referral_id: Id, payload: OpinionIn):
    referral = get_scoped(request, referral_queryset(), ethics_referral_id, "govern")
    if referral.has_opinion:
        raise HttpError(409, _("L'avis est déjà enregistré : une nouvelle question se saisit."))
    values = payload.model_dump()
    form = OpinionForm({**values, "recommendations": ""}, instance=referral)
    if not form.is_valid():
        raise FormErrors(form.errors)
    data = form.cleaned_data
    try:
        ethics.record_opinion(
            referral,
            opinion=data["opinion"],
            text=data["opinion_text"],
            date=data["opinion_date"],
            recommendations=[r.strip() for r in values["recommendations"] if r.strip()],
            user=request.user,
        )
    except ethics.OpinionGiven:
        raise HttpError(409, _("L'avis est déjà enregistré.")) from None
    return get_scoped(request, referral_queryset(), referral.pk)
