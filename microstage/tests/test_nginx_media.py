"""The nginx front `make run` uses with MICROSTAGE_MEDIA_ACCEL=nginx (same /_media/ location as
deploy/nginx-web.conf): an upstream answer with X-Accel-Redirect becomes the file, sent by nginx,
with the upstream's Content-Type / Content-Disposition and Range support; /_media/ itself is internal."""
import http.server
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from microstage.devstack import render_nginx_web

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not shutil.which("nginx") and not shutil.os.path.exists(NGINX),
                                reason="nginx is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upstream(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        self.send_response(200)
        if self.path == "/download":
            self.send_header("X-Accel-Redirect", "/_media/products/album.zip")
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Disposition", 'attachment; filename="album.zip"')
            self.send_header("Cache-Control", "private, no-store")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_x_accel_redirect_is_served_by_nginx(tmp_path):
    media = tmp_path / "media"
    (media / "products").mkdir(parents=True)
    payload = bytes(range(256)) * 4096  # 1 MB
    (media / "products" / "album.zip").write_bytes(payload)
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    conf = render_nginx_web(tmp_path / "nginx", port=str(port), upstream_port=str(upstream.server_port),
                            media_root=media)
    argv = [NGINX, "-p", f"{conf.parent}/", "-e", str(conf.parent / "error.log"), "-c", str(conf)]
    assert subprocess.run([*argv, "-t", "-q"], capture_output=True).returncode == 0
    proc = subprocess.Popen(argv)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/download", timeout=10) as r:
            assert r.status == 200 and r.read() == payload
            assert r.headers["Content-Type"] == "application/zip"
            assert "attachment" in r.headers["Content-Disposition"]
        ranged = urllib.request.Request(f"http://127.0.0.1:{port}/download", headers={"Range": "bytes=10-19"})
        with urllib.request.urlopen(ranged, timeout=10) as r:
            assert r.status == 206 and r.read() == payload[10:20]
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_media/products/album.zip", timeout=10)
        assert denied.value.code == 404
    finally:
        proc.terminate()
        proc.wait(10)
        upstream.shutdown()
