"""Creating projects: from an accepted idea (with a new register entry) or for a system
already in the register; triage of ideas (accept, merge, decline) with the author notified."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.lifecycle.models import Idea, PhaseTransition, Project
from garant.lifecycle.notifications import notify
from garant.registry.models import AISystem


class TriageRefused(Exception):
    pass


def create_project(system: AISystem, user, reason: str = "") -> Project:
    """The project of a system; it starts in the system's phase (instruction for an idea)."""
    with transaction.atomic():
        phase = system.phase if system.phase not in ("", "idea") else "instruction"
        project = Project.objects.create(
            establishment_id=system.establishment_id,
            ai_system=system,
            phase=phase,
            created_by=user,
        )
        PhaseTransition.objects.create(
            project=project,
            from_phase="",
            to_phase=phase,
            by=user,
            reason=reason or _("Projet ouvert"),
        )
        if system.phase != phase:
            system.phase = phase
            system.save(update_fields=["phase", "updated_at"])
    return project


def _triaged(idea: Idea, user, status: str, reason: str) -> None:
    if idea.status != Idea.Status.SUBMITTED:
        raise TriageRefused(_("Cette idée a déjà été triée."))
    idea.status = status
    idea.triage_reason = reason.strip()
    idea.triaged_by = user
    idea.triaged_at = timezone.now()


def accept(
    idea: Idea, user, *, solution_type: str, domain: str, modality: str, reason=""
) -> Project:
    """Accepted for instruction: a register entry in phase "instruction" and its project."""
    with transaction.atomic():
        _triaged(idea, user, Idea.Status.ACCEPTED, reason)
        system = AISystem.objects.create(
            establishment_id=idea.establishment_id,
            name=idea.title,
            intended_purpose=idea.need,
            use_case=idea.benefit_details,
            product=idea.solution_name if idea.solution_known else "",
            solution_type=solution_type,
            domain=domain,
            modality=modality,
            phase="instruction",
            created_by=user,
        )
        if idea.service_id:
            system.services.set([idea.service_id])
        project = create_project(system, user, _("Idée acceptée pour instruction"))
        idea.project = project
        idea.save()
        notify(
            idea.author,
            idea.establishment,
            _("Votre idée « %(title)s » est acceptée pour instruction.") % {"title": idea.title},
            reverse("lifecycle:idea_detail", args=[idea.pk]),
        )
    return project


def merge(idea: Idea, into: Idea, user, reason: str = "") -> Idea:
    if into.pk == idea.pk or into.establishment_id != idea.establishment_id:
        raise TriageRefused(_("Choisissez une autre idée du même établissement."))
    with transaction.atomic():
        _triaged(idea, user, Idea.Status.MERGED, reason)
        idea.merged_into = into
        idea.save()
        notify(
            idea.author,
            idea.establishment,
            _("Votre idée « %(title)s » est fusionnée avec « %(other)s ».")
            % {"title": idea.title, "other": into.title},
            reverse("lifecycle:idea_detail", args=[idea.pk]),
        )
    return idea


def decline(idea: Idea, user, reason: str) -> Idea:
    if not reason.strip():
        raise TriageRefused(_("Indiquez le motif du refus : l'auteur le lira."))
    with transaction.atomic():
        _triaged(idea, user, Idea.Status.DECLINED, reason)
        idea.save()
        notify(
            idea.author,
            idea.establishment,
            _("Votre idée « %(title)s » n'est pas retenue : %(reason)s")
            % {"title": idea.title, "reason": reason.strip()},
            reverse("lifecycle:idea_detail", args=[idea.pk]),
        )
    return idea
