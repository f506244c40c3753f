"""deploy/Procfile's web process (microstage/serve.py): uvicorn's server in worker processes that each
listen on a socket of their own, so the kernel spreads a burst of connections evenly over them."""
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from microstage import serve

BASE_DIR = Path(__file__).resolve().parents[2]
APP = "microstage.tests.pid_asgi:app"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_pid(port: int, timeout: float = 2.0) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
    return int(data.split(b"\r\n\r\n", 1)[1])


def listeners(port: int) -> int:
    """Listening TCP sockets on 127.0.0.1:`port` (each socket is one line of /proc/net/tcp, however many
    processes hold it)."""
    wanted = f"0100007F:{port:04X}"
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[1] == wanted and line.split()[3] == "0A")


class Running:
    def __init__(self, argv: list[str], port: int):
        self.port = port
        self.proc = subprocess.Popen(argv, cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, workers: int, timeout: float = 30.0) -> set[int]:
        """Until `workers` distinct processes have answered; their pids."""
        seen: set[int] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(seen) < workers:
            assert self.proc.poll() is None, self.output()
            try:
                seen.add(get_pid(self.port))
            except (OSError, ValueError, IndexError):
                time.sleep(0.1)
        assert len(seen) == workers, (seen, self.output())
        return seen

    def output(self) -> str:
        if self.proc.poll() is None:
            return "(running)"
        return self.proc.stdout.read().decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def server():
    started = []

    def start(*args: str, workers: int = 2, module: str = "microstage.serve") -> Running:
        port = free_port()
        argv = [sys.executable, "-m", module, APP, "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--no-access-log", *args]
        running = Running(argv, port)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


async def burst(port: int, n: int) -> Counter:
    """`n` connections opened at once, each kept open until all are connected, then one request each:
    how many each worker answered."""
    conns = await asyncio.gather(*(asyncio.open_connection("127.0.0.1", port) for _ in range(n)))
    for _reader, writer in conns:
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    answers = await asyncio.gather(*(reader.read() for reader, _ in conns))
    for _reader, writer in conns:
        writer.close()
    return Counter(int(a.split(b"\r\n\r\n", 1)[1]) for a in answers)


def test_each_worker_listens_on_a_socket_of_its_own(server):
    """`uvicorn --workers 2` shares one socket (one accept queue) between its workers; here there is one
    per worker, so the kernel chooses the worker of each new connection."""
    running = server(workers=2)
    running.wait_ready(2)
    assert listeners(running.port) == 2


def test_uvicorn_shares_one_socket_the_control(server):
    running = server("--lifespan", "off", workers=2, module="uvicorn")
    running.wait_ready(2)
    assert listeners(running.port) == 1


def test_a_burst_of_connections_is_spread_over_the_workers(server):
    running = server(workers=2)
    pids = running.wait_ready(2)
    counts = asyncio.run(burst(running.port, 400))
    assert set(counts) == pids and sum(counts.values()) == 400
    assert min(counts.values()) >= 140, counts  # an even share is 200 ± 10 (one standard deviation)


def test_a_worker_that_dies_is_replaced(server):
    running = server(workers=2)
    first, second = sorted(running.wait_ready(2))
    time.sleep(serve.EARLY_DEATH_S + 0.5)  # sooner, a death counts as a failure to start (the next test)
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    seen = set()
    while time.monotonic() < deadline and (len(seen - {first, second}) < 1 or second not in seen):
        try:
            seen.add(get_pid(running.port))
        except (OSError, ValueError, IndexError):  # the dead worker's queued connections are reset
            time.sleep(0.05)
    assert first not in seen and second in seen and len(seen) == 2, seen
    assert running.proc.poll() is None


def test_a_worker_that_dies_at_once_stops_the_server_with_the_startup_failure_status(server):
    running = server(workers=2)
    first, _second = running.wait_ready(2)
    os.kill(first, signal.SIGKILL)
    assert running.proc.wait(timeout=30) == serve.STARTUP_FAILURE
    assert "right after it started" in running.output()


def test_sigterm_stops_every_worker_and_exits_cleanly(server):
    running = server(workers=2)
    pids = running.wait_ready(2)
    running.proc.send_signal(signal.SIGTERM)
    assert running.proc.wait(timeout=30) == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert listeners(running.port) == 0


def test_a_port_taken_by_another_program_is_a_startup_failure(server):
    with socket.socket() as taken:  # no SO_REUSEPORT: nobody may share it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [sys.executable, "-m", "microstage.serve", APP, "--port", str(port), "--workers", "2"]
        proc = subprocess.run(argv, cwd=BASE_DIR, capture_output=True, text=True, timeout=60)
    assert proc.returncode == serve.STARTUP_FAILURE
    assert "cannot listen" in proc.stderr + proc.stdout


@pytest.mark.parametrize("argv", [["--workers", "0"], ["--workers", "65"], ["--port", "0"], ["--port", "70000"],
                                  ["--lifespan", "maybe"]])
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        serve.parse(argv)
    assert exc.value.code == 2


def test_the_procfile_runs_it():
    web = next(line for line in (BASE_DIR / "deploy" / "Procfile").read_text().splitlines() if line.startswith("web:"))
    assert "python -m microstage.serve microstage.asgi:application" in web
    args = serve.parse(["microstage.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2",
                        "--lifespan", "off", "--proxy-headers", "--forwarded-allow-ips=*"])
    assert (args.workers, args.proxy_headers, args.forwarded_allow_ips) == (2, True, "*")
