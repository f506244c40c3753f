"""Staff views of payments and handled confirmations (read-only: money moves only through services)."""
from django.contrib import admin

from .models import Payment, ProcessedEvent


class ProcessedEventInline(admin.TabularInline):
    model = ProcessedEvent
    extra = 0
    can_delete = False
    fields = ("provider", "event_id", "kind", "processed_at")
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "purpose", "reference", "amount", "currency", "status", "provider",
                    "captured_amount", "refunded_amount")
    list_filter = ("status", "provider", "purpose", "capture_method", "currency")
    search_fields = ("id", "reference", "provider_reference", "checkout_session", "subscription", "invoice",
                     "customer")
    date_hierarchy = "created_at"
    inlines = [ProcessedEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "provider", "kind", "payment", "processed_at")
    list_filter = ("provider", "kind")
    search_fields = ("event_id", "payment__id")
    list_select_related = ("payment",)
    readonly_fields = ("provider", "event_id", "kind", "payment", "processed_at")

    def has_add_permission(self, request):
        return False
