"""SVG charts of the lifecycle pages, drawn with the primitives of `garant.monitoring.charts`
(no JavaScript, nothing external): an indicator's history against its baseline and target,
and the criteria of an assessment as bars against the generalisation threshold."""

from __future__ import annotations

from django.utils.translation import gettext as _

from garant.monitoring.charts import (
    BRAND,
    INK,
    REFERENCE,
    THRESHOLD,
    _Frame,
    _line,
    _n,
    _svg,
    _text,
    fr,
)


def indicator_history(indicator, values) -> str:
    """Measured values over time, with the baseline (dashed) and the target (red) lines."""
    points = [(v.measured_on, float(v.value)) for v in values]
    if not points:
        return ""
    levels = [p[1] for p in points]
    for extra in (indicator.baseline, indicator.target):
        if extra is not None:
            levels.append(float(extra))
    low, high = min(levels), max(levels)
    if high == low:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad
    frame = _Frame(560, 220)
    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)

    def x(day):
        return frame.x((day - first).days / span if len(points) > 1 else 0.5)

    def y(value):
        return frame.y((value - low) / (high - low))

    ticks = [low + (high - low) * i / 4 for i in range(5)]
    body = frame.y_axis(ticks, low, high, indicator.unit or _("valeur"), lambda t: fr(t, 1))
    body.append(frame.border())
    if indicator.baseline is not None:
        yb = y(float(indicator.baseline))
        body.append(_line(frame.x0, yb, frame.x1, yb, stroke=REFERENCE, dash="4 3"))
        body.append(_text(frame.x1, yb - 4, _("référence"), anchor="end", fill=REFERENCE))
    if indicator.target is not None:
        yt = y(float(indicator.target))
        body.append(_line(frame.x0, yt, frame.x1, yt, stroke=THRESHOLD, width=1.5))
        body.append(_text(frame.x1, yt - 4, _("cible"), anchor="end", fill=THRESHOLD))
    path = " ".join(f"{_n(x(d))},{_n(y(v))}" for d, v in points)
    body.append(f'<polyline points="{path}" fill="none" stroke="{BRAND}" stroke-width="2"/>')
    for d, v in points:
        body.append(f'<circle cx="{_n(x(d))}" cy="{_n(y(v))}" r="3" fill="{BRAND}"/>')
    body.append(_text(frame.x0, frame.height - 24, first.strftime("%d/%m/%Y"), anchor="start"))
    if len(points) > 1:
        body.append(_text(frame.x1, frame.height - 24, last.strftime("%d/%m/%Y"), anchor="end"))
    body.append(frame.x_label(_("date de mesure")))
    desc = _("%(n)s valeurs, dernière %(value)s le %(date)s ; cible %(target)s.") % {
        "n": len(points),
        "value": fr(points[-1][1], 2),
        "date": last.strftime("%d/%m/%Y"),
        "target": fr(float(indicator.target), 2) if indicator.target is not None else "—",
    }
    return _svg(frame.width, frame.height, indicator.name, desc, body)


def criteria_bars(rows: list[dict], target: float, scale_max: int) -> str:
    """One bar per criterion (score out of `scale_max`), the target line of generalisation.

    `rows`: [{"label": "1. Impact clinique…", "score": 3 or None, "stop": bool}].
    """
    row_h, left, width = 28, 300, 620
    height = 40 + row_h * len(rows)
    plot = width - left - 30

    def x(value):
        return left + plot * value / scale_max

    body = []
    for tick in range(scale_max + 1):
        body.append(_line(x(tick), 10, x(tick), height - 24))
        body.append(_text(x(tick), height - 8, str(tick)))
    for i, row in enumerate(rows):
        top = 14 + i * row_h
        body.append(_text(left - 8, top + 15, row["label"][:48], anchor="end", fill=INK))
        if row["score"] is None:
            body.append(_text(left + 4, top + 15, _("non noté"), anchor="start"))
            continue
        color = THRESHOLD if row["stop"] else BRAND
        body.append(
            f'<rect x="{_n(left)}" y="{_n(top + 3)}" width="{_n(x(row["score"]) - left)}" '
            f'height="{row_h - 10}" fill="{color}" rx="2"/>'
        )
    body.append(_line(x(target), 6, x(target), height - 24, stroke=THRESHOLD, width=2, dash="5 3"))
    body.append(_text(x(target) + 4, 10, _("seuil"), anchor="start", fill=THRESHOLD))
    desc = "; ".join(
        f"{r['label']} : {r['score'] if r['score'] is not None else '—'}/{scale_max}" for r in rows
    )
    return _svg(width, height, _("Notes des critères et seuil de généralisation"), desc, body)
