"""
The demo host's processes share one cache, as an LMS's do (memcached or Redis): a revocation made by
one process (an operator's management command) is served at once by another (the LMS serving the
status list). Two real processes on one SQLite file and one cache directory, built the way
`make demo-data` builds the demo.
"""

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from openedx_microcred.openbadges import status_list

ROOT = Path(__file__).resolve().parents[1]


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def demo(tmp_path):
    """A demo host in tmp_path (database, cache, media): its environment, and manage.py on it."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    env.update(DJANGO_SETTINGS_MODULE="sandbox.settings", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
               SANDBOX_SQLITE=str(tmp_path / "db.sqlite3"), SANDBOX_CACHE_DIR=str(tmp_path / "cache"),
               SANDBOX_MEDIA_ROOT=str(tmp_path / "media"), SANDBOX_LMS_ROOT_URL=f"http://127.0.0.1:{port}")

    def manage(*args):
        result = subprocess.run([sys.executable, "sandbox/manage.py", *args], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    for step in (["migrate", "--no-input", "-v", "0"], ["demo_setup"],
                 ["microcred_load", "sandbox/demo/catalog.yaml"], ["microcred_replay", "sandbox/demo/events.jsonl"]):
        manage(*step)
    return {"env": env, "port": port, "manage": manage, "database": tmp_path / "db.sqlite3", "logs": tmp_path}


@pytest.fixture
def lms(demo):
    """The demo LMS (runserver, as `make demo` starts it) on the demo's database and cache."""
    log = open(demo["logs"] / "lms.log", "w", encoding="utf-8")  # pylint: disable=consider-using-with  (closed below)
    process = subprocess.Popen(  # pylint: disable=consider-using-with  (runs while the fixture is used)
        [sys.executable, "sandbox/manage.py", "runserver", f"127.0.0.1:{demo['port']}", "--noreload"],
        cwd=ROOT, env=demo["env"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{demo['port']}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (demo["logs"] / "lms.log").read_text()
            try:
                requests.get(url + "/login/", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the LMS did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _revoked(lms, number, index):
    response = requests.get(f"{lms}/microcred/status/{number}", timeout=10)
    assert response.status_code == 200
    return status_list.is_set(response.json()["credentialSubject"]["encodedList"], index)


def test_a_revocation_by_one_process_is_served_at_once_by_another(demo, lms):
    with sqlite3.connect(demo["database"]) as db:
        awards = db.execute(
            "SELECT a.status_index, s.number FROM openedx_microcred_award a "
            "JOIN openedx_microcred_statuslist s ON s.id = a.status_list_id JOIN auth_user u ON u.id = a.user_id "
            "WHERE u.username = 'ada' AND a.status = 'active' AND a.status_index IS NOT NULL").fetchall()
    assert awards, "the demo gives ada signed credentials"
    # The LMS signs each list once and keeps it in its cache.
    assert not any(_revoked(lms, number, index) for index, number in awards)

    # Another process (an operator's command) revokes every credential of ada's.
    assert "Retired" in demo["manage"]("microcred_retire_user", "ada")

    assert all(_revoked(lms, number, index) for index, number in awards)
