"""Creator dashboard pages for analytics: the creator's last 90 days and one event's show, as charts
(Chart.js, fed by json_script) each with a table carrying the same figures.

Owners and managers only; another creator's event is a 404. The numbers come from
`analytics.selectors` (event_metrics, creator_metrics); these views only shape them for display."""
from __future__ import annotations

import zoneinfo
from decimal import Decimal

from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy, pgettext

from events.models import Event
from microstage.models import EDIT_ROLES
from microstage.views import team_page

manage = team_page(roles=EDIT_ROLES)

CREATOR_DAYS = 90
# Conversion latency histogram buckets, in seconds: upper bounds (the last one is open).
LATENCY_BUCKETS = [(60, "< 1 min"), (5 * 60, "1–5 min"), (15 * 60, "5–15 min"), (60 * 60, "15–60 min"),
                   (6 * 3600, "1–6 h"), (24 * 3600, "6–24 h"), (7 * 86400, gettext_lazy("1–7 days")),
                   (None, gettext_lazy("> 7 days"))]
# CSV exports another part of the analytics work provides, shown as links only when routed.
EXPORTS = [("analytics-export-orders", gettext_lazy("Orders")),
           ("analytics-export-attendees", gettext_lazy("Attendees")),
           ("analytics-export-metrics", gettext_lazy("Metrics"))]
CREATOR_EXPORTS = [("analytics-creator-export-orders", gettext_lazy("Orders")),
                   ("analytics-creator-export-attendees", gettext_lazy("Attendees")),
                   ("analytics-creator-export-metrics", gettext_lazy("Metrics"))]


def _num(value) -> float:
    """A JSON-safe number for a chart (Decimal and strings of money included); the tables show the exact value."""
    if value in (None, ""):
        return 0.0
    try:
        return float(Decimal(str(value)))
    except (ArithmeticError, ValueError):
        return 0.0


def _percent(rate) -> str | None:
    """A 0–1 rate as a percentage for display: 0.25 → "25.0"."""
    if rate is None:
        return None
    return f"{_num(rate) * 100:.1f}"


def _duration(seconds) -> str:
    if seconds is None:
        return "—"
    seconds = _num(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _exports(names, pk) -> list[dict]:
    links = []
    for name, label in names:
        try:
            links.append({"label": label, "url": reverse(name, args=[pk])})
        except NoReverseMatch:
            continue
    return links


# --- event ----------------------------------------------------------------------------------------

def _funnel(metrics: dict) -> list[dict]:
    """Steps of the funnel as [{label, count, percent}] — percent of the first step."""
    raw = metrics.get("funnel")
    steps = []
    if isinstance(raw, dict):
        raw = [{"label": str(k).replace("_", " ").capitalize(), "count": v} for k, v in raw.items()]
    for step in raw or []:
        label = step.get("label") or str(step.get("step") or step.get("name") or step.get("key") or "").replace(
            "_", " ").capitalize()
        steps.append({"label": label, "count": int(_num(step.get("count", step.get("value"))))})
    if not steps:
        steps = [{"label": _("Page views"), "count": int(_num(metrics.get("page_views")))},
                 {"label": _("Orders"), "count": int(_num(metrics.get("orders")))}]
    top = steps[0]["count"]
    for step in steps:
        step["percent"] = f"{100 * step['count'] / top:.1f}" if top else None
    return steps


def _latency_histogram(metrics: dict) -> list[dict]:
    """Conversion latency as [{label, count}]: the selector's histogram if it gives one, else its samples bucketed."""
    latency = metrics.get("conversion_latency_seconds") or {}
    given = latency.get("histogram") or metrics.get("conversion_latency_histogram")
    if given:
        return [{"label": b.get("label") or str(b.get("bucket") or b.get("le") or ""),
                 "count": int(_num(b.get("count")))} for b in given]
    samples = latency.get("samples") or metrics.get("conversion_latency_samples") or []
    if not isinstance(samples, list | tuple):  # a sample count, not the samples
        return []
    counts = [0] * len(LATENCY_BUCKETS)
    for s in samples:
        s = _num(s)
        for i, (upper, _label) in enumerate(LATENCY_BUCKETS):
            if upper is None or s < upper:
                counts[i] += 1
                break
    if not samples:
        return []
    return [{"label": str(label), "count": n} for (_upper, label), n in zip(LATENCY_BUCKETS, counts, strict=True)]


def _series(points, value_keys, event) -> tuple[list[dict], dict]:
    """The during-the-show buckets as [{label, value}] (local time of the event), and the sums of the
    buckets before and after the show: {"before": x, "after": y}."""
    tz = zoneinfo.ZoneInfo(event.timezone or "UTC")
    during, outside = [], {"before": 0, "after": 0}
    for p in points or []:
        at = p.get("at")
        value = next((p[k] for k in value_keys if k in p), 0)
        if p.get("during_show", True):
            label = timezone.localtime(at, tz).strftime("%H:%M") if hasattr(at, "astimezone") else str(at or "")
            during.append({"label": label, "value": value})
        elif at is not None and at < event.starts_at:
            outside["before"] += value
        else:
            outside["after"] += value
    return during, outside


def event_context(event, metrics: dict) -> dict:
    funnel = _funnel(metrics)
    latency = metrics.get("conversion_latency_seconds") or {}
    histogram = _latency_histogram(metrics)
    revenue, revenue_outside = _series(metrics.get("revenue_over_time"), ("revenue", "value"), event)
    chat, chat_outside = _series(metrics.get("chat_over_time"), ("messages", "count", "value"), event)
    drops = [{**d, "sell_through": _duration(d.get("sell_through_seconds"))} for d in metrics.get("drops") or []]
    group_buys = list(metrics.get("group_buys") or [])
    chart = {
        "currency": metrics.get("currency") or "",
        "funnel": {"labels": [s["label"] for s in funnel], "values": [s["count"] for s in funnel]},
        "latency": {"labels": [b["label"] for b in histogram], "values": [b["count"] for b in histogram]},
        "revenue": {"labels": [p["label"] for p in revenue], "values": [_num(p["value"]) for p in revenue]},
        "chat": {"labels": [p["label"] for p in chat], "values": [_num(p["value"]) for p in chat]},
    }
    return {
        "event": event, "m": metrics, "funnel": funnel, "latency": latency,
        "latency_median": _duration(latency.get("median")), "latency_p90": _duration(latency.get("p90")),
        "histogram": histogram, "revenue_points": revenue, "revenue_outside": revenue_outside,
        "chat_points": chat, "chat_outside": chat_outside, "drops": drops,
        "group_buys": group_buys, "chart": chart, "exports": _exports(EXPORTS, event.pk),
        "average_viewers": metrics.get("average_viewers", metrics.get("avg_viewers")),
    }


@manage
def event_analytics(request, event_id):
    event = Event.objects.filter(pk=event_id, creator=request.creator).first()
    if event is None:
        raise Http404("No such event.")
    from . import selectors  # imported here: a missing selector breaks this page, not the URLconf

    metrics = selectors.event_metrics(event)
    context = event_context(event, metrics)
    context["promo_rows"] = selectors.event_promo_sales(event)
    return render(request, "analytics/dashboard_event.html", context)


# --- creator --------------------------------------------------------------------------------------

def _cohorts(metrics: dict) -> tuple[list[dict], int]:
    """Cohort rows [{label, size, cells: [count|None, …]}] and the widest row, from the selector's list."""
    rows = []
    for c in metrics.get("cohorts") or []:
        label = c.get("cohort") or c.get("month") or c.get("label") or ""
        if hasattr(label, "strftime"):
            label = label.strftime("%Y-%m")
        cells = c.get("retained") or c.get("returning") or c.get("months") or c.get("active") or []
        if isinstance(cells, dict):
            cells = list(cells.values())
        size = c.get("size", c.get("attendees", c.get("count", cells[0] if cells else 0)))
        rows.append({"label": str(label), "size": size, "cells": list(cells)})
    width = max((len(r["cells"]) for r in rows), default=0)
    for r in rows:
        r["cells"] += [None] * (width - len(r["cells"]))
    return rows, width


def creator_context(creator, metrics: dict) -> dict:
    cost = metrics.get("fulfilment_cost_per_order") or {}
    repeat = [
        {"label": _("All attendees"), "percent": _percent(metrics.get("repeat_attendee_rate"))},
        {"label": _("Members"), "percent": _percent(metrics.get("member_repeat_rate"))},
        {"label": _("Non-members"), "percent": _percent(metrics.get("non_member_repeat_rate"))},
    ]
    cohorts, width = _cohorts(metrics)
    repeat_values = [None if r["percent"] is None else _num(r["percent"]) for r in repeat]  # None: no bar
    mrr = metrics.get("mrr")
    if isinstance(mrr, dict) and "amount" not in mrr:
        mrr_rows = sorted(mrr.items())
    elif isinstance(mrr, dict):
        mrr_rows = [(mrr.get("currency") or metrics.get("currency") or "", mrr["amount"])]
    elif mrr is not None:
        mrr_rows = [(metrics.get("currency") or "", mrr)]
    else:
        mrr_rows = []
    chart = {
        "currency": metrics.get("currency") or "",
        # No values (nothing to compare yet) hides the chart; the table still says "—".
        "repeat": {"labels": [r["label"] for r in repeat],
                   "values": repeat_values if any(v is not None for v in repeat_values) else []},
        "fulfilment": {"labels": [pgettext("chart label", "Group-buy"), _("Single purchase")],
                       "values": ([_num(cost.get("group_buy")), _num(cost.get("single"))]
                                  if any(cost.get(k) is not None for k in ("group_buy", "single")) else [])},
    }
    return {"creator": creator, "m": metrics, "days": metrics.get("days", CREATOR_DAYS), "repeat": repeat,
            "cohorts": cohorts, "cohort_offsets": range(width), "mrr_rows": mrr_rows, "cost": cost,
            "chart": chart, "exports": _exports(CREATOR_EXPORTS, creator.pk)}


@manage
def creator_analytics(request):
    from . import selectors

    metrics = selectors.creator_metrics(request.creator, days=CREATOR_DAYS)
    return render(request, "analytics/dashboard_creator.html", creator_context(request.creator, metrics))
