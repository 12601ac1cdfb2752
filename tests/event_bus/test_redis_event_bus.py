"""
The Open edX event bus on Redis Streams (edx-event-bus-redis), with real separate processes.

An "LMS" process sends COURSE_PASSING_STATUS_UPDATED the way edx-platform does; the host's
EVENT_BUS_PRODUCER_CONFIG produces it to a Redis stream and the plugin's receiver leaves it to the
consumer (MICROCRED_EVENT_BUS_TOPICS). A ``manage.py consume_events`` process, the deployment an
operator runs beside the LMS (docs/event-bus.md), reads the stream and re-sends the event; there
the plugin records the fact and evaluates. Both use one SQLite file and the host's settings
``sandbox.event_bus_settings``; streams get a prefix of their own and are deleted afterwards.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4

import pytest
from django.conf import settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("MICROCRED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TOPIC = "learning-course-passing-status"
GROUP = "microcred"
COURSE = "course-v1:BusX+EB101+2026"
CATALOG = f"""
credentials:
  - slug: bus-foundations
    title: Bus Foundations
    org: BusX
    course_key: {COURSE}
    state: active
    criteria: {{type: course_passed, course: {COURSE}}}
  - slug: bus-stack
    title: Bus Stack
    org: BusX
    state: active
    criteria: {{type: credential, credential: bus-foundations}}
"""
WAIT = 60  # seconds for the consumer to get an event through


def _unavailable(message):
    if os.environ.get("MICROCRED_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def redis_client():
    """A Redis client of REDIS_URL (skipped, or failed where services are required, without Redis)."""
    try:
        import edx_event_bus_redis  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel  (optional)
        import redis  # pylint: disable=import-outside-toplevel  (optional: comes with edx-event-bus-redis)
    except ImportError as exc:
        _unavailable(f"edx-event-bus-redis is not installed ({exc}): pip install -r requirements/test.in")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis is not reachable at {REDIS_URL} ({exc}); the event bus test needs it")
    yield client
    client.close()


@pytest.fixture
def bus(tmp_path, redis_client):
    """The host on the event bus, its streams under a prefix of this test (deleted after it)."""
    prefix = f"microcred-test-{uuid4().hex[:10]}"
    host = Host(tmp_path, prefix, redis_client)
    try:
        yield host
    finally:
        host.stop_all()
        for key in redis_client.scan_iter(f"{prefix}-*"):
            redis_client.delete(key)


class Host:
    """The sandbox host with the event bus on, run as separate processes."""

    def __init__(self, tmp_path, prefix, redis_client):
        self.tmp, self.prefix, self.redis = tmp_path, prefix, redis_client
        self.database = tmp_path / "microcred.sqlite3"
        self.stream = f"{prefix}-{TOPIC}"
        self.processes = []
        self.env = {
            **{name: value for name, value in os.environ.items() if not name.startswith(("SANDBOX_", "DJANGO_"))},
            "DJANGO_SETTINGS_MODULE": "sandbox.event_bus_settings",
            "SANDBOX_EVENT_BUS": "1",
            "SANDBOX_EVENT_BUS_REDIS_URL": REDIS_URL,
            "SANDBOX_EVENT_BUS_TOPIC_PREFIX": prefix,
            "SANDBOX_DB": "sqlite",
            "SANDBOX_SQLITE": str(self.database),
            "SANDBOX_MEDIA_ROOT": str(tmp_path / "media"),
            # Evaluation runs in the process that records the fact: here, the consumer.
            "SANDBOX_CELERY_EAGER": "1",
            # One signing key for all processes instead of one generated in each.
            "SANDBOX_JWT_PRIVATE_JWK": settings.JWT_AUTH["JWT_PRIVATE_SIGNING_JWK"],
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }

    def run(self, *args, timeout=120):
        result = subprocess.run([sys.executable, *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                                timeout=timeout, check=False)
        assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def manage(self, *args):
        return self.run("sandbox/manage.py", *args)

    def lms(self, *args):
        """A producer process (tests/event_bus/lms.py); returns the JSON answer of each command."""
        lines = self.run("-m", "tests.event_bus.lms", *args).strip().splitlines()
        return [json.loads(line) for line in lines[-(args.count("+") + 1):]]

    def start_consumer(self, name):
        """Start a consumer process ``name`` of the topic (its output in the test's directory)."""
        log = open(self.tmp / f"{name}.log", "w", encoding="utf-8")  # pylint: disable=consider-using-with  (stop_all)
        extra = json.dumps({"consumer_name": name, "check_backlog": True})
        process = subprocess.Popen(  # pylint: disable=consider-using-with  (stopped by stop_all)
            [sys.executable, "sandbox/manage.py", "consume_events", "-t", TOPIC, "-g", GROUP, "--extra", extra],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        process.log_path, process.log_file = self.tmp / f"{name}.log", log
        self.processes.append(process)
        return process

    def stop_all(self):
        """Stop every process this host started (SIGTERM, then SIGKILL) and close their logs."""
        for process in self.processes:
            if process.poll() is None:
                # SIGTERM: a shell running the tests in the background makes its children ignore SIGINT.
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
            process.log_file.close()

    def query(self, sql, *params):
        """The rows of ``sql`` on the host's database, read-only."""
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def facts(self):
        return self.query(
            "SELECT u.username, f.kind, f.event_id, f.modified, f.pending_since FROM openedx_microcred_learnerfact f "
            "JOIN auth_user u ON u.id = f.user_id ORDER BY u.username, f.kind")

    def awards(self):
        return self.query(
            "SELECT u.username, c.slug, a.status FROM openedx_microcred_award a JOIN auth_user u ON u.id = a.user_id "
            "JOIN openedx_microcred_credential c ON c.id = a.credential_id ORDER BY u.username, c.slug")

    def wait_for_awards(self, username, consumer, expected=("bus-foundations", "bus-stack")):
        """Wait until ``username`` holds ``expected`` and none of her facts waits for evaluation."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            awarded = sorted(slug for user, slug, status in self.awards() if user == username and status == "active")
            evaluated = not [fact for fact in self.facts() if fact[0] == username and fact[4] is not None]
            if awarded == sorted(expected) and evaluated:
                return
            assert consumer.poll() is None, f"the consumer exited ({consumer.returncode}):\n{self.log(consumer)}"
            time.sleep(0.2)
        pytest.fail(f"no awards for {username} after {WAIT} s; awards {self.awards()}, facts {self.facts()}, "
                    f"stream {self.group_info()}\nconsumer log:\n{self.log(consumer)}")

    def group_info(self):
        if not self.redis.exists(self.stream):
            return {}
        return {group["name"].decode(): group for group in self.redis.xinfo_groups(self.stream)}

    @staticmethod
    def log(process):
        return process.log_path.read_text(encoding="utf-8")[-6000:]


def test_events_produced_by_the_lms_are_recorded_and_evaluated_once_by_the_consumer(bus):
    bus.manage("migrate", "--no-input", "-v", "0")
    catalog = bus.tmp / "catalog.yaml"
    catalog.write_text(CATALOG, encoding="utf-8")

    # 1. The catalog and the learners; then the LMS sends the event while no consumer runs: it is on
    #    the stream, and the LMS process itself recorded nothing (its receiver left it to the bus).
    *_, first = bus.lms("load", str(catalog), "+", "users", "ada", "bob", "+", "pass", "ada", COURSE)
    assert first["outcome"] == ["left_to_event_bus"]
    assert bus.redis.xlen(bus.stream) == 1
    assert bus.facts() == [] and bus.awards() == []

    # 2. The consumer deployment starts (check_backlog: what was produced before it ran is read) and
    #    records and evaluates the event in its own process: the credential and the stack on it.
    consumer = bus.start_consumer("microcred-test-1")
    bus.wait_for_awards("ada", consumer)
    [(user, kind, event_id, modified, pending)] = bus.facts()
    assert (user, kind, event_id, pending) == ("ada", "passing", first["id"], None)

    # 3. The same event reaches the bus a second time (same id), then bob's: the consumer reads
    #    both, in order; ada's fact is left as it was (a duplicate), bob gets his awards.
    _, second = bus.lms("produce-again", json.dumps(first), "+", "pass", "bob", COURSE)
    assert second["outcome"] == ["left_to_event_bus"]
    bus.wait_for_awards("bob", consumer)

    ada, bob = bus.facts()
    assert ada == ("ada", "passing", first["id"], modified, None)  # not written again: a duplicate
    assert (bob[:3], bob[4]) == (("bob", "passing", second["id"]), None)
    assert bus.awards() == [("ada", "bus-foundations", "active"), ("ada", "bus-stack", "active"),
                            ("bob", "bus-foundations", "active"), ("bob", "bus-stack", "active")]
    assert bus.query("SELECT count(*) FROM openedx_microcred_rejectedevent") == [(0,)]

    # Redis: three entries, all delivered to the microcred group and acknowledged.
    assert bus.redis.xlen(bus.stream) == 3
    group = bus.group_info()[GROUP]
    last_id = bus.redis.xrevrange(bus.stream, count=1)[0][0]
    assert (group["pending"], group["last-delivered-id"]) == (0, last_id)
    assert bus.log(consumer).count("Message received from Redis") == 3
    assert "Error consuming event" not in bus.log(consumer)
