"""Pages of the DPO office for objections and verifiable erasures: record an objection (or
lift one), run an erasure, read and download its certificate (PDF, JSON). All need
"patient_erasure" in the establishment (garant/core/roles.py: admins and the DPO); every
write is audited; the identifier typed is turned into its pseudonym and never stored."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.core.documents import download, pdf_response
from garant.core.models import Establishment
from garant.patients import certificates, deletion
from garant.patients.erasure import ErasureRun
from garant.patients.erasure_forms import ErasureForm, ObjectionForm
from garant.patients.objections import Objection
from garant.patients.pseudonyms import pseudonym

PERMISSION = "patient_erasure"


def _establishment(request, pk) -> Establishment:
    return permissions.get_scoped(request.user, Establishment.objects.all(), pk, PERMISSION)


@login_required
def index(request):
    establishments = permissions.scope(Establishment.objects.all(), request.user, PERMISSION)
    objections = (
        permissions.scope(Objection.objects.all(), request.user, PERMISSION)
        .select_related("establishment", "ai_system")
        .order_by("-recorded_at", "-pk")[:200]
    )
    runs = (
        permissions.scope(ErasureRun.objects.all(), request.user, PERMISSION)
        .select_related("establishment", "ran_by")
        .order_by("-ran_at", "-pk")[:200]
    )
    return render(
        request,
        "patients/erasure_index.html",
        {"establishments": establishments, "objections": objections, "runs": runs},
    )


@login_required
def objection_add(request, pk):
    establishment = _establishment(request, pk)
    if request.method == "POST":
        form = ObjectionForm(request.POST, establishment=establishment)
        if form.is_valid():
            data = form.cleaned_data
            with transaction.atomic():
                Objection.objects.create(
                    establishment=establishment,
                    pseudonym=pseudonym(data["identifier"]),
                    purpose=data["purpose"],
                    ai_system=data["ai_system"],
                    received_on=data["received_on"],
                    request_reference=data["request_reference"],
                    recorded_by=request.user,
                )
            messages.success(
                request,
                _(
                    "Opposition enregistrée (l'identifiant n'est pas conservé, seulement son pseudonyme)."
                ),
            )
            return redirect("patients_erasure:index")
    else:
        form = ObjectionForm(
            establishment=establishment, initial={"received_on": timezone.localdate()}
        )
    return render(
        request,
        "patients/erasure_objection_form.html",
        {"form": form, "establishment": establishment},
    )


@require_POST
@login_required
def objection_lift(request, pk):
    objection = permissions.get_scoped(request.user, Objection.objects.all(), pk, PERMISSION)
    if objection.lifted_at is None:
        with transaction.atomic():
            objection.lifted_at = timezone.now()
            objection.save()
        messages.success(request, _("Opposition levée : elle ne compte plus."))
    return redirect("patients_erasure:index")


@login_required
def erasure_add(request, pk):
    establishment = _establishment(request, pk)
    if request.method == "POST":
        form = ErasureForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            run = deletion.run(
                establishment,
                data["identifier"],
                data["reason"],
                request.user,
                data["request_reference"],
            )
            messages.success(
                request,
                _("Effacement terminé : %(n)s enregistrement(s) supprimé(s).")
                % {"n": run.records_removed},
            )
            return redirect(run)
    else:
        form = ErasureForm()
    return render(
        request,
        "patients/erasure_form.html",
        {"form": form, "establishment": establishment},
    )


def _run(request, pk) -> ErasureRun:
    queryset = ErasureRun.objects.select_related("establishment", "ran_by")
    return permissions.get_scoped(request.user, queryset, pk, PERMISSION)


@login_required
def run_detail(request, pk):
    run = _run(request, pk)
    return render(
        request,
        "patients/erasure_run.html",
        {
            "run": run,
            "rows": certificates.rows(run.certificate),
            "unreachable": certificates.unreachable(run.certificate),
            "verified": deletion.verify(run),
            "audit": run.certificate.get("audit", {}),
        },
    )


@login_required
def certificate_pdf(request, pk):
    run = _run(request, pk)
    return pdf_response(certificates.pdf(run), f"certificat-effacement-{run.pk}.pdf")


@login_required
def certificate_json(request, pk) -> HttpResponse:
    run = _run(request, pk)
    return download(
        certificates.json_bytes(run), f"certificat-effacement-{run.pk}.json", "application/json"
    )
