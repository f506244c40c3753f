"""Hand stored media to the client without holding it in a web process.

After a view has checked the token / buyer / order, it calls `send_stored(...)`, which answers in
one of three ways, chosen by storage and `settings.MICROSTAGE_MEDIA_ACCEL`:

- S3 storage: a redirect to a presigned URL that lives as long as the caller's permission.
- `nginx`: an empty response with `X-Accel-Redirect: <MEDIA_ACCEL_PREFIX><name>`; nginx serves the
  file from its internal location (see deploy/nginx-web.conf), with Range, sendfile and its own
  buffers. The bytes never enter Python.
- `off` (development, tests, no nginx in front): the file is streamed from disk in CHUNK-sized reads
  through an *async* iterator, so under ASGI Django sends each chunk as it is read instead of
  consuming the whole body first (which it does with synchronous iterators). One simple
  `Range: bytes=a-b` is honoured (players seek in MP4s).

`streaming_response(request, generator)` streams a synchronous generator (a CSV export over a
queryset): under ASGI through `async_chunks`, an async iterator that pulls it in small batches on
Django's sync thread (where the database connection lives); under WSGI as it is.
"""
from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header

CHUNK = 256 * 1024
ACCEL_MODES = ("nginx", "off")


def accel_mode() -> str:
    mode = str(getattr(settings, "MICROSTAGE_MEDIA_ACCEL", "off") or "off").lower()
    return mode if mode in ACCEL_MODES else "off"


def is_filesystem(storage: Storage | None = None) -> bool:
    try:
        (storage or default_storage).path("x")
        return True
    except NotImplementedError:
        return False


def accel_uri(name: str) -> str:
    """The internal nginx URI of a stored file name (relative to MEDIA_ROOT)."""
    prefix = "/" + str(getattr(settings, "MICROSTAGE_MEDIA_ACCEL_PREFIX", "/_media/")).strip("/") + "/"
    return prefix + quote(name.lstrip("/"), safe="/")


def is_asgi(request) -> bool:
    """Under ASGI Django streams only async iterators (sync ones are consumed whole first, with a
    warning); under WSGI only sync ones stream. Views pick the iterator that streams on the server
    that runs them."""
    return isinstance(request, ASGIRequest)


def _file_chunks_sync(path: str, start: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            data = fh.read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data


async def _file_chunks(path: str, start: int, length: int) -> AsyncIterator[bytes]:
    """Read `length` bytes of `path` from `start`, one CHUNK per thread hop; never the whole file."""
    fh = await sync_to_async(open, thread_sensitive=False)(path, "rb")
    try:
        if start:
            await sync_to_async(fh.seek, thread_sensitive=False)(start)
        remaining = length
        read = sync_to_async(fh.read, thread_sensitive=False)
        while remaining > 0:
            data = await read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        fh.close()


def _range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(start, end) for one `bytes=a-b`, None without a usable header, False when unsatisfiable."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", (header or "").strip())
    if not match or not (match[1] or match[2]):
        return None
    if match[1]:
        start, end = int(match[1]), min(int(match[2]) if match[2] else size - 1, size - 1)
    else:
        start, end = max(0, size - int(match[2])), size - 1
    if start > end or start >= size:
        return False
    return start, end


def send_stored(request, name: str, *, content_type: str, expire: int, storage: Storage | None = None,
                attachment: str | None = None) -> HttpResponse:
    """The response that delivers stored file `name` (raises OSError / FileNotFoundError if it is gone).

    `expire` is how long the caller's permission lasts (seconds): presigned URLs live that long.
    `attachment` is a download filename (Content-Disposition: attachment)."""
    storage = storage or default_storage
    if not is_filesystem(storage):
        try:
            url = storage.url(name, expire=max(60, expire))
        except TypeError:
            url = storage.url(name)
        return HttpResponseRedirect(url)
    path = storage.path(name)
    size = storage.size(name)  # also the "does it exist" check: FileNotFoundError is an OSError
    if accel_mode() == "nginx":
        response = HttpResponse(b"", content_type=content_type)
        response["X-Accel-Redirect"] = accel_uri(name)
        response["X-Accel-Buffering"] = "yes"
    else:
        chunks = _file_chunks if is_asgi(request) else _file_chunks_sync
        wanted = _range(request.headers.get("Range", ""), size)
        if wanted is False:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        if wanted:
            start, end = wanted
            response = StreamingHttpResponse(chunks(path, start, end - start + 1), status=206,
                                             content_type=content_type)
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
            response["Content-Length"] = str(end - start + 1)
        else:
            response = StreamingHttpResponse(chunks(path, 0, size), content_type=content_type)
            response["Content-Length"] = str(size)
        response["Accept-Ranges"] = "bytes"
    if attachment:
        response["Content-Disposition"] = content_disposition_header(True, attachment)
    return response


def streaming_response(request, source: Iterable, **kwargs) -> StreamingHttpResponse:
    """A StreamingHttpResponse over a synchronous generator that really streams on either server:
    under ASGI through `async_chunks`, under WSGI as it is."""
    return StreamingHttpResponse(async_chunks(source) if is_asgi(request) else source, **kwargs)


def async_chunks(source: Iterable, batch: int = 200) -> AsyncIterator:
    """An async iterator over a synchronous (database-backed) generator, `batch` items per hop onto
    Django's sync thread (where its database connection lives). Nothing is collected whole."""
    iterator: Iterator = iter(source)

    def take() -> list:
        out = []
        for item in iterator:
            out.append(item)
            if len(out) >= batch:
                break
        return out

    async def run():
        pull = sync_to_async(take, thread_sensitive=True)
        close = getattr(iterator, "close", None)
        try:
            while True:
                items = await pull()
                if not items:
                    return
                for item in items:
                    yield item
        finally:
            if close is not None:
                await sync_to_async(close, thread_sensitive=True)()

    return run()
