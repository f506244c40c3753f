"""The Content-Security-Policy header: nonce and 'strict-dynamic' on our pages, never inline script,
the page's own websocket host, 'self' alone where no nonce is used, Swagger's CDN on the docs only."""
import re

import pytest

pytestmark = pytest.mark.django_db


def script_src(response) -> str:
    return re.search(r"script-src ([^;]*)", response["Content-Security-Policy"])[1]


def test_pages_carry_a_nonce_that_their_scripts_use(client):
    page = client.get("/")
    src = script_src(page)
    nonce = re.search(r"'nonce-([^']+)'", src)[1]
    assert "'strict-dynamic'" in src and "'unsafe-inline'" not in src and "'unsafe-eval'" not in src
    assert "script-src-attr 'none'" in page["Content-Security-Policy"]  # no onclick= & co., ever
    scripts = re.findall(r"<script\b[^>]*>", page.content.decode())
    executable = [s for s in scripts if 'type="application/' not in s]
    assert executable and all(f'nonce="{nonce}"' in s and 'type="module"' in s for s in executable)
    assert nonce != re.search(r"'nonce-([^']+)'", script_src(client.get("/")))[1]  # fresh per response


def test_websocket_of_this_host_and_safe_defaults(client):
    policy = client.get("/", HTTP_HOST="localhost")["Content-Security-Policy"]
    assert "connect-src 'self' ws://localhost" in policy
    for directive in ("object-src 'none'", "base-uri 'self'", "frame-ancestors 'none'", "worker-src 'self' blob:",
                      "media-src 'self' blob:"):
        assert directive in policy
    secure = client.get("/", HTTP_HOST="localhost", HTTP_X_FORWARDED_PROTO="https", secure=True)
    assert "wss://localhost" in secure["Content-Security-Policy"]


def test_pages_without_a_nonce_keep_self_only(admin_client):
    admin = admin_client.get("/admin/")
    assert script_src(admin) == "'self'" and "script-src-attr 'none'" in admin["Content-Security-Policy"]


def test_api_docs_run_their_script_from_a_url_and_only_they_may_use_swaggers_cdn(client):
    page = client.get("/api/v1/docs/")
    html = page.content.decode()
    assert page.status_code == 200 and "<script>" not in html and "?script=" in html
    assert "https://cdn.jsdelivr.net" in script_src(page)
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert "cdn.jsdelivr.net" not in client.get("/")["Content-Security-Policy"]
