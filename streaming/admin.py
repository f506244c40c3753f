"""Admin for live streams, recordings, clips and chat (with moderation actions)."""
from django.contrib import admin, messages
from django.utils.translation import gettext, ngettext, gettext_lazy as _

from .services import chat, ingest
from .models import ChatMessage, ChatMute, Clip, ContentAccess, LiveStream, Recording, ReplayOffer, StreamIncident
from microstage.permissions import SYSTEM


@admin.register(LiveStream)
class LiveStreamAdmin(admin.ModelAdmin):
    list_display = ["event", "status", "is_free", "publishing_key", "publishing_since", "peak_viewers", "health_at"]
    list_filter = ["status", "is_free"]
    search_fields = ["event__title", "event__slug", "id"]
    list_select_related = ["event"]
    readonly_fields = ["id", "event", "stream_key", "backup_key", "key_rotated_at", "status", "publishing_key",
                       "publishing_since", "publisher_addr", "health", "health_at", "peak_viewers", "created_at",
                       "updated_at"]
    actions = ["rotate_keys"]

    @admin.action(description=_("Rotate the main stream key (the encoder must be updated)"))
    def rotate_keys(self, request, queryset):
        for stream in queryset:
            ingest.rotate_key(stream, actor=SYSTEM)
        self.message_user(request, ngettext("Rotated %(count)s key.", "Rotated %(count)s keys.", queryset.count())
                          % {"count": queryset.count()})


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = ["id", "stream", "source", "status", "progress", "duration_seconds", "created_at"]
    list_filter = ["source", "status", "created_at"]
    search_fields = ["id", "stream__event__title"]
    list_select_related = ["stream__event"]
    readonly_fields = [f.name for f in Recording._meta.fields]


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ["title", "event", "access", "status", "progress", "duration", "created_at"]
    list_filter = ["status", "access", "created_at"]
    search_fields = ["title", "id", "event__title"]
    list_select_related = ["event"]
    readonly_fields = ["id", "event", "recording", "start_seconds", "end_seconds", "status", "progress", "file",
                       "thumbnail", "duration", "error", "created_by", "created_at"]
    fields = ["title", "access", *readonly_fields]


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    list_display = ["sent_at", "event", "user", "text", "deleted_at"]
    list_filter = [("deleted_at", admin.EmptyFieldListFilter), "sent_at"]
    search_fields = ["text", "user__email", "event__title"]
    list_select_related = ["event", "user"]
    readonly_fields = ["id", "event", "user", "text", "sent_at", "deleted_at", "deleted_by"]
    actions = ["hide_messages"]
    date_hierarchy = "sent_at"

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Hide selected messages for everyone"))
    def hide_messages(self, request, queryset):
        for message in queryset.filter(deleted_at__isnull=True):
            chat.hide_chat_message(event_id=message.event_id, message_id=message.pk, actor=request.user)
        self.message_user(request, gettext("Messages hidden."), messages.SUCCESS)


@admin.register(ChatMute)
class ChatMuteAdmin(admin.ModelAdmin):
    list_display = ["user", "event", "until", "muted_by", "created_at"]
    list_filter = ["until"]
    search_fields = ["user__email", "event__title"]
    list_select_related = ["user", "event", "muted_by"]
    autocomplete_fields = ["user"]


@admin.register(ReplayOffer)
class ReplayOfferAdmin(admin.ModelAdmin):
    list_display = ["event", "price", "currency", "is_active", "updated_at"]
    list_filter = ["is_active", "currency"]
    search_fields = ["event__title", "event__id"]
    autocomplete_fields = ["event"]


@admin.register(ContentAccess)
class ContentAccessAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "clip", "email", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["id", "email", "event__title", "order_line__order__id"]
    readonly_fields = ["id", "event", "clip", "user", "email", "order_line", "created_at"]


@admin.register(StreamIncident)
class StreamIncidentAdmin(admin.ModelAdmin):
    list_display = ("kind", "stream", "started_at", "resolved_at", "detail")
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("stream__event__title", "detail")
    list_select_related = ("stream__event",)
    readonly_fields = ("stream", "kind", "detail", "started_at")
