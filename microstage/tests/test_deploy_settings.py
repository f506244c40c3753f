"""Production settings: STRIPE_API_HOST exists only when the environment names one, so
`check --deploy` has no dj-stripe warning for a normal deployment."""
import json
import os
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent.parent
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.core import checks
issues = checks.run_checks(include_deployment_checks=True, tags=["djstripe"], databases=[])
print(json.dumps({"has_host": hasattr(settings, "STRIPE_API_HOST"),
                  "host": getattr(settings, "STRIPE_API_HOST", None),
                  "ids": sorted(i.id for i in issues)}))
"""


def probe(**env) -> dict:
    base = {k: v for k, v in os.environ.items() if k != "STRIPE_API_HOST"}
    base.update(DJANGO_SETTINGS_MODULE="microstage.settings", MICROSTAGE_DEBUG="false",
                MICROSTAGE_SECRET_KEY="prod-like-" + "k" * 50,
                # dj-stripe's checks also read the database; none is needed here, so fail fast.
                DATABASE_URL="postgres://postgres@127.0.0.1:1/none", MICROSTAGE_DB_POOL_MAX="0", **env)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=base, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_no_stripe_api_host_unless_the_environment_names_one():
    result = probe()
    assert result["has_host"] is False
    assert "djstripe.W002" not in result["ids"]


def test_a_named_api_host_is_used():
    result = probe(STRIPE_API_HOST="http://127.0.0.1:8420")
    assert result == {"has_host": True, "host": "http://127.0.0.1:8420", "ids": result["ids"]}
