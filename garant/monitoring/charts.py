"""Server-side SVG charts of the monitoring report: no JavaScript, nothing external.

The product runs on air-gapped hospital networks, so the charts are drawn here as plain SVG
markup (the "plotting library served locally" is this module): a time series with threshold
lines, the ROC curve with its diagonal, the reliability (calibration) plot with the ideal
line, and a small bar chart of the volume. Every chart has a ``<title>`` and a ``<desc>``
(a short text alternative), French axis labels and French number formatting (decimal comma,
narrow no-break space between thousands). All text is escaped; the functions return markup
strings that templates mark safe.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from html import escape

from django.utils.translation import gettext as _

INK = "#1b1f24"
MUTED = "#56606b"
GRID = "#d5dae1"
BRAND = "#1f4e8c"
THRESHOLD = "#b3261e"
ANOMALY = "#b3261e"
REFERENCE = "#8a5a00"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Noto Sans, sans-serif"'
MAX_ROC_POINTS = 600


def fr(value: float | int | None, digits: int = 2) -> str:
    """A number the French way: ``1 234,56`` (narrow no-break space, decimal comma)."""
    if value is None:
        return "—"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{fr(value * 100, digits)}\u202f%"


def short_date(iso: str) -> str:
    """``2024-04-01`` → ``01/04``."""
    day = dt.date.fromisoformat(iso)
    return day.strftime("%d/%m")


def long_date(iso: str) -> str:
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y")


def _n(value: float) -> str:
    """A coordinate (SVG numbers use a dot)."""
    return f"{value:.1f}"


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> str:
    uid = "c" + hashlib.sha1("".join([title, desc, *body]).encode()).hexdigest()[:10]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="chart" '
        f'aria-labelledby="{uid}-t {uid}-d" style="max-width:100%;height:auto" {FONT}>'
        f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>'
        + "".join(body)
        + "</svg>"
    )


def _text(x, y, content, size=11, anchor="middle", fill=MUTED, extra="") -> str:
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}"{extra}>{escape(content)}</text>'
    )


def _line(x1, y1, x2, y2, stroke=GRID, width=1, dash=None) -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
        f'stroke="{stroke}" stroke-width="{width}"{dashed}/>'
    )


class _Frame:
    """A plot area inside a chart: maps data coordinates to pixels and draws the axes."""

    def __init__(self, width, height, left=58, right=16, top=14, bottom=46):
        self.width, self.height = width, height
        self.x0, self.x1 = left, width - right
        self.y0, self.y1 = height - bottom, top  # y0: bottom of the plot

    def x(self, fraction: float) -> float:
        return self.x0 + fraction * (self.x1 - self.x0)

    def y(self, fraction: float) -> float:
        return self.y0 - fraction * (self.y0 - self.y1)

    def y_axis(self, ticks, low, high, label, fmt) -> list[str]:
        body = []
        for tick in ticks:
            y = self.y((tick - low) / (high - low) if high > low else 0)
            body.append(_line(self.x0, y, self.x1, y))
            body.append(_text(self.x0 - 6, y + 4, fmt(tick), anchor="end"))
        middle = (self.y0 + self.y1) / 2
        body.append(
            _text(
                14, middle, label, size=12, fill=INK, extra=f' transform="rotate(-90 14 {middle})"'
            )
        )
        return body

    def x_label(self, label) -> str:
        return _text((self.x0 + self.x1) / 2, self.height - 8, label, size=12, fill=INK)

    def border(self) -> str:
        return _line(self.x0, self.y0, self.x1, self.y0, stroke=MUTED) + _line(
            self.x0, self.y0, self.x0, self.y1, stroke=MUTED
        )


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _ticks(low: float, high: float) -> list[float]:
    """Round tick values from ``low`` to ``high``: at most 6, on a 1-2-2.5-5 step."""
    span = high - low
    for step in (0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0):
        if span / step <= 5 + 1e-9:
            break
    count = int(round(span / step))
    return [low + step * k for k in range(count + 1) if low + step * k <= high + 1e-9]


def _label_every(count: int, room: int = 9) -> int:
    return max(1, -(-count // room))


def line_chart(
    points: list[tuple[str, float | None]],
    title: str,
    y_label: str,
    thresholds: list[tuple[float, str]] = (),
    desc: str | None = None,
    low: float = 0.0,
    high: float = 1.0,
    as_percent: bool = False,
    width: int = 560,
    height: int = 230,
) -> str:
    """A time series (one value per period, ``None`` = undefined: a gap in the line) with
    horizontal threshold lines. ``points`` are ``(ISO date of the period, value)``."""
    frame = _Frame(width, height)

    def fmt(v):
        return percent(v, 0) if as_percent else fr(v, 2)

    body = frame.y_axis(_ticks(low, high), low, high, y_label, fmt)
    count = len(points)

    def px(i):
        return frame.x((i + 0.5) / count) if count else frame.x0

    def py(v):
        return frame.y((min(max(v, low), high) - low) / (high - low))

    every = _label_every(count)
    for i, (day, _value) in enumerate(points):
        if i % every == 0:
            body.append(_text(px(i), frame.y0 + 15, short_date(day)))
    body.append(frame.border())
    for value, label in thresholds:
        if value is None:
            continue
        y = py(value)
        body.append(_line(frame.x0, y, frame.x1, y, stroke=THRESHOLD, width=1.5, dash="6 4"))
        body.append(
            _text(frame.x1 - 4, y - 5, f"{label} : {fmt(value)}", anchor="end", fill=THRESHOLD)
        )
    segment: list[str] = []
    segments = [segment]
    for i, (_day, value) in enumerate(points):
        if value is None:
            segment = []
            segments.append(segment)
            continue
        segment.append(f"{_n(px(i))},{_n(py(value))}")
    for part in segments:
        if len(part) > 1:
            body.append(
                f'<polyline points="{" ".join(part)}" fill="none" stroke="{BRAND}" '
                'stroke-width="2" stroke-linejoin="round"/>'
            )
    for i, (day, value) in enumerate(points):
        if value is not None:
            body.append(
                f'<circle cx="{_n(px(i))}" cy="{_n(py(value))}" r="3" fill="{BRAND}">'
                f"<title>{escape(long_date(day))} : {escape(fmt(value))}</title></circle>"
            )
    body.append(frame.x_label(_("Début de période")))
    if desc is None:
        defined = [v for _d, v in points if v is not None]
        if not points:
            desc = _("Aucune période.")
        elif not defined:
            desc = _("%(n)s périodes, aucune valeur définie.") % {"n": count}
        else:
            desc = _(
                "%(n)s périodes du %(first)s au %(last)s ; minimum %(min)s, maximum %(max)s, "
                "dernière valeur %(latest)s."
            ) % {
                "n": count,
                "first": long_date(points[0][0]),
                "last": long_date(points[-1][0]),
                "min": fmt(min(defined)),
                "max": fmt(max(defined)),
                "latest": fmt(defined[-1]),
            }
        for value, label in thresholds:
            if value is not None:
                desc += " " + _("Ligne %(label)s à %(value)s.") % {
                    "label": label,
                    "value": fmt(value),
                }
    return _svg(width, height, title, desc, body)


def _thin(points: list[list], limit: int = MAX_ROC_POINTS) -> list[list]:
    """Fewer points for drawing a monotone curve: drop points closer than 1/limit to the
    last kept one (the first and last are always kept). The report keeps them all."""
    if len(points) <= limit:
        return points
    step, kept = 1 / limit, [points[0]]
    for point in points[1:-1]:
        last = kept[-1]
        if abs(point[1] - last[1]) + abs(point[2] - last[2]) >= step:
            kept.append(point)
    kept.append(points[-1])
    return kept


def _unit_axes(frame: _Frame, x_label: str, y_label: str) -> list[str]:
    ticks = [k / 5 for k in range(6)]
    body = frame.y_axis(ticks, 0, 1, y_label, lambda v: fr(v, 1))
    for tick in ticks:
        x = frame.x(tick)
        body.append(_line(x, frame.y0, x, frame.y1))
        body.append(_text(x, frame.y0 + 15, fr(tick, 1)))
    body.append(frame.border())
    body.append(frame.x_label(x_label))
    body.append(
        _line(frame.x(0), frame.y(0), frame.x(1), frame.y(1), stroke=MUTED, width=1, dash="4 4")
    )
    return body


def roc_chart(
    points: list[list], operating: tuple[float, float] | None = None, auc: float | None = None
) -> str:
    """The ROC curve (``[threshold, FPR, TPR]`` points) with the diagonal of a random score
    and the operating point."""
    size = 330
    frame = _Frame(size, size, left=58, right=14, top=14, bottom=46)
    body = _unit_axes(
        frame, _("Taux de faux positifs (1 − spécificité)"), _("Sensibilité (vrais positifs)")
    )
    drawn = _thin(points)
    if drawn:
        coords = " ".join(f"{_n(frame.x(p[1]))},{_n(frame.y(p[2]))}" for p in drawn)
        body.append(
            f'<polyline points="{coords}" fill="none" stroke="{BRAND}" stroke-width="2" '
            'stroke-linejoin="round"/>'
        )
    if operating is not None and None not in operating:
        x, y = frame.x(operating[0]), frame.y(operating[1])
        body.append(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="5" fill="#fff" stroke="{THRESHOLD}" '
            'stroke-width="2"/>'
        )
        body.append(_text(x + 8, y + 14, _("seuil de décision"), anchor="start", fill=THRESHOLD))
    if auc is not None:
        body.append(
            _text(frame.x(0.97), frame.y(0.05), f"AUC = {fr(auc, 3)}", anchor="end", fill=INK)
        )
    if not drawn:
        desc = _("Courbe ROC indisponible : il faut des cas positifs et négatifs.")
    else:
        desc = _(
            "Courbe ROC sur %(n)s seuils ; AUC %(auc)s. La diagonale correspond à un score "
            "au hasard."
        ) % {"n": fr(len(points) - 1, 0), "auc": fr(auc, 3)}
        if operating is not None and None not in operating:
            desc += " " + _(
                "Au seuil de décision : sensibilité %(tpr)s, taux de faux positifs %(fpr)s."
            ) % {"tpr": percent(operating[1]), "fpr": percent(operating[0])}
    return _svg(size, size, _("Courbe ROC"), desc, body)


def calibration_chart(bins: list[dict]) -> str:
    """Reliability plot: observed rate against mean score per bin, with the ideal line."""
    size = 330
    frame = _Frame(size, size, left=58, right=14, top=14, bottom=46)
    body = _unit_axes(frame, _("Score moyen prédit"), _("Taux observé"))
    filled = [b for b in bins if b.get("count")]
    largest = max((b["count"] for b in filled), default=1)
    if len(filled) > 1:
        coords = " ".join(
            f"{_n(frame.x(b['mean_score']))},{_n(frame.y(b['observed_rate']))}" for b in filled
        )
        body.append(
            f'<polyline points="{coords}" fill="none" stroke="{BRAND}" stroke-width="1.5"/>'
        )
    lines = []
    for b in filled:
        radius = 3 + 5 * (b["count"] / largest) ** 0.5
        label = _(
            "Scores %(low)s–%(high)s : %(n)s prédictions, score moyen %(mean)s, taux observé %(rate)s"
        ) % {
            "low": fr(b["lower"], 1),
            "high": fr(b["upper"], 1),
            "n": fr(b["count"], 0),
            "mean": fr(b["mean_score"], 3),
            "rate": fr(b["observed_rate"], 3),
        }
        lines.append(label)
        body.append(
            f'<circle cx="{_n(frame.x(b["mean_score"]))}" cy="{_n(frame.y(b["observed_rate"]))}" '
            f'r="{_n(radius)}" fill="{BRAND}" fill-opacity="0.75"><title>{escape(label)}</title>'
            "</circle>"
        )
    desc = (
        _("Courbe de calibration : la diagonale est la calibration parfaite.")
        + " "
        + ("; ".join(lines) + "." if lines else _("Aucune issue connue."))
    )
    return _svg(size, size, _("Calibration"), desc, body)


def volume_chart(volume: list[dict], title: str | None = None) -> str:
    """Predictions per period; anomalies (fall or rise against the median) in red."""
    width, height = 560, 190
    frame = _Frame(width, height, bottom=40)
    top = _nice_max(max((v["count"] for v in volume), default=0))
    ticks = [top * k / 4 for k in range(5)]
    body = frame.y_axis(ticks, 0, top, _("Prédictions"), lambda v: fr(v, 0))
    count = len(volume)
    slot = (frame.x1 - frame.x0) / count if count else 0
    every = _label_every(count)
    anomalies = []
    for i, v in enumerate(volume):
        x = frame.x0 + i * slot
        h = (frame.y0 - frame.y1) * v["count"] / top
        colour = ANOMALY if v.get("anomaly") else BRAND
        label = f"{long_date(v['start'])} : {fr(v['count'], 0)}"
        if v.get("anomaly"):
            kind = _("baisse") if v["anomaly"] == "drop" else _("hausse")
            label += f" ({_('anomalie')} : {kind})"
            anomalies.append(label)
        body.append(
            f'<rect x="{_n(x + slot * 0.12)}" y="{_n(frame.y0 - h)}" width="{_n(slot * 0.76)}" '
            f'height="{_n(h)}" fill="{colour}"><title>{escape(label)}</title></rect>'
        )
        if i % every == 0:
            body.append(_text(x + slot / 2, frame.y0 + 15, short_date(v["start"])))
    body.append(frame.border())
    total = sum(v["count"] for v in volume)
    desc = _("%(n)s périodes, %(total)s prédictions au total.") % {
        "n": count,
        "total": fr(total, 0),
    }
    desc += " " + (
        _("Anomalies : %(list)s.") % {"list": "; ".join(anomalies)}
        if anomalies
        else _("Aucune anomalie de volume.")
    )
    return _svg(width, height, title or _("Volume de prédictions"), desc, body)
