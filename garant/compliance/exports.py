"""The gap report (/conformite/rapport-ecarts.xlsx and .pdf): every required obligation not
done yet, system by system, after a summary (systems by risk level, obligations done against
those due). It covers what the dashboard shows, with the same establishment filter."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from garant.compliance.dashboard import (
    DashboardFilters,
    chosen_filters,
    done_without_evidence,
    obligation_row,
    open_obligations,
    overview,
    visible_systems,
)
from garant.core.documents import PdfDocument, display, pdf_response, xlsx_response, xlsx_workbook


def gap_rows(systems, today) -> list[dict]:
    """The open required obligations of `systems`, by system then due date, with evidence count."""
    obligations = (
        open_obligations(systems)
        .annotate(evidence_count=Count("evidence"))
        .order_by("ai_system__establishment__name", "ai_system__name", "ai_system_id", "due_date")
    )
    return [obligation_row(o, today) for o in obligations]


def unproven_headers() -> list[str]:
    return [_("Établissement"), _("Système"), _("Obligation"), _("Statut"), _("Justification")]


def unproven_values(row: dict) -> list:
    o = row["obligation"]
    return [
        o.ai_system.establishment.name,
        o.ai_system.name,
        row["item"]["title"],
        _("Fait sans preuve"),
        o.justification or "—",
    ]


def summary_pairs(data, establishment) -> list[tuple[str, object]]:
    totals = data.totals
    pairs = [
        (_("Périmètre"), establishment.name if establishment else _("Tous vos établissements")),
        (_("Systèmes d'IA"), len(data.states)),
    ]
    pairs += [(r["label"], r["count"]) for r in data.risks]
    pairs += [
        (_("Obligations requises"), totals["due"]),
        (_("Faites ou non applicables"), totals["done"]),
        (_("Restant à faire"), totals["remaining"]),
        (_("En retard"), totals["overdue"]),
        (_("Avancement"), f"{totals['percent']} %" if totals["percent"] is not None else None),
    ]
    return pairs


def gap_headers() -> list[str]:
    return [
        _("Établissement"),
        _("Système"),
        _("Obligation"),
        _("Famille"),
        _("Article"),
        _("Applicable le"),
        _("Date initiale"),
        _("Modifiée par"),
        _("Échéance"),
        _("En retard"),
        _("Statut"),
        _("Responsable"),
        _("Preuves"),
    ]


def gap_values(row: dict) -> list:
    o, item = row["obligation"], row["item"]
    date = item["date"]
    return [
        o.ai_system.establishment.name,
        o.ai_system.name,
        item["title"],
        item["family_label"],
        item["cite"]["ref"],
        date["date"],
        date["original_date"],
        date["amended_by"],
        o.due_date,
        display(row["overdue"]),
        o.get_status_display(),
        str(o.owner) if o.owner else "",
        o.evidence_count,
    ]


def write_xlsx(data, rows, establishment, unproven=()) -> bytes:
    return xlsx_workbook(
        [
            (_("Synthèse"), [_("Indicateur"), _("Valeur")], summary_pairs(data, establishment)),
            (_("Écarts"), gap_headers(), [gap_values(r) for r in rows]),
            (_("Faites sans preuve"), unproven_headers(), [unproven_values(r) for r in unproven]),
        ]
    )


def write_pdf(data, rows, establishment, unproven=()) -> bytes:
    doc = PdfDocument(
        _("Rapport d'écarts de conformité"),
        subtitle=establishment.name if establishment else _("Tous vos établissements"),
        wide=True,
    )
    doc.heading(_("Synthèse"))
    doc.fields(summary_pairs(data, establishment))
    doc.heading(_("Obligations restant à faire"))
    if not rows:
        doc.paragraph(_("Aucune obligation requise ne reste à faire."), note=True)
    headers = gap_headers()[2:]  # establishment and system head each system's table
    for system_rows in _by_system(rows):
        system = system_rows[0]["obligation"].ai_system
        doc.heading(f"{system.name} — {system.establishment.name}", level=2)
        doc.table(
            headers,
            [gap_values(r)[2:] for r in system_rows],
            widths=[0.2, 0.09, 0.1, 0.085, 0.085, 0.11, 0.085, 0.05, 0.07, 0.085, 0.04],
        )
    doc.heading(_("Obligations faites sans preuve"))
    doc.paragraph(
        _(
            "Déclarées faites sans preuve jointe : la justification donnée en tient lieu et "
            "figure comme telle."
        ),
        note=True,
    )
    if not unproven:
        doc.paragraph(_("Aucune."), note=True)
    else:
        doc.table(
            unproven_headers(),
            [unproven_values(r) for r in unproven],
            widths=[0.15, 0.2, 0.25, 0.1, 0.3],
        )
    doc.paragraph(
        _("Aide à la décision, pas un avis juridique : les points signalés sont à confirmer."),
        note=True,
    )
    return doc.render()


def _by_system(rows: list[dict]) -> list[list[dict]]:
    groups: list[list[dict]] = []
    for row in rows:
        if groups and groups[-1][0]["obligation"].ai_system_id == row["obligation"].ai_system_id:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


WRITERS = {"xlsx": (write_xlsx, xlsx_response), "pdf": (write_pdf, pdf_response)}


@login_required
def gap_report(request, fmt):
    if fmt not in WRITERS:
        raise Http404
    write, respond = WRITERS[fmt]
    chosen = chosen_filters(DashboardFilters(request.GET or None, user=request.user))
    establishment = chosen.get("establishment")
    systems = visible_systems(request.user, establishment)
    today = timezone.localdate()
    unproven = [obligation_row(o, today) for o in done_without_evidence(systems)]
    content = write(overview(systems, today), gap_rows(systems, today), establishment, unproven)
    return respond(content, f"rapport-ecarts-{today:%Y-%m-%d}.{fmt}")
