"""Stripe Connect onboarding from the dashboard (at the HTTP boundary: localstripe has no Connect), its status kept
by `account.updated` webhooks (replays change nothing), the sandbox's "connected" state, and selling refused until
charges are enabled."""
import pytest
from django.test import Client

from commerce import services
from commerce.models import Order
from payouts.models import PayoutProfile
from commerce.services import LineRequest
from microstage.errors import Conflict
from microstage.models import Creator, Role
from microstage.tests.factories import UserFactory, team_member

from commerce.tests.helpers import KIND
from commerce.tests.money_helpers import post_webhook
from microstage.permissions import SYSTEM


def _owner(creator_id, role=Role.OWNER) -> Client:
    client = Client()
    client.force_login(team_member(Creator.objects.get(pk=creator_id), role))
    return client


def account_updated(event_id: str, **fields) -> int:
    obj = {"id": "acct_new_1", "object": "account", "charges_enabled": False, "payouts_enabled": False,
           "details_submitted": False, "requirements": {"currently_due": []}, **fields}
    return post_webhook(event_id, "account.updated", obj)


def test_owner_creates_an_express_account_and_is_sent_to_stripe(catalog, fake_stripe, settings):
    settings.STRIPE_CONNECT = True
    owner = _owner(catalog.creator_id)
    answer = owner.post("/dashboard/money/connect/")
    assert answer.status_code == 302 and answer["Location"] == "https://connect.stripe.test/setup/e/acct_new_1"
    paths = [p for p, _ in fake_stripe.requests]
    assert paths == ["/v1/accounts", "/v1/account_links"]
    account_form, link_form = fake_stripe.requests[0][1], fake_stripe.requests[1][1]
    assert account_form["type"] == "express"
    assert link_form["account"] == "acct_new_1" and link_form["type"] == "account_onboarding"
    assert link_form["return_url"].endswith("/dashboard/money/connect/return/")
    assert Creator.objects.get(pk=catalog.creator_id).stripe_account == "acct_new_1"
    # Again: the same account, a fresh link, no second account.
    owner.post("/dashboard/money/connect/")
    assert [p for p, _ in fake_stripe.requests].count("/v1/accounts") == 1
    # Back from Stripe: the page says what Stripe still needs.
    page = owner.get("/dashboard/money/connect/return/")
    html = page.content.decode()
    assert page.status_code == 200 and "Stripe still needs" in html and "external account" in html
    assert fake_stripe.requests[-1][0] == "/v1/accounts/acct_new_1"


def test_only_the_owner_connects(catalog, fake_stripe, settings):
    settings.STRIPE_CONNECT = True
    manager = _owner(catalog.creator_id, Role.MANAGER)
    assert manager.post("/dashboard/money/connect/").status_code == 302
    assert fake_stripe.requests == []
    assert _owner(catalog.creator_id, Role.DOOR).get("/dashboard/money/connect/return/")["Location"] == "/dashboard/"


def test_stripe_error_during_onboarding_is_a_message_not_a_500(catalog, fake_stripe, settings):
    settings.STRIPE_CONNECT = True
    fake_stripe.fail = {"/v1/accounts"}
    answer = _owner(catalog.creator_id).post("/dashboard/money/connect/", follow=True)
    assert answer.status_code == 200 and "Stripe could not start the set-up" in answer.content.decode()
    assert Creator.objects.get(pk=catalog.creator_id).stripe_account == ""


def test_account_updated_webhooks_keep_the_status_and_replays_change_nothing(catalog, fake_stripe, settings):
    Creator.objects.filter(pk=catalog.creator_id).update(stripe_account="acct_new_1")
    assert account_updated("evt_acct_1", requirements={"currently_due": ["external_account"]}) == 200
    profile = PayoutProfile.objects.get(creator_id=catalog.creator_id)
    assert (profile.charges_enabled, profile.requirements) == (False, ["external_account"])
    assert account_updated("evt_acct_2", charges_enabled=True, payouts_enabled=True, details_submitted=True) == 200
    profile.refresh_from_db()
    assert (profile.charges_enabled, profile.payouts_enabled, profile.requirements) == (True, True, [])
    # The first event delivered again (Stripe retries) must not turn the account back off.
    assert account_updated("evt_acct_1", requirements={"currently_due": ["external_account"]}) == 200
    profile.refresh_from_db()
    assert profile.charges_enabled and profile.requirements == []
    # An account that is not ours is recorded and ignored.
    assert post_webhook("evt_acct_3", "account.updated", {"id": "acct_other", "object": "account",
                                                          "charges_enabled": True}) == 200
    assert PayoutProfile.objects.count() == 1


def test_selling_is_refused_until_charges_are_enabled(catalog, fake_stripe, settings):
    settings.STRIPE_CONNECT = True
    catalog.add("a", {"pool:a": 5}, price="30.00")
    order = services.reserve(requests=[LineRequest(KIND, "a", 1)], buyer=UserFactory())
    with pytest.raises(Conflict) as refused:
        services.checkout(order.pk)
    assert refused.value.code == "payouts_not_set_up" and refused.value.status == 409
    assert Order.objects.get(pk=order.pk).status == Order.Status.RESERVED and fake_stripe.requests == []
    Creator.objects.filter(pk=catalog.creator_id).update(stripe_account="acct_new_1")
    account_updated("evt_acct_on", charges_enabled=True)
    assert services.checkout(order.pk).checkout_url == "https://checkout.stripe.test/pay"


def test_checkout_api_answers_409_with_the_reason(catalog, fake_stripe, settings):
    settings.STRIPE_CONNECT = True
    catalog.add("a", {"pool:a": 5}, price="30.00")
    buyer = UserFactory()
    order = services.reserve(requests=[LineRequest(KIND, "a", 1)], buyer=buyer)
    client = Client()
    client.force_login(buyer)
    answer = client.post(f"/api/v1/orders/{order.pk}/checkout")
    assert answer.status_code == 409 and answer.json()["code"] == "payouts_not_set_up"


def test_sandbox_connects_at_once(catalog, sandbox, settings):
    settings.STRIPE_CONNECT = True
    catalog.add("a", {"pool:a": 5}, price="30.00")
    order = services.reserve(requests=[LineRequest(KIND, "a", 1)], buyer=UserFactory())
    with pytest.raises(Conflict):
        services.checkout(order.pk)
    owner = _owner(catalog.creator_id)
    answer = owner.post("/dashboard/money/connect/")
    assert answer.status_code == 302 and answer["Location"].endswith("/dashboard/money/connect/return/")
    profile = PayoutProfile.objects.get(creator_id=catalog.creator_id)
    assert profile.sandbox_connected and profile.charges_enabled and profile.payouts_enabled
    assert "All set" in owner.get("/dashboard/money/connect/return/").content.decode()
    assert services.checkout(order.pk).provider == "sandbox"


def test_group_buy_join_is_refused_until_charges_are_enabled(db, sandbox, settings):
    from datetime import timedelta

    from django.utils import timezone

    from groupbuys import services as groupbuys
    from groupbuys.models import GroupBuy
    from catalog.services import create_product
    from microstage.tests.factories import CreatorFactory

    creator = CreatorFactory()
    owner = team_member(creator, Role.OWNER)
    product = create_product(creator=creator, name="Hoodie", price="50.00", stock=50, actor=SYSTEM)
    gb = groupbuys.create_group_buy(actor=owner, creator_id=creator.pk, product_id=product.pk,
                                    deadline=timezone.now() + timedelta(days=2),
                                    price_tiers=[{"min_quantity": 5, "price": "40.00"}])
    settings.STRIPE_CONNECT = True
    with pytest.raises(Conflict) as refused:
        groupbuys.join(group_buy_id=gb.pk, user=UserFactory(), quantity=1)
    assert refused.value.code == "payouts_not_set_up"
    assert GroupBuy.objects.get(pk=gb.pk).committed_quantity == 0
    PayoutProfile.objects.create(creator=creator, charges_enabled=True, sandbox_connected=True)
    assert groupbuys.join(group_buy_id=gb.pk, user=UserFactory(), quantity=1).participant is not None
