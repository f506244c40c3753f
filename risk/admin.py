"""Staff review of risky paid orders: approving delivers them, rejecting refunds them in full
(risk/services.py decides; commerce.services.refund refunds)."""
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from commerce.admin import ReadOnlyMixin
from microstage.errors import ServiceError

from . import services as risk
from .models import RiskReview


class RiskScoreFilter(admin.SimpleListFilter):
    title = _("score")
    parameter_name = "score_band"
    BANDS = {"70-84": (70, 84), "85-94": (85, 94), "95-100": (95, 100), "below-70": (0, 69)}

    def lookups(self, request, model_admin):
        return [(k, k.replace("-", "–")) for k in self.BANDS]

    def queryset(self, request, queryset):
        band = self.BANDS.get(self.value() or "")
        return queryset.filter(score__gte=band[0], score__lte=band[1]) if band else queryset


@admin.register(RiskReview)
class RiskReviewAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["order", "score", "status", "order_email", "order_total", "created_at", "decided_by",
                    "decided_at"]
    list_filter = ["status", RiskScoreFilter, "created_at", "decided_at"]
    search_fields = ["order__id", "order__email", "order__buyer__email"]
    list_select_related = ["order", "decided_by"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    actions = ["approve_reviews", "reject_reviews"]

    @admin.display(description=_("Email"), ordering="order__email")
    def order_email(self, obj):
        return obj.order.email

    @admin.display(description=_("Total"))
    def order_total(self, obj):
        return f"{obj.order.total} {obj.order.currency}"

    def _decide(self, request, queryset, decide, verb):
        done, failed = [], []
        for review in queryset.order_by("created_at"):
            try:
                decide(review.pk, actor=request.user)
            except ServiceError as exc:
                failed.append(f"{review.order_id}: {exc.detail}")
            else:
                done.append(review.order_id)
        if done:
            self.message_user(request, f"{verb} {len(done)}: {', '.join(done)}.", messages.SUCCESS)
        if failed:
            self.message_user(request, gettext("%(count)d not changed — %(problems)s")
                              % {"count": len(failed), "problems": "; ".join(failed)}, messages.ERROR)

    @admin.action(description=_("Approve selected orders (release them)"), permissions=["change"])
    def approve_reviews(self, request, queryset):
        self._decide(request, queryset, risk.approve, gettext("Approved"))

    @admin.action(description=_("Reject selected orders (refund them in full)"), permissions=["change"])
    def reject_reviews(self, request, queryset):
        self._decide(request, queryset, risk.reject, gettext("Rejected and refunded"))
