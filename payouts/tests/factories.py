"""Factories for payouts: tips, ledger entries, disputes, payout profiles, payouts and their lines."""
from decimal import Decimal

import factory

from commerce.tests.factories import EUR, OrderFactory
from microstage.tests.factories import CreatorFactory
from payouts import models as m


class TipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Tip

    order = factory.SubFactory(OrderFactory)
    creator = factory.LazyAttribute(lambda o: o.order.creator)
    user = factory.LazyAttribute(lambda o: o.order.buyer)
    amount = Decimal("5.00")
    currency = EUR


class LedgerEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.LedgerEntry

    creator = factory.SubFactory(CreatorFactory)
    kind = m.LedgerEntry.Kind.SALE
    amount = Decimal("10.00")
    currency = EUR
    key = factory.Sequence(lambda n: f"test-ledger-{n}")


class DisputeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Dispute

    order = factory.SubFactory(OrderFactory)
    provider_reference = factory.Sequence(lambda n: f"dp_test_{n}")
    amount = Decimal("10.00")
    currency = EUR


class PayoutProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PayoutProfile

    creator = factory.SubFactory(CreatorFactory)


class PayoutFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Payout

    creator = factory.SubFactory(CreatorFactory)
    amount = Decimal("100.00")
    currency = EUR
    method = "sandbox"
    schedule = "weekly"
    key = factory.Sequence(lambda n: f"test-payout-{n}")


class PayoutLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PayoutLine

    payout = factory.SubFactory(PayoutFactory)
    entry = factory.SubFactory(LedgerEntryFactory, creator=factory.SelfAttribute("..payout.creator"))
