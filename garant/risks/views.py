"""The « Analyse de risques » tab of a system: the analysis (draft or current), its failure
modes with criticality and mitigations, the severity × occurrence matrix, the versions with
what changed; and, with the "change" permission, starting, editing and freezing it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.core.referentials import localized
from garant.registry.models import AISystem
from garant.registry.views import _system_context
from garant.risks import analyses
from garant.risks.forms import CreateForm, FailureModeForm
from garant.risks.models import AnalysisFrozen, FailureMode, RiskAnalysis
from garant.risks.referential import referential


def _system(request, pk, permission: str = "view") -> AISystem:
    queryset = AISystem.objects.select_related("establishment", "vendor")
    return permissions.get_scoped(request.user, queryset, pk, permission)


def _analysis(request, pk, permission: str = "view") -> RiskAnalysis:
    queryset = RiskAnalysis.objects.select_related("ai_system__establishment")
    return permissions.get_scoped(request.user, queryset, pk, permission)


def _page(request, system, analysis):
    context = _system_context(request, system, "risks")
    residual = request.GET.get("vue") != "initiale"
    context.update(
        analysis=analysis,
        rows=analyses.table(analysis) if analysis else [],
        matrix=analyses.matrix(analysis, residual=residual) if analysis else None,
        scale=analyses.scale_of(analysis) if analysis else None,
        top=analyses.highest_residual(analysis),
        current=analyses.current(system),
        history=analyses.history(system),
        problems=analyses.problems(analysis) if analysis and not analysis.is_frozen else [],
        zones=[
            {"code": code, "label": localized(z), "description": localized(z, "description")}
            for code, z in referential().zones.items()
        ],
    )
    return context


@login_required
def system(request, pk):
    system = _system(request, pk)
    analysis = analyses.draft(system) or analyses.latest(system)
    return render(request, "risks/analysis.html", _page(request, system, analysis))


@login_required
def analysis(request, pk):
    analysis = _analysis(request, pk)
    system = analysis.ai_system
    return render(request, "risks/analysis.html", _page(request, system, analysis))


@login_required
def create(request, pk):
    system = _system(request, pk, "change")
    if analyses.latest(system) is not None:
        return redirect("risks:system", system.pk)
    form = CreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        analysis = analyses.create(
            system,
            request.user,
            form.cleaned_data["scale"],
            form.cleaned_data["codes"],
            form.cleaned_data["comment"],
        )
        messages.success(request, _("Analyse de risques créée (version 1, brouillon)."))
        return redirect(analysis)
    context = _system_context(request, system, "risks")
    context["form"] = form
    status = 400 if request.method == "POST" else 200
    return render(request, "risks/create.html", context, status=status)


@login_required
@require_POST
def new_version(request, pk):
    system = _system(request, pk, "change")
    try:
        analysis = analyses.new_version(system, request.user, request.POST.get("comment", "")[:300])
    except analyses.DraftExists:
        messages.error(
            request, _("Une version en brouillon est déjà ouverte (ou aucune analyse n'existe).")
        )
        return redirect("risks:system", system.pk)
    messages.success(request, _("Version %(n)s ouverte en brouillon.") % {"n": analysis.number})
    return redirect(analysis)


@login_required
@require_POST
def freeze(request, pk):
    analysis = _analysis(request, pk, "change")
    try:
        analysis = analyses.freeze(analysis, request.user)
    except AnalysisFrozen:
        messages.info(request, _("Cette version est déjà figée."))
    except analyses.FreezeRefused as exc:
        for problem in exc.problems:
            messages.error(request, problem)
    else:
        messages.success(request, _("Version %(n)s figée.") % {"n": analysis.number})
    return redirect(analysis)


def _frozen(request, analysis):
    messages.error(request, _("Cette version est figée : ouvrez une nouvelle version."))
    return redirect(analysis)


def _mode_form(request, analysis, instance=None):
    if analysis.is_frozen:
        return _frozen(request, analysis)
    initial = None if instance else {"position": analyses.next_position(analysis)}
    form = FailureModeForm(
        request.POST or None, instance=instance, analysis=analysis, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        try:
            form.save()
        except AnalysisFrozen:
            return _frozen(request, analysis)
        messages.success(request, _("Mode de défaillance enregistré."))
        return redirect(analysis)
    context = _system_context(request, analysis.ai_system, "risks")
    context.update(analysis=analysis, form=form, mode=instance, scale=analyses.scale_of(analysis))
    status = 400 if request.method == "POST" else 200
    return render(request, "risks/mode_form.html", context, status=status)


@login_required
def mode_add(request, pk):
    return _mode_form(request, _analysis(request, pk, "change"))


def _mode(request, pk, permission="change") -> FailureMode:
    queryset = FailureMode.objects.select_related("analysis__ai_system__establishment")
    return permissions.get_scoped(request.user, queryset, pk, permission)


@login_required
def mode_edit(request, pk):
    mode = _mode(request, pk)
    return _mode_form(request, mode.analysis, mode)


@login_required
@require_POST
def mode_delete(request, pk):
    mode = _mode(request, pk)
    analysis = mode.analysis
    try:
        mode.delete()
    except AnalysisFrozen:
        return _frozen(request, analysis)
    messages.success(request, _("Mode de défaillance retiré du brouillon."))
    return redirect(reverse("risks:analysis", args=[analysis.pk]))
