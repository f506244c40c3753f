"""Admin for consent forms, holders' answers and "notify me" requests."""
from django.contrib import admin

from .models import ConsentAnswers, ConsentForm, NotifyRequest


@admin.register(ConsentForm)
class ConsentFormAdmin(admin.ModelAdmin):
    list_display = ["event", "question_count", "updated_at"]
    search_fields = ["event__title", "event__slug", "event__id"]
    autocomplete_fields = ["event"]
    readonly_fields = ["updated_at"]

    @admin.display(description="Questions")
    def question_count(self, obj):
        return len(obj.questions or [])


@admin.register(ConsentAnswers)
class ConsentAnswersAdmin(admin.ModelAdmin):
    list_display = ["ticket", "holder_email", "answers", "submitted_at", "updated_at"]
    search_fields = ["holder_email", "ticket__id", "ticket__event__title"]
    list_filter = ["submitted_at"]
    list_select_related = ["ticket", "ticket__tier"]
    raw_id_fields = ["ticket"]
    readonly_fields = ["submitted_at", "updated_at"]


@admin.register(NotifyRequest)
class NotifyRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "drop", "tier", "created_at", "notified_at"]
    list_filter = [("notified_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["user__email", "drop__id", "tier__id", "tier__event__title", "drop__event__title"]
    list_select_related = ["user", "drop", "drop__product", "drop__event", "tier", "tier__event"]
    raw_id_fields = ["user", "drop", "tier"]
    readonly_fields = ["created_at"]
