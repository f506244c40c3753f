"""Notify me on a ticket tier whose sales have not started, in a phone-sized Chromium: the fan asks to be
told, gets one message when sales start, and its link opens the show with that tier already chosen."""
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from events import notices
from events.models import NotifyRequest
from microstage.tests.factories import UserFactory
from microstage.tests.test_browser import LAYOUT_PROBLEMS

from .factories import EventFactory, TierFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, user):
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])


def test_notify_me_on_a_tier_then_the_link_opens_it_chosen(phone, live_server, settings, artifacts):
    from playwright.sync_api import expect

    settings.PAYMENTS_PROVIDER = "sandbox"
    starts = timezone.now() + timedelta(hours=1)
    event = EventFactory(starts_at=timezone.now() + timedelta(days=3), ends_at=timezone.now() + timedelta(days=3,
                                                                                                       hours=3))
    tier = TierFactory(event=event, name="Early bird", quantity=20, sales_start=starts)
    fan = UserFactory()
    page = phone
    log_in(page, live_server, fan)

    page.goto(event.get_absolute_url())
    page.get_by_role("button", name="Notify me when Early bird goes on sale").click()
    expect(page.get_by_text("We'll tell you once, when Early bird tickets go on sale.")).to_be_visible()
    assert NotifyRequest.objects.filter(user=fan, tier=tier).count() == 1
    assert page.evaluate(LAYOUT_PROBLEMS) == []
    page.screenshot(path=str(artifacts / "notify-tier-1-asked.png"), full_page=True)

    mail.outbox.clear()
    assert notices.send_due(now=starts + timedelta(seconds=1)) == 1
    assert notices.send_due(now=starts + timedelta(seconds=90)) == 0  # one message, not one a minute
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [fan.email]
    link = re.search(r"http\S+\?tier=\S+", mail.outbox[0].body).group(0)

    # Sales have started: the link opens the show scrolled to the tier, one ticket already chosen.
    tier.sales_start = timezone.now() - timedelta(minutes=1)
    tier.save(update_fields=["sales_start"])
    page.goto("/")  # the fan is elsewhere when the message comes (the link may equal the page's own address)
    page.goto(link.replace(settings.SITE_URL, live_server.url))
    chosen = page.locator(f"#tier-{tier.pk}")
    expect(chosen).to_have_class(re.compile(r"\bchosen\b"))
    expect(chosen).to_be_in_viewport()
    expect(page.get_by_label("How many Early bird tickets")).to_have_value("1")
    page.screenshot(path=str(artifacts / "notify-tier-2-chosen.png"), full_page=True)
    page.get_by_role("button", name="Reserve tickets").click()
    page.wait_for_url("**/orders/**")
    from commerce.models import Order

    order = Order.objects.get(buyer=fan)
    assert order.lines.get().quantity == 1 and order.lines.get().item_id == tier.pk
    assert page.evaluate(LAYOUT_PROBLEMS) == [] and page.js_errors == []
