"""Template tags for group-buys: the live progress bar, and an event's open group-buys (watch page)."""
from django import template

from groupbuys import services as groupbuys
from groupbuys.models import GroupBuy

register = template.Library()


def progress_context(gb: GroupBuy) -> dict:
    """What the progress bar shows: committed units against the top tier (or the cap), price, next tier."""
    prog = groupbuys.progress(gb)
    tiers = groupbuys.tiers_of(gb)
    target = max([t.min_quantity for t in tiers] + [gb.max_quantity or 0, gb.committed_quantity, 1])
    return {"gb": gb, "progress": prog, "tiers": tiers, "target": target, "list_price": groupbuys.list_price(gb),
            "api_url": f"/api/v1/group-buys/{gb.pk}"}


@register.inclusion_tag("commerce/_group_buy_progress.html")
def group_buy_progress(gb: GroupBuy):
    return progress_context(gb)


@register.simple_tag
def event_group_buys(event_id: str) -> list[GroupBuy]:
    """Open group-buys running during an event (GroupBuy.event_id is a plain string: no events import)."""
    if not event_id:
        return []
    return list(GroupBuy.objects.filter(event_id=str(event_id), status=GroupBuy.Status.OPEN)
                .select_related("product", "variant", "variant__product").prefetch_related("price_tiers")
                .order_by("deadline")[:3])
