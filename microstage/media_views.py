"""Public media files (avatars, covers, product pictures, preview images) served without any power.

Whatever a file is, the browser may not run it on our origin: `nosniff`, a CSP that allows nothing
and sandboxes the document, and — for anything that is not a picture of a format we write — an
attachment of type application/octet-stream. deploy/nginx-web.conf sets the same headers where nginx
serves /media/ itself.
"""
from pathlib import PurePosixPath

from django.conf import settings
from django.views.static import serve

# What we write ourselves (microstage.uploads re-encodes images; the preview is our PNG).
INLINE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
                ".mp4": "video/mp4"}
MEDIA_CSP = "default-src 'none'; sandbox"


def protect(response, path: str):
    """Give a media response the headers that keep it inert; returns it."""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = MEDIA_CSP
    inline = INLINE_TYPES.get(PurePosixPath(path).suffix.lower())
    if inline:
        response["Content-Type"] = inline
    elif response.status_code == 200:
        response["Content-Type"] = "application/octet-stream"
        response["Content-Disposition"] = "attachment"
    return response


def serve_media(request, path):
    """django.views.static.serve with the media headers (filesystem storage: debug and single machines)."""
    return protect(serve(request, path, document_root=settings.MEDIA_ROOT), path)

