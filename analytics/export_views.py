"""CSV exports for the creator's team: orders, attendees and metrics, per event and per creator.

Streamed (rows are written while the database is read), safe against formula injection (a cell a
spreadsheet would run as a formula gets a leading apostrophe; plain numbers stay numbers), named
`<what>-<event slug|creator slug>-<YYYYmmdd-HHMM>.csv`. Owners and managers only: outside the team
a 404, another role a 403; anonymous visitors are sent to log in."""
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Max, Min, OuterRef, Subquery, Sum
from django.db.models.functions import Lower
from django.http import Http404, HttpResponseBadRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import selectors
from analytics.api.views import parse_days
from commerce.models import Order, OrderLine
from events.models import Event, Ticket
from microstage import csvfile
from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES, Creator
from microstage.selectors import role_of


def _csv(request, rows, name: str, slug: str):
    return csvfile.response(request, rows, csvfile.filename(name, slug))


def _check_role(user, creator_id: str) -> None:
    role = role_of(user, creator_id)
    if role is None:
        raise Http404("No such page.")
    if role not in EDIT_ROLES:
        raise PermissionDenied(_("Only owners and managers can export analytics."))


def _event(request, event_id: str) -> Event:
    event = Event.objects.select_related("creator").filter(pk=event_id).first()
    if event is None:
        raise Http404("No such event.")
    _check_role(request.user, event.creator_id)
    return event


def _creator(request, creator_id: str) -> Creator:
    creator = Creator.objects.filter(pk=creator_id).first()
    if creator is None:
        raise Http404("No such creator.")
    _check_role(request.user, creator.pk)
    return creator


def _days(request) -> int | None:
    try:
        return parse_days(request.GET.get("days"))
    except ServiceError:
        return None


# --- rows -----------------------------------------------------------------------------------------

ORDER_HEADER = ["order", "status", "created_at", "paid_at", "buyer_email", "currency", "total", "refunded_total",
                "net", "lines", "units"]


def _order_rows(orders):
    yield ORDER_HEADER
    # Line counts as subqueries: a join would repeat each order once per line.
    lines = OrderLine.objects.filter(order_id=OuterRef("pk")).order_by().values("order_id")
    rows = (orders.annotate(net=F("total") - F("refunded_total"),
                            n_lines=Subquery(lines.annotate(n=Count("pk")).values("n")),
                            units=Subquery(lines.annotate(u=Sum(F("quantity") - F("refunded_quantity"))).values("u")))
            .values_list("pk", "status", "created_at", "paid_at", "email", "currency", "total", "refunded_total",
                         "net", "n_lines", "units")
            .order_by("created_at", "pk"))
    for row in rows.iterator(chunk_size=1000):
        yield [*row[:9], row[9] or 0, row[10] or 0]


def _event_attendee_rows(event):
    yield ["ticket", "status", "tier", "holder_name", "holder_email", "order", "checked_in_at", "issued_at"]
    rows = (Ticket.objects.filter(event_id=event.pk)
            .values_list("pk", "status", "tier__name", "holder_name", "holder_email", "order_line__order_id",
                         "checked_in_at", "created_at")
            .order_by("tier__position", "holder_email", "created_at", "pk"))
    yield from rows.iterator(chunk_size=1000)


def _creator_attendee_rows(creator, since):
    yield ["email", "events_attended", "first_attended_at", "last_attended_at"]
    rows = (Ticket.objects.filter(event__creator_id=creator.pk, checked_in_at__isnull=False,
                                  checked_in_at__gte=since)
            .annotate(person=Lower("holder_email")).values("person")
            .annotate(events=Count("event_id", distinct=True), first=Min("checked_in_at"), last=Max("checked_in_at"))
            .values_list("person", "events", "first", "last").order_by("person"))
    yield from rows.iterator(chunk_size=1000)


def _flatten(prefix: str, value):
    """Metric rows ["a.b[0].c", value] from a nested dict/list."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(f"{prefix}.{k}" if prefix else str(k), v)
    elif isinstance(value, list):
        if not value:
            yield [prefix, ""]
        for i, v in enumerate(value):
            yield from _flatten(f"{prefix}[{i}]", v)
    else:
        yield [prefix, "" if value is None else value]


def _metric_rows(metrics: dict):
    yield ["metric", "value"]
    yield from _flatten("", metrics)  # numbers stay numbers (csvfile.cell)


# --- views ----------------------------------------------------------------------------------------

@login_required
def event_orders_csv(request, event_id):
    event = _event(request, event_id)
    return _csv(request, _order_rows(selectors.event_orders(event)), "orders", event.slug)


@login_required
def event_attendees_csv(request, event_id):
    event = _event(request, event_id)
    return _csv(request, _event_attendee_rows(event), "attendees", event.slug)


@login_required
def event_metrics_csv(request, event_id):
    event = _event(request, event_id)
    return _csv(request, _metric_rows(selectors.event_metrics(event)), "metrics", event.slug)


def _window(request, creator):
    days = _days(request)
    if days is None:
        return None, None
    return days, timezone.now() - timedelta(days=days)


@login_required
def creator_orders_csv(request, creator_id):
    creator = _creator(request, creator_id)
    days, since = _window(request, creator)
    if days is None:
        return HttpResponseBadRequest(_("Give a whole number of days from 1 to 365."))
    orders = Order.objects.filter(creator_id=creator.pk, created_at__gte=since)
    return _csv(request, _order_rows(orders), f"orders-{days}d", creator.slug)


@login_required
def creator_attendees_csv(request, creator_id):
    creator = _creator(request, creator_id)
    days, since = _window(request, creator)
    if days is None:
        return HttpResponseBadRequest(_("Give a whole number of days from 1 to 365."))
    return _csv(request, _creator_attendee_rows(creator, since), f"attendees-{days}d", creator.slug)


@login_required
def creator_metrics_csv(request, creator_id):
    creator = _creator(request, creator_id)
    days, _since = _window(request, creator)
    if days is None:
        return HttpResponseBadRequest(_("Give a whole number of days from 1 to 365."))
    return _csv(request, _metric_rows(selectors.creator_metrics(creator, days=days)), f"metrics-{days}d",
                         creator.slug)
