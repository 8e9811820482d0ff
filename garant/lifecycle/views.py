"""Web pages of the lifecycle: ideas and their triage, the portfolio, a project's page (phase
timeline, transitions, charter, indicators), assessments, notifications."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.core.filtersets import filtered
from garant.core.permissions import get_scoped
from garant.core.referentials import localized
from garant.lifecycle import (
    assessments,
    charts,
    committee,
    gates,
    grids,
    monitoring_values,
    notifications,
)
from garant.lifecycle.charter import initial_charter
from garant.lifecycle.charter import warnings as charter_warnings
from garant.lifecycle.filtersets import ProjectFilterSet
from garant.lifecycle.forms import (
    AcceptForm,
    CharterForm,
    CorrectionForm,
    CriterionScoreForm,
    DeclineForm,
    IdeaForm,
    IndicatorForm,
    IndicatorValueForm,
    MergeForm,
    NotApplicableForm,
    ProjectSettingsForm,
    TransitionForm,
)
from garant.lifecycle.models import (
    Assessment,
    AssessmentFrozen,
    Idea,
    Indicator,
    IndicatorValue,
    NotApplicableIndicator,
    PocCharter,
    Project,
)
from garant.lifecycle.portfolio import board, portfolio_queryset
from garant.lifecycle.projects import TriageRefused, accept, create_project, decline, merge
from garant.registry.banners import banners_for
from garant.registry.models import AISystem
from garant.registry.tabs import tabs_for


def _require(request, permission: str, establishment_id=None, message=None):
    if not permissions.can(request.user, permission, establishment_id):
        raise PermissionDenied(message or _("Votre rôle ne permet pas cette action."))


# --- ideas ---------------------------------------------------------------------------------------


@login_required
def idea_create(request):
    _require(request, "submit_idea", message=_("Vous n'avez de rôle dans aucun établissement."))
    form = IdeaForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        form.instance.author = request.user
        idea = form.save()
        messages.success(
            request,
            _("Merci ! Votre idée « %(title)s » est transmise au comité.") % {"title": idea.title},
        )
        return redirect("lifecycle:idea_list")
    return render(request, "lifecycle/idea_form.html", {"form": form})


@login_required
def idea_list(request):
    """ "Mes idées" for everyone; the ideas to triage for the committee and referents."""
    mine = Idea.objects.within(author=request.user).select_related("service", "project")
    to_triage = None
    if permissions.can(request.user, "triage"):
        to_triage = (
            Idea.objects.for_user(request.user, "triage")
            .filter(status=Idea.Status.SUBMITTED)
            .select_related("author", "service", "establishment")
            .order_by("created_at", "pk")
        )
    return render(
        request,
        "lifecycle/idea_list.html",
        {"mine": Paginator(mine, 50).get_page(request.GET.get("page")), "to_triage": to_triage},
    )


def _idea(request, pk):
    """An idea: its author always sees it, others by their role in its establishment."""
    idea = (
        Idea.objects.within(author=request.user)
        .select_related("author", "service", "establishment", "merged_into", "project")
        .filter(pk=pk)
        .first()
    )
    return idea or get_scoped(
        request.user,
        Idea.objects.select_related("author", "service", "establishment", "merged_into"),
        pk,
    )


@login_required
def idea_detail(request, pk):
    idea = _idea(request, pk)
    can_triage = idea.status == Idea.Status.SUBMITTED and permissions.can(
        request.user, "triage", idea.establishment_id
    )
    decision = None
    if idea.project_id and gates.governance_available():
        decisions = committee.decisions_of(idea.project)
        decision = decisions.filter(signed_at__isnull=False).order_by("-signed_at").first()
    context = {"idea": idea, "can_triage": can_triage, "decision": decision}
    if can_triage:
        context.update(
            accept_form=AcceptForm(prefix="accept"),
            merge_form=MergeForm(idea=idea, prefix="merge"),
            decline_form=DeclineForm(prefix="decline"),
        )
    return render(request, "lifecycle/idea_detail.html", context)


@login_required
@require_POST
def idea_triage(request, pk):
    idea = get_scoped(request.user, Idea, pk, "triage")
    action = request.POST.get("action")
    forms = {
        "accept": AcceptForm(request.POST, prefix="accept"),
        "merge": MergeForm(request.POST, idea=idea, prefix="merge"),
        "decline": DeclineForm(request.POST, prefix="decline"),
    }
    form = forms.get(action)
    if form is None:
        messages.error(request, _("Action de tri inconnue."))
        return redirect(idea)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(idea)
    data = form.cleaned_data
    try:
        if action == "accept":
            project = accept(
                idea,
                request.user,
                solution_type=data["solution_type"],
                domain=data["domain"],
                modality=data["modality"],
                reason=data["reason"],
            )
            messages.success(request, _("Idée acceptée : le projet est ouvert en instruction."))
            return redirect(project)
        if action == "merge":
            merge(idea, data["into"], request.user, data["reason"])
            messages.success(request, _("Idée fusionnée."))
        else:
            decline(idea, request.user, data["reason"])
            messages.success(request, _("Idée non retenue ; son auteur en est informé."))
    except TriageRefused as exc:
        messages.error(request, str(exc))
    return redirect(idea)


def _form_errors(request, form) -> None:
    """A form posted from a page that shows several: its errors as messages, naming the field."""
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{str(label).capitalize()} : {error}" if label else error)


@login_required
@require_POST
def notification_read(request, pk=None):
    if pk is not None and not notifications.mine(request.user).filter(pk=pk).exists():
        raise Http404  # another user's notification is not revealed
    notifications.mark_read(request.user, pk)
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else "home")


# --- portfolio -----------------------------------------------------------------------------------


@login_required
def portfolio(request):
    filterset, projects = filtered(ProjectFilterSet, request, portfolio_queryset(request.user))
    context = {"filters": filterset.form, **board(projects)}
    context["several"] = len(context["group"]) > 1
    return render(request, "lifecycle/portfolio.html", context)


# --- a project -----------------------------------------------------------------------------------

PROJECT_QS = Project.objects.select_related("ai_system__establishment", "establishment")


def _project(request, pk, permission="view"):
    return get_scoped(request.user, PROJECT_QS, pk, permission)


def _project_context(request, project, tab="project"):
    system = project.ai_system
    return {
        "project": project,
        "system": system,
        "tabs": tabs_for(request, system),
        "banners": banners_for(request, system),
        "active_tab": tab,
        "can_assess": permissions.object_permission(request.user, project, "assess"),
    }


@login_required
def system_project(request, pk):
    """The "Projet" tab of a system: its project, or a button to open one."""
    system = get_scoped(request.user, AISystem.objects.select_related("establishment"), pk)
    project = Project.objects.within(ai_system=system).first()
    if project is not None:
        return redirect(project)
    if request.method == "POST":
        _require(request, "assess", system.establishment_id)
        with transaction.atomic():
            project = create_project(system, request.user)
        messages.success(request, _("Projet ouvert."))
        return redirect(project)
    context = {
        "system": system,
        "tabs": tabs_for(request, system),
        "banners": banners_for(request, system),
        "active_tab": "project",
        "can_assess": permissions.can(request.user, "assess", system.establishment_id),
    }
    return render(request, "lifecycle/system_no_project.html", context)


def _timeline(project):
    steps = list(project.transitions.select_related("by").order_by("at", "pk"))
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        step.until = following.at if following else None
    return steps


@login_required
def project_detail(request, pk):
    project = _project(request, pk)
    context = _project_context(request, project)
    charter = PocCharter.objects.within(project=project).prefetch_related("services").first()
    indicators = []
    if charter:
        for indicator in charter.indicators.select_related("feed").prefetch_related("values"):
            values = list(indicator.values.all())
            indicators.append(
                {
                    "indicator": indicator,
                    "latest": values[-1] if values else None,
                    "chart": mark_safe(charts.indicator_history(indicator, values)),
                }
            )
    targets = gates.allowed_targets(project)
    context.update(
        charter=charter,
        warnings=charter_warnings(charter),
        indicators=indicators,
        timeline=_timeline(project),
        transition_form=TransitionForm(targets=targets) if targets else None,
        settings_form=ProjectSettingsForm(instance=project),
        grid=grids.grid(project.effective_grid_code),
        assessments=project.assessments.select_related("assessor"),
        blocked=gates.blocked_reason(project),
        idea=Idea.objects.within(project=project).select_related("author").first(),
    )
    return render(request, "lifecycle/project_detail.html", context)


def refusal_message(problem) -> str:
    """A gate's refusal as a message, with a link to the page that fixes it."""
    text = _("Passage refusé : %(why)s") % {"why": problem}
    url = getattr(problem, "url", "")
    if not url:
        return text
    return format_html('{} <a href="{}">{}</a>', text, url, _("Corriger"))


@login_required
@require_POST
def project_transition(request, pk):
    project = _project(request, pk, "assess")
    form = TransitionForm(request.POST, targets=gates.allowed_targets(project))
    if not form.is_valid():
        messages.error(request, _("Choisissez une phase proposée."))
        return redirect(project)
    try:
        gates.transition(
            project, form.cleaned_data["to_phase"], request.user, form.cleaned_data["reason"]
        )
    except gates.GateRefused as exc:
        for message in exc.messages:
            messages.error(request, refusal_message(message))
        return redirect(project)
    messages.success(
        request,
        _("Le projet passe en phase « %(phase)s ».")
        % {"phase": project.ai_system.get_phase_display()},
    )
    return redirect(project)


@login_required
@require_POST
def project_settings(request, pk):
    project = _project(request, pk, "assess")
    form = ProjectSettingsForm(request.POST, instance=project)
    if form.is_valid():
        form.save()
        messages.success(request, _("Réglages du projet enregistrés."))
    else:
        _form_errors(request, form)
    return redirect(project)


@login_required
# --- charter and indicators ----------------------------------------------------------------------


@login_required
def charter_edit(request, pk):
    project = _project(request, pk, "assess")
    charter = PocCharter.objects.within(project=project).first()
    initial = {}
    if charter is None:
        initial = initial_charter(project)
    form = CharterForm(request.POST or None, instance=charter, project=project, initial=initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
        messages.success(request, _("Charte du PoC enregistrée."))
        return redirect(project)
    context = _project_context(request, project)
    context.update(form=form, warnings=charter_warnings(charter) if charter else [])
    return render(request, "lifecycle/charter_form.html", context)


@login_required
def indicator_form(request, pk, indicator_pk=None):
    project = _project(request, pk, "assess")
    charter = PocCharter.objects.within(project=project).first()
    if charter is None:
        messages.error(request, _("Rédigez d'abord la charte du PoC."))
        return redirect("lifecycle:charter_edit", pk=project.pk)
    indicator = None
    if indicator_pk is not None:
        indicator = Indicator.objects.within(charter=charter).filter(pk=indicator_pk).first()
        if indicator is None:
            raise Http404
    initial = {}
    if indicator is None:
        initial = {
            k: request.GET[k] for k in ("grid_indicator", "criterion_code") if k in request.GET
        }
    form = IndicatorForm(request.POST or None, instance=indicator, charter=charter, initial=initial)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Indicateur enregistré."))
        return redirect(project)
    context = _project_context(request, project)
    context.update(form=form, indicator=indicator)
    return render(request, "lifecycle/indicator_form.html", context)


@login_required
def indicator_values(request, pk):
    indicator = get_scoped(
        request.user, Indicator.objects.select_related("charter__project__ai_system", "feed"), pk
    )
    project = indicator.charter.project
    can_assess = permissions.object_permission(request.user, project, "assess")
    form = IndicatorValueForm(request.POST or None, indicator=indicator) if can_assess else None
    if request.method == "POST":
        if not can_assess:
            raise PermissionDenied(_("Votre rôle ne permet pas de saisir des valeurs."))
        if request.POST.get("pull") == "monitoring":
            try:
                value = monitoring_values.pull(indicator, request.user)
            except monitoring_values.NoValue as exc:
                messages.error(request, str(exc))
            else:
                messages.success(
                    request, _("Valeur %(v)s reprise du suivi.") % {"v": value.value.normalize()}
                )
            return redirect("lifecycle:indicator_values", pk=indicator.pk)
        if form.is_valid():
            form.instance.recorded_by = request.user
            form.save()
            messages.success(request, _("Valeur enregistrée."))
            return redirect("lifecycle:indicator_values", pk=indicator.pk)
    values = list(indicator.values.select_related("recorded_by", "supersedes"))
    current = gates.current_values(indicator)
    context = _project_context(request, project)
    context.update(
        indicator=indicator,
        values=values,
        superseded={v.supersedes_id for v in values if v.supersedes_id},
        form=form,
        chart=mark_safe(charts.indicator_history(indicator, current)),
    )
    return render(request, "lifecycle/indicator_values.html", context)


@login_required
def indicator_value_edit(request, pk):
    """Correct a value: in place while no frozen assessment used it; after that, by a new
    value that supersedes it (the comment says why), the old one kept and shown as corrected."""
    value = get_scoped(
        request.user,
        IndicatorValue.objects.select_related("indicator__charter__project__ai_system"),
        pk,
        "assess",
    )
    indicator = value.indicator
    if IndicatorValue.objects.within(supersedes=value).exists():
        messages.error(request, _("Cette valeur a déjà été corrigée : corrigez la plus récente."))
        return redirect("lifecycle:indicator_values", pk=indicator.pk)
    used = value.used_in_frozen_assessment
    if used:
        initial = {"value": value.value, "measured_on": value.measured_on}
        form = CorrectionForm(request.POST or None, indicator=indicator, initial=initial)
    else:
        form = IndicatorValueForm(request.POST or None, instance=value, indicator=indicator)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            if used:
                form.instance.supersedes = value
                form.instance.recorded_by = request.user
                form.save()
                messages.success(
                    request,
                    _(
                        "Correction enregistrée : la valeur retenue par une évaluation figée "
                        "reste visible, marquée corrigée."
                    ),
                )
            else:
                form.save()
                messages.success(request, _("Valeur corrigée."))
        return redirect("lifecycle:indicator_values", pk=indicator.pk)
    context = _project_context(request, indicator.charter.project)
    context.update(indicator=indicator, value=value, used=used, form=form)
    return render(
        request,
        "lifecycle/indicator_value_form.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


# --- grid indicators that do not apply ----------------------------------------------------------


@login_required
def not_applicable(request, pk):
    """Mark a mandatory indicator of the grid not applicable to this project, with a reason
    (e.g. an AUC or a drift for a dictation tool); or withdraw such a mark (POST "remove")."""
    project = _project(request, pk, "assess")
    if request.method == "POST" and request.POST.get("remove"):
        mark = NotApplicableIndicator.objects.within(project=project).filter(
            pk=request.POST["remove"] if request.POST["remove"].isdigit() else None
        )
        mark = mark.first()
        if mark is not None:
            mark.delete()
            messages.success(request, _("L'indicateur est de nouveau demandé."))
        return redirect("lifecycle:not_applicable", pk=project.pk)
    initial = {"code": request.GET.get("code", "")}
    form = NotApplicableForm(request.POST or None, project=project, initial=initial)
    if request.method == "POST" and form.is_valid():
        form.instance.by = request.user
        form.save()
        _recompute_drafts(project)
        messages.success(
            request,
            _("Indicateur marqué non applicable : la recommandation est recalculée."),
        )
        return redirect("lifecycle:not_applicable", pk=project.pk)
    grid = grids.grid(project.effective_grid_code)
    marks = [
        {"mark": m, "label": grid.mandatory_indicator_label(m.code)}
        for m in NotApplicableIndicator.objects.within(project=project).select_related("by")
    ]
    context = _project_context(request, project)
    context.update(form=form, marks=marks)
    return render(
        request,
        "lifecycle/not_applicable.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


def _recompute_drafts(project) -> None:
    for draft in Assessment.objects.within(project=project).filter(status="draft"):
        assessments.compute(draft)


# --- assessments ---------------------------------------------------------------------------------


@login_required
@require_POST
def assessment_create(request, pk):
    project = _project(request, pk, "assess")
    assessment = assessments.start(project, request.user)
    return redirect(assessment)


def _assessment(request, pk, permission="view"):
    return get_scoped(
        request.user,
        Assessment.objects.select_related("project__ai_system__establishment", "assessor"),
        pk,
        permission,
    )


def _score_forms(assessment, grid, data=None):
    values = (
        IndicatorValue.objects.within(indicator__charter__project=assessment.project)
        .filter(superseded_by__isnull=True)
        .select_related("indicator")
    )
    scores = {
        s.criterion_code: s
        for s in assessment.scores.prefetch_related(
            Prefetch("indicator_values", queryset=IndicatorValue.objects.only("pk"))
        )
    }
    return [
        CriterionScoreForm(
            data, instance=scores.get(c.code), criterion=c, values=values, prefix=c.code
        )
        for c in grid.criteria
        if c.code in scores
    ]


def _chart_rows(assessment, grid):
    scores = {s.criterion_code: s for s in assessment.scores.all()}
    rows = [
        {
            "label": f"{c.n}. {c.title}",
            "score": scores[c.code].score if c.code in scores else None,
            "stop": c.code in scores and scores[c.code].stop_if_met,
        }
        for c in grid.criteria
    ]
    scale_max = max(c.scale.max for c in grid.criteria)
    target = grid.thresholds["generalise"].get("min", grid.thresholds["generalise"]["mean"])
    return mark_safe(charts.criteria_bars(rows, target, scale_max))


@login_required
def assessment_detail(request, pk):
    assessment = _assessment(request, pk)
    project = assessment.project
    grid = assessments.grid_of(assessment)
    can_edit = not assessment.is_frozen and permissions.object_permission(
        request.user, project, "assess"
    )
    forms = None
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(
                _("Cette évaluation est figée ou votre rôle ne permet pas de la modifier.")
            )
        forms = _score_forms(assessment, grid, request.POST)
        if all(f.is_valid() for f in forms):
            try:
                with transaction.atomic():
                    for f in forms:
                        f.save()
                    assessment.summary = request.POST.get("summary", "")[:5000]
                    assessments.compute(assessment)
            except AssessmentFrozen:
                messages.error(
                    request, _("Cette évaluation est figée : elle ne peut plus être modifiée.")
                )
                return redirect(assessment)
            messages.success(request, _("Évaluation enregistrée ; recommandation recalculée."))
            return redirect(assessment)
    elif can_edit:
        forms = _score_forms(assessment, grid)
    criteria = []
    scores = {
        s.criterion_code: s
        for s in assessment.scores.prefetch_related("indicator_values__indicator")
    }
    form_by_code = {f.criterion.code: f for f in forms or []}
    linked = assessments.linked_evidence(project)
    for c in grid.criteria:
        score = scores.get(c.code)
        criteria.append(
            {
                "criterion": c,
                "score": score,
                "form": form_by_code.get(c.code),
                "score_label": c.scale.label(score.score) if score else "",
                "examples": [
                    {"label": localized(i), "source": i.get("source", "")}
                    for i in c.example_indicators
                ],
                "mandatory": [localized(i) for i in c.mandatory_indicators],
                "linked": linked.get(c.code, []),
            }
        )
    context = _project_context(request, project)
    context.update(
        assessment=assessment,
        grid=grid,
        criteria=criteria,
        fixes=_fixes(assessment, grid) if not assessment.is_frozen else [],
        can_edit=can_edit,
        chart=_chart_rows(assessment, grid),
        decisions=committee.decisions_of(assessment),
    )
    return render(
        request,
        "lifecycle/assessment_detail.html",
        context,
        status=400 if request.method == "POST" else 200,
    )


def _fixes(assessment, grid) -> list[dict]:
    """What keeps a draft's recommendation at "pas encore", each with the page that fixes it:
    a mandatory indicator without value (measure it, or mark it not applicable), a criterion
    not scored or a stop-if not answered (its place on this page)."""
    project = assessment.project
    measured = assessments.measured_indicators(project)
    fixes = []
    for c in grid.criteria:
        for item in c.mandatory_indicators:
            if item["code"] in measured:
                continue
            fixes.append(
                {
                    "text": _(
                        "Indicateur obligatoire sans valeur mesurée — %(n)s. %(title)s : "
                        "%(indicator)s."
                    )
                    % {"n": c.n, "title": c.title, "indicator": localized(item)},
                    "links": [
                        (
                            reverse("lifecycle:indicator_create", args=[project.pk])
                            + f"?grid_indicator={item['code']}&criterion_code={c.code}",
                            _("Créer l'indicateur"),
                        ),
                        (
                            reverse("lifecycle:not_applicable", args=[project.pk])
                            + f"?code={item['code']}",
                            _("Marquer non applicable"),
                        ),
                    ],
                }
            )
    for problem in assessments.freeze_problems(assessment):
        fixes.append(
            {"text": problem["text"], "links": [(f"#{problem['anchor']}", _("Aller au critère"))]}
        )
    return fixes


@login_required
def assessment_freeze(request, pk):
    """Freezing asks for confirmation: GET shows what will be frozen, or the list of what is
    missing (each with a link to the criterion); POST "confirm" freezes."""
    assessment = _assessment(request, pk, "assess")
    if assessment.is_frozen:
        messages.info(request, _("Cette évaluation est déjà figée."))
        return redirect(assessment)
    problems = assessments.freeze_problems(assessment)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            assessment = assessments.freeze(assessment, request.user)
        except assessments.FreezeRefused as refused:
            problems = refused.problems
        else:
            messages.success(
                request,
                _("Évaluation figée le %(date)s : elle peut être soumise au comité.")
                % {"date": date_format(timezone.localtime(assessment.frozen_at), "d/m/Y")},
            )
            return redirect(assessment)
    context = _project_context(request, assessment.project)
    context.update(
        assessment=assessment,
        grid=assessments.grid_of(assessment),
        problems=problems,
        scored=assessment.scores.filter(score__isnull=False).count(),
        total=assessment.scores.count(),
        result=assessments.evaluate(assessment),
    )
    status = 400 if request.method == "POST" else 200
    return render(request, "lifecycle/assessment_freeze.html", context, status=status)
