"""The waiting-list path on a phone: a fan finds a sold-out tier, joins its list and sees their place;
when a ticket comes back they get the offer on the same page and pay it in the sandbox."""
import pytest

from commerce import services as commerce
from commerce.services import LineRequest
from events.models import Ticket, WaitlistEntry
from events.models import TICKET_KIND
from microstage.tests.factories import PASSWORD, UserFactory

from .factories import TierFactory
from microstage.permissions import SYSTEM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_join_the_waiting_list_then_take_the_offer_on_a_phone(phone, live_server, settings, artifacts):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.SITE_URL = live_server.url
    tier = TierFactory(quantity=1, price="12.00", name="Front row")
    sold = commerce.reserve(requests=[LineRequest(TICKET_KIND, tier.pk, 1)], buyer=UserFactory())
    commerce.sandbox_pay(sold.pk)
    fan = UserFactory()
    page = phone
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(fan.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_load_state()

    page.goto(tier.event.get_absolute_url())
    assert page.get_by_text("Sold out — join the waiting list").is_visible()
    page.get_by_role("button", name="Join the waiting list for Front row").click()
    page.get_by_text("You're number 1 in line").wait_for()
    page.screenshot(path=str(artifacts / "waitlist-1-in-line.png"), full_page=True)
    assert WaitlistEntry.objects.get(user=fan).status == "waiting"

    commerce.refund(sold.pk, actor=SYSTEM)  # the ticket comes back: the fan is offered it at once
    page.reload()
    page.get_by_text("Tickets held for you").wait_for()
    page.get_by_role("link", name="Pay now").click()
    page.wait_for_url("**/orders/**")
    page.get_by_role("button", name="Pay €12.00").click()
    page.get_by_role("button", name="Pay 12.00 EUR").click()
    page.wait_for_url("**/orders/**")
    assert WaitlistEntry.objects.get(user=fan).status == "bought"
    assert Ticket.objects.filter(holder=fan, tier=tier, status="valid").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not page.js_errors, page.js_errors
