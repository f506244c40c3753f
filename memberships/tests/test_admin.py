"""Staff admin for memberships: changelists with search and filters, read-only balances, an append-only ledger."""
from datetime import timedelta

import pytest
from django.contrib.admin.utils import quote  # admin URLs escape "_" in our ids
from django.utils import timezone

from memberships.models import LoyaltyAccount, LoyaltyEntry, Pass, Referral, RewardRedemption
from memberships.services import redeem_reward
from microstage.models import User
from microstage.tests.factories import CreatorFactory, UserFactory

from .helpers_pages import give_points, make_member, make_pass_product, make_plan, make_reward

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser(email="staff@example.com", password="x-very-long-password-1"))
    return client


@pytest.fixture
def data():
    creator = CreatorFactory(name="Night Owls", slug="night-owls")
    fan = UserFactory(email="fan@example.com")
    friend = UserFactory(email="friend@example.com")
    plan = make_plan(creator, name="Night Owls Club")
    membership = make_member(plan, user=fan)
    make_member(plan, status="past_due")
    product = make_pass_product(creator)
    pass_obj = Pass.objects.create(creator=creator, user=fan, product=product, credits_total=5, credits_left=4,
                                   expires_at=timezone.now() + timedelta(days=30), order_line_id="ln_admin")
    give_points(fan, creator, 300)
    give_points(friend, CreatorFactory(name="Other"), 10)
    reward = make_reward(creator, name="Owl code")
    redemption = redeem_reward(user=fan, reward_id=reward.pk)
    referral = Referral.objects.create(creator=creator, referrer=fan, referred=friend)
    return {"creator": creator, "fan": fan, "plan": plan, "membership": membership, "product": product,
            "pass": pass_obj, "reward": reward, "redemption": redemption, "referral": referral,
            "account": LoyaltyAccount.objects.get(user=fan), "entry": LoyaltyEntry.objects.first()}


def page(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize("model,params,expect", [
    ("membershipplan", {"q": "Owls Club", "is_active__exact": "1", "interval__exact": "month"}, "Night Owls Club"),
    ("membership", {"q": "fan@example.com", "status__exact": "active"}, "fan@example.com"),
    ("pass", {"q": "fan@example.com"}, "fan@example.com"),
    ("passproduct", {"q": "5-show", "is_active__exact": "1"}, "5-show pass"),
    ("loyaltyaccount", {"q": "fan@example.com", "creator__id__exact": "__CREATOR__"}, "fan@example.com"),
    ("loyaltyentry", {"q": "fan@example.com", "reason__exact": "redemption"}, "Owl code"),
    ("referral", {"q": "friend@example.com", "rewarded_at__isempty": "1"}, "friend@example.com"),
    ("reward", {"q": "Owl", "kind__exact": "discount_code", "is_active__exact": "1"}, "Owl code"),
    ("rewardredemption", {"q": "fan@example.com", "status__exact": "issued"}, "Owl code"),
])
def test_changelists_render_with_search_and_filters(staff, data, model, params, expect):
    params = {k: data["creator"].pk if v == "__CREATOR__" else v for k, v in params.items()}
    r = staff.get(f"/admin/memberships/{model}/", params)
    assert r.status_code == 200, model
    html = page(r)
    assert 'id="searchbar"' in html and 'id="changelist-filter"' in html and "0 results" not in html
    assert expect in html


def test_membership_filter_by_status_and_creator(staff, data):
    html = page(staff.get("/admin/memberships/membership/", {"status__exact": "past_due",
                                                              "creator__id__exact": data["creator"].pk}))
    assert "fan@example.com" not in html and "Past due" in html
    other = page(staff.get("/admin/memberships/membership/", {"creator__id__exact": CreatorFactory().pk}))
    assert "fan@example.com" not in other


def test_change_pages_render(staff, data):
    for url in [f"/admin/memberships/membershipplan/{quote(data['plan'].pk)}/change/",
                f"/admin/memberships/membership/{quote(data['membership'].pk)}/change/",
                f"/admin/memberships/pass/{quote(data['pass'].pk)}/change/",
                f"/admin/memberships/passproduct/{quote(data['product'].pk)}/change/",
                f"/admin/memberships/loyaltyaccount/{quote(data['account'].pk)}/change/",
                f"/admin/memberships/loyaltyentry/{quote(data['entry'].pk)}/change/",
                f"/admin/memberships/referral/{quote(data['referral'].pk)}/change/",
                f"/admin/memberships/reward/{quote(data['reward'].pk)}/change/",
                f"/admin/memberships/rewardredemption/{quote(data['redemption'].pk)}/change/"]:
        assert staff.get(url).status_code == 200, url


def test_balance_is_read_only_and_the_ledger_append_only(staff, data):
    account, entry = data["account"], data["entry"]
    html = page(staff.get(f"/admin/memberships/loyaltyaccount/{quote(account.pk)}/change/"))
    assert 'name="balance"' not in html and "200" in html  # 300 earned − 100 spent, shown, not editable
    staff.post(f"/admin/memberships/loyaltyaccount/{quote(account.pk)}/change/", {"balance": "99999"})
    account.refresh_from_db()
    assert account.balance == 200
    assert staff.get(f"/admin/memberships/loyaltyaccount/{account.pk}/delete/").status_code == 403

    assert staff.get("/admin/memberships/loyaltyentry/add/").status_code == 403
    assert staff.get(f"/admin/memberships/loyaltyentry/{entry.pk}/delete/").status_code == 403
    r = staff.post("/admin/memberships/loyaltyentry/", {"action": "delete_selected", "_selected_action": [entry.pk]})
    assert LoyaltyEntry.objects.filter(pk=entry.pk).exists() and r.status_code in (200, 302)
    html = page(staff.get(f"/admin/memberships/loyaltyentry/{quote(entry.pk)}/change/"))
    assert 'name="points"' not in html and 'name="_save"' not in html


def test_membership_state_is_read_only(staff, data):
    membership = data["membership"]
    html = page(staff.get(f"/admin/memberships/membership/{quote(membership.pk)}/change/"))
    assert 'name="status"' not in html
    assert staff.get("/admin/memberships/membership/add/").status_code == 403


def test_mark_codes_used_action(staff, data):
    redemption = data["redemption"]
    r = staff.post("/admin/memberships/rewardredemption/", {"action": "mark_used",
                                                            "_selected_action": [redemption.pk]}, follow=True)
    redemption.refresh_from_db()
    assert redemption.status == RewardRedemption.Status.USED and "1 code marked as used" in page(r)
