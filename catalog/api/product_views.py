"""API views for products (API.md "Commerce"): create a product, read one (thin: parse, call a service).

JSON for the fields; multipart also works, for an `image` and a digital product's `file`.
"""
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext as _

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import selectors, services
from catalog.models import Product
from microstage.api.parsers import JSONParser
from microstage.api.views import parse
from microstage.errors import NotFound
from microstage.models import EDIT_ROLES
from microstage.permissions import require_role
from microstage.selectors import role_of

MAX_ID_CHARS = 40


class VariantInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    sku = serializers.CharField(max_length=60, required=False, allow_blank=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0, max_value=100000, required=False,
                                     allow_null=True)
    stock = serializers.IntegerField(min_value=0, max_value=services.PRODUCT_MAX_STOCK)


class ProductInSerializer(serializers.Serializer):
    creator = serializers.CharField(max_length=MAX_ID_CHARS)
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0, max_value=100000)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False,
                                      error_messages={"invalid": gettext_lazy("Use a three-letter ISO 4217 code "
                                                                              "like EUR.")})
    kind = serializers.ChoiceField(choices=Product.Kind.choices)
    stock = serializers.IntegerField(min_value=0, max_value=services.PRODUCT_MAX_STOCK, required=False)
    variants = VariantInSerializer(many=True, required=False, max_length=services.PRODUCT_MAX_VARIANTS)
    image = serializers.FileField(required=False)
    file = serializers.FileField(required=False, help_text="The file a digital product delivers.")

    def validate(self, attrs):
        if "stock" not in attrs and not attrs.get("variants"):
            raise serializers.ValidationError({"stock": [_("Give the stock (or variants with their own).")]})
        return attrs


class VariantOutSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    sku = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, source="unit_price")
    stock = serializers.IntegerField()
    available = serializers.IntegerField()


class ProductSerializer(serializers.Serializer):
    id = serializers.CharField()
    creator = serializers.CharField(source="creator_id")
    name = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    is_active = serializers.BooleanField()
    image = serializers.SerializerMethodField()
    has_file = serializers.SerializerMethodField()
    stock = serializers.SerializerMethodField()
    available = serializers.IntegerField()
    variants = VariantOutSerializer(source="variant_list", many=True)

    def get_image(self, product) -> str | None:
        request = self.context.get("request")
        return request.build_absolute_uri(product.image.url) if product.image and request else None

    def get_has_file(self, product) -> bool:
        return bool(product.digital_file)

    def get_stock(self, product) -> int:
        return sum(v.stock for v in product.variant_list)


def product_out(product_id: str, request) -> dict:
    product = selectors.products_with_stock(Product.objects.filter(pk=product_id))[0]
    return ProductSerializer(product, context={"request": request}).data


class ProductListView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request=ProductInSerializer, responses={201: ProductSerializer}, summary="Create a product")
    def post(self, request):
        data = parse(ProductInSerializer, request)
        creator = require_role(request.user, data["creator"], EDIT_ROLES)
        product = services.create_product(
            creator=creator, actor=request.user, name=data["name"], description=data.get("description", ""),
            price=data["price"], currency=data.get("currency", ""), kind=data["kind"], stock=data.get("stock", 0),
            image=data.get("image"), digital_file=data.get("file"),
            variants=[dict(v) for v in data["variants"]] if data.get("variants") else None)
        return Response(product_out(product.pk, request), status=status.HTTP_201_CREATED)


class ProductDetailView(APIView):
    def get_permissions(self):
        return [AllowAny()] if self.request.method in ("GET", "HEAD", "OPTIONS") else [IsAuthenticated()]

    @extend_schema(responses=ProductSerializer, summary="A product with its variants and what is left")
    def get(self, request, product_id):
        product = Product.objects.filter(pk=product_id).first()
        if product is None or (not product.is_active and role_of(request.user, product.creator_id) is None):
            raise NotFound(_("No such product."))
        return Response(product_out(product.pk, request))
