"""Declarations of tools seen in the field: who sees which, the referents' queue, the review.

A declaration is read by its declarer and by anyone with a role in its establishment; the
referents' queue is the pending declarations of the establishments where the user holds
`review_declaration`. A review (register, merge, reject) and a correction lock the row first,
so a declarer's late correction cannot slip in after the review: the reviewed declaration is
frozen. Every write goes through the model's save (the audit trail records it).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.core import permissions
from garant.registry.models import AISystem, Declaration

LISTED = 8


class ReviewRefused(Exception):
    """The review is refused: `field` names the input at fault (None: the whole review)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class AlreadyReviewed(ReviewRefused):
    """The declaration was reviewed already: it no longer changes."""


def queue(user):
    """The pending declarations the user may review, oldest first."""
    return (
        Declaration.objects.restrict(user, "review_declaration")
        .filter(status=Declaration.Status.PENDING)
        .select_related("establishment", "service", "declared_by")
        .order_by("created_at", "pk")
    )


def mine(user):
    """The user's own declarations, newest first (with what became of them)."""
    return Declaration.objects.within(declared_by=user).select_related(
        "establishment", "service", "ai_system"
    )


def get_for(user, pk):
    """A declaration its declarer always sees, others by their role in its establishment."""
    own = mine(user).select_related("declared_by", "reviewed_by").filter(pk=pk).first()
    return own or permissions.get_scoped(
        user,
        Declaration.objects.select_related(
            "establishment", "service", "ai_system", "declared_by", "reviewed_by"
        ),
        pk,
    )


def can_correct(user, declaration) -> bool:
    """The declarer corrects their declaration until it is reviewed."""
    return (
        declaration.is_pending
        and declaration.declared_by_id is not None
        and declaration.declared_by_id == getattr(user, "pk", None)
    )


def can_review(user, declaration) -> bool:
    return declaration.is_pending and permissions.object_permission(
        user, declaration, "review_declaration"
    )


def locked(declaration) -> Declaration:
    """The declaration re-read under a row lock (call inside a transaction), still pending."""
    current = Declaration.objects.unrestricted().select_for_update().get(pk=declaration.pk)
    if not current.is_pending:
        raise AlreadyReviewed(
            _("Cette déclaration a déjà été examinée (%(status)s) : elle ne peut plus changer.")
            % {"status": current.get_status_display()}
        )
    return current


def review(declaration, user, status: str, *, ai_system=None, note: str = "") -> Declaration:
    """Close a pending declaration: registered or merged (with its system) or rejected."""
    if status not in (
        Declaration.Status.REGISTERED,
        Declaration.Status.MERGED,
        Declaration.Status.REJECTED,
    ):
        raise ReviewRefused(_("Suite inconnue : inscrire, rattacher ou ne pas retenir."), "outcome")
    note = (note or "").strip()
    if status == Declaration.Status.REJECTED:
        ai_system = None
        if not note:
            raise ReviewRefused(_("Donnez le motif : le déclarant le lira."), "note")
    elif not isinstance(ai_system, AISystem):
        raise ReviewRefused(_("Choisissez le système d'IA de la cartographie."), "ai_system")
    elif ai_system.establishment_id != declaration.establishment_id:
        raise ReviewRefused(_("Ce système appartient à un autre établissement."), "ai_system")
    with transaction.atomic():
        current = locked(declaration)
        current.status = status
        current.ai_system = ai_system
        current.review_note = note
        current.reviewed_by = user
        current.reviewed_at = timezone.now()
        current.save()
    return current


def todo(user) -> dict:
    """The home page's "À faire" part: declarations waiting for this user's review."""
    if not permissions.can(user, "review_declaration"):
        return {"declarations_to_review": [], "declarations_to_review_count": 0}
    pending = queue(user)
    return {
        "declarations_to_review": list(pending[:LISTED]),
        "declarations_to_review_count": pending.count(),
    }


def entry_points(user) -> dict:
    return {"can_declare": permissions.can(user, "declare")}
