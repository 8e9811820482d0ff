"""Pages of the ethics referrals: the « Éthique » tab of a system (its referrals), the
establishment's list, referring a question (anyone with a working role: "refer_ethics"),
a referral's page, recording the body's opinion and turning a recommendation into a
governance action (the committee: "govern"). Every write goes through the audit trail."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core import permissions
from garant.core.dates import DATE_WIDGET
from garant.governance import agenda, ethics
from garant.governance.alert_views import prepare_follow_up
from garant.governance.forms import FollowUpActionForm, users_of
from garant.governance.models import EthicsRecommendation, EthicsReferral
from garant.governance.views import _errors, can_govern, get_scoped
from garant.registry.models import AISystem
from garant.registry.views import _system_context

DEFAULT_DUE_DAYS = 60


class ReferralForm(forms.ModelForm):
    class Meta:
        model = EthicsReferral
        fields = ["committee", "question", "context", "asked_by", "asked_by_name", "referred_on"]
        widgets = {
            "question": forms.Textarea(attrs={"rows": 3}),
            "context": forms.Textarea(attrs={"rows": 3}),
            "referred_on": DATE_WIDGET,
        }

    def __init__(self, *args, system: AISystem, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.ai_system = system
        self.fields["committee"].queryset = ethics.bodies(system.establishment)
        self.fields["committee"].empty_label = None
        self.fields["asked_by"].queryset = users_of(system.establishment_id)


class OpinionForm(forms.ModelForm):
    recommendations = forms.CharField(
        label=gettext_lazy("Recommandations"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Une par ligne ; chacune pourra être suivie par une action."),
    )

    class Meta:
        model = EthicsReferral
        fields = ["opinion", "opinion_text", "opinion_date"]
        widgets = {"opinion_text": forms.Textarea(attrs={"rows": 5}), "opinion_date": DATE_WIDGET}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.Meta.fields:
            self.fields[name].required = True
        self.fields["opinion"].choices = [("", "—"), *EthicsReferral.Opinion.choices]
        self.fields["opinion_date"].initial = timezone.localdate()


class RecommendationActionForm(FollowUpActionForm):
    def __init__(self, *args, recommendation: EthicsRecommendation, **kwargs):
        super().__init__(*args, **kwargs)
        referral = recommendation.referral
        title = _("Suite de l'avis éthique : %(text)s") % {"text": recommendation.text[:200]}
        prepare_follow_up(self, referral.committee.establishment, title, DEFAULT_DUE_DAYS)


def _referrals():
    return EthicsReferral.objects.select_related(
        "committee__establishment", "ai_system__establishment", "asked_by", "opinion_recorded_by"
    )


# --- pages -------------------------------------------------------------------------------------


@login_required
def system_ethics(request, pk):
    """The « Éthique » tab of a system: its referrals and their opinions."""
    system = get_scoped(request, AISystem.objects.select_related("establishment", "vendor"), pk)
    context = _system_context(request, system, "ethics")
    context.update(
        referrals=ethics.referrals_of(system),
        can_refer=permissions.object_permission(request.user, system, "refer_ethics"),
        has_body=ethics.bodies(system.establishment).exists(),
    )
    return render(request, "governance/ethics_system.html", context)


@login_required
def referral_list(request):
    referrals = (
        EthicsReferral.objects.for_user(request.user)
        .select_related("committee", "ai_system", "asked_by")
        .order_by("-referred_on", "-pk")
    )
    return render(request, "governance/ethics_list.html", {"referrals": referrals})


@login_required
def referral_create(request, pk):
    system = get_scoped(
        request, AISystem.objects.select_related("establishment"), pk, "refer_ethics"
    )
    form = ReferralForm(request.POST or None, system=system, initial={"asked_by": request.user.pk})
    if not ethics.bodies(system.establishment).exists():
        messages.error(
            request,
            _(
                "Aucun comité d'éthique ni cellule de soutien éthique n'est enregistré pour cet "
                "établissement : le comité de gouvernance doit d'abord le créer (type « comité "
                "d'éthique » ou « cellule de soutien éthique »)."
            ),
        )
        return redirect("governance:system_ethics", system.pk)
    if request.method == "POST" and form.is_valid():
        referral = form.save()
        messages.success(request, _("%(referral)s enregistrée.") % {"referral": referral})
        return redirect(referral)
    return render(
        request,
        "governance/form.html",
        {"form": form, "title": _("Saisir l'instance d'éthique — %s") % system, "back": system},
    )


@login_required
def referral_detail(request, pk):
    referral = get_scoped(request, _referrals(), pk)
    govern = can_govern(request, referral)
    recommendations = referral.recommendations.select_related(
        "action__owner", "action__meeting__committee"
    )
    return render(
        request,
        "governance/ethics_detail.html",
        {
            "referral": referral,
            "recommendations": recommendations,
            "can_govern": govern,
            "has_meeting": govern
            and agenda.upcoming_meetings(referral.committee.establishment).exists(),
        },
    )


@login_required
def referral_opinion(request, pk):
    referral = get_scoped(request, _referrals(), pk, "govern")
    if referral.has_opinion:
        messages.info(request, _("L'avis est déjà enregistré : une nouvelle question se saisit."))
        return redirect(referral)
    form = OpinionForm(request.POST or None, instance=referral)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ethics.record_opinion(
                referral,
                opinion=data["opinion"],
                text=data["opinion_text"],
                date=data["opinion_date"],
                recommendations=ethics.split_recommendations(data["recommendations"]),
                user=request.user,
            )
        except ethics.OpinionGiven:
            messages.info(request, _("L'avis a été enregistré entre-temps."))
        else:
            messages.success(request, _("Avis enregistré."))
        return redirect(referral)
    return render(
        request,
        "governance/form.html",
        {"form": form, "title": _("Enregistrer l'avis — %s") % referral, "back": referral},
    )


@login_required
def recommendation_action(request, pk):
    """A recommendation of the opinion becomes an action followed at an upcoming meeting."""
    recommendation = get_scoped(
        request,
        EthicsRecommendation.objects.select_related("referral__committee__establishment"),
        pk,
        "govern",
    )
    referral = recommendation.referral
    if recommendation.action_id:
        messages.info(request, _("Cette recommandation est déjà suivie par une action."))
        return redirect(referral)
    if not agenda.upcoming_meetings(referral.committee.establishment).exists():
        messages.error(request, _("Aucune séance à venir : programmez d'abord une séance."))
        return redirect(referral)
    form = RecommendationActionForm(request.POST or None, recommendation=recommendation)
    if request.method == "POST":
        if form.is_valid():
            ethics.follow_up(recommendation, form)
            messages.success(
                request, _("Action « %(title)s » ouverte.") % {"title": recommendation.action}
            )
            return redirect(referral)
        messages.error(request, _("Action refusée : %(errors)s") % {"errors": _errors(form)})
    return render(
        request,
        "governance/form.html",
        {"form": form, "title": _("Suivre la recommandation par une action"), "back": referral},
    )
