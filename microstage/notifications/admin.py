"""Admin for notification preferences and the record of every message with its delivery status."""
from django.contrib import admin, messages
from django.utils.translation import ngettext, gettext_lazy as _

from .models import Notification, NotificationPreference
from .services import deliver


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "channel", "address", "status", "fallback", "event_id", "sent_at"]
    list_filter = ["status", "channel", "kind", "fallback", "created_at"]
    search_fields = ["recipient", "address", "event_id", "key", "id", "provider_id"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Notification._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send failed messages again"))
    def retry(self, request, queryset):
        sent = 0
        for record in queryset.filter(status=Notification.Status.FAILED):
            Notification.objects.filter(pk=record.pk, status=Notification.Status.FAILED).update(
                status=Notification.Status.QUEUED, error="")
            sent += deliver(record.pk).status == Notification.Status.SENT
        self.message_user(request, ngettext("%(count)s message sent again.", "%(count)s messages sent again.", sent)
                          % {"count": sent}, messages.SUCCESS)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "sms", "phone", "phone_confirmed_at", "updated_at"]
    list_filter = ["email", "sms"]
    search_fields = ["user__email", "phone"]
    autocomplete_fields = ["user"]
    readonly_fields = ["code_hash", "code_sent_at", "code_attempts", "updated_at"]
