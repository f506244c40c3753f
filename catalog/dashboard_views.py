"""Creator dashboard pages for products (mounted under /dashboard/products/): list, create, edit,
variants and their stock. Thin: forms parse, catalog.services decides."""
from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from microstage.errors import ServiceError
from microstage.models import EDIT_ROLES
from microstage.views import form_errors, team_page

from . import selectors, services
from .models import Product


class ProductForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), max_length=5000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    kind = forms.ChoiceField(label=_("Kind"), choices=Product.Kind.choices,
                             help_text=_("Digital products deliver a file on payment."))
    price = forms.DecimalField(label=_("Price"), min_value=0, max_value=100000, max_digits=10, decimal_places=2,
                               widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))
    currency = forms.RegexField(r"^[A-Za-z]{3}$", label=_("Currency"), max_length=3, error_messages={
        "invalid": _("Use a three-letter currency code like EUR.")})
    stock = forms.IntegerField(label=_("Stock"), min_value=0, max_value=services.PRODUCT_MAX_STOCK, required=False,
                               initial=0,
                               help_text=_("Units you can sell (add sizes or colours as variants after saving)."))
    image = forms.FileField(label=_("Image"), required=False, help_text=_("Square JPEG, PNG or WebP, up to 5 MB."))
    digital_file = forms.FileField(required=False, label=_("File"),
                                   help_text=_("Digital products: the file buyers get."))
    is_active = forms.BooleanField(required=False, initial=True, label=_("On sale in the shop"))
    made_to_order = forms.BooleanField(
        required=False, label=_("Made to order"),
        help_text=_("Made after it is ordered. Otherwise a group-buy of it holds units of its stock until it settles, "
                    "so it never sells more than you have."))

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()


class VariantForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60, help_text=_("e.g. “M / black”."))
    sku = forms.CharField(max_length=60, required=False, label=_("SKU"))
    price = forms.DecimalField(label=_("Price"), min_value=0, max_value=100000, max_digits=10, decimal_places=2,
                               required=False, help_text=_("Empty: the product's price."))
    stock = forms.IntegerField(label=_("Stock"), min_value=0, max_value=services.PRODUCT_MAX_STOCK)


def _product(request, product_id) -> Product:
    product = Product.objects.filter(pk=product_id, creator=request.creator).first()
    if product is None:
        raise Http404("No such product.")
    return product


def _status(form) -> int:
    return 400 if form.errors else 200


@team_page(roles=EDIT_ROLES)
def product_list(request):
    products = selectors.products_with_stock(Product.objects.filter(creator=request.creator).order_by("name"))
    return render(request, "commerce/dashboard/products.html", {"products": products, "creator": request.creator})


@team_page(roles=EDIT_ROLES)
def product_new(request):
    from django.conf import settings

    form = ProductForm(request.POST or None, request.FILES or None,
                       initial={"currency": settings.DEFAULT_CURRENCY, "kind": Product.Kind.PHYSICAL, "stock": 0})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            product = services.create_product(
                creator=request.creator, actor=request.user, name=data["name"], description=data["description"],
                kind=data["kind"], price=data["price"], currency=data["currency"], stock=data["stock"] or 0,
                image=data["image"], digital_file=data["digital_file"], made_to_order=data["made_to_order"])
            if not data["is_active"]:
                services.update_product(product, actor=request.user, is_active=False)
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("“%(name)s” added.") % {"name": product.name})
            return redirect("dash-product", product.pk)
    return render(request, "commerce/dashboard/product_form.html", {"form": form, "product": None},
                  status=_status(form))


@team_page(roles=EDIT_ROLES)
def product_edit(request, product_id):
    product = _product(request, product_id)
    form = ProductForm(request.POST or None, request.FILES or None, initial={
        "name": product.name, "description": product.description, "kind": product.kind, "price": product.price,
        "currency": product.currency, "is_active": product.is_active, "made_to_order": product.made_to_order})
    form.fields.pop("stock")
    variant_form = VariantForm()
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v is not None or k in ("image", "digital_file")}
        try:
            services.update_product(product, actor=request.user, **data)
        except ServiceError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("dash-product", product.pk)
    return _edit_page(request, product, form, variant_form, _status(form))


def _edit_page(request, product, form, variant_form, status=200):
    product = selectors.products_with_stock(Product.objects.filter(pk=product.pk))[0]
    return render(request, "commerce/dashboard/product_form.html", {
        "form": form, "product": product, "variant_form": variant_form,
        "shop_url": reverse("creator-shop", args=[request.creator.slug])}, status=status)


@team_page(roles=EDIT_ROLES)
def variant_save(request, product_id, variant_id=None):
    product = _product(request, product_id)
    if request.method != "POST":
        return redirect("dash-product", product.pk)
    variant_form = VariantForm(request.POST)
    if variant_form.is_valid():
        try:
            services.save_variant(product, variant_id=variant_id, actor=request.user, **variant_form.cleaned_data)
        except ServiceError as exc:
            form_errors(variant_form, exc)
        else:
            messages.success(request, _("Variant saved."))
            return redirect(reverse("dash-product", args=[product.pk]) + "#variants")
    form = ProductForm(initial={"name": product.name, "description": product.description, "kind": product.kind,
                                "price": product.price, "currency": product.currency, "is_active": product.is_active,
                                "made_to_order": product.made_to_order})
    form.fields.pop("stock")
    return _edit_page(request, product, form, variant_form, 400)
