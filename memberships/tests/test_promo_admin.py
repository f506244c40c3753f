"""Staff see promo and partner codes in the admin with their uses, and can switch codes off."""
import pytest
from django.urls import reverse

from memberships import promos
from memberships.models import PromoCode
from microstage.tests.factories import CreatorFactory, UserFactory
from microstage.permissions import SYSTEM

pytestmark = pytest.mark.django_db


def test_codes_list_search_detail_and_switch_off(client):
    creator = CreatorFactory()
    radio = promos.create_promo_code(creator=creator, code="RADIO5", kind="partner", partner="Late Night Radio",
                                     amount_off="5.00", currency="EUR", actor=SYSTEM)
    spring = promos.create_promo_code(creator=creator, code="SPRING10", percent_off="10", max_uses=100, actor=SYSTEM)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:memberships_promocode_changelist")
    page = client.get(url, {"q": "Late Night"}).content.decode()
    assert "RADIO5" in page and "SPRING10" not in page
    assert client.get(reverse("admin:memberships_promocode_change", args=[radio.pk])).status_code == 200
    r = client.post(url, {"action": "switch_off", "_selected_action": [spring.pk]}, follow=True)
    assert r.status_code == 200 and "1 code switched off." in r.content.decode()
    assert list(PromoCode.objects.filter(is_active=True).values_list("code", flat=True)) == ["RADIO5"]
