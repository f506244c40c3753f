"""Chat access follows the ticket mid-show: a refund, a transfer or a moderator's mute reaches the
person's open sockets for that event at once (closed, or downgraded to read-only), not at reconnect."""
import pytest
from asgiref.sync import sync_to_async

from commerce import services as commerce
from events import transfers
from events.models import Ticket
from events.transfers import claim_ticket, claim_token

from .live_helpers import connect, make_room, nothing_of_type, receive_type, send
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.CHAT_RATE_LIMIT = "50/10"
    settings.PRESENCE_THROTTLE_SECONDS = 0.2


@pytest.fixture
def room():
    return make_room()


async def closed(comm, timeout=5.0) -> dict:
    """The close message the consumer sent (frames before it are skipped)."""
    while True:
        message = await comm.receive_output(timeout)
        if message["type"] == "websocket.close":
            return message


def refund_tickets_of(user):
    order_id = Ticket.objects.filter(holder=user).values_list("order_line__order_id", flat=True).first()
    commerce.refund(order_id, actor=SYSTEM)


async def test_a_refund_mid_show_closes_the_chat(room):
    fan = await connect(room.event.pk, room.tokens["holder"], watch=True)
    other = await connect(room.event.pk, room.tokens["holder2"])
    assert fan.resync["can_post"] is True
    await sync_to_async(refund_tickets_of)(room.holder)
    frame = await receive_type(fan, "error")
    assert frame["code"] == "access_revoked"
    assert (await closed(fan))["code"] == 4403
    # The rest of the room chats on, and nothing more reaches the refunded fan.
    await send(other, {"type": "chat", "text": "still here"})
    assert (await receive_type(other, "chat"))["text"] == "still here"
    assert await nothing_of_type(other, "error")
    await other.disconnect()


def verify_and_claim(ticket_id, user):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    EmailAddress.objects.filter(user=user, email=user.email).update(verified=True)
    claim_ticket(token=claim_token(Ticket.objects.get(pk=ticket_id)), user=user)


async def test_a_transfer_moves_chat_access_to_the_new_holder(room):
    old = await connect(room.event.pk, room.tokens["holder2"])
    new = await connect(room.event.pk, room.tokens["stranger"])
    assert new.resync["can_post"] is False
    ticket = await sync_to_async(Ticket.objects.filter(holder=room.holder2).first)()
    await sync_to_async(transfers.transfer_ticket)(ticket_id=ticket.pk, actor=room.holder2, email=room.stranger.email)
    assert (await receive_type(old, "error"))["code"] == "access_revoked"
    assert (await closed(old))["code"] == 4403
    # The recipient claims it from the emailed link, with their address verified.
    await sync_to_async(verify_and_claim)(ticket.pk, room.stranger)
    # The new holder's open socket learns its rights without reconnecting, and can chat.
    assert (await receive_type(new, "resync"))["can_post"] is True
    await send(new, {"type": "chat", "text": "thanks for the ticket"})
    assert (await receive_type(new, "chat"))["text"] == "thanks for the ticket"
    await new.disconnect()


async def test_a_mute_downgrades_the_socket_to_read_only(room):
    mod = await connect(room.event.pk, room.tokens["moderator"])
    fan = await connect(room.event.pk, room.tokens["holder"])
    await send(mod, {"type": "mute", "user": room.holder.pk, "minutes": 5})
    frame = await receive_type(fan, "resync")
    assert frame["can_post"] is False and frame["muted_until"]
    # Still reading the room.
    await send(mod, {"type": "chat", "text": "behave"})
    assert (await receive_type(fan, "chat"))["text"] == "behave"
    await send(mod, {"type": "mute", "user": room.holder.pk, "minutes": 0})
    frame = await receive_type(fan, "resync")
    assert frame["can_post"] is True and frame["muted_until"] is None
    await mod.disconnect()
    await fan.disconnect()
