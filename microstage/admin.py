"""Admin for users, creators, team roles and invitations."""
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import Count
from django.utils.translation import ngettext, gettext_lazy as _

from .models import Creator, Invitation, TeamMembership, User


class TeamInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["-date_joined"]
    list_display = ["email", "display_name", "is_active", "is_staff", "creator_count", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser", "date_joined"]
    search_fields = ["email", "display_name", "id"]
    readonly_fields = ["id", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["id", "email", "password"]}),
        ("Profile", {"fields": ["display_name", "language"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_creators=Count("team_roles"))

    @admin.display(description=_("Creators"), ordering="_creators")
    def creator_count(self, obj):
        return obj._creators


@admin.register(Creator)
class CreatorAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "team_size", "created_at"]
    search_fields = ["name", "slug", "id", "team__user__email"]
    list_filter = ["created_at"]
    readonly_fields = ["id", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [TeamInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_team=Count("team", distinct=True))

    @admin.display(description=_("Team"), ordering="_team")
    def team_size(self, obj):
        return obj._team


@admin.register(TeamMembership)
class TeamMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "creator", "role", "created_at"]
    list_filter = ["role", "created_at"]
    search_fields = ["user__email", "creator__name", "creator__slug"]
    autocomplete_fields = ["user", "creator"]
    list_select_related = ["user", "creator"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "creator", "role", "status", "invited_by", "created_at", "expires_at"]
    list_filter = ["status", "role", "created_at"]
    search_fields = ["email", "creator__name", "creator__slug"]
    list_select_related = ["creator", "invited_by"]
    readonly_fields = ["id", "token", "created_at", "accepted_at", "accepted_by"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke selected invitations"))
    def revoke(self, request, queryset):
        n = queryset.filter(status=Invitation.Status.PENDING).update(status=Invitation.Status.REVOKED)
        self.message_user(request, ngettext("%(count)s invitation revoked.", "%(count)s invitations revoked.", n)
                          % {"count": n})

from .payments import admin as payments_admin  # noqa: E402,F401  (registers Payment and ProcessedEvent)
from .notifications import admin as notifications_admin  # noqa: E402,F401  (registers Notification and preferences)
