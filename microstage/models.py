"""Users, creators (storefronts) and their teams."""
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .ids import IdFactory, PublicIdField
from .uploads import SafeImageField


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person: attendee, creator team member or staff. The email address is the login."""

    id = PublicIdField("usr")
    email = models.EmailField("email address", max_length=254, unique=True)
    display_name = models.CharField(max_length=80, blank=True)
    # The language pages, emails and messages are in; blank follows the browser (microstage.i18n).
    language = models.CharField(max_length=8, blank=True, default="",
                                choices=[("", _("The browser's language")), *settings.LANGUAGES])
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @property
    def name(self) -> str:
        """What other people see: the display name, or the part of the email before the @."""
        return self.display_name or self.email.split("@", 1)[0]

    def get_full_name(self):
        return self.name

    def get_short_name(self):
        return self.name


class Creator(models.Model):
    """A creator's storefront: the unit that owns events, products and plans."""

    id = PublicIdField("cre")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    bio = models.TextField(blank=True, max_length=4000)
    avatar = SafeImageField(upload_to="creators/avatars/", blank=True)
    stripe_account = models.CharField(
        max_length=64, blank=True, help_text=_("Stripe Connect account (acct_…) that receives this creator's sales.")
    )
    currency = models.CharField(
        max_length=3,
        blank=True,
        help_text=_("ISO 4217 code everything is priced in; set by the first price when empty."),
    )
    multi_currency = models.BooleanField(default=False, help_text=_("May price things in more than one currency."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    DOOR = "door", _("Door")
    MODERATOR = "moderator", _("Moderator")


# What each team role may do; services check these, views never compare role names themselves.
EDIT_ROLES = frozenset({Role.OWNER, Role.MANAGER})
DOOR_ROLES = frozenset({Role.OWNER, Role.MANAGER, Role.DOOR})
MODERATION_ROLES = frozenset({Role.OWNER, Role.MANAGER, Role.MODERATOR})
# Who sees guests' contact details and orders (emails, order ids): the door sees names, tiers and tickets only.
GUEST_DATA_ROLES = EDIT_ROLES


class TeamMembership(models.Model):
    """A user's role on a creator's team ("collaborators"; "member" means a paying fan)."""

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_roles")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["creator", "user"]
        constraints = [models.UniqueConstraint(fields=["creator", "user"], name="one_role_per_creator")]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} of {self.creator}"


def _invitation_expiry():
    return timezone.now() + timedelta(days=14)


class Invitation(models.Model):
    """An emailed invitation to join a creator's team, accepted through a secret link."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REVOKED = "revoked", _("Revoked")

    id = PublicIdField("inv")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=[c for c in Role.choices if c[0] != Role.OWNER])
    token = models.CharField(max_length=64, unique=True, default=IdFactory("tok"), editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["creator", "email"],
                condition=models.Q(status="pending"),
                name="one_pending_invitation_per_email",
            )
        ]

    def __str__(self):
        return f"{self.email} → {self.creator} ({self.role})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at > timezone.now()


# The payments gateway's models live in their own package but belong to this app (one migration history).
from .payments.models import Payment, ProcessedEvent  # noqa: E402,F401
from .notifications.models import Notification, NotificationPreference  # noqa: E402,F401
