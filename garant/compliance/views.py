"""Web pages of compliance: a system's "Conformité" tab, the qualification wizard and its
result, an obligation's page (status, owner, due date, evidence, comments)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import BadRequest
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.compliance import prefill
from garant.compliance.forms import CommentForm, EvidenceForm, ObligationForm, StepForm
from garant.compliance.models import Evidence, Obligation, Qualification
from garant.compliance.qualifications import current, qualify, staleness
from garant.compliance.rules import AnswerError, rulebook
from garant.core import permissions
from garant.core.referentials import localized
from garant.registry.models import AISystem
from garant.registry.views import _system_context

STATE_SALT = "garant.compliance.wizard"


def _system(request, pk, permission="view"):
    return permissions.get_scoped(
        request.user, AISystem.objects.select_related("establishment", "vendor"), pk, permission
    )


@login_required
def system_compliance(request, pk):
    system = _system(request, pk)
    context = _system_context(request, system, "compliance")
    qualification = current(system)
    obligations = list(
        system.obligations.select_related("owner").order_by("-required", "due_date", "pk")
    )
    counts = _evidence_counts(obligations)
    today = timezone.localdate()
    to_confirm = qualification.result.get("to_confirm", {}) if qualification else {}
    rows = []
    for obligation in obligations:
        book = rulebook(obligation.referential_version)  # cached per version
        rows.append(
            {
                "obligation": obligation,
                "item": book.describe_obligation(
                    obligation.code, obligation.date_key, to_confirm.get(obligation.code, ())
                ),
                "overdue": obligation.overdue(today),
                "evidence": counts.get(obligation.pk, 0),
            }
        )
    context.update(
        {
            "qualification": qualification,
            "stale": staleness(qualification, system) if qualification else [],
            "described": rulebook(qualification.referential_version).describe(qualification.result)
            if qualification
            else None,
            "rows": rows,
            "history": system.qualifications.select_related("created_by")[:20],
        }
    )
    return render(request, "compliance/system_compliance.html", context)


def _evidence_counts(obligations) -> dict[int, int]:
    return dict(
        Evidence.objects.within(obligation__in=list(obligations))
        .values_list("obligation_id")
        .annotate(n=Count("pk"))
        .values_list("obligation_id", "n")
    )


# --- the wizard -------------------------------------------------------------------------------


def _load_state(request, system) -> dict:
    raw = request.POST.get("state", "")
    if not raw:
        return {}
    try:
        state = signing.loads(raw, salt=STATE_SALT)
    except signing.BadSignature as exc:
        raise BadRequest(_("Le questionnaire a expiré ou a été modifié : recommencez.")) from exc
    if state.get("system") != system.pk or not isinstance(state.get("answers"), dict):
        raise BadRequest(_("Le questionnaire a expiré ou a été modifié : recommencez."))
    return state["answers"]


@login_required
def wizard(request, pk):
    system = _system(request, pk, "change")
    book = rulebook()
    answers = _load_state(request, system) if request.method == "POST" else {}
    suggestions = prefill.initial_answers(book, system)
    steps = book.steps_for(answers)
    step_ids = [s["id"] for s in steps]
    requested = request.POST.get("step") or (step_ids[0] if step_ids else "")
    step = next((s for s in steps if s["id"] == requested), steps[0])
    if request.method == "GET":
        form = StepForm(book, step, answers, suggestions)
    else:
        going_back = "back" in request.POST
        form = StepForm(book, step, answers, suggestions, request.POST)
        if going_back or form.is_valid():
            if not going_back:
                answers.update(form.cleaned_data)
            steps = book.steps_for(answers)
            step_ids = [s["id"] for s in steps]
            index = step_ids.index(step["id"]) if step["id"] in step_ids else 0
            target = index - 1 if going_back else index + 1
            if target >= len(steps):
                try:
                    qualification = qualify(system, answers, request.user, book)
                except AnswerError as exc:  # a step was skipped by hand-crafted input
                    messages.error(request, _("Réponses incomplètes : %(e)s") % {"e": exc})
                    return redirect("compliance:wizard", pk=system.pk)
                messages.success(request, _("Qualification enregistrée."))
                return redirect(qualification)
            step = steps[max(target, 0)]
            form = StepForm(book, step, answers, suggestions)
    state = signing.dumps({"system": system.pk, "answers": answers}, salt=STATE_SALT)
    context = _system_context(request, system, "compliance")
    position = step_ids.index(step["id"]) + 1 if step["id"] in step_ids else 1
    context.update(
        {
            "book": book,
            "step": step,
            "step_title": localized(step["title"]),
            "form": form,
            "state": state,
            "position": position,
            "is_last": position == len(step_ids),
        }
    )
    return render(request, "compliance/wizard.html", context)


# --- a stored qualification -------------------------------------------------------------------


@login_required
def qualification_detail(request, pk):
    qualification = permissions.get_scoped(
        request.user,
        Qualification.objects.select_related("ai_system__establishment", "created_by"),
        pk,
    )
    system = qualification.ai_system
    book = rulebook(qualification.referential_version)
    context = _system_context(request, system, "compliance")
    answered = []
    for step in book.data["steps"]:
        for question in step["questions"]:
            if question["id"] in qualification.answers:
                answered.append(_answer_row(book, question, qualification.answers[question["id"]]))
    context.update(
        {
            "qualification": qualification,
            "described": book.describe(qualification.result),
            "answered": answered,
            "stale": staleness(qualification, system),
            "is_current": current(system) == qualification,
        }
    )
    return render(request, "compliance/qualification.html", context)


def _answer_row(book, question, value) -> dict:
    labels = {o["code"]: localized(o) for o in question.get("options", [])}
    if question["type"] == "bool":
        shown = _("Oui") if value else _("Non")
    elif isinstance(value, list):
        shown = " ; ".join(labels.get(v, v) for v in value)
    else:
        shown = labels.get(value, value)
    return {
        "question": localized(question["text"]),
        "answer": shown,
        "cite": book.cite(question["cite"]),
    }


# --- an obligation ----------------------------------------------------------------------------


def _obligation(request, pk, permission="view"):
    return permissions.get_scoped(
        request.user,
        Obligation.objects.select_related("ai_system__establishment", "owner"),
        pk,
        permission,
    )


@login_required
def obligation_detail(request, pk):
    obligation = _obligation(request, pk)
    system = obligation.ai_system
    context = _system_context(request, system, "compliance")
    can_change = context["can_change"]
    form = ObligationForm(instance=obligation) if can_change else None
    evidence_form = EvidenceForm() if can_change else None
    comment_form = CommentForm() if can_change else None
    if request.method == "POST":
        if not can_change:
            raise permissions.PermissionDenied(
                _("Votre rôle ne permet pas cette action dans cet établissement.")
            )
        action = request.POST.get("action")
        if action == "update":
            form = ObligationForm(request.POST, instance=obligation)
            if form.is_valid():
                form.save()
                messages.success(request, _("Obligation mise à jour."))
                return redirect(obligation)
        elif action == "evidence":
            evidence_form = EvidenceForm(request.POST, request.FILES)
            if evidence_form.is_valid():
                evidence = evidence_form.save(commit=False)
                evidence.obligation = obligation
                evidence.added_by = request.user
                evidence.save()
                messages.success(request, _("Preuve ajoutée."))
                return redirect(obligation)
        elif action == "comment":
            comment_form = CommentForm(request.POST)
            if comment_form.is_valid():
                comment = comment_form.save(commit=False)
                comment.obligation = obligation
                comment.author = request.user
                comment.save()
                return redirect(obligation)
        else:
            raise BadRequest(_("Action inconnue."))
    book = rulebook(obligation.referential_version)
    context.update(
        {
            "obligation": obligation,
            "item": book.describe_obligation(obligation.code, obligation.date_key),
            "overdue": obligation.overdue(),
            "form": form,
            "evidence_form": evidence_form,
            "comment_form": comment_form,
            "evidence": obligation.evidence.select_related("added_by"),
            "comments": obligation.comments.select_related("author"),
        }
    )
    return render(request, "compliance/obligation.html", context)


@login_required
def evidence_file(request, pk):
    evidence = permissions.get_scoped(
        request.user, Evidence.objects.select_related("obligation__ai_system"), pk
    )
    if not evidence.file:
        raise Http404
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    return FileResponse(handle, as_attachment=True, filename=evidence.filename)


@login_required
@require_POST
def evidence_delete(request, pk):
    evidence = permissions.get_scoped(
        request.user, Evidence.objects.select_related("obligation__ai_system"), pk, "change"
    )
    obligation = evidence.obligation
    evidence.delete()  # the audit trail keeps who removed which proof, and when
    messages.success(request, _("Preuve retirée."))
    return redirect(obligation)
