"""The « Information des patients » tab of a system: whether its qualification calls for a
notice and why, the notice's versions with what changed, its review by the DPO office, its
publication, the PDF (normal and large print), and how information is given (channels).

Writing a version needs "change" on the system; approving it or sending it back
"approve_notice" (the DPO office); publishing it "publish_register" (garant/core/roles.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.core.documents import pdf_response
from garant.core.versions import history
from garant.patients import notices
from garant.patients.info_forms import ChannelForm, NoticeForm, ReviewForm
from garant.patients.models import InformationChannel, PatientNotice
from garant.registry.models import AISystem
from garant.registry.views import _system_context


def _system(request, pk, permission="view") -> AISystem:
    queryset = AISystem.objects.select_related("establishment", "vendor")
    return permissions.get_scoped(request.user, queryset, pk, permission)


@login_required
def system_notice(request, pk):
    system = _system(request, pk)
    notice = notices.notice_of(system)
    versions = list(notice.versions.all()) if notice else []
    user = request.user
    required = notices.required_obligations(system)
    context = _system_context(request, system, "patients")
    context.update(
        {
            "required": notices.reasons(required),
            # the qualification changed since the latest version was written
            "stale": bool(versions) and set(versions[0].obligations) != set(required),
            "notice": notice,
            "latest": versions[0] if versions else None,
            "history": history(versions, notices.compare),
            "channels": InformationChannel.objects.within(ai_system=system),
            "channel_form": ChannelForm() if context["can_change"] else None,
            "can_approve": permissions.object_permission(user, system, "approve_notice"),
            "can_publish": permissions.object_permission(user, system, "publish_register"),
            "review_form": ReviewForm(),
        }
    )
    return render(request, "patients/system_notice.html", context)


@login_required
def notice_edit(request, pk):
    system = _system(request, pk, "change")
    notice = notices.notice_of(system)
    latest = notice.versions.first() if notice else None
    if request.method == "POST":
        form = NoticeForm(request.POST)
        if form.is_valid():
            notices.save_version(
                system, form.cleaned_data, request.user, note=form.cleaned_data["change_note"]
            )
            messages.success(request, _("Nouvelle version de la notice enregistrée (brouillon)."))
            return redirect("patients:system", system.pk)
    else:
        initial = latest.content() if latest else notices.generate(system)
        form = NoticeForm(initial=initial)
    context = _system_context(request, system, "patients")
    context.update({"form": form, "latest": latest})
    return render(request, "patients/notice_edit.html", context)


@login_required
@require_POST
def notice_generate(request, pk):
    system = _system(request, pk, "change")
    notices.save_version(
        system,
        notices.generate(system),
        request.user,
        generated=True,
        note=_("Texte généré depuis le registre et la qualification"),
    )
    messages.success(request, _("Notice générée : relisez-la puis soumettez-la au DPO."))
    return redirect("patients:system", system.pk)


def _notice(request, pk, permission) -> PatientNotice:
    system = _system(request, pk, permission)
    notice = notices.notice_of(system)
    if notice is None:
        raise Http404
    return notice


def _step(request, pk, permission, action, done):
    notice = _notice(request, pk, permission)
    try:
        action(notice)
    except notices.NoticeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("patients:system", pk)


@login_required
@require_POST
def notice_submit(request, pk):
    return _step(request, pk, "change", notices.submit, _("Notice soumise au DPO."))


def _note(request) -> str:
    form = ReviewForm(request.POST)
    return form.cleaned_data["note"] if form.is_valid() else ""


@login_required
@require_POST
def notice_approve(request, pk):
    note = _note(request)
    return _step(
        request,
        pk,
        "approve_notice",
        lambda n: notices.approve(n, request.user, note),
        _("Notice approuvée."),
    )


@login_required
@require_POST
def notice_send_back(request, pk):
    note = _note(request)
    return _step(
        request,
        pk,
        "approve_notice",
        lambda n: notices.send_back(n, note),
        _("Notice renvoyée en brouillon avec vos observations."),
    )


@login_required
@require_POST
def notice_publish(request, pk):
    publish = request.POST.get("published") == "1"
    done = (
        _("Notice publiée : elle figurera au registre public à sa prochaine publication.")
        if publish
        else _("Notice retirée : elle disparaîtra du registre public à sa prochaine publication.")
    )
    return _step(request, pk, "publish_register", lambda n: notices.set_published(n, publish), done)


def _pdf(request, pk, large):
    system = _system(request, pk)
    notice = notices.notice_of(system)
    version = None
    if notice is not None:
        version = notice.approved_version or notice.versions.first()
    if version is None:
        raise Http404
    suffix = "-gros-caracteres" if large else ""
    return pdf_response(notices.pdf(system, version, large), f"notice-{system.pk}{suffix}.pdf")


@login_required
def notice_pdf(request, pk):
    return _pdf(request, pk, large=False)


@login_required
def notice_pdf_large(request, pk):
    return _pdf(request, pk, large=True)


@login_required
@require_POST
def channel_add(request, pk):
    system = _system(request, pk, "change")
    form = ChannelForm(request.POST)
    if form.is_valid():
        channel = form.save(commit=False)
        channel.ai_system = system
        channel.created_by = request.user
        channel.save()
        messages.success(request, _("Moyen d'information enregistré."))
    else:
        messages.error(request, _("Moyen d'information non enregistré : vérifiez les champs."))
    return redirect("patients:system", system.pk)


@login_required
@require_POST
def channel_delete(request, pk):
    channel = permissions.get_scoped(
        request.user, InformationChannel.objects.select_related("ai_system"), pk, "change"
    )
    system_pk = channel.ai_system_id
    channel.delete()
    messages.success(request, _("Moyen d'information supprimé."))
    return redirect("patients:system", system_pk)
