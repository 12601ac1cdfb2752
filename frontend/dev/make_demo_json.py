"""
Write the demo's dashboard-widget JSON (GET /microcred/api/v1/me/dashboard-widget/) for the demo
learners into frontend/dev/, for the widget's dev page (``npm run dev``): a fresh demo database
(the catalog and events of ``make demo``) in a temporary directory, then the endpoint as each
learner. ``make widget-demo-json`` runs it; the JSON is committed so that the dev page needs no Python.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LEARNERS = ("ada", "grace", "linus")

FETCH = """
import json
from django.contrib.auth import get_user_model
from django.test import Client
out = {}
for name in %r:
    client = Client()
    client.force_login(get_user_model().objects.get(username=name))
    response = client.get("/microcred/api/v1/me/dashboard-widget/", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200, (name, response.status_code)
    out[name] = response.json()
print(json.dumps(out))
""" % (LEARNERS,)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONPATH=str(ROOT), DJANGO_SETTINGS_MODULE="sandbox.settings",
                   SANDBOX_SQLITE=f"{tmp}/db.sqlite3", SANDBOX_MEDIA_ROOT=f"{tmp}/media",
                   SANDBOX_CACHE_DIR=f"{tmp}/cache", SANDBOX_LMS_ROOT_URL="http://127.0.0.1:8000")

        def manage(*args):
            return subprocess.run([sys.executable, "sandbox/manage.py", *args], cwd=ROOT, env=env, check=True,
                                  capture_output=True, text=True).stdout

        manage("migrate", "--no-input")
        manage("demo_setup")
        manage("microcred_load", "sandbox/demo/catalog.yaml")
        manage("microcred_replay", "sandbox/demo/events.jsonl")
        answers = json.loads(manage("shell", "-c", FETCH).strip().splitlines()[-1])
    for name, data in answers.items():
        path = ROOT / "frontend" / "dev" / f"demo-{name}.json"
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
