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
