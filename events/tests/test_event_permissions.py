"""The event's creator decides who may act on an event (events.permissions.require_event_role over
microstage.permissions.require_role), and the services check it themselves, whatever view called them."""
import pytest

from catalog import services as catalog
from commerce import services as commerce
from events.permissions import require_event_role
from events.services import checkin, drops
from events.services import events as event_services
from events.services.tickets import qr_payload
from microstage.errors import Forbidden, NotFound
from microstage.models import DOOR_ROLES, EDIT_ROLES, Role
from microstage.permissions import SYSTEM
from microstage.tests.factories import UserFactory, team_member

from .helpers import EventFactory, TierFactory, buy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sandbox")]


def test_strangers_and_missing_events_look_the_same():
    event = EventFactory()
    for who, what in ((UserFactory(), event), (UserFactory(), event.pk), (SYSTEM, "evt_missing")):
        with pytest.raises(NotFound) as exc:
            require_event_role(who, what, EDIT_ROLES)
        assert exc.value.detail == "No such event."


def test_a_role_that_may_not_is_forbidden_with_the_events_message():
    event = EventFactory()
    door = team_member(event.creator, Role.DOOR)
    with pytest.raises(Forbidden) as exc:
        require_event_role(door, event.pk, EDIT_ROLES)
    assert exc.value.detail == "Your role on this creator's team does not allow this."
    assert require_event_role(door, event.pk, DOOR_ROLES) == event
    assert require_event_role(SYSTEM, event.pk, EDIT_ROLES) == event


def test_services_check_the_actor_themselves():
    event = EventFactory(status="draft")
    door, stranger = team_member(event.creator, Role.DOOR), UserFactory()
    with pytest.raises(Forbidden):
        event_services.publish(event, actor=door)
    with pytest.raises(NotFound):
        event_services.update_event(event, actor=stranger, title="Mine now")
    with pytest.raises(TypeError):
        event_services.publish(event)  # no actor: a programming error, never trusted


def test_the_door_scans_and_nobody_else():
    tier = TierFactory(event=EventFactory())
    ticket = buy(tier, UserFactory())[0]
    moderator = team_member(tier.event.creator, Role.MODERATOR)
    with pytest.raises(Forbidden) as exc:
        checkin.check_in(event=tier.event, payload=qr_payload(ticket), actor=moderator)
    assert exc.value.detail == "Only the door team can check tickets in."
    with pytest.raises(NotFound):
        checkin.check_in(event=tier.event, payload=qr_payload(ticket), actor=UserFactory())
    door = team_member(tier.event.creator, Role.DOOR)
    assert checkin.check_in(event=tier.event, payload=qr_payload(ticket), actor=door)[0] == "ok"


def test_a_door_member_may_not_set_up_drops_or_refund():
    tier = TierFactory(event=EventFactory())
    order = buy(tier, UserFactory())[0].order_line.order
    door = team_member(tier.event.creator, Role.DOOR)
    product = catalog.create_product(creator=tier.event.creator, name="Poster", price="10.00", stock=5,
                                     actor=SYSTEM)
    with pytest.raises(Forbidden):
        drops.create_drop(tier.event, actor=door, product=product, quantity=1, starts_at=tier.event.starts_at,
                          ends_at=tier.event.ends_at)
    with pytest.raises(Forbidden):
        commerce.refund(order.pk, actor=door)
    assert commerce.refund(order.pk, actor=team_member(tier.event.creator, Role.MANAGER)).status == "refunded"


def test_an_event_looked_up_by_id_and_its_check_cost_one_query(django_assert_num_queries):
    event = EventFactory()
    owner, door = team_member(event.creator, Role.OWNER), team_member(event.creator, Role.DOOR)
    with django_assert_num_queries(1):
        assert require_event_role(owner, event.pk, EDIT_ROLES) == event
    with django_assert_num_queries(1), pytest.raises(Forbidden):
        require_event_role(door, event.pk, EDIT_ROLES)
    with pytest.raises(TypeError):
        require_event_role(None, event.pk, EDIT_ROLES)
