"""The watch page's tip form (payouts/views.py takes it): shown, posted, thanked."""
from django.test import Client

from commerce.models import Order
from payouts.models import Tip
from events.tests.factories import EventFactory
from microstage.tests.factories import UserFactory


def test_watch_page_tip_form_to_thank_you(db, settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    event = EventFactory()
    url = f"/e/{event.slug}/watch/"
    anonymous = Client().get(url)
    assert anonymous.status_code == 200 and "to tip" in anonymous.content.decode()
    client = Client()
    client.force_login(UserFactory())
    html = client.get(url).content.decode()
    assert f'action="/tips/{event.creator_id}/"' in html and 'name="custom_amount"' in html
    answer = client.post(f"/tips/{event.creator_id}/", {"amount": "5.00", "event": event.pk, "next": url,
                                                        "message": "Bravo"})
    client.post(answer["Location"], {"outcome": "pay"})
    order = Order.objects.get()
    assert order.status == "paid" and Tip.objects.get().event_id == event.pk
    thanks = client.get(f"{url}?tipped={order.pk}").content.decode()
    assert "Thank you for your tip" in thanks
