"""The web process of deploy/Procfile: uvicorn's server in N worker processes, each with its own socket.

`uvicorn --workers N` binds one listening socket and shares it, so every worker waits on the same
accept queue, and the one that wakes first accepts everything pending (libuv accepts until the queue is
empty). In a burst of new connections (a rush's buyers arriving together, or a proxy opening upstream
connections) one worker took 60–65 % of them. Keep-alive connections stay with the worker that
accepted them, so in a rush that worker was still busy long after the other had gone idle.

Here each worker binds its own socket to the address with SO_REUSEPORT, and the kernel spreads new
connections over the sockets by a hash of their addresses, so each worker gets an even share. The
server in each worker is uvicorn's own, with the options deploy/Procfile uses. The parent only starts
the workers, replaces one that dies, and passes SIGTERM and SIGINT on. A worker that dies within
EARLY_DEATH_S of its start (the port taken, the app not importable) stops the whole process with
uvicorn's startup-failure status instead of being restarted in a loop.

    python -m microstage.serve [app] --host 0.0.0.0 --port 8000 --workers 2 [--proxy-headers ...]
"""
import argparse
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time

import uvicorn

log = logging.getLogger("microstage.serve")
STARTUP_FAILURE = 3  # uvicorn's exit status when a server cannot start
EARLY_DEATH_S = 5.0  # a worker that dies this soon after its start will not do better on a retry


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to host:port that shares the port with the other workers' (SO_REUSEPORT)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def run_worker(options: dict) -> None:
    """One worker: uvicorn's server on a socket of its own (the target of each worker process)."""
    config = uvicorn.Config(**options)
    try:
        sock = listening_socket(config.host, config.port)
    except OSError as exc:
        logging.getLogger("uvicorn.error").error("cannot listen on %s:%s: %s", config.host, config.port, exc)
        sys.exit(STARTUP_FAILURE)
    uvicorn.Server(config).run(sockets=[sock])


class Workers:
    """Starts `count` worker processes, replaces any that dies, and stops them all on SIGTERM, SIGINT or
    SIGHUP (each worker finishes the requests in hand first, as uvicorn does on SIGTERM)."""

    def __init__(self, options: dict, count: int):
        self.options, self.count = options, count
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[tuple[multiprocessing.process.BaseProcess, float]] = []
        self.stopping = False

    def start_one(self):
        process = self.context.Process(target=run_worker, args=(self.options,), name="microstage-web")
        process.start()
        return process, time.monotonic()

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self.stop)
        self.processes = [self.start_one() for _ in range(self.count)]
        log.info("started %d web workers, each with its own socket on %s:%s: %s", self.count,
                 self.options["host"], self.options["port"], [p.pid for p, _ in self.processes])
        status = 0
        while not self.stopping:
            time.sleep(0.5)
            for n, (process, started) in enumerate(self.processes):
                if process.is_alive() or self.stopping:
                    continue
                if time.monotonic() - started < EARLY_DEATH_S:
                    log.error("web worker %s exited with %s right after it started; stopping", process.pid,
                              process.exitcode)
                    status = STARTUP_FAILURE
                    self.stopping = True
                    break
                log.warning("web worker %s exited with %s; starting another", process.pid, process.exitcode)
                self.processes[n] = self.start_one()
        self.terminate()
        return status

    def stop(self, signum, frame) -> None:
        self.stopping = True

    def terminate(self, grace: float = 30.0) -> None:
        for process, _ in self.processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)  # uvicorn finishes the requests in hand, then exits
        deadline = time.monotonic() + grace
        for process, _ in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m microstage.serve", description=__doc__.splitlines()[0])
    parser.add_argument("app", nargs="?", default="microstage.asgi:application")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--lifespan", choices=("auto", "on", "off"), default="off")
    parser.add_argument("--proxy-headers", action=argparse.BooleanOptionalAction, default=True,
                        help="trust X-Forwarded-* from --forwarded-allow-ips (uvicorn's default)")
    parser.add_argument("--forwarded-allow-ips", default=None,
                        help="uvicorn's default: $FORWARDED_ALLOW_IPS or 127.0.0.1")
    parser.add_argument("--no-access-log", action="store_true")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= 64:
        parser.error("--workers: 1 to 64")
    if not 1 <= args.port <= 65535:  # not 0: each worker would get a port of its own
        parser.error("--port: 1 to 65535")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    options = {"app": args.app, "host": args.host, "port": args.port, "lifespan": args.lifespan,
               "proxy_headers": args.proxy_headers, "forwarded_allow_ips": args.forwarded_allow_ips,
               "access_log": not args.no_access_log, "log_level": args.log_level}
    return Workers(options, args.workers).run()


if __name__ == "__main__":
    sys.exit(main())
