"""The sandbox checkout page in a real phone-sized browser: readable, tappable, and Pay confirms once."""
from decimal import Decimal

import pytest

from microstage.payments import services
from microstage.payments.models import Payment

from .test_payments_helpers import PURPOSE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAYOUT = """() => {
  const problems = [];
  if (document.documentElement.scrollWidth > window.innerWidth + 1) problems.push('page wider than the screen');
  for (const el of document.querySelectorAll('main button, main a.button')) {
    const r = el.getBoundingClientRect();
    if (r.height < 43.5) problems.push(`small target: ${el.textContent.trim()}`);
    if (r.right > window.innerWidth + 1) problems.push(`off screen: ${el.textContent.trim()}`);
  }
  return problems;
}"""


def test_phone_checkout_pay(phone, live_server, settings, recorder, artifacts):
    settings.PAYMENTS_PROVIDER = "sandbox"
    started = services.start_checkout(amount=Decimal("24.00"), currency="EUR", description="Two tickets — Night Show",
                                      purpose=PURPOSE, reference="ord_b", success_url=f"{live_server.url}/",
                                      cancel_url=f"{live_server.url}/")
    phone.goto(started.checkout_url)
    assert "TEST MODE" in phone.locator("main").inner_text()
    assert phone.get_by_role("heading", level=1).inner_text() == "Pay 24.00 EUR"
    assert phone.evaluate(LAYOUT) == []
    phone.screenshot(path=str(artifacts / "payments-sandbox-checkout-phone.png"), full_page=True)
    phone.get_by_role("button", name="Pay 24.00 EUR").click()
    phone.wait_for_url(f"{live_server.url}/")
    assert Payment.objects.get(pk=started.payment.pk).status == Payment.Status.CAPTURED
    assert recorder.names() == ["paid"]
    assert phone.js_errors == []
