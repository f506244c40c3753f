"""Dashboard forms for events and ticket tiers: times typed in the event's own timezone."""
import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.urls import reverse_lazy
from django.utils.translation import gettext, gettext_lazy as _

from microstage.forms import validate_image

from .models import Event, TicketTier

MAX_COVER_BYTES = 5 * 1024 * 1024
MAX_COVER_SIDE = 6000
MIN_COVER_WIDTH, MIN_COVER_HEIGHT = 320, 160
MAX_PRICE = Decimal("100000")
MAX_QUANTITY = 100000
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


@lru_cache(maxsize=1)
def timezone_choices() -> list[tuple[str, str]]:
    names = sorted(n for n in zoneinfo.available_timezones() if "/" in n or n == "UTC")
    return [(n, n.replace("_", " ")) for n in names]


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock time without a zone: the form attaches the event's timezone, never the server's."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_FORMAT)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        value = str(value).strip()
        for fmt in (LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
            try:
                return datetime.strptime(value, fmt)  # made aware with the event's zone in clean()
            except ValueError:
                continue
        raise ValidationError(gettext("Enter a date and time, like 2025-06-21 19:30."), code="invalid")

    def prepare_value(self, value):
        return value  # already local to the event: no conversion to the server's zone


def as_local(value: datetime | None, tz: zoneinfo.ZoneInfo) -> datetime | None:
    """An aware datetime as the naive wall-clock time in `tz` (for the form's initial values)."""
    return value.astimezone(tz).replace(tzinfo=None) if value else None


def attach_zone(form: forms.Form, name: str, tz: zoneinfo.ZoneInfo) -> None:
    """Make the naive value of field `name` aware in `tz`, refusing times a clock change skips."""
    value = form.cleaned_data.get(name)
    if value is None:
        return
    aware = value.replace(tzinfo=tz)
    if aware.astimezone(zoneinfo.ZoneInfo("UTC")).astimezone(tz).replace(tzinfo=None) != value:
        form.add_error(
            name, gettext("This time does not exist in %(zone)s (the clocks change then).") % {"zone": tz.key}
        )
        form.cleaned_data.pop(name, None)
        return
    form.cleaned_data[name] = aware


def check_cover(upload):
    """The cover re-encoded (microstage.uploads), or ValidationError when it will not do as a cover."""
    image = validate_image(upload, max_bytes=MAX_COVER_BYTES, max_side=MAX_COVER_SIDE)
    w, h = image.image_size
    if w < MIN_COVER_WIDTH or h < MIN_COVER_HEIGHT:
        raise ValidationError(
            gettext(
                "The cover is too small (%(w)s×%(h)s); use at least %(min_cover_width)s×%(min_cover_height)s "
                "pixels — 1200×630 looks best."
            )
            % {"w": w, "h": h, "min_cover_width": MIN_COVER_WIDTH, "min_cover_height": MIN_COVER_HEIGHT}
        )
    if max(w, h) > 8 * min(w, h):
        raise ValidationError(gettext("The cover is too narrow; use a landscape image such as 1200×630."))
    return image


class EventForm(forms.Form):
    title = forms.CharField(max_length=140)
    description = forms.CharField(
        max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Markdown: **bold**, *italic*, lists with “- ”, links as [text](https://…). "
                  "Images and scripts are removed."))
    cover = forms.FileField(
        required=False, widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text=_("JPEG, PNG or WebP, up to 5 MB, at least 320×160 pixels; 1200×630 looks best."))
    timezone = forms.ChoiceField(choices=timezone_choices, help_text=_("Start and end are in this timezone."))
    starts_at = LocalDateTimeField(label=_("Starts"))
    ends_at = LocalDateTimeField(label=_("Ends"))
    language = forms.ChoiceField(choices=settings.LANGUAGES, label=_("Language"), required=False,
                                 help_text=_("The event page is in this language for visitors who have not "
                                             "chosen one; everyone can switch in the footer."))
    mode = forms.ChoiceField(choices=Event.Mode.choices, label=_("Format"), widget=forms.RadioSelect)
    venue_name = forms.CharField(max_length=120, required=False, label=_("Venue name"))
    venue_address = forms.CharField(max_length=255, required=False, label=_("Address"))
    venue_lat = forms.FloatField(required=False, min_value=-90, max_value=90, label=_("Latitude"),
                                 widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
                                 help_text=_("Lets people find the show near them, e.g. 52.4875."))
    venue_lng = forms.FloatField(required=False, min_value=-180, max_value=180, label=_("Longitude"),
                                 widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
                                 help_text="e.g. 13.4297.")
    venue_capacity = forms.IntegerField(required=False, min_value=1, max_value=MAX_QUANTITY, label=_("Room capacity"),
                                        help_text=_("Caps all in-person tickets together."))
    visibility = forms.ChoiceField(choices=Event.Visibility.choices, widget=forms.RadioSelect,
                                   help_text=_("Unlisted events are only found through their link."))
    members_only = forms.BooleanField(required=False, label=_("Members only"),
                                      help_text=_("Only your members (on a plan with members-only events) and your "
                                                "team see it; only members can buy tickets."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Live preview of the safe rendering (htmx); without JavaScript the saved text is previewed.
        self.fields["description"].widget.attrs.update({
            "hx-post": reverse_lazy("dash-markdown-preview"), "hx-trigger": "input changed delay:400ms",
            "hx-target": "#description-preview", "hx-swap": "innerHTML", "aria-controls": "description-preview"})

    def clean_cover(self):
        cover = self.cleaned_data.get("cover")
        if cover:  # False means "remove the cover", None means "keep it"
            return check_cover(cover)
        return cover

    def clean(self):
        data = super().clean()
        tz_name = data.get("timezone")
        if tz_name:
            tz = zoneinfo.ZoneInfo(tz_name)
            attach_zone(self, "starts_at", tz)
            attach_zone(self, "ends_at", tz)
        start, end = data.get("starts_at"), data.get("ends_at")
        if start and end:
            if end <= start:
                self.add_error("ends_at", gettext("The end must be after the start."))
            elif end - start > timedelta(days=14):
                self.add_error("ends_at", gettext("An event lasts at most 14 days."))
        lat, lng = data.get("venue_lat"), data.get("venue_lng")
        if (lat is None) != (lng is None):
            self.add_error(
                "venue_lng" if lng is None else "venue_lat", gettext("Give both latitude and longitude, or neither.")
            )
        return data

    def service_fields(self) -> dict:
        """The cleaned values as the events service takes them."""
        data = {k: v for k, v in self.cleaned_data.items() if k != "cover"}
        if not data.get("language"):  # not sent: the event keeps its language (a new one gets the default)
            data.pop("language", None)
        for key in ("venue_name", "venue_address", "description", "title"):
            data[key] = (data.get(key) or "").strip()
        cover = self.cleaned_data.get("cover")
        if cover is False:
            data["cover"] = ""
        elif cover:
            data["cover"] = cover
        return data

    @classmethod
    def initial_for(cls, event: Event) -> dict:
        tz = event.tz
        initial = {f: getattr(event, f) for f in ("title", "description", "timezone", "language", "mode", "venue_name",
                                                  "venue_address", "venue_lat", "venue_lng", "venue_capacity",
                                                  "visibility", "cover", "members_only")}
        initial.update(starts_at=as_local(event.starts_at, tz), ends_at=as_local(event.ends_at, tz))
        return initial


class TierForm(forms.Form):
    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(choices=TicketTier.Kind.choices,
                             help_text=_("“Stream only” tickets do not take a place in the room."))
    description = forms.CharField(max_length=280, required=False)
    price = forms.DecimalField(min_value=0, max_value=MAX_PRICE, max_digits=10, decimal_places=2,
                               widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
                               help_text=_("0 makes the ticket free."))
    currency = forms.CharField(min_length=3, max_length=3, validators=[RegexValidator(
        r"^[A-Za-z]{3}$", _("Use a three-letter currency code like EUR."))],
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 3}))
    quantity = forms.IntegerField(
        min_value=0, max_value=MAX_QUANTITY, help_text=_("How many tickets of this tier exist.")
    )
    max_per_order = forms.IntegerField(min_value=1, max_value=100, initial=10, label=_("Per-order limit"))
    sales_start = LocalDateTimeField(required=False, label=_("Sales start"),
                                     help_text=_("Empty: on sale as soon as the event is published."))
    sales_end = LocalDateTimeField(required=False, label=_("Sales end"), help_text=_("Empty: until the event ends."))
    members_only_until = LocalDateTimeField(required=False, label=_("Members only until"),
                                            help_text=_("Before this time only members can buy this tier."))
    perks = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label=_("Text-only perks"),
                            help_text=_("Shown to buyers as promises; the platform does not enforce them. "
                                      "One per line, up to 20 (each up to 120 characters)."))
    includes_replay = forms.BooleanField(required=False, label=_("Includes the replay"),
                                         help_text=_("Holders watch the replay even when it is sold separately."))
    replay_days = forms.IntegerField(required=False, min_value=1, max_value=3650, label=_("Replay for (days)"),
                                     help_text=_("Days after the show; empty: no end."))
    download_product = forms.ChoiceField(required=False, label=_("Digital download"),
                                         help_text=_("One of your digital products, unlocked with the ticket."))
    merch_discount = forms.DecimalField(required=False, min_value=Decimal("0.01"), max_value=100, decimal_places=2,
                                        label=_("Merch discount during the show (%)"),
                                        help_text=_("Off your products and drops while the show runs."))
    backstage = forms.BooleanField(required=False, label=_("Backstage"),
                                   help_text=_("The door scanner shows a backstage flag for these tickets."))

    PERK_FIELDS = ("includes_replay", "replay_days", "download_product", "merch_discount", "backstage")

    def __init__(self, *args, event: Event, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        from catalog.models import Product

        digital = Product.objects.filter(creator_id=event.creator_id, kind=Product.Kind.DIGITAL, is_active=True)
        self.fields["download_product"].choices = [("", gettext("None"))] + [(p.pk, p.name) for p in digital]
        self.fields["currency"].initial = settings.DEFAULT_CURRENCY
        tz_label = gettext("Times are in the event's timezone (%(zone)s).") % {"zone": event.timezone}
        for name in ("sales_start", "sales_end", "members_only_until"):
            self.fields[name].help_text = f"{self.fields[name].help_text} {tz_label}"

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()

    def clean_perks(self):
        perks = [line.strip() for line in (self.cleaned_data.get("perks") or "").splitlines() if line.strip()]
        if len(perks) > 20:
            raise ValidationError(gettext("At most 20 perks."))
        too_long = [p for p in perks if len(p) > 120]
        if too_long:
            raise ValidationError(gettext("Keep each perk under 120 characters (“%(perk)s…” is longer).")
                                  % {"perk": too_long[0][:30]})
        return perks

    def clean(self):
        data = super().clean()
        for name in ("sales_start", "sales_end", "members_only_until"):
            attach_zone(self, name, self.event.tz)
        start, end = data.get("sales_start"), data.get("sales_end")
        if start and end and end <= start:
            self.add_error("sales_end", gettext("Sales must end after they start."))
        return data

    @classmethod
    def initial_for(cls, tier: TicketTier) -> dict:
        tz = tier.event.tz
        initial = {f: getattr(tier, f) for f in ("name", "kind", "description", "price", "currency", "quantity",
                                                 "max_per_order")}
        initial.update({f: as_local(getattr(tier, f), tz) for f in ("sales_start", "sales_end", "members_only_until")})
        initial["perks"] = "\n".join(tier.perks or [])
        for perk in tier.entitlements.all():
            if perk.kind == "replay":
                initial.update(includes_replay=True, replay_days=perk.days)
            elif perk.kind == "download":
                initial["download_product"] = perk.product_id
            elif perk.kind == "merch_discount":
                initial["merch_discount"] = perk.percent
            elif perk.kind == "backstage":
                initial["backstage"] = True
        return initial

    def service_data(self) -> dict:
        """The tier's fields plus `entitlements` for events.perks.create_tier / update_tier."""
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.PERK_FIELDS}
        specs = []
        if self.cleaned_data.get("includes_replay"):
            specs.append({"kind": "replay", "days": self.cleaned_data.get("replay_days")})
        if self.cleaned_data.get("download_product"):
            specs.append({"kind": "download", "product": self.cleaned_data["download_product"]})
        if self.cleaned_data.get("merch_discount"):
            specs.append({"kind": "merch_discount", "percent": self.cleaned_data["merch_discount"]})
        if self.cleaned_data.get("backstage"):
            specs.append({"kind": "backstage"})
        data["entitlements"] = specs
        return data


class CancelForm(forms.Form):
    confirm = forms.CharField(max_length=200, label=_("Type the event's title to confirm"),
                              widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    reason = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}),
                             label=_("Message to attendees"), help_text=_("Sent with the cancellation email."))

    def __init__(self, *args, event: Event, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event

    def clean_confirm(self):
        typed = " ".join(self.cleaned_data["confirm"].split()).casefold()
        if typed != " ".join(self.event.title.split()).casefold():
            raise ValidationError(gettext("That is not the event's title; nothing was cancelled."))
        return typed


class AttendeeSearchForm(forms.Form):
    q = forms.CharField(max_length=100, required=False, label=_("Search attendees"),
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, email or id")}))
