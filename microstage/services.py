"""Writes for users, creators and teams: sign-up, storefronts, invitations and roles."""
import re

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.conf import settings
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .errors import Conflict, Forbidden, Invalid, NotFound
from .i18n import language_for_address
from .forms import MAX_AVATAR_BYTES, MAX_AVATAR_SIDE
from .models import EDIT_ROLES, Creator, Invitation, Role, TeamMembership, User
from .permissions import require_role
from .uploads import image_or_invalid

RESERVED_SLUGS = frozenset({"admin", "api", "dashboard", "accounts", "static", "media", "healthz", "new", "e"})


def register_user(*, email: str, password: str, display_name: str = "") -> User:
    """Create an account (the API's register; the web sign-up goes through allauth)."""
    email = User.objects.normalize_email(email or "").strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise Invalid(_("An account with this email already exists."), fields={"email": [_("Already registered.")]},
                      code="invalid")
    candidate = User(email=email, display_name=display_name)
    try:
        password_validation.validate_password(password, user=candidate)
    except ValidationError as exc:
        raise Invalid(_("The password is too weak."), fields={"password": list(exc.messages)}) from exc
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, display_name=display_name)
            _record_email_address(user)
    except IntegrityError as exc:  # a concurrent sign-up with the same email
        raise Invalid(
            _("An account with this email already exists."), fields={"email": [_("Already registered.")]}
        ) from exc
    return user


def _record_email_address(user: User) -> None:
    """Keep allauth's EmailAddress table in step for accounts created outside allauth."""
    from allauth.account.models import EmailAddress

    EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"primary": True, "verified": False})


def unique_slug(base: str) -> str:
    root = slugify(base)[:50].strip("-") or "creator"
    if root in RESERVED_SLUGS:
        root = f"{root}-studio"
    slug, n = root, 2
    while Creator.objects.filter(slug=slug).exists():
        slug = f"{root}-{n}"
        n += 1
    return slug


_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@transaction.atomic
def create_creator(*, owner: User, name: str, slug: str | None = None, bio: str = "") -> Creator:
    """A new storefront; the person who creates it becomes its owner."""
    name = (name or "").strip()
    if not name:
        raise Invalid(_("A creator needs a name."), fields={"name": [_("This field is required.")]})
    if slug:
        slug = slug.strip().lower()
        if not _SLUG_RE.match(slug) or len(slug) > 60:
            raise Invalid(_("Slugs use lower-case letters, digits and single hyphens."),
                          fields={"slug": [_("Use lower-case letters, digits and hyphens (at most 60).")]})
        if slug in RESERVED_SLUGS or Creator.objects.filter(slug=slug).exists():
            raise Invalid(_("This address is taken."), fields={"slug": [_("This slug is already taken.")]})
    else:
        slug = unique_slug(name)
    try:
        with transaction.atomic():
            creator = Creator.objects.create(name=name, slug=slug, bio=bio)
    except IntegrityError as exc:
        raise Invalid(_("This address is taken."), fields={"slug": [_("This slug is already taken.")]}) from exc
    TeamMembership.objects.create(creator=creator, user=owner, role=Role.OWNER)
    return creator


def update_creator(creator: Creator, *, actor, name: str | None = None, bio: str | None = None, avatar=None) -> Creator:
    require_role(actor, creator, EDIT_ROLES)
    if name is not None:
        if not name.strip():
            raise Invalid(_("A creator needs a name."), fields={"name": [_("This field is required.")]})
        creator.name = name.strip()
    if bio is not None:
        creator.bio = bio
    if avatar is not None:
        # Re-encoded whatever the caller checked before: only our own pictures are stored.
        creator.avatar = image_or_invalid(avatar, field="avatar", max_bytes=MAX_AVATAR_BYTES,
                                          max_side=MAX_AVATAR_SIDE) if avatar else avatar
    creator.save()
    return creator


def invite_to_team(*, creator: Creator, actor: User, email: str, role: str) -> Invitation:
    """Invite someone to a creator's team: always an emailed link, whether or not an account exists.

    The answer is the same for a known and an unknown address (nothing tells whether an account
    exists), and no role is granted here: the recipient accepts from the link, logged in to an
    account whose address is verified (accept_invitation). The owner role is never handed out.
    """
    require_role(actor, creator, EDIT_ROLES)
    invited_by = actor
    email = User.objects.normalize_email(email or "").strip().lower()
    if role not in {Role.MANAGER, Role.DOOR, Role.MODERATOR}:
        raise Invalid(_("Unknown role."), fields={"role": [_("Choose manager, door or moderator.")]})
    if TeamMembership.objects.filter(creator=creator, user__email__iexact=email, role=Role.OWNER).exists():
        raise Conflict(_("The owner's role cannot be changed here."), code="conflict")  # the team sees its owner
    with transaction.atomic():
        Invitation.objects.filter(creator=creator, email__iexact=email, status=Invitation.Status.PENDING).update(
            status=Invitation.Status.REVOKED
        )
        invitation = Invitation.objects.create(creator=creator, email=email, role=role, invited_by=invited_by)
    transaction.on_commit(lambda: _notify(email, "microstage/email/invitation",
                                          {"invitation": invitation, "creator": creator, "invited_by": invited_by,
                                           "url": f"{settings.SITE_URL}/invitations/{invitation.token}/"}))
    return invitation


@transaction.atomic
def accept_invitation(*, token: str, user: User) -> TeamMembership:
    """The recipient takes the role: logged in as the invited address, and that address verified."""
    from .selectors import has_verified_email

    invitation = Invitation.objects.select_for_update().filter(token=token).first()
    if invitation is None or not invitation.is_open:
        raise NotFound(_("This invitation is no longer valid."), code="invitation_invalid")
    if invitation.email.lower() != user.email.lower():
        raise Forbidden(
            _("This invitation was sent to %(email)s. Log in with that address to accept it.")
            % {"email": invitation.email}
        )
    if not has_verified_email(user, invitation.email):
        raise Forbidden(
            _("Confirm your email address %(email)s first, then accept the invitation.") % {"email": invitation.email},
            code="email_unverified",
        )
    membership, created = TeamMembership.objects.get_or_create(
        creator=invitation.creator, user=user, defaults={"role": invitation.role}
    )
    if not created and membership.role != Role.OWNER:
        membership.role = invitation.role
        membership.save(update_fields=["role"])
    invitation.status = Invitation.Status.ACCEPTED
    invitation.accepted_by = user
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["status", "accepted_by", "accepted_at"])
    return membership


@transaction.atomic
def change_role(*, creator: Creator, actor: User, membership_id: int, role: str) -> TeamMembership:
    require_role(actor, creator, EDIT_ROLES)
    membership = TeamMembership.objects.select_for_update().filter(pk=membership_id, creator=creator).first()
    if membership is None:
        raise NotFound(_("No such team member."))
    if membership.role == Role.OWNER or role not in {Role.MANAGER, Role.DOOR, Role.MODERATOR}:
        raise Forbidden(_("The owner's role cannot be changed, and nobody else can be made owner here."))
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_from_team(*, creator: Creator, actor: User, membership_id: int) -> None:
    require_role(actor, creator, EDIT_ROLES)
    membership = TeamMembership.objects.select_for_update().filter(pk=membership_id, creator=creator).first()
    if membership is None:
        raise NotFound(_("No such team member."))
    if membership.role == Role.OWNER:
        raise Forbidden(_("The owner cannot be removed from the team."))
    membership.delete()


def revoke_invitation(*, creator: Creator, actor: User, invitation_id: str) -> None:
    require_role(actor, creator, EDIT_ROLES)
    updated = Invitation.objects.filter(pk=invitation_id, creator=creator, status=Invitation.Status.PENDING).update(
        status=Invitation.Status.REVOKED
    )
    if not updated:
        raise NotFound(_("No such pending invitation."))


def _notify(email: str, template: str, context: dict) -> None:
    with translation.override(language_for_address(email)):
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        body = render_to_string(f"{template}.txt", context)
    send_mail(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject, body, None, [email])


def set_account_language(user: User, code: str) -> User:
    """The language of the person's pages and messages; "" follows the browser (microstage.i18n)."""
    value = (code or "").strip()
    allowed = dict(User._meta.get_field("language").choices)
    if value not in allowed:
        raise Invalid("Choose one of the languages offered.", code="invalid_language",
                      fields={"language": ["Choose one of the languages offered."]})
    if user.language != value:
        user.language = value
        user.save(update_fields=["language"])
    return user
