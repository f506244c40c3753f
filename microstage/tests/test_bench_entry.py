"""`make bench` starts: the harness and every bench module import before Django is set up."""
import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def test_bench_help_runs_without_django_set_up():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-m", "bench", "--help"], cwd=BASE_DIR, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "--rush-buyers" in result.stdout


def test_each_rush_round_has_its_own_buyers(db, tmp_path):
    """Buyers reused across rounds would carry their unpaid orders into the next round and meet the
    open-order cap (`limit_exceeded`) instead of a clean `sold_out`."""
    import json

    from rest_framework.authtoken.models import Token

    from bench.ticket_rush import prepare

    prepared = prepare(3, 1, tmp_path / "tokens.json", rounds=3)
    rounds = [json.loads(f.read_text()) for f in prepared["tokens_files"]]
    assert [len(r) for r in rounds] == [3, 3, 3]
    assert rounds[0] == json.loads((tmp_path / "tokens.json").read_text())
    users = [set(Token.objects.filter(key__in=r).values_list("user_id", flat=True)) for r in rounds]
    assert all(len(u) == 3 for u in users)
    assert not (users[0] & users[1] or users[0] & users[2] or users[1] & users[2])
    assert len(prepared["tiers"]) == 3


async def test_a_buyer_whose_idle_connection_was_closed_sends_again():
    """Buyers behind the in-flight gate keep an idle keep-alive connection; when the server closes it as
    the POST goes out (uvicorn closes idle ones after 5 s; under load the two cross), nothing was
    answered, so the POST must go out again on a new connection, as a browser's would, not count as a
    failed answer. The server here closes every connection that was opened for the warm-up ping."""
    import asyncio

    from bench.ticket_rush import rush

    async def serve(reader, writer):
        pinged = False
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(h.split(b":")[1]) for h in head.split(b"\r\n")
                           if h.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            if head.startswith(b"GET"):
                body, status, pinged = b'{"ok": true}', b"200 OK", True
            elif pinged:  # the idle connection, closed as the request arrives
                writer.close()
                return
            else:
                body, status = b'{"code": "sold_out"}', b"409 Conflict"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await rush(f"http://127.0.0.1:{port}", "tier_x", ["a", "b", "c"], in_flight=1)
    finally:
        server.close()
    assert result["statuses"] == {"409:sold_out": 3}


def test_a_baseline_that_moved_during_the_run_is_warned_about(capsys):
    """Every ratio of a run divides by its first ping; the second sample says whether to trust them."""
    from bench.__main__ import baseline_check

    def sample(rps):
        return {"requests_per_s": rps, "ok": 100, "error_count": 0}

    steady = baseline_check(sample(1000.0), sample(1050.0), "")
    assert (steady["value"], steady["baseline"], steady["ratio"]) == (1050.0, 1000.0, 1.05)
    assert "WARNING" not in capsys.readouterr().out
    moved = baseline_check(sample(611.0), sample(1040.0), "")
    assert moved["ratio"] == 1.702
    assert "the ping baseline moved during the run" in capsys.readouterr().out
