"""Digital downloads never pass through a web process whole (issue 11, item 7).

- MICROSTAGE_MEDIA_ACCEL=nginx: after the buyer/paid checks the answer is an empty X-Accel-Redirect.
- off: a 200 MB file goes through the real ASGI application (microstage.asgi) with every middleware,
  and the process's resident memory, sampled at every body chunk the server is handed, stays
  within 50 MB of where it started. Before the change Django consumed the synchronous
  FileResponse whole under ASGI (RSS grew by the file's size).
"""
import asyncio
import os

import pytest
from django.test import Client

from catalog import services as catalog
from microstage.tests.factories import UserFactory

from .test_products import buy, digital

SIZE = 200 * 1024 * 1024


@pytest.fixture(autouse=True)
def _sandbox(settings, tmp_path):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.MEDIA_ROOT = tmp_path


def _paid_link():
    product = digital()
    buyer = UserFactory()
    order = buy(product.pk, buyer)
    return product, buyer, catalog.download_token(order.lines.get(), buyer)


def rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@pytest.mark.django_db
def test_nginx_mode_hands_the_file_to_nginx_after_the_checks(settings):
    settings.MICROSTAGE_MEDIA_ACCEL = "nginx"
    product, buyer, token = _paid_link()
    client = Client()
    assert client.get(f"/downloads/{token}/").status_code == 302  # login first: no file for strangers
    client.force_login(UserFactory())
    assert client.get(f"/downloads/{token}/").status_code == 404  # someone else's link
    client.force_login(buyer)
    r = client.get(f"/downloads/{token}/")
    assert r.status_code == 200 and r.content == b""
    assert r["X-Accel-Redirect"] == "/_media/" + product.digital_file.name
    assert "attachment" in r["Content-Disposition"] and "album" in r["Content-Disposition"]
    assert r["Cache-Control"] == "private, no-store"


async def _asgi_get(path: str, cookie: str) -> tuple[int, dict, int, int]:
    """GET `path` through microstage.asgi; returns (status, headers, body bytes, peak RSS growth)."""
    from microstage.asgi import application

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode())],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    sent = {"status": 0, "headers": {}, "bytes": 0, "peak": 0}
    start = rss_bytes()
    requested = False

    async def receive():
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # the client stays connected

    async def send(message):
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
            sent["headers"] = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent["bytes"] += len(message.get("body", b""))  # a real server writes it out and drops it
            sent["peak"] = max(sent["peak"], rss_bytes() - start)

    await application(scope, receive, send)
    return sent["status"], sent["headers"], sent["bytes"], sent["peak"]


@pytest.mark.django_db(transaction=True)
def test_a_200_mb_download_streams_through_asgi_without_growing_the_process(settings, tmp_path):
    settings.MICROSTAGE_MEDIA_ACCEL = "off"
    product, buyer, token = _paid_link()
    with open(product.digital_file.path, "wb") as fh:  # make the stored file 200 MB of real bytes
        block = os.urandom(1024 * 1024)
        for _ in range(SIZE // len(block)):
            fh.write(block)
    client = Client()
    client.force_login(buyer)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    status, headers, received, peak = asyncio.run(_asgi_get(f"/downloads/{token}/", cookie))
    assert status == 200 and received == SIZE
    assert headers["content-length"] == str(SIZE) and "attachment" in headers["content-disposition"]
    assert peak < 50 * 1024 * 1024, f"the web process grew by {peak / 2**20:.0f} MB while sending"
