"""The creator home's panel: the next show and its state, sales today and this week against last week, what is
live now (viewers, chat), the next payout, and everything waiting on the team (reads across every app)."""
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from payouts import services as payouts
from commerce.models import Order
from payouts.models import Dispute
from stock.models import PosSale
from risk.models import RiskReview
from events.models import Event, Ticket
from microstage.models import EDIT_ROLES, Invitation
from streaming import selectors as streaming
from streaming.models import ChatMessage, LiveStream

PAID = (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED)


def _sales_by_day(creator_id: str, currency: str, start, days: int) -> list[Decimal]:
    rows = (Order.objects.filter(creator_id=creator_id, currency=currency, status__in=PAID,
                                 paid_at__date__gte=start, paid_at__date__lt=start + timedelta(days=days))
            .annotate(day=TruncDate("paid_at")).values("day").annotate(s=Sum("total")))
    found = {r["day"]: r["s"] for r in rows}
    return [found.get(start + timedelta(days=i), Decimal("0.00")) for i in range(days)]


def sales(creator_id: str, currency: str, now=None) -> dict:
    """Today, this week (the last 7 days) and the 7 days before, per day for the chart."""
    today = timezone.localdate(now or timezone.now())
    this_start = today - timedelta(days=6)
    this_week = _sales_by_day(creator_id, currency, this_start, 7)
    last_week = _sales_by_day(creator_id, currency, this_start - timedelta(days=7), 7)
    this_total, last_total = sum(this_week, Decimal("0")), sum(last_week, Decimal("0"))
    change = None if not last_total else int(((this_total - last_total) / last_total * 100).to_integral_value())
    labels = [(this_start + timedelta(days=i)).strftime("%a %-d") for i in range(7)]
    return {"currency": currency, "today": this_week[-1], "this_week": this_total, "last_week": last_total,
            "change_percent": change, "rows": list(zip(labels, this_week, last_week, strict=True)),
            "chart": {"labels": labels,
                      "this_week": [str(v) for v in this_week], "last_week": [str(v) for v in last_week],
                      "currency": currency}}


def next_show(creator_id: str, now=None) -> dict | None:
    now = now or timezone.now()
    event = (Event.objects.filter(creator_id=creator_id, ends_at__gt=now).exclude(status=Event.Status.CANCELLED)
             .order_by("starts_at").first())
    if event is None:
        return None
    stream = LiveStream.objects.filter(event=event).first()
    sold = Ticket.objects.filter(event=event, status=Ticket.Status.VALID).count()
    return {"event": event, "state": streaming.show_state(event, stream, now), "tickets_sold": sold,
            "starts_in": event.starts_at - now if event.starts_at > now else None}


def live_now(creator_id: str) -> list[dict]:
    since = timezone.now() - timedelta(minutes=5)
    out = []
    for stream in LiveStream.objects.filter(event__creator_id=creator_id, status=LiveStream.Status.LIVE
                                            ).select_related("event"):
        chat = ChatMessage.objects.filter(event=stream.event, deleted_at__isnull=True).aggregate(
            total=Count("pk"), recent=Count("pk", filter=Q(sent_at__gte=since)))
        out.append({"event": stream.event, "viewers": streaming.viewer_count(stream.event_id),
                    "chat_total": chat["total"], "chat_recent": chat["recent"]})
    return out


def waiting(creator_id: str, now=None) -> list[dict]:
    """What needs the team: each {"label", "count", "url"}; empty kinds are left out."""
    now = now or timezone.now()
    items = [
        (_("Orders held for a risk review"), RiskReview.objects.filter(
            order__creator_id=creator_id, status=RiskReview.Status.PENDING).count(), "/dashboard/fulfilment/"),
        (_("Open disputes"), Dispute.objects.filter(order__creator_id=creator_id,
                                                 status=Dispute.Status.OPEN).count(), "/dashboard/money/#disputes"),
        (_("Pop-up sales beyond stock"), PosSale.objects.filter(location__creator_id=creator_id,
                                                             status=PosSale.Status.CONFLICT).count(),
         "/dashboard/products/stock/"),
        (_("Team invitations not yet answered"), Invitation.objects.filter(
            creator_id=creator_id, status=Invitation.Status.PENDING, expires_at__gt=now).count(), "/dashboard/team/"),
    ]
    out = [{"label": label, "count": n, "url": url} for label, n, url in items if n]
    soon = Event.objects.filter(creator_id=creator_id, status=Event.Status.PUBLISHED, ends_at__gt=now,
                                starts_at__lt=now + timedelta(days=2))
    for event in soon:
        check = streaming.last_preflight(event.pk)
        failed = [line["label"] for line in (check or {}).get("lines", []) if line.get("status") == "fail"]
        if failed:
            out.append({"label": _("Preflight of “%(title)s” failed: %(checks)s") % {"title": event.title,
                                                                                      "checks": ", ".join(failed)},
                        "count": len(failed),
                        "url": f"/dashboard/live/{event.pk}/control/"})
    return out


def creator_home(creator, role: str, now=None) -> dict:
    now = now or timezone.now()
    money = role in EDIT_ROLES
    currency = payouts.currency_of(creator.pk) if money else ""
    return {"creator": creator, "role": role, "money": money, "next_show": next_show(creator.pk, now),
            "live": live_now(creator.pk), "sales": sales(creator.pk, currency, now) if money else None,
            "next_payout": payouts.next_payout(creator.pk, currency, now) if money else None,
            "waiting": waiting(creator.pk, now) if money else []}


def render_panel(request, creator, role: str) -> str:
    return render_to_string("analytics/home.html", creator_home(creator, role), request=request)
