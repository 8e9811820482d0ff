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
from django.utils.html import format_html
from django.utils.translation import gettext as _

from garant.governance import register
from garant.governance.decisions import (
    SignRefused,
    assessment_for,
    blocking_errors,
    quorum,
    record,
    sign,
)
from garant.governance.forms import ActionForm, DecisionForm, attendance_forms, condition_forms
from garant.governance.models import Decision, DecisionSigned
from garant.governance.views import can_govern, get_scoped, meeting_queryset
from garant.lifecycle.assessments import FreezeRefused
from garant.lifecycle.outcomes import Outcome


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
        try:
            decision = record(form, request.user)
        except FreezeRefused as refused:
            messages.error(request, _freeze_refusal(assessment, refused))
            return redirect(meeting)
        messages.success(request, _("Décision enregistrée : relisez-la puis signez-la."))
        return redirect(decision)
    return render(
        request,
        "governance/decision_form.html",
        _context(None, form, meeting, project, assessment, request),
    )


def _freeze_refusal(assessment, refused) -> str:
    return format_html(
        '{} {} <a href="{}">{}</a>',
        _("L'évaluation sur laquelle la décision reposerait est incomplète :"),
        str(refused),
        assessment.get_absolute_url(),
        _("Compléter l'évaluation"),
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
            "sign_problems": blocking_errors(decision, request.user)
            if editable and not decision.is_signed
            else [],
            "state": quorum(decision.meeting),
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
        except FreezeRefused as refused:
            messages.error(request, _freeze_refusal(decision.assessment, refused))
        else:
            messages.success(request, _("Décision modifiée."))
        return redirect(decision)
    return render(
        request,
        "governance/decision_form.html",
        _context(decision, form, decision.meeting, decision.project, decision.assessment, request),
    )


@login_required
def decision_sign(request, pk):
    """Signing asks for confirmation: GET shows the decision, the attendance of the meeting
    to record (present, excused, conflicts of interest) against the quorum, and, for a
    decision "sous conditions", each condition to turn into an action (owner, due date);
    POST "confirm" records them and signs, or refuses with the reasons and records nothing."""
    decision = get_scoped(request, decision_queryset(), pk, "govern")
    if decision.is_signed:
        messages.info(request, _("Cette décision est déjà signée."))
        return redirect(decision)
    first = not decision.first_signed_by_id
    needs_conditions = (
        first
        and decision.outcome == Outcome.WITH_CONDITIONS
        and not decision.actions.filter(is_condition=True).exists()
    )
    data = request.POST if request.method == "POST" else None
    attendance = attendance_forms(decision.meeting, data) if first else []
    conditions = condition_forms(decision, data) if needs_conditions else []
    problems = blocked = blocking_errors(decision, request.user)
    if data is not None and data.get("confirm") == "yes" and not problems:
        valid = all(f.is_valid() for f in [*attendance, *conditions])
        if valid:
            try:
                sign(
                    decision,
                    request.user,
                    attendance=[f.row() for f in attendance],
                    conditions=[f.cleaned_data for f in conditions],
                )
            except SignRefused as refused:
                problems = refused.problems
            else:
                if decision.is_signed:
                    messages.success(
                        request, _("Décision signée : elle ne peut plus être modifiée.")
                    )
                else:
                    messages.success(
                        request,
                        _(
                            "Première signature enregistrée : la décision attend la seconde "
                            "signature d'un autre membre du comité."
                        ),
                    )
                return redirect(decision)
        else:
            problems = [_("Corrigez les champs signalés ci-dessous.")]
    return render(
        request,
        "governance/decision_sign.html",
        {
            "decision": decision,
            "meeting": decision.meeting,
            "project": decision.project,
            "problems": problems,
            "blocked": blocked,
            "attendance": attendance,
            "conditions": conditions,
            "state": quorum(decision.meeting),
            "votes": register.votes(decision),
        },
        status=400 if request.method == "POST" else 200,
    )


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
