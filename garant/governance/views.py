"""Web pages of committees, their members, meetings and agendas.

Everyone with a role reads; writing needs the "govern" permission (administrators and
committee members) in the committee's establishment.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Min, Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from garant.core import permissions
from garant.governance import agenda
from garant.governance.decisions import quorum
from garant.governance.forms import (
    ActionForm,
    AgendaItemForm,
    CommitteeForm,
    MeetingForm,
    MemberForm,
)
from garant.governance.models import (
    TEAM_SIZE,
    AgendaItem,
    Committee,
    CommitteeMember,
    Decision,
    Meeting,
    ReviewCampaign,
)


def get_scoped(request, queryset, pk, permission="view"):
    return permissions.get_scoped(request.user, queryset, pk, permission)


def can_govern(request, obj) -> bool:
    return permissions.object_permission(request.user, obj, "govern")


def team_size_warning(committee) -> str:
    """The seeds' warning: "au-delà de 15 membres on ne fait plus équipe"."""
    count = committee.members.count()
    if count <= TEAM_SIZE:
        return ""
    return _(
        "%(n)s membres : au-delà de %(max)s membres, on ne fait plus équipe. Envisagez un "
        "comité stratégique restreint et un comité opérationnel."
    ) % {"n": count, "max": TEAM_SIZE}


def _errors(form) -> str:
    return " ".join(str(m) for errors in form.errors.values() for m in errors)


# --- committees -------------------------------------------------------------------------------


@login_required
def committee_list(request):
    now = timezone.now()
    committees = (
        Committee.objects.for_user(request.user)
        .select_related("establishment")
        .annotate(
            n_members=Count("members", distinct=True),
            next_meeting=Min(
                "meetings__starts_at",
                filter=Q(meetings__status=Meeting.Status.PLANNED, meetings__starts_at__gte=now),
            ),
        )
        .order_by("establishment__name", "name", "pk")
    )
    return render(
        request,
        "governance/committee_list.html",
        {
            "committees": committees,
            "team_size": TEAM_SIZE,
            "can_create": permissions.can(request.user, "govern"),
        },
    )


@login_required
def committee_detail(request, pk):
    committee = get_scoped(request, Committee.objects.select_related("establishment"), pk)
    editable = can_govern(request, committee)
    members = committee.members.select_related("user")
    meetings = committee.meetings.select_related("secretary").annotate(
        n_items=Count("agenda", distinct=True), n_decisions=Count("decisions", distinct=True)
    )
    return render(
        request,
        "governance/committee_detail.html",
        {
            "committee": committee,
            "members": members,
            "meetings": meetings.order_by("-starts_at", "-pk"),
            "warning": team_size_warning(committee),
            "can_govern": editable,
            "member_form": MemberForm(committee=committee) if editable else None,
            "campaigns": (
                ReviewCampaign.objects.within(committee=committee)
                if committee.kind == Committee.Kind.COLLEGE
                else None
            ),
            "referrals": (
                committee.ethics_referrals.select_related("ai_system").order_by(
                    "-referred_on", "-pk"
                )
                if committee.is_ethics_body
                else None
            ),
        },
    )


@login_required
def committee_form(request, pk=None):
    if pk is None:
        if not permissions.can(request.user, "govern"):
            raise PermissionDenied(_("Votre rôle ne permet pas de créer un comité."))
        committee = None
    else:
        committee = get_scoped(request, Committee.objects.all(), pk, "govern")
    form = CommitteeForm(request.POST or None, instance=committee, user=request.user)
    if request.method == "POST" and form.is_valid():
        committee = form.save()
        messages.success(request, _("Comité « %(name)s » enregistré.") % {"name": committee})
        return redirect(committee)
    title = _("Modifier le comité") if committee else _("Nouveau comité")
    return render(
        request, "governance/form.html", {"form": form, "title": title, "back": committee}
    )


# --- members ----------------------------------------------------------------------------------


@login_required
@require_POST
def member_add(request, pk):
    committee = get_scoped(request, Committee.objects.all(), pk, "govern")
    form = MemberForm(request.POST, committee=committee)
    if form.is_valid():
        member = form.save()
        messages.success(request, _("%(name)s siège au comité.") % {"name": member})
        if warning := team_size_warning(committee):
            messages.warning(request, warning)
    else:
        messages.error(request, _("Membre refusé : %(errors)s") % {"errors": _errors(form)})
    return redirect(committee)


@login_required
def member_edit(request, pk):
    member = get_scoped(request, CommitteeMember.objects.select_related("committee"), pk, "govern")
    form = MemberForm(request.POST or None, instance=member, committee=member.committee)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Membre modifié."))
        return redirect(member.committee)
    return render(
        request,
        "governance/form.html",
        {"form": form, "title": _("Modifier un membre"), "back": member.committee},
    )


@login_required
@require_POST
def member_delete(request, pk):
    member = get_scoped(request, CommitteeMember.objects.select_related("committee"), pk, "govern")
    committee = member.committee
    if Decision.objects.filter(chair=member).exists():
        messages.error(
            request,
            _("%(name)s a présidé une décision : son siège est conservé pour l'historique.")
            % {"name": member},
        )
    else:
        member.delete()
        messages.success(request, _("%(name)s ne siège plus au comité.") % {"name": member})
    return redirect(committee)


# --- meetings ---------------------------------------------------------------------------------


@login_required
def meeting_create(request, pk):
    committee = get_scoped(request, Committee.objects.select_related("establishment"), pk, "govern")
    proposals = agenda.proposals(committee)
    form = MeetingForm(request.POST or None, committee=committee)
    if request.method == "POST" and form.is_valid():
        chosen = set(request.POST.getlist("proposal"))
        with transaction.atomic():
            meeting = form.save()
            added = agenda.add_to_agenda(
                meeting, [p for p in proposals if str(p.project.pk) in chosen]
            )
        messages.success(
            request,
            _("Séance programmée ; %(n)s point(s) à l'ordre du jour.") % {"n": added},
        )
        return redirect(meeting)
    return render(
        request,
        "governance/meeting_form.html",
        {"form": form, "committee": committee, "proposals": proposals},
    )


def meeting_queryset():
    return Meeting.objects.select_related("committee__establishment", "secretary")


@login_required
def meeting_detail(request, pk):
    meeting = get_scoped(request, meeting_queryset(), pk)
    editable = can_govern(request, meeting)
    decisions = {
        d.project_id: d
        for d in meeting.decisions.select_related("signed_by").only(
            "pk", "project_id", "outcome", "signed_at", "signed_by"
        )
    }
    items = list(meeting.agenda.select_related("project__ai_system"))
    for item in items:
        item.decision = decisions.get(item.project_id)
    actions = meeting.actions.select_related("owner", "decision__project__ai_system")
    return render(
        request,
        "governance/meeting_detail.html",
        {
            "meeting": meeting,
            "committee": meeting.committee,
            "items": items,
            "actions": actions,
            "can_govern": editable,
            "item_form": AgendaItemForm(meeting=meeting) if editable else None,
            "missing": agenda.proposals(meeting.committee, meeting) if editable else [],
            "action_form": ActionForm(meeting=meeting) if editable else None,
            "state": quorum(meeting),
        },
    )


@login_required
def meeting_edit(request, pk):
    meeting = get_scoped(request, meeting_queryset(), pk, "govern")
    form = MeetingForm(request.POST or None, instance=meeting, committee=meeting.committee)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Séance enregistrée."))
        return redirect(meeting)
    return render(
        request,
        "governance/form.html",
        {"form": form, "title": _("Séance et compte rendu"), "back": meeting},
    )


@login_required
@require_POST
def agenda_add(request, pk):
    meeting = get_scoped(request, meeting_queryset(), pk, "govern")
    form = AgendaItemForm(request.POST, meeting=meeting)
    if form.is_valid():
        form.save()
        messages.success(request, _("Point ajouté à l'ordre du jour."))
    else:
        messages.error(request, _("Point refusé : %(errors)s") % {"errors": _errors(form)})
    return redirect(meeting)


@login_required
@require_POST
def agenda_complete(request, pk):
    """Add what the lifecycle proposes and the agenda lacks."""
    meeting = get_scoped(request, meeting_queryset(), pk, "govern")
    added = agenda.add_to_agenda(meeting, agenda.proposals(meeting.committee, meeting))
    messages.success(request, _("%(n)s point(s) ajouté(s) à l'ordre du jour.") % {"n": added})
    return redirect(meeting)


@login_required
@require_POST
def agenda_delete(request, pk):
    item = get_scoped(request, AgendaItem.objects.select_related("meeting"), pk, "govern")
    meeting = item.meeting
    if item.project_id and meeting.decisions.filter(project_id=item.project_id).exists():
        messages.error(
            request, _("Une décision a été prise sur ce point : il reste à l'ordre du jour.")
        )
    else:
        item.delete()
        messages.success(request, _("Point retiré de l'ordre du jour."))
    return redirect(meeting)
