"""Staff admin for products and their variants, at the catalog's addresses; the ones from before the
products left commerce lead there."""
import pytest
from django.contrib.admin.utils import quote  # admin URLs escape "_" in our ids

from catalog.tests.factories import ProductVariantFactory
from microstage.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser(email="staff-c@example.com", password="x-very-long-password-1"))
    return client


def test_product_changelist_and_change_page_with_variants(staff):
    variant = ProductVariantFactory(name="M / black")
    page = staff.get("/admin/catalog/product/", {"q": variant.product.name})
    assert page.status_code == 200 and variant.product.name in page.content.decode()
    change = staff.get(f"/admin/catalog/product/{quote(variant.product.pk)}/change/")
    assert change.status_code == 200 and "M / black" in change.content.decode()


def test_the_admin_address_from_before_the_move_leads_here(client):
    before = "commerce"  # the app label the models had
    response = client.get(f"/admin/{before}/product/?kind__exact=digital")
    assert response.status_code == 308 and response["Location"] == "/admin/catalog/product/?kind__exact=digital"
    response = client.post(f"/admin/{before}/productvariant/var_1/change/")
    assert response.status_code == 308 and response["Location"] == "/admin/catalog/productvariant/var_1/change/"
