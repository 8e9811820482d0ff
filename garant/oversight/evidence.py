"""The oversight rates as linked evidence of the AI Act deployer obligations (registered with
`garant.compliance.linked` from `OversightConfig.ready`): what clinicians did with the
system's outputs over the last 90 days, from `rates.system_summary` (no other computation).
The oversight plan's own evidence is `plans.evidence`."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core.numbers import number, percent
from garant.oversight import rates

DAYS = 90

#: obligation code → what the rates prove
EVIDENCE = {
    "aia_26_5": gettext_lazy("surveillance du fonctionnement par les retours d'usage"),
    "aia_26_6": gettext_lazy("journal des usages de chaque sortie, conservé par Garant"),
    "aia_14_oversight": gettext_lazy("les professionnels acceptent, corrigent ou écartent"),
}


def evidence(system, today: dt.date | None = None) -> dict[str, list[dict]]:
    end = (today or timezone.localdate()) + dt.timedelta(days=1)
    start = end - dt.timedelta(days=DAYS)
    total = rates.system_summary(system, start, end)["total"]
    if not total["events"]:
        return {}
    title = _(
        "Retours d'usage du %(start)s au %(end)s : %(n)s événements, acceptation %(a)s, "
        "modification %(m)s, écart %(o)s%(blind)s"
    ) % {
        "start": date_format(start, "d/m/Y"),
        "end": date_format(end - dt.timedelta(days=1), "d/m/Y"),
        "n": number(total["events"]),
        "a": percent(total["accepted_rate"]),
        "m": percent(total["modified_rate"]),
        "o": percent(total["overridden_rate"]),
        "blind": _(" ; acceptation sans examen suspectée") if total["blind_acceptance"] else "",
    }
    url = reverse("oversight:system", args=[system.pk])
    return {code: [{"title": title, "detail": str(d), "url": url}] for code, d in EVIDENCE.items()}
