"""Dashboard forms for creators and their teams."""
from django import forms
from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

from .models import Role

MAX_AVATAR_BYTES = 2 * 1024 * 1024
MAX_AVATAR_SIDE = 4096


def validate_image(upload, *, max_bytes: int, max_side: int, formats=("JPEG", "PNG", "WEBP")) -> None:
    """Reject what is not really an image of an accepted type and size (checked with Pillow)."""
    if upload.size > max_bytes:
        raise ValidationError(f"The image is too large (at most {max_bytes // (1024 * 1024)} MB).")
    try:
        upload.seek(0)
        with Image.open(upload) as img:
            fmt, (w, h) = img.format, img.size
            img.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationError("This file is not an image we can read (use JPEG, PNG or WebP).") from exc
    finally:
        upload.seek(0)
    if fmt not in formats:
        raise ValidationError("Use a JPEG, PNG or WebP image.")
    if w > max_side or h > max_side or w < 32 or h < 32:
        raise ValidationError(f"The image must be between 32 and {max_side} pixels on each side.")


class CreatorForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.SlugField(max_length=60, required=False,
                           help_text="Your page's address. Leave empty to make one from the name.")
    bio = forms.CharField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 4}))


class CreatorSettingsForm(forms.Form):
    name = forms.CharField(max_length=120)
    bio = forms.CharField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 5}))
    avatar = forms.FileField(required=False, help_text="Square JPEG, PNG or WebP, up to 2 MB.")

    def clean_avatar(self):
        avatar = self.cleaned_data.get("avatar")
        if avatar:
            validate_image(avatar, max_bytes=MAX_AVATAR_BYTES, max_side=MAX_AVATAR_SIDE)
        return avatar


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in (Role.MANAGER, Role.DOOR, Role.MODERATOR)])


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in (Role.MANAGER, Role.DOOR, Role.MODERATOR)])
