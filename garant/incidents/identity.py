"""No patient identity in an adverse-event report: free text and the local reference are
searched for the direct identifiers of the monitoring rule (garant.monitoring.identifiers):
a NIR / INS number with a valid key, an e-mail address, a French phone number. The message
names the field, never the value."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from garant.monitoring.identifiers import EMAIL, NIR, PHONE, nir_key_valid


def identifiers_in(text: str) -> list[str]:
    """What kinds of direct identifier `text` holds (translated labels, in a fixed order)."""
    found = []
    if any(nir_key_valid(m.group(0)) for m in re.finditer(NIR, text or "")):
        found.append(_("un numéro NIR / INS"))
    if re.search(EMAIL, text or ""):
        found.append(_("une adresse e-mail"))
    if re.search(PHONE, text or ""):
        found.append(_("un numéro de téléphone"))
    return found


def refuse_identifiers(cleaned: dict, labels: dict[str, str]) -> dict[str, str]:
    """{field: message} for each field of `cleaned` (among `labels`) holding an identifier."""
    errors = {}
    for name, label in labels.items():
        if kinds := identifiers_in(str(cleaned.get(name) or "")):
            errors[name] = _(
                "« %(field)s » semble contenir %(kinds)s : aucune donnée identifiant le patient "
                "(référence locale seulement)."
            ) % {"field": label, "kinds": ", ".join(kinds)}
    return errors
