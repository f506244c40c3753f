"""Demo data: accounts and a creator, plus whatever each app's `demo.py` registers."""
from collections.abc import Callable

from django.db import transaction

from .models import Creator, Role, TeamMembership, User
from .services import create_creator

PASSWORD = "microstage-demo"
CREATOR_EMAIL = "creator@demo.microstage.dev"
DOOR_EMAIL = "door@demo.microstage.dev"
FAN_EMAIL = "fan@demo.microstage.dev"
FAN_PHONE = "+447700900123"  # a number reserved for fiction; SMS goes to the console backend in development
ADMIN_EMAIL = "admin@demo.microstage.dev"
CREATOR_SLUG = "night-owls"

# Apps above the platform append loaders here from their demo.py; each gets the shared context.
LOADERS: list[Callable[[dict], None]] = []


def register(loader: Callable[[dict], None]) -> Callable[[dict], None]:
    if loader not in LOADERS:
        LOADERS.append(loader)
    return loader


def _user(email: str, name: str, **extra) -> User:
    from allauth.account.models import EmailAddress

    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=PASSWORD, display_name=name, **extra)
        EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    return user


@transaction.atomic
def load_platform() -> dict:
    owner = _user(CREATOR_EMAIL, "Mara Quinn")
    door = _user(DOOR_EMAIL, "Sam at the door")
    fan = _user(FAN_EMAIL, "Alex Fan")
    _user(ADMIN_EMAIL, "Staff", is_staff=True, is_superuser=True)
    creator = Creator.objects.filter(slug=CREATOR_SLUG).first()
    if creator is None:
        creator = create_creator(owner=owner, name="Night Owls Collective", slug=CREATOR_SLUG,
                                 bio="Intimate late-night sets, streamed live from a 60-seat room.")
    TeamMembership.objects.get_or_create(creator=creator, user=door, defaults={"role": Role.DOOR})
    _sms_fan(fan)
    return {"owner": owner, "door": door, "fan": fan, "creator": creator}


def _sms_fan(fan: User) -> None:
    """The demo fan wants messages that matter by SMS too, on a phone number already confirmed."""
    from django.utils import timezone

    from .notifications.models import NotificationPreference

    NotificationPreference.objects.get_or_create(user=fan, defaults={
        "email": True, "sms": True, "phone": FAN_PHONE, "phone_confirmed_at": timezone.now()})
