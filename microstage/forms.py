"""Dashboard forms for creators and their teams."""
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Role
from .uploads import ReencodedImage, reencode_image

MAX_AVATAR_BYTES = 2 * 1024 * 1024
MAX_AVATAR_SIDE = 4096


def validate_image(upload, *, max_bytes: int, max_side: int, formats=("JPEG", "PNG", "WEBP")) -> ReencodedImage:
    """The upload re-encoded by Pillow (microstage.uploads); ValidationError when it is no accepted image."""
    return reencode_image(upload, max_bytes=max_bytes, max_side=max_side, formats=formats)


class CreatorForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.SlugField(max_length=60, required=False,
                           help_text=_("Your page's address. Leave empty to make one from the name."))
    bio = forms.CharField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 4}))


class CreatorSettingsForm(forms.Form):
    name = forms.CharField(max_length=120)
    bio = forms.CharField(max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 5}))
    avatar = forms.FileField(required=False, help_text=_("Square JPEG, PNG or WebP, up to 2 MB."))

    def clean_avatar(self):
        avatar = self.cleaned_data.get("avatar")
        if avatar:
            return validate_image(avatar, max_bytes=MAX_AVATAR_BYTES, max_side=MAX_AVATAR_SIDE)
        return avatar


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in (Role.MANAGER, Role.DOOR, Role.MODERATOR)])


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in (Role.MANAGER, Role.DOOR, Role.MODERATOR)])
