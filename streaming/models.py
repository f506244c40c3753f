"""Live streams, recordings, clips and chat."""
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

from events.models import Event
from microstage.ids import PublicIdField


@deconstructible
class StreamKey:
    """A secret stream key: long, random and URL-safe ("live_…")."""

    def __init__(self, prefix: str = "live"):
        self.prefix = prefix

    def __call__(self) -> str:
        return f"{self.prefix}_{secrets.token_urlsafe(24)}"

    def __eq__(self, other):
        return isinstance(other, StreamKey) and other.prefix == self.prefix


class LiveStream(models.Model):
    """An event's live stream: its secret ingest keys, what is being published, and its health."""

    class Status(models.TextChoices):
        IDLE = "idle", _("Not live")
        LIVE = "live", _("Live")
        ENDED = "ended", _("Ended")

    id = PublicIdField("str")
    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="stream")
    stream_key = models.CharField(max_length=64, unique=True, default=StreamKey("live"))
    backup_key = models.CharField(max_length=64, unique=True, default=StreamKey("backup"))
    # The team's private test ingest: always open (days before the show too), transcoded, shown only in
    # the control room, never to attendees.
    test_key = models.CharField(max_length=64, unique=True, default=StreamKey("test"))
    key_rotated_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.IDLE, db_index=True)
    is_free = models.BooleanField(default=False, help_text=_("Everyone may watch, ticket or not."))
    rehearsal_minutes = models.PositiveIntegerField(default=120, validators=[MaxValueValidator(24 * 60)],
                                                    help_text=_("Publishing is allowed this long before the start."))
    publishing_key = models.CharField(max_length=8, blank=True, help_text=_("Which key is publishing: main/backup."))
    publishing_since = models.DateTimeField(null=True, blank=True)
    publisher_addr = models.CharField(max_length=64, blank=True)
    slow_mode_seconds = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(3600)])
    health = models.JSONField(default=dict, blank=True,
                              help_text=_("Last measured bitrate, fps, keyframe interval and dropped frames."))
    health_at = models.DateTimeField(null=True, blank=True)
    peak_viewers = models.PositiveIntegerField(default=0)
    program_mode = models.CharField(max_length=12, default="live", choices=[
        ("live", _("Live")), ("audio_only", _("Audio only")), ("slate", _("Standby slate"))],
                                    help_text=_("What viewers are switched to from the control room."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Stream of {self.event}"


class StreamIncident(models.Model):
    """Trouble with a stream (low input bitrate, dropped frames, the encoder gone, a failed preflight)
    from when it was seen until it cleared. The team is told once per incident."""

    class Kind(models.TextChoices):
        LOW_BITRATE = "low_bitrate", _("Input bitrate too low")
        DROPPED_FRAMES = "dropped_frames", _("Dropping frames")
        ENCODER_GONE = "encoder_gone", _("Encoder gone")
        PREFLIGHT = "preflight_failed", _("Preflight check failed")

    id = PublicIdField("inc")
    stream = models.ForeignKey(LiveStream, on_delete=models.CASCADE, related_name="incidents")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["stream", "kind"], condition=models.Q(resolved_at__isnull=True),
                                               name="one_open_incident_per_kind")]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.stream}"


def captions_path(instance, filename: str) -> str:
    """Captions live under captions/ (never served as public media: only through the playback tokens)."""
    return f"captions/{instance.pk}/{secrets.token_hex(8)}.vtt"


class Recording(models.Model):
    """A recording of a stream (or an uploaded file when the live stream failed), kept for the replay."""

    class Source(models.TextChoices):
        LIVE = "live", _("Live ingest")
        FILE = "file", _("Go live from a file")
        UPLOAD = "upload", _("Uploaded recording")
        TEST = "test", _("Private test ingest (team only)")

    class Status(models.TextChoices):
        RECORDING = "recording", _("Recording")
        PROCESSING = "processing", _("Processing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    id = PublicIdField("rec")
    stream = models.ForeignKey(LiveStream, on_delete=models.CASCADE, related_name="recordings")
    source = models.CharField(max_length=8, choices=Source.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECORDING)
    file = models.CharField(max_length=500, blank=True, help_text=_("Storage path of the kept recording."))
    hls_prefix = models.CharField(max_length=500, blank=True, help_text=_("Storage prefix of its HLS renditions."))
    duration_seconds = models.FloatField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    captions = models.FileField(upload_to=captions_path, max_length=300, blank=True,
                                help_text="WebVTT captions the team uploaded (served with the video's token).")
    captions_language = models.CharField(max_length=16, blank=True, help_text="BCP 47 language of the captions.")
    captions_label = models.CharField(max_length=60, blank=True, help_text="The captions' name in the player's menu.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_source_display()} recording of {self.stream.event}"


class Clip(models.Model):
    """A moment cut from a recording, with its own access rule."""

    class Access(models.TextChoices):
        PUBLIC = "public", _("Everyone")
        TICKET_HOLDERS = "ticket_holders", _("Ticket holders")
        MEMBERS = "members", _("Members")
        BUYERS = "buyers", _("Buyers")

    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    id = PublicIdField("clp")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="clips")
    recording = models.ForeignKey(Recording, on_delete=models.CASCADE, related_name="clips")
    title = models.CharField(max_length=120)
    start_seconds = models.FloatField(validators=[MinValueValidator(0)])
    end_seconds = models.FloatField(validators=[MinValueValidator(0)])
    access = models.CharField(max_length=16, choices=Access.choices, default=Access.TICKET_HOLDERS)
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True,
                                validators=[MinValueValidator(0)],
                                help_text=_("Anyone may also buy the clip alone at this price (empty: not for sale)."))
    currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROCESSING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    file = models.CharField(max_length=500, blank=True)
    thumbnail = models.CharField(max_length=500, blank=True)
    duration = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    captions = models.FileField(upload_to=captions_path, max_length=300, blank=True,
                                help_text="WebVTT captions the team uploaded (served with the video's token).")
    captions_language = models.CharField(max_length=16, blank=True, help_text="BCP 47 language of the captions.")
    captions_label = models.CharField(max_length=60, blank=True, help_text="The captions' name in the player's menu.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(end_seconds__gt=F("start_seconds")),
                                              name="clip_ends_after_start")]

    def __str__(self):
        return self.title


class ChatMessage(models.Model):
    """A chat message in an event's room, kept so late joiners and moderators see the history."""

    id = PublicIdField("msg")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="chat_messages")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_messages")
    text = models.CharField(max_length=500)
    sent_at = models.DateTimeField(auto_now_add=True, db_index=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["sent_at"]
        indexes = [models.Index(fields=["event", "sent_at"], name="chat_event_time_idx")]

    def __str__(self):
        return f"{self.user}: {self.text[:40]}"


class ChatMute(models.Model):
    """A person a moderator silenced in one event's chat, until a time."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="chat_mutes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    until = models.DateTimeField()
    muted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="one_mute_per_event_user")]

    def __str__(self):
        return f"{self.user} muted in {self.event} until {self.until:%H:%M}"


class ReplayOffer(models.Model):
    """An event's replay for sale on its own. While one is active, the replay is for its buyers, ticket holders
    whose tier includes the replay, members whose plan includes replays, and the team (not every ticket holder)."""

    id = PublicIdField("rpo")
    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="replay_offer")
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(price__gt=0), name="replay_price_positive")]

    def __str__(self):
        return f"Replay of {self.event} at {self.price} {self.currency}"


class ContentAccess(models.Model):
    """A bought replay or clip: issued when its order line is paid, void when refunded."""

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        VOID = "void", _("Void")

    id = PublicIdField("cac")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="content_access")
    clip = models.ForeignKey(Clip, null=True, blank=True, on_delete=models.CASCADE, related_name="purchases",
                             help_text=_("Empty: the whole replay."))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    email = models.EmailField(max_length=254, help_text=_("A guest's access follows their verified email."))
    order_line = models.OneToOneField("commerce.OrderLine", on_delete=models.PROTECT, related_name="content_access")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.VALID, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["email"], name="content_access_email_idx")]

    def __str__(self):
        return f"{self.clip or 'Replay'} for {self.email}"
