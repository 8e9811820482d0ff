"""Rights requests received by the DPO office: the list with deadlines, recording a request
(identity checked outside Garant: who checked and how), its steps, the extension with its
reason, the answer, and the answer and extension letters (PDF).

Every page needs "handle_rights" (the DPO office and the admins, garant/core/roles.py;
docs/decisions/0024-patient-rights-requests.md): other roles get 404 on a request, as for
another establishment's, since what a patient asked is not theirs to know."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.core.documents import pdf_response
from garant.core.models import Establishment
from garant.patients import referential, rights
from garant.patients.info_forms import AnswerForm, ExtendForm, RequestForm, StepForm
from garant.patients.models import RightsRequest
from garant.registry.models import AISystem


def _request(request, pk) -> RightsRequest:
    queryset = RightsRequest.objects.select_related("establishment", "ai_system")
    found = permissions.scope(queryset, request.user, "handle_rights").filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


@login_required
def request_list(request):
    if not permissions.can(request.user, "handle_rights"):
        raise PermissionDenied(
            _("Seuls le bureau du DPO et les administrateurs voient les demandes.")
        )
    today = timezone.localdate()
    requests = permissions.scope(
        RightsRequest.objects.select_related("establishment", "ai_system"),
        request.user,
        "handle_rights",
    )
    establishments = Establishment.objects.restrict(request.user, "handle_rights").order_by("name")
    return render(
        request,
        "patients/request_list.html",
        {
            "rows": [
                {
                    "request": r,
                    "kind": referential.kind_label(r.kind, r.rules_version),
                    "overdue": r.overdue(today),
                }
                for r in requests
            ],
            "establishments": establishments,
        },
    )


@login_required
def request_create(request, pk):
    establishment = permissions.get_scoped(request.user, Establishment, pk, "handle_rights")
    systems = AISystem.objects.within(establishment=establishment).order_by("name")
    if request.method == "POST":
        form = RequestForm(request.POST, systems=systems)
        if form.is_valid():
            new = form.save(commit=False)
            new.establishment = establishment
            rights.receive(new, request.user)
            messages.success(
                request,
                _("Demande enregistrée : réponse due le %(d)s.")
                % {"d": new.deadline.strftime("%d/%m/%Y")},
            )
            return redirect(new)
    else:
        form = RequestForm(systems=systems)
    return render(
        request, "patients/request_form.html", {"form": form, "establishment": establishment}
    )


@login_required
def request_detail(request, pk):
    item = _request(request, pk)
    return render(
        request,
        "patients/request_detail.html",
        {
            "item": item,
            "kind": referential.kind_label(item.kind, item.rules_version),
            "rules": rights.rules_text(item.kind, item.rules_version),
            "latest_extension": rights.latest_extension(item.received_on, item.rules_version),
            "steps": item.steps.all(),
            "overdue": item.overdue(),
            "step_form": StepForm(initial={"done_on": timezone.localdate()}),
            "extend_form": ExtendForm(),
            "answer_form": AnswerForm(
                initial={"answered_on": timezone.localdate(), "answer": rights.draft_answer(item)}
            ),
        },
    )


def _write(request, pk, form_class, action, done):
    item = _request(request, pk)
    form = form_class(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(item)
    try:
        action(item, form.cleaned_data)
    except rights.RequestError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect(item)


@login_required
@require_POST
def request_step(request, pk):
    return _write(
        request,
        pk,
        StepForm,
        lambda item, data: rights.add_step(item, data["done_on"], data["note"], request.user),
        _("Étape enregistrée."),
    )


@login_required
@require_POST
def request_extend(request, pk):
    return _write(
        request,
        pk,
        ExtendForm,
        lambda item, data: rights.extend(item, data["new_deadline"], data["reason"], request.user),
        _("Délai prolongé : envoyez le courrier de prolongation à la personne."),
    )


@login_required
@require_POST
def request_answer(request, pk):
    return _write(
        request,
        pk,
        AnswerForm,
        lambda item, data: rights.answer(
            item, data["answer"], data["answered_on"], request.user, close=data["close"]
        ),
        _("Réponse enregistrée."),
    )


@login_required
def request_letter(request, pk):
    item = _request(request, pk)
    signatory = request.user.get_full_name() or str(request.user)
    content = rights.letter_pdf(item, signatory=signatory)
    return pdf_response(content, f"reponse-{item.pk}.pdf")


@login_required
def request_extension_letter(request, pk):
    item = _request(request, pk)
    if not item.extended:
        raise Http404
    signatory = request.user.get_full_name() or str(request.user)
    content = rights.letter_pdf(item, referential.EXTENSION_LETTER, signatory=signatory)
    return pdf_response(content, f"prolongation-{item.pk}.pdf")
