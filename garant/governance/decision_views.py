"""Web pages of decisions: record one for a project of a meeting's agenda (beside the frozen
assessment it rests on), edit it while unsigned, sign it, read it; the decision register.

Editing a signed decision is refused with the reason, and the attempt is audited: the
refusal happens outside any transaction so that its audit event stays.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.governance import register
from garant.governance.decisions import SignRefused, assessment_for, record, sign, sign_errors
from garant.governance.forms import ActionForm, DecisionForm
from garant.governance.models import Decision, DecisionSigned
from garant.governance.views import can_govern, get_scoped, meeting_queryset


def decision_queryset():
    return Decision.objects.select_related(
        "meeting__committee__establishment",
        "project__ai_system",
        "assessment",
        "chair__user",
        "signed_by",
    )


def _context(decision_or_none, form, meeting, project, assessment, request):
    return {
        "form": form,
        "meeting": meeting,
        "project": project,
        "assessment": assessment,
        "decision": decision_or_none,
        "can_govern": can_govern(request, meeting),
    }


@login_required
def decision_create(request, pk, project_pk):
    meeting = get_scoped(request, meeting_queryset(), pk, "govern")
    item = meeting.agenda.filter(project_id=project_pk).select_related("project__ai_system")
    item = item.first()
    if item is None:
        raise Http404
    project = item.project
    existing = meeting.decisions.filter(project=project).first()
    if existing is not None:
        return redirect(existing)
    assessment = assessment_for(project)
    if assessment is None:
        messages.error(
            request,
            _("« %(project)s » n'a pas d'évaluation : évaluez-le sur la grille avant de décider.")
            % {"project": project},
        )
        return redirect(meeting)
    form = DecisionForm(
        request.POST or None, meeting=meeting, project=project, assessment=assessment
    )
    if request.method == "POST" and form.is_valid():
        decision = record(form, request.user)
        messages.success(request, _("Décision enregistrée : relisez-la puis signez-la."))
        return redirect(decision)
    return render(
        request,
        "governance/decision_form.html",
        _context(None, form, meeting, project, assessment, request),
    )


@login_required
def decision_detail(request, pk):
    decision = get_scoped(request, decision_queryset(), pk)
    editable = can_govern(request, decision)
    return render(
        request,
        "governance/decision_detail.html",
        {
            "decision": decision,
            "meeting": decision.meeting,
            "assessment": decision.assessment,
            "project": decision.project,
            "actions": decision.actions.select_related("owner"),
            "can_govern": editable,
            "sign_problems": sign_errors(decision) if editable and not decision.is_signed else [],
            "action_form": ActionForm(meeting=decision.meeting, initial={"decision": decision})
            if editable
            else None,
            "votes": register.votes(decision),
        },
    )


@login_required
def decision_edit(request, pk):
    decision = get_scoped(request, decision_queryset(), pk, "govern")
    if decision.is_signed:
        if request.method == "POST":
            attempted = {
                name: [None, request.POST[name]]
                for name in DecisionForm.Meta.fields
                if name in request.POST
            }
            try:
                decision.refuse_change(attempted)
            except DecisionSigned as refused:
                messages.error(request, str(refused))
        else:
            messages.info(
                request, _("Cette décision est signée : elle se lit, elle ne se modifie plus.")
            )
        return redirect(decision)
    form = DecisionForm(request.POST or None, instance=decision, meeting=decision.meeting)
    if request.method == "POST" and form.is_valid():
        try:
            record(form, request.user)
        except DecisionSigned as refused:  # signed by someone else meanwhile
            messages.error(request, str(refused))
        else:
            messages.success(request, _("Décision modifiée."))
        return redirect(decision)
    return render(
        request,
        "governance/decision_form.html",
        _context(decision, form, decision.meeting, decision.project, decision.assessment, request),
    )


@login_required
@require_POST
def decision_sign(request, pk):
    decision = get_scoped(request, decision_queryset(), pk, "govern")
    try:
        sign(decision, request.user)
    except SignRefused as refused:
        for problem in refused.problems:
            messages.error(request, problem)
    else:
        messages.success(request, _("Décision signée : elle ne peut plus être modifiée."))
    return redirect(decision)


@login_required
def decision_register(request):
    filterset, decisions = register.filtered_register(request)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "governance/decision_register.html",
        {
            "filters": filterset.form,
            "page": Paginator(decisions, 50).get_page(request.GET.get("page")),
            "query": query.urlencode(),
        },
    )


@login_required
def decision_export(request, fmt):
    if fmt not in ("xlsx", "pdf"):
        raise Http404
    return register.export(request, fmt)
