"""Pages of the collège de garantie humaine's review campaigns: draw a campaign (the
committee, "govern"), review its cases (the collège's members holding a Garant account,
"review_cases"), see the agreement between reviewers, turn a case's findings into an action
or a recommendation on a committee's agenda, and close the campaign once the quorum of
reviewers has finished. Cases are shown by their pseudonymous references only."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.core.dates import DATE_WIDGET
from garant.governance import agenda, college
from garant.governance.alert_views import MeetingChoice, prepare_follow_up
from garant.governance.forms import FollowUpActionForm
from garant.governance.models import (
    AgendaItem,
    CaseReview,
    Committee,
    ReviewCampaign,
    ReviewCase,
)
from garant.governance.views import _errors, can_govern, get_scoped
from garant.oversight import referential
from garant.oversight.models import Suspension
from garant.registry.models import AISystem

DEFAULT_DUE_DAYS = 30


class CampaignForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Intitulé"), max_length=200)
    start = forms.DateField(label=gettext_lazy("Début de la période"), widget=DATE_WIDGET)
    end = forms.DateField(label=gettext_lazy("Fin de la période (incluse)"), widget=DATE_WIDGET)
    systems = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Systèmes d'IA"),
        queryset=AISystem.objects.none(),
        required=False,
        help_text=gettext_lazy("Aucun choisi : tous les systèmes de l'établissement."),
    )
    per_stratum = forms.IntegerField(
        label=gettext_lazy("Cas par strate (suite donnée × service)"),
        min_value=1,
        max_value=50,
        initial=3,
    )
    seed = forms.IntegerField(
        label=gettext_lazy("Graine"),
        min_value=0,
        max_value=2**62,
        required=False,
        help_text=gettext_lazy(
            "Laisser vide pour une graine tirée au hasard. La graine et la règle sont "
            "enregistrées : le même tirage peut être refait."
        ),
    )

    def __init__(self, *args, committee: Committee, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["systems"].queryset = AISystem.objects.within(
            establishment=committee.establishment
        ).order_by("name", "pk")
        today = timezone.localdate()
        self.fields["end"].initial = today
        self.fields["start"].initial = today - dt.timedelta(days=30)
        self.fields["title"].initial = _("Revue du %(date)s") % {"date": today.strftime("%d/%m/%Y")}

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", _("La fin de la période précède son début."))
        return cleaned


class CaseReviewForm(forms.ModelForm):
    class Meta:
        model = CaseReview
        fields = ["ai_output_appropriate", "human_decision_appropriate", "reason", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, campaign: ReviewCampaign, **kwargs):
        super().__init__(*args, **kwargs)
        choices = college.reasons(campaign.reasons_version).choices()
        self.fields["reason"] = forms.ChoiceField(
            label=gettext_lazy("Motif"), choices=[("", "—"), *choices]
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == "other" and not (cleaned.get("note") or "").strip():
            self.add_error("note", _("Le motif « Autre » demande une note."))
        return cleaned


class CaseActionForm(FollowUpActionForm):
    def __init__(self, *args, case: ReviewCase, **kwargs):
        super().__init__(*args, **kwargs)
        title = _("Suite de la revue « %(campaign)s », cas %(ref)s") % {
            "campaign": case.campaign,
            "ref": case.event_id,
        }
        prepare_follow_up(self, case.campaign.committee.establishment, title, DEFAULT_DUE_DAYS)


class RecommendationForm(forms.Form):
    meeting = forms.ModelChoiceField(queryset=None)
    title = forms.CharField(label=gettext_lazy("Recommandation"), max_length=300)

    def __init__(self, *args, case: ReviewCase, **kwargs):
        super().__init__(*args, **kwargs)
        meetings = agenda.upcoming_meetings(case.campaign.committee.establishment)
        self.fields["meeting"] = MeetingChoice(
            queryset=meetings,
            label=gettext_lazy("séance"),
            initial=meetings.first(),
            empty_label=None,
        )


class CloseForm(forms.Form):
    conclusion = forms.CharField(
        label=gettext_lazy("Conclusions du collège"), widget=forms.Textarea(attrs={"rows": 3})
    )


# --- helpers ---------------------------------------------------------------------------------


def _campaigns():
    return ReviewCampaign.objects.select_related("committee__establishment", "created_by")


def _cases():
    return ReviewCase.objects.select_related(
        "campaign__committee__establishment",
        "ai_system",
        "action",
        "agenda_item__meeting",
        "suspension",
    )


def is_reviewer(user, campaign: ReviewCampaign) -> bool:
    """A member of the collège with a Garant account and the "review_cases" permission."""
    return campaign.committee.members.filter(user=user).exists() and (
        permissions.object_permission(user, campaign, "review_cases")
    )


# --- pages -----------------------------------------------------------------------------------


@login_required
def campaign_create(request, pk):
    committee = get_scoped(request, Committee.objects.select_related("establishment"), pk, "govern")
    if committee.kind != Committee.Kind.COLLEGE:
        messages.error(request, _("Seul un collège de garantie humaine tire des campagnes."))
        return redirect(committee)
    form = CampaignForm(request.POST or None, committee=committee)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = college.draw(
                committee,
                title=data["title"],
                start=data["start"],
                end=data["end"],
                system_ids=[s.pk for s in data["systems"]],
                per_stratum=data["per_stratum"],
                seed=data["seed"],
                user=request.user,
            )
        except college.EmptyPool:
            form.add_error(
                None, _("Aucun événement de retour sur cette période pour ces systèmes.")
            )
        except ValueError as exc:
            form.add_error(
                "per_stratum",
                _("%(n)s cas tirés : au plus %(max)s par campagne. Réduisez le nombre par strate.")
                % {"n": exc.args[0], "max": college.MAX_CASES},
            )
        else:
            messages.success(
                request,
                _("Campagne « %(title)s » tirée : %(n)s cas.")
                % {"title": campaign, "n": campaign.cases.count()},
            )
            return redirect(campaign)
    return render(
        request,
        "governance/form.html",
        {"form": form, "title": _("Tirer une campagne de revue"), "back": committee},
    )


@login_required
def campaign_detail(request, pk):
    campaign = get_scoped(request, _campaigns(), pk)
    reviewer = is_reviewer(request.user, campaign) and campaign.status == campaign.Status.OPEN
    govern = can_govern(request, campaign)
    cases = list(_cases().within(campaign=campaign).prefetch_related("reviews__reviewer"))
    reasons = college.reasons(campaign.reasons_version)
    codes = referential.codes()
    rows = []
    may_propose: dict[int, bool] = {}  # per system: "propose_suspension"
    for case in cases:
        mine = next((r for r in case.reviews.all() if r.reviewer_id == request.user.pk), None)
        if case.ai_system_id not in may_propose:
            may_propose[case.ai_system_id] = permissions.object_permission(
                request.user, case.ai_system, "propose_suspension"
            )
        proposable = (
            may_propose[case.ai_system_id]
            and bool(case.reviews.all())
            and (case.suspension is None or case.suspension.state in Suspension.CLOSED_STATES)
        )
        rows.append(
            {
                "case": case,
                "outcome": codes.label("outcomes", case.outcome),
                "reviews": [
                    {"review": r, "reason": reasons.label(r.reason)} for r in case.reviews.all()
                ],
                "mine": mine,
                "suspension_cause": (
                    _("Constat du collège — revue « %(campaign)s », cas %(ref)s.")
                    % {"campaign": campaign, "ref": case.event_id}
                    if proposable
                    else None
                ),
                "form": (
                    CaseReviewForm(instance=mine, campaign=campaign, prefix=f"c{case.pk}")
                    if reviewer
                    else None
                ),
            }
        )
    context = {
        "campaign": campaign,
        "rows": rows,
        "progress": college.progress(campaign),
        "agreement": college.agreement(campaign),
        "is_reviewer": reviewer,
        "can_govern": govern,
        "rule": campaign.rule,
    }
    if govern:
        has_meeting = agenda.upcoming_meetings(campaign.committee.establishment).exists()
        context["has_meeting"] = has_meeting
        if campaign.status == campaign.Status.OPEN:
            context["close_form"] = CloseForm(prefix="close")
    return render(request, "governance/college_campaign.html", context)


@login_required
@require_POST
def case_review(request, pk):
    case = get_scoped(request, _cases(), pk, "review_cases")
    campaign = case.campaign
    if not is_reviewer(request.user, campaign):
        raise PermissionDenied(_("Seuls les membres du collège relisent ses cas."))
    if campaign.status != campaign.Status.OPEN:
        messages.error(request, _("La campagne est close."))
        return redirect(campaign)
    mine = CaseReview.objects.within(case=case).filter(reviewer=request.user).first()
    form = CaseReviewForm(request.POST, instance=mine, campaign=campaign, prefix=f"c{case.pk}")
    if form.is_valid():
        review = form.save(commit=False)
        review.case = case
        review.reviewer = request.user
        review.reviewed_at = timezone.now()
        review.save()
        messages.success(request, _("Avis enregistré sur le cas %(ref)s.") % {"ref": case.event_id})
    else:
        messages.error(request, _("Avis refusé : %(errors)s") % {"errors": _errors(form)})
    return redirect(f"{campaign.get_absolute_url()}#cas-{case.pk}")


@login_required
def case_action(request, pk):
    """A case's findings become an action followed at an upcoming meeting (GET: the form)."""
    case = get_scoped(request, _cases(), pk, "govern")
    if case.action_id:
        messages.info(request, _("Ce cas a déjà donné lieu à une action."))
        return redirect(case.campaign)
    form = CaseActionForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            action = form.save()
            case.action = action
            case.save(update_fields=["action"])
        messages.success(
            request,
            _("Action « %(title)s » ouverte, suivie en séance du %(meeting)s.")
            % {
                "title": action,
                "meeting": form.fields["meeting"].label_from_instance(action.meeting),
            },
        )
        return redirect(f"{case.campaign.get_absolute_url()}#cas-{case.pk}")
    return _follow_up_page(request, case, form, _("Faire d'un constat une action"))


def _follow_up_page(request, case, form, title):
    reasons = college.reasons(case.campaign.reasons_version)
    reviews = [
        {"review": r, "reason": reasons.label(r.reason)}
        for r in CaseReview.objects.within(case=case).select_related("reviewer")
    ]
    return render(
        request,
        "governance/college_follow_up.html",
        {"form": form, "title": title, "case": case, "reviews": reviews},
    )


@login_required
def case_recommendation(request, pk):
    """A case's findings become a recommendation on a committee's agenda (GET: the form)."""
    case = get_scoped(request, _cases(), pk, "govern")
    if case.agenda_item_id:
        messages.info(request, _("Ce cas a déjà donné lieu à une recommandation."))
        return redirect(case.campaign)
    form = RecommendationForm(request.POST or None, case=case)
    if request.method == "POST" and form.is_valid():
        meeting = form.cleaned_data["meeting"]
        with transaction.atomic():
            item = AgendaItem.objects.create(
                meeting=meeting,
                position=meeting.agenda.count() + 1,
                kind=AgendaItem.Kind.OTHER,
                title=_("Recommandation du collège : %(text)s")
                % {"text": form.cleaned_data["title"]},
                notes=_("Revue « %(campaign)s », cas %(ref)s.")
                % {"campaign": case.campaign, "ref": case.event_id},
            )
            case.agenda_item = item
            case.save(update_fields=["agenda_item"])
        messages.success(
            request,
            _("Recommandation inscrite à l'ordre du jour de la séance du %(meeting)s.")
            % {"meeting": form.fields["meeting"].label_from_instance(meeting)},
        )
        return redirect(f"{case.campaign.get_absolute_url()}#cas-{case.pk}")
    return _follow_up_page(request, case, form, _("Faire d'un constat une recommandation"))


@login_required
@require_POST
def campaign_verify(request, pk):
    """Make the draw again from the recorded rule and seed and compare with the stored cases."""
    campaign = get_scoped(request, _campaigns(), pk)
    if college.redraw(campaign) == college.stored_draw(campaign):
        messages.success(
            request,
            _("Tirage vérifié : refait à partir de la graine %(seed)s, il donne les mêmes cas.")
            % {"seed": campaign.seed},
        )
    else:
        messages.error(
            request,
            _(
                "Le tirage refait ne donne plus les mêmes cas : des événements de la période "
                "ont été effacés depuis le tirage."
            ),
        )
    return redirect(campaign)


@login_required
@require_POST
def campaign_close(request, pk):
    campaign = get_scoped(request, _campaigns(), pk, "govern")
    if campaign.status != campaign.Status.OPEN:
        return redirect(campaign)
    progress = college.progress(campaign)
    form = CloseForm(request.POST, prefix="close")
    if not progress["quorum_reached"]:
        messages.error(
            request,
            _(
                "Quorum non atteint : %(done)s relecteur(s) ont relu tous les cas, il en faut "
                "%(needed)s."
            )
            % {"done": progress["complete"], "needed": progress["quorum"]},
        )
    elif not form.is_valid():
        messages.error(request, _("Clôture refusée : %(errors)s") % {"errors": _errors(form)})
    else:
        campaign.conclusion = form.cleaned_data["conclusion"]
        campaign.status = campaign.Status.CLOSED
        campaign.closed_at = timezone.now()
        campaign.save()
        messages.success(request, _("Campagne close."))
    return redirect(campaign)
