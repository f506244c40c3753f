"""Uploaded files made safe to store and serve: every image re-encoded, every name ours.

An upload is hostile until proven otherwise: a real PNG with HTML appended passes a plain Pillow
check, and a client's file name (`x.html`, `x.png.htm`, `x.svg`) decides how a browser treats the
file when it is served back. So images are decoded and drawn again by Pillow into a fresh file of
a known format (JPEG, PNG or WebP: whatever came in, nothing after the pixels, no metadata) and
stored under a generated name with that format's extension. Other files (a digital product's
download) keep no client name either. `SafeImageField` and `PrivateFileField` apply the same rules
on save for every path that writes those fields (services, forms, the admin).
"""
from __future__ import annotations

import io
import re
import secrets
from pathlib import PurePosixPath

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import models
from django.db.models.fields.files import ImageFieldFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow format -> (extension we store, content type we serve)
IMAGE_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}
IMAGE_EXTENSIONS = {ext for ext, _ in IMAGE_FORMATS.values()}
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_SIDE = 6000
MIN_SIDE = 32
_IMAGE_ERRORS = (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError,
                 EOFError, TypeError, IndexError, KeyError, ZeroDivisionError, MemoryError)


class ReencodedImage(ContentFile):
    """Image bytes drawn by us: `format`, `content_type` and a generated `name` with our extension."""

    def __init__(self, content: bytes, *, fmt: str, size: tuple[int, int]):
        ext, self.content_type = IMAGE_FORMATS[fmt]
        super().__init__(content, name=f"{generated_stem()}.{ext}")
        self.format, self.image_size = fmt, size


def generated_stem() -> str:
    """An unguessable file name without extension (24 random URL-safe characters)."""
    return secrets.token_urlsafe(18)


def _human_size(nbytes: int) -> str:
    return f"{nbytes // (1024 * 1024)} MB"


def reencode_image(upload, *, max_bytes: int = DEFAULT_MAX_BYTES, max_side: int = DEFAULT_MAX_SIDE,
                   min_side: int = MIN_SIDE, formats=tuple(IMAGE_FORMATS)) -> ReencodedImage:
    """The picture in `upload`, decoded and saved again by Pillow; ValidationError when it is not one.

    What comes back holds only pixels: trailing bytes, comments, EXIF (applied to the orientation
    first), colour profiles and further frames are gone. SVG, GIF and anything Pillow cannot read
    are refused. The format is kept (a JPEG stays a JPEG, a PNG keeps its transparency).
    """
    if isinstance(upload, ReencodedImage):
        return upload
    size = getattr(upload, "size", None)
    if size is not None and size > max_bytes:
        raise ValidationError(_("The image is too large (at most %(size)s).") % {"size": _human_size(max_bytes)},
                              code="too_large")
    try:
        upload.seek(0)
        with Image.open(upload) as img:
            fmt, (w, h) = img.format, img.size
            img.verify()
    except _IMAGE_ERRORS as exc:
        raise ValidationError(_("This file is not an image we can read (use JPEG, PNG or WebP)."),
                              code="not_an_image") from exc
    finally:
        upload.seek(0)
    if fmt not in formats or fmt not in IMAGE_FORMATS:
        raise ValidationError(_("Use a JPEG, PNG or WebP image."), code="format")
    if w > max_side or h > max_side or w < min_side or h < min_side:
        raise ValidationError(
            _("The image must be between %(min_side)s and %(max_side)s pixels on each side.")
            % {"min_side": min_side, "max_side": max_side},
            code="dimensions",
        )
    try:
        with Image.open(upload) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            out = io.BytesIO()
            if fmt == "JPEG":
                img.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
            else:
                mode = "RGBA" if img.mode in ("RGBA", "LA", "P", "PA") or "transparency" in img.info else "RGB"
                if fmt == "PNG":
                    img.convert(mode).save(out, "PNG", optimize=True)
                else:
                    img.convert(mode).save(out, "WEBP", quality=88)
            final_size = img.size
    except _IMAGE_ERRORS as exc:
        raise ValidationError(_("This file is not an image we can read (use JPEG, PNG or WebP)."),
                              code="not_an_image") from exc
    finally:
        upload.seek(0)
    return ReencodedImage(out.getvalue(), fmt=fmt, size=final_size)


def image_or_invalid(upload, *, field: str, **limits) -> ReencodedImage:
    """`reencode_image` for services: a refusal becomes `Invalid` naming `field` (a clear 400)."""
    from .errors import Invalid

    try:
        return reencode_image(upload, **limits)
    except ValidationError as exc:
        raise Invalid(exc.messages[0], fields={field: exc.messages}) from exc


def safe_extension(name: str) -> str:
    """A lower-case extension of letters and digits (at most 8), or "" — never a double extension."""
    suffix = PurePosixPath(str(name or "")).suffix.lower().lstrip(".")
    return suffix if re.fullmatch(r"[a-z0-9]{1,8}", suffix) else ""


class SafeImageFormField(forms.ImageField):
    """A form (and admin) image field whose cleaned value is the re-encoded picture."""

    def to_python(self, data):
        if data in self.empty_values:
            return None
        try:
            return reencode_image(data)
        except ValidationError as exc:
            raise ValidationError(exc.messages[0], code="invalid_image") from exc


class SafeImageFieldFile(ImageFieldFile):
    """Every write re-encodes: assigning an upload and saving the model, or `field_file.save(name, content)`."""

    def save(self, name, content, save=True):
        image = content if isinstance(content, ReencodedImage) else reencode_image(content)
        super().save(image.name, image, save)


class SafeImageField(models.ImageField):
    """An ImageField that stores only pictures we re-encoded, under generated names.

    Services re-encode (with their own size rules) before assigning; anything else written here
    (the admin, a shell, `.save(name, content)`) is re-encoded with the default limits, so no path
    keeps the client's bytes or name.
    """

    attr_class = SafeImageFieldFile

    def generate_filename(self, instance, filename):
        ext = safe_extension(filename)
        if ext not in IMAGE_EXTENSIONS:  # only ever our own names reach this; refuse anything else
            raise ValueError(f"refusing to store an image named {filename!r}")
        return super().generate_filename(instance, f"{generated_stem()}.{ext}")

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": SafeImageFormField, **kwargs})


class PrivateFileField(models.FileField):
    """A FileField stored under a generated name: the client's name never reaches the storage."""

    def generate_filename(self, instance, filename):
        ext = safe_extension(filename)
        return super().generate_filename(instance, f"{generated_stem()}.{ext}" if ext else generated_stem())

