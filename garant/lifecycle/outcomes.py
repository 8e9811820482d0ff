"""The codes of what a decision grid recommends and what a committee decides, defined once.

They key the grids' thresholds (`garant.lifecycle.grids`), an assessment's recommendation, the
gates (`garant.lifecycle.gates`) and a decision's outcome (`garant.governance`). This module
imports no model, so that every one of those may import it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Recommendation(models.TextChoices):
    """What a decision grid recommends on a project. The one definition of these codes: they
    key the grids' thresholds, and all but "not yet" are what a committee decides (`Outcome`)."""

    GENERALISE = "generalise", _("généraliser")
    WITH_CONDITIONS = "generalise_with_conditions", _("généraliser sous conditions")
    EXTEND_POC = "extend_poc", _("prolonger le PoC")
    STOP = "stop", _("arrêter")
    NOT_YET = "not_yet", _("pas encore")


#: what a committee decides on a project (`garant.governance.models.Decision.outcome`): every
#: recommendation but "not yet", same codes and labels
Outcome = models.TextChoices(
    "Outcome", [(r.name, (r.value, r.label)) for r in Recommendation if r != Recommendation.NOT_YET]
)
