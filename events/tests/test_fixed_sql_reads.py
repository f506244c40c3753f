"""The sale path's reads written as fixed SQL (microstage/hotsql.py) give what the ORM gives: the same
rows, values converted the same way (JSON, decimals, times), related rows in hand, and nothing else."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.models import TicketTier, WaitlistEntry
from events.selectors import has_waiting, tier_with_event
from memberships.models import Membership
from memberships.selectors import live_membership
from memberships.tests.factories import MembershipFactory, MembershipPlanFactory
from microstage.tests.factories import UserFactory

from .helpers import EventFactory, TierFactory

pytestmark = pytest.mark.django_db


def _values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_a_tier_and_its_event_read_as_the_orm_reads_them(django_assert_num_queries):
    event = EventFactory(venue_capacity=80, members_only=True, venue_lat=52.520008, venue_lng=13.404954)
    tier = TierFactory(event=event, price=Decimal("12.50"), perks=[{"name": "Meet the band", "icon": "star"}],
                       sales_start=timezone.now() - timedelta(hours=1))
    with django_assert_num_queries(1):
        read = tier_with_event(tier.pk)
        assert read.event.title == event.title  # the event came with it: no second query
    orm = TicketTier.objects.select_related("event").get(pk=tier.pk)
    assert _values(read) == _values(orm)
    assert _values(read.event) == _values(orm.event)
    assert read.perks == [{"name": "Meet the band", "icon": "star"}]  # JSON decoded, not text
    assert read.price == Decimal("12.50") and read.event.starts_at.tzinfo is not None
    assert not read._state.adding and read._state.db == "default"  # a saved row: save() updates it
    read.name = "Renamed"
    read.save(update_fields=["name"])
    assert TicketTier.objects.get(pk=tier.pk).name == "Renamed"


@pytest.mark.parametrize("tier_id", ["tier_nope", "x' OR '1'='1", "", None, 7])
def test_an_unknown_or_odd_tier_id_reads_nothing(tier_id):
    TierFactory()
    assert tier_with_event(tier_id) is None


def test_waiting_counts_only_people_still_waiting():
    tier = TierFactory(quantity=1)
    assert has_waiting(tier.pk) is False
    entry = WaitlistEntry.objects.create(tier=tier, user=UserFactory(), number=1, status=WaitlistEntry.Status.OFFERED)
    assert has_waiting(tier.pk) is False
    WaitlistEntry.objects.create(tier=tier, user=UserFactory(), number=2)
    assert has_waiting(tier.pk) is True
    assert has_waiting(TierFactory().pk) is False  # another tier's line is not this one's
    WaitlistEntry.objects.exclude(pk=entry.pk).update(status=WaitlistEntry.Status.LEFT)
    assert has_waiting(tier.pk) is False


def test_a_live_membership_comes_with_its_plan(django_assert_num_queries):
    plan = MembershipPlanFactory(discount_percent=Decimal("15.00"), early_access_hours=24)
    member = MembershipFactory(plan=plan, status=Membership.Status.ACTIVE)
    with django_assert_num_queries(1):
        found = live_membership(member.user, plan.creator_id)
        assert found.plan.discount_percent == Decimal("15.00")  # in hand: no second query
    assert _values(found) == _values(Membership.objects.get(pk=member.pk))
    assert _values(found.plan) == _values(plan.__class__.objects.get(pk=plan.pk))


def test_only_memberships_in_good_standing_with_that_creator_count():
    now = timezone.now()
    user = UserFactory()
    plan = MembershipPlanFactory()
    assert live_membership(user, plan.creator_id) is None
    MembershipFactory(user=user, status=Membership.Status.ACTIVE)  # another creator's
    lapsed = MembershipFactory(user=user, plan=plan, status=Membership.Status.PENDING)
    assert live_membership(user, plan.creator_id) is None
    Membership.objects.filter(pk=lapsed.pk).update(status=Membership.Status.CANCELLED,
                                                   current_period_end=now - timedelta(minutes=1))
    assert live_membership(user, plan.creator_id) is None
    Membership.objects.filter(pk=lapsed.pk).update(current_period_end=now + timedelta(days=3))
    assert live_membership(user, plan.creator_id).pk == lapsed.pk  # cancelled, but paid through period end
    assert live_membership(UserFactory(), plan.creator_id) is None
