"""First-party tracking: the visitor cookie, DNT/GPC, nothing personal stored, linking at login/purchase."""
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from analytics.middleware import COOKIE
from analytics.models import PageView, Visitor
from events.tests.factories import EventFactory
from microstage.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def flush_views() -> None:
    """Page views are buffered in Redis; the beat task writes them (run here through the real task)."""
    from analytics.tasks import flush_page_views

    flush_page_views.apply().get()


@pytest.fixture
def event():
    return EventFactory(status="published")


def test_event_page_sets_the_visitor_cookie_and_records_one_view(event):
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Mozilla/5.0 SecretBrowser")
    response = client.get(event.get_absolute_url())
    assert response.status_code == 200
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and int(cookie["max-age"]) == 365 * 24 * 3600
    assert PageView.objects.count() == 0  # buffered, not a row per view
    flush_views()
    view = PageView.objects.get()
    assert (view.page, view.event_id, view.creator_id, view.visitor_id) == ("event", event.pk, event.creator_id,
                                                                             cookie.value)
    client.get(event.get_absolute_url())  # the same visitor again
    flush_views()
    assert Visitor.objects.count() == 1 and PageView.objects.count() == 2


@pytest.mark.parametrize("header", [{"HTTP_DNT": "1"}, {"HTTP_SEC_GPC": "1"}])
def test_do_not_track_and_gpc_mean_no_cookie_and_nothing_stored(event, header):
    client = Client(**header)
    response = client.get(event.get_absolute_url())
    assert response.status_code == 200
    assert COOKIE not in response.cookies
    client.cookies[COOKIE] = "v_" + "a" * 24  # even with an old cookie
    client.get(event.get_absolute_url())
    flush_views()
    assert Visitor.objects.count() == 0 and PageView.objects.count() == 0


def test_nothing_personal_is_stored(event):
    client = Client(REMOTE_ADDR="198.51.100.77", HTTP_USER_AGENT="UniqueAgent/1.2.3")
    client.force_login(UserFactory())  # even logged in: no link until login or purchase happens
    client.get(event.get_absolute_url())
    client.get(f"/c/{event.creator.slug}/")
    flush_views()
    visitor = Visitor.objects.get()
    assert visitor.user_id is None
    for row in [*Visitor.objects.values(), *PageView.objects.values()]:
        text = " ".join(str(v) for v in row.values())
        assert "198.51.100.77" not in text and "UniqueAgent" not in text
    field_names = {f.name for m in (Visitor, PageView) for f in m._meta.get_fields()}
    assert not field_names & {"ip", "ip_address", "user_agent", "ua", "referrer"}
    assert sorted(PageView.objects.values_list("page", flat=True)) == ["creator", "event"]


def test_untracked_pages_posts_and_errors_record_nothing(event):
    client = Client()
    assert client.get("/").status_code == 200
    assert client.get("/e/no-such-show/").status_code == 404
    flush_views()
    assert Visitor.objects.count() == 0 and PageView.objects.count() == 0


def test_visitor_linked_at_login(event):
    user = UserFactory()
    user.set_password("a long test password 42")
    user.save()
    client = Client()
    client.get(event.get_absolute_url())
    flush_views()
    assert Visitor.objects.get().user_id is None
    response = client.post("/accounts/login/", {"login": user.email, "password": "a long test password 42"})
    assert response.status_code == 302
    assert Visitor.objects.get().user_id == user.pk


def test_visitor_linked_at_purchase(settings):
    from events.tests.factories import TierFactory

    settings.PAYMENTS_PROVIDER = "sandbox"
    tier = TierFactory(event=EventFactory(status="published", starts_at=timezone.now() + timedelta(days=3)))
    event = tier.event
    buyer = UserFactory()
    client = Client()
    client.get(event.get_absolute_url())
    flush_views()
    visitor = Visitor.objects.get()
    client.force_login(buyer)  # no login signal: the link comes from the purchase
    assert Visitor.objects.get().user_id is None
    response = client.post(f"/e/{event.slug}/reserve/", {f"qty_{tier.pk}": "1"})
    from commerce.models import Order

    order = Order.objects.filter(buyer=buyer).first()
    assert order is not None, response.content[:500]
    assert client.get(order.get_absolute_url()).status_code == 200
    flush_views()
    assert PageView.objects.filter(page="order", event_id=event.pk).count() == 1
    checkout = client.post(f"/orders/{order.pk}/pay/")  # this browser pays: the sandbox's hosted page
    assert checkout.status_code == 302 and Visitor.objects.get().user_id is None
    assert client.post(checkout["Location"], {"outcome": "pay"}).status_code == 302
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert client.cookies[COOKIE].value == visitor.pk
    assert Visitor.objects.get(pk=visitor.pk).user_id == buyer.pk


def test_visitor_not_linked_by_a_request_that_pays_nothing(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    event = EventFactory(status="published", starts_at=timezone.now() + timedelta(days=3))
    client = Client()
    client.get(event.get_absolute_url())
    flush_views()
    client.force_login(UserFactory())
    client.post(f"/e/{event.slug}/reserve/", {})  # a POST, but nothing is paid
    assert Visitor.objects.get().user_id is None
