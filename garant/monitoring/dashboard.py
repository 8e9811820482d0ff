"""The dashboard of a feed: `/suivi/flux/<pk>/tableau/`, the report of a period with its charts.

The period form is read from the query string (``du``, ``au`` as dd/mm/yyyy or ISO, ``par`` =
day / week / month, ``seuil`` = a decision threshold in [0, 1] other than the feed's, for a
"what if" report); by default the last 90 days ending today (Europe/Paris), by week, at the
feed's operating threshold, and against the feed's fixed drift reference when it has one
(else the same number of days before the period). ``alerte`` = an alert of the feed: its
own window and reference, said so above the report. An invalid form is shown with its French errors (status 200),
never a server error.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from garant.core import permissions
from garant.core.dates import DATE_WIDGET
from garant.monitoring import charts, report
from garant.monitoring.models import Alert, Feed
from garant.registry.views import _system_context

DEFAULT_DAYS = 90
MAX_PERIODS = 400
GRANULARITIES = [
    ("day", gettext_lazy("jour")),
    ("week", gettext_lazy("semaine")),
    ("month", gettext_lazy("mois")),
]


class PeriodForm(forms.Form):
    du = forms.DateField(
        label=gettext_lazy("du"),
        widget=DATE_WIDGET,
        error_messages={"invalid": gettext_lazy("Date invalide : jj/mm/aaaa attendu.")},
    )
    au = forms.DateField(
        label=gettext_lazy("au"),
        widget=DATE_WIDGET,
        error_messages={"invalid": gettext_lazy("Date invalide : jj/mm/aaaa attendu.")},
    )
    par = forms.ChoiceField(
        label=gettext_lazy("granularité"), choices=GRANULARITIES, initial="week"
    )
    seuil = forms.FloatField(
        label=gettext_lazy("seuil pour ce rapport"),
        required=False,
        min_value=0,
        max_value=1,
        localize=True,  # 0,3 as well as 0.3
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
        help_text=gettext_lazy("vide : le seuil de fonctionnement du flux"),
    )

    def clean(self):
        data = super().clean()
        start, end, by = data.get("du"), data.get("au"), data.get("par")
        if start and end:
            if end < start:
                self.add_error("au", _("La fin de la période est antérieure à son début."))
            elif by and len(report.periods(start, end, by)) > MAX_PERIODS:
                self.add_error(
                    "par",
                    _("Trop de périodes (plus de %(n)s) : choisissez une granularité plus large.")
                    % {"n": MAX_PERIODS},
                )
        return data


def default_period(today: dt.date | None = None) -> dict:
    today = today or timezone.localdate()
    return {"du": today - dt.timedelta(days=DEFAULT_DAYS - 1), "au": today, "par": "week"}


def chart_set(data: dict) -> dict:
    """The SVG charts of a report (markup strings; the template marks them safe)."""
    series = data["series"]
    reference = data["reference_performance"]

    def points(key):
        return [(row["start"], row[key]["value"]) for row in series]

    def reference_line(key):
        value = reference[key]["value"]
        return [(value, _("référence"))] if value is not None else []

    perf = data["performance"]
    roc = data["roc"]
    operating = roc["operating_point"]
    aucs = [v for _d, v in points("auc") if v is not None]
    return {
        "auc": charts.line_chart(
            points("auc"),
            _("AUC par période"),
            _("AUC"),
            reference_line("auc"),
            low=min(0.6, int(min(aucs, default=0.6) * 10) / 10),
        ),
        "sensitivity": charts.line_chart(
            points("sensitivity"),
            _("Sensibilité par période"),
            _("Sensibilité"),
            reference_line("sensitivity"),
            as_percent=True,
        ),
        "flag_rate": charts.line_chart(
            points("flag_rate"),
            _("Taux de signalement par période"),
            _("Signalées"),
            reference_line("flag_rate"),
            high=_rate_top(points("flag_rate"), reference["flag_rate"]["value"]),
            as_percent=True,
        ),
        "prevalence": charts.line_chart(
            points("prevalence"),
            _("Prévalence par période"),
            _("Prévalence"),
            reference_line("prevalence"),
            high=_rate_top(points("prevalence"), reference["prevalence"]["value"]),
            as_percent=True,
        ),
        "roc": charts.roc_chart(
            roc["points"],
            (operating["fpr"], operating["tpr"]) if operating else None,
            perf["auc"]["value"],
        ),
        "calibration": charts.calibration_chart(data["calibration"]["bins"]),
        "volume": charts.volume_chart(data["volume"]),
    }


PERFORMANCE_ROWS = [
    ("prevalence", gettext_lazy("Prévalence"), "pct"),
    ("sensitivity", gettext_lazy("Sensibilité"), "pct"),
    ("specificity", gettext_lazy("Spécificité"), "pct"),
    ("ppv", gettext_lazy("Valeur prédictive positive (VPP)"), "pct"),
    ("npv", gettext_lazy("Valeur prédictive négative (VPN)"), "pct"),
    ("f1", gettext_lazy("F1"), "dec3"),
    ("flag_rate", gettext_lazy("Taux de signalement"), "pct"),
    ("brier", gettext_lazy("Score de Brier"), "dec4"),
    ("ece", gettext_lazy("Erreur de calibration attendue (ECE)"), "dec4"),
]
SUBGROUP_METRICS = [
    ("prevalence", gettext_lazy("Prévalence"), "pct"),
    ("auc", gettext_lazy("AUC"), "dec3"),
    ("sensitivity", gettext_lazy("Sensibilité"), "pct"),
    ("specificity", gettext_lazy("Spécificité"), "pct"),
    ("ppv", gettext_lazy("VPP"), "pct"),
    ("flag_rate", gettext_lazy("Signalées"), "pct"),
    ("brier", gettext_lazy("Brier"), "dec3"),
    ("ece", gettext_lazy("ECE"), "dec3"),
]


def report_context(data: dict | None) -> dict:
    """What report_body.html needs besides the report: charts and table layouts."""
    if data is None:
        return {"report": None}
    return {
        "report": data,
        "charts": chart_set(data) if data["performance"]["count"] else None,
        "performance_rows": PERFORMANCE_ROWS,
        "subgroup_metrics": SUBGROUP_METRICS,
        "anomalies": [v for v in data["volume"] if v["anomaly"]],
    }


def _rate_top(points, reference: float | None) -> float:
    """Upper bound of a rate axis: the next tenth above the largest value (at least 0.1)."""
    values = [v for _d, v in points if v is not None] + ([reference] if reference else [])
    top = max(values, default=0.0)
    return min(1.0, max(0.1, (int(top * 10) + 1) / 10))


def alert_period(alert: Alert) -> dict:
    """The period of the dashboard opened from an alert: the window it compared, by day up
    to two months, by week beyond."""
    start, end = alert.window_start, alert.window_end
    by = "day" if (end - start).days < 62 else "week"
    return {"du": start, "au": end, "par": by}


def _alert(request, feed: Feed) -> Alert | None:
    """The alert `?alerte=<id>` of this feed (None if absent or not one of the feed's)."""
    value = request.GET.get("alerte", "")
    if not value.isdigit():
        return None
    return (
        Alert.objects.within(feed=feed)
        .filter(pk=int(value), window_start__isnull=False)
        .select_related("rule")
        .first()
    )


@login_required
def dashboard(request, pk):
    """`?alerte=<id>`: the alert's own window and reference, said above the report."""
    feed = permissions.get_scoped(
        request.user, Feed.objects.select_related("ai_system__establishment"), pk
    )
    context = _system_context(request, feed.ai_system, "monitoring")
    alert = _alert(request, feed)
    reference = feed.fixed_reference
    if alert is not None:
        form = PeriodForm(alert_period(alert))
        if alert.reference_start:
            reference = (alert.reference_start, alert.reference_end)
    else:
        form = PeriodForm(request.GET) if request.GET else PeriodForm(default_period())
    data = None
    if form.is_valid():
        data = report.build_report(
            feed,
            form.cleaned_data["du"],
            form.cleaned_data["au"],
            by=form.cleaned_data["par"],
            threshold=form.cleaned_data["seuil"],
            reference=reference,
        )
    if data is not None and request.GET.get("document") == "html":
        return _download(feed, form.cleaned_data, data)
    if data is not None:
        context["download_query"] = _download_query(form.cleaned_data)
    context.update(feed=feed, form=form, alert=alert, **report_context(data))
    return render(request, "monitoring/dashboard.html", context)


def _download_query(period: dict) -> str:
    """The query of this period's report as a standalone document (`garant monitor report`)."""
    query = {
        "du": period["du"].strftime("%d/%m/%Y"),
        "au": period["au"].strftime("%d/%m/%Y"),
        "par": period["par"],
        "document": "html",
    }
    if period["seuil"] is not None:
        query["seuil"] = str(period["seuil"]).replace(".", ",")
    return urlencode(query)


def _download(feed, period: dict, data: dict) -> HttpResponse:
    response = HttpResponse(render_standalone(data), content_type="text/html; charset=utf-8")
    name = f"rapport-{feed.slug}-{period['du']:%Y%m%d}-{period['au']:%Y%m%d}.html"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def render_standalone(data: dict) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG, no external resource),
    usable as an evidence document."""
    css_path = finders.find("garant/garant.css")
    css = Path(css_path).read_text(encoding="utf-8") if css_path else ""
    generated = dt.datetime.fromisoformat(data["generated_at"])
    context = report_context(data)
    context.update(
        css=css,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        generated_at=timezone.localtime(generated).strftime("%d/%m/%Y %H:%M"),
    )
    return render_to_string("monitoring/report_standalone.html", context)
