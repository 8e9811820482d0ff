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

from garant.compliance import checklist, prefill
from garant.compliance.forms import CommentForm, EvidenceForm, ObligationForm, StepForm
from garant.compliance.linked import linked_evidence
from garant.compliance.models import Evidence, Obligation, Qualification, RiskLevel
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
        system.obligations.select_related("owner", "proposed_owner").order_by(
            "-required", "due_date", "pk"
        )
    )
    counts = _evidence_counts(obligations)
    today = timezone.localdate()
    to_confirm = qualification.result.get("to_confirm", {}) if qualification else {}
    linked = linked_evidence(system)
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
                "linked": linked.get(obligation.code, []),
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
#
# One page per step, the answers so far carried in a signed `state`; the last step (REVIEW)
# lists every answer with a link back to its step and previews the result before saving.
# « Précédent » and « Modifier » belong to a separate form (`wizard-nav`), so that Enter in an
# answer submits the step's form with its only submit button: « Suivant ».

REVIEW = "review"


def _load_state(request, system) -> dict:
    raw = request.POST.get("state", "")
    if not raw:
        return {"answers": {}, "review": False}
    try:
        state = signing.loads(raw, salt=STATE_SALT)
    except signing.BadSignature as exc:
        raise BadRequest(_("Le questionnaire a expiré ou a été modifié : recommencez.")) from exc
    if state.get("system") != system.pk or not isinstance(state.get("answers"), dict):
        raise BadRequest(_("Le questionnaire a expiré ou a été modifié : recommencez."))
    return {"answers": state["answers"], "review": bool(state.get("review"))}


def _first_incomplete(book, answers: dict) -> str:
    """The first step with a question that applies and has no answer, else REVIEW."""
    applicable = book.applicable(answers)
    for step in book.steps_for(applicable):
        for question in step["questions"]:
            if book.visible(step, question, applicable) and question["id"] not in applicable:
                return step["id"]
    return REVIEW


@login_required
def wizard(request, pk):
    system = _system(request, pk, "change")
    book = rulebook()
    previous = current(system)
    starting, origins = prefill.starting_answers(book, system, previous)
    state = _load_state(request, system) if request.method == "POST" else None
    state = state or {"answers": {}, "review": False}
    answers = state["answers"]
    step_ids = [s["id"] for s in book.steps_for(book.applicable(answers))]
    requested = request.POST.get("step", "")
    current_id = requested if requested in [*step_ids, REVIEW] else step_ids[0]
    form = None
    if request.method == "POST":
        if "goto" in request.POST:  # « Modifier » on the review page
            target = request.POST["goto"]
            current_id = target if target in step_ids else current_id
            state["review"] = True
        elif "back" in request.POST:
            index = step_ids.index(current_id) if current_id in step_ids else len(step_ids)
            current_id = step_ids[max(index - 1, 0)]
        elif current_id == REVIEW and _first_incomplete(book, answers) != REVIEW:
            current_id = _first_incomplete(book, answers)  # a hand-crafted jump to the review
        elif current_id == REVIEW:
            try:
                qualification = qualify(system, answers, request.user, book)
            except AnswerError as exc:  # a step was skipped by hand-crafted input
                messages.error(request, _("Réponses incomplètes : %(e)s") % {"e": exc})
                return redirect("compliance:wizard", pk=system.pk)
            messages.success(request, _("Qualification enregistrée."))
            return redirect(qualification)
        else:
            step = book.data["steps"][[s["id"] for s in book.data["steps"]].index(current_id)]
            form = StepForm(book, step, answers, starting, origins, request.POST)
            if form.is_valid():
                answers.update(form.cleaned_data)
                step_ids = [s["id"] for s in book.steps_for(book.applicable(answers))]
                form = None
                if state["review"]:
                    current_id = _first_incomplete(book, answers)
                else:
                    index = step_ids.index(current_id)
                    current_id = step_ids[index + 1] if index + 1 < len(step_ids) else REVIEW
    if current_id == REVIEW and _first_incomplete(book, answers) != REVIEW:
        current_id = _first_incomplete(book, answers)  # a hand-crafted jump to the review
    planned = [s["id"] for s in book.steps_for(book.applicable({**starting, **answers}))]
    total = len(planned) + 1
    if current_id == REVIEW:
        position = total
    elif current_id in planned:
        position = planned.index(current_id) + 1
    else:
        position = step_ids.index(current_id) + 1
    context = _system_context(request, system, "compliance")
    context.update(
        {
            "book": book,
            "state": signing.dumps(
                {"system": system.pk, "answers": answers, "review": state["review"]},
                salt=STATE_SALT,
            ),
            "position": position,
            "total": total,
            "previous": previous,
            "register_changes": staleness(previous, system) if previous else [],
        }
    )
    if current_id == REVIEW:
        context.update(_review(book, system, answers))
        return render(request, "compliance/wizard_review.html", context)
    step = next(s for s in book.data["steps"] if s["id"] == current_id)
    if form is None:
        form = StepForm(book, step, answers, starting, origins)
    context.update(
        {
            "step": step,
            "step_title": localized(step["title"]),
            "form": form,
            "questions": [
                (
                    form[qid],
                    _origin_note(book, qid, form.origins[qid], previous)
                    if qid in form.origins
                    else "",
                )
                for qid in form.fields
            ],
            "returning": state["review"],
            "establishment": system.establishment,
        }
    )
    return render(request, "compliance/wizard.html", context)


def _origin_note(book, qid: str, origin: dict, previous) -> str:
    when = timezone.localtime(previous.created_at).strftime("%d/%m/%Y") if previous else ""
    kind = origin["origin"]
    if kind == prefill.ESTABLISHMENT:
        return _("Repris du statut juridique de l'établissement (sa fiche) : vérifiez.")
    if kind == prefill.PREVIOUS:
        return _("Réponse de la qualification du %(d)s : vérifiez qu'elle vaut toujours.") % {
            "d": when
        }
    if kind == prefill.REGISTER_CHANGED and origin["previous"] is None:
        return _(
            "La fiche du registre a changé depuis la qualification du %(d)s : réponse proposée "
            "d'après la fiche."
        ) % {"d": when}
    if kind == prefill.REGISTER_CHANGED:
        shown = _answer_row(book, book.questions[qid], origin["previous"])["answer"]
        return _(
            "La fiche du registre a changé depuis la qualification du %(d)s : réponse proposée "
            "d'après la fiche (réponse précédente : « %(a)s »)."
        ) % {"d": when, "a": shown}
    return _("Pré-rempli d'après la fiche du registre : vérifiez.")


def _review(book, system, answers: dict) -> dict:
    """Every answer that applies, by step, and the result they give, with the checklist that
    saving would create (proposed owners and due dates)."""
    applicable = book.applicable(answers)
    sections = []
    for step in book.steps_for(applicable):
        rows = [
            {**_answer_row(book, q, applicable[q["id"]]), "id": q["id"]}
            for q in step["questions"]
            if q["id"] in applicable
        ]
        sections.append({"id": step["id"], "title": localized(step["title"]), "rows": rows})
    result = book.evaluate(book.clean(applicable))
    described = book.describe(result)
    policy = checklist.policy()
    owners = checklist.propose_owners(
        system, {o["code"]: o["family"] for o in described["obligations"]}, policy
    )
    today = timezone.localdate()
    planned = []
    for o in described["obligations"]:
        due = policy.due_date(o["code"], o["date"]["date"], today)
        if o["due_from"] == "ce_expiry" and system.ce_expiry:
            due = system.ce_expiry
        planned.append(
            {**o, "owner": owners[o["code"]], "due": due, "in_force": o["date"]["date"] <= today}
        )
    planned.sort(key=lambda o: (o["due"], o["title"]))
    return {
        "sections": sections,
        "described": described,
        "risk_level": RiskLevel(Qualification.risk_level_of(result)).label,
        "planned": planned,
    }


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
        Obligation.objects.select_related("ai_system__establishment", "owner", "proposed_owner"),
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
        elif action == "accept_owner":
            if obligation.owner_id is None and obligation.proposed_owner_id:
                if form.fields["owner"].queryset.filter(pk=obligation.proposed_owner_id).exists():
                    obligation.owner = obligation.proposed_owner
                    obligation.save(update_fields=["owner", "updated_at"])
                    messages.success(request, _("Responsable enregistré."))
                else:
                    messages.error(
                        request, _("La personne proposée n'a plus de rôle dans l'établissement.")
                    )
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
            "linked": linked_evidence(system).get(obligation.code, []),
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
