"""Settlement asked for by the team: decided at once, small ones settled in the request (sandbox),
the rest queued to the settlement tasks. Above groupbuys/services.py and groupbuys/tasks.py, so the
tasks can call the group-buy services without a circle."""
import logging

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from microstage.errors import Forbidden, NotFound
from microstage.models import EDIT_ROLES
from microstage.payments.providers.base import ProviderError
from microstage.permissions import require_role

from . import services as groupbuys
from . import tasks
from .models import GroupBuy, GroupBuyParticipant

log = logging.getLogger(__name__)


def settle_by_team(*, group_buy_id: str, actor) -> GroupBuy:
    """The team asks to settle now (after the deadline): decided at once, the rest queued."""
    gb = groupbuys.get_group_buy(group_buy_id)
    forbidden = _("Only the creator's team can settle a group-buy.")
    try:
        require_role(actor, gb.creator_id, EDIT_ROLES, forbidden=forbidden)
    except NotFound:  # a participant knows the group-buy exists
        if GroupBuyParticipant.objects.filter(group_buy=gb, user_id=actor.pk).exists():
            raise Forbidden(forbidden) from None
        raise NotFound(_("No such group-buy.")) from None
    gb = groupbuys.begin_settlement(gb.pk)
    if gb.status == GroupBuy.Status.SETTLED:
        return gb
    if (settings.PAYMENTS_PROVIDER == "sandbox"
            and len(groupbuys.unsettled_participants(gb.pk)) <= groupbuys.SYNC_SETTLE_MAX):
        try:  # small and in the sandbox: settled before answering
            return groupbuys.settle(gb.pk)
        except ProviderError:
            log.warning("settling %s in the request stopped; queued", gb.pk, exc_info=True)
    transaction.on_commit(lambda: tasks.settle_group_buy.delay(gb.pk))
    return groupbuys.get_group_buy(gb.pk)
