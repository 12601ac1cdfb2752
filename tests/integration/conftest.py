"""
The integration tests' plumbing: real processes on real servers.

* One database per test session and engine on the local MariaDB / PostgreSQL (``migrate`` runs in
  a subprocess), dropped at the end; every test keeps to learners and credentials of its own prefix.
* The local Redis (127.0.0.1:6379) as the Celery broker, every key under a prefix of this session
  and test (kombu's ``global_keyprefix``), deleted at the end.
* Processes: Celery workers (``celery -A sandbox.celery_app worker``); the "LMS", an agent.py
  process with eager Celery off and no badge platform, that sets a test up and runs
  ``microcred_replay`` and ``microcred_sweep``; the concurrency tests' racers (agent.py too); TCP
  proxies the fault tests stop and start. Each runs in its own process group, its output in the
  test's tmp_path, and is killed when the test ends. The tests read the database with plain SQL.
* The fake Credly server (tests/fakes) runs in the test process; the workers reach it over HTTP.

A server that is not reachable skips these tests, or fails them when MICROCRED_REQUIRE_SERVICES=1 (CI).
"""

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fakes.credly_server import CredlyServer

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
PORTS = {"postgresql": 5432, "mysql": 3306}
REQUIRED = os.environ.get("MICROCRED_REQUIRE_SERVICES") == "1"

# Delivery policy of the tests' processes: quick retries, no rate limit, "sending" stale after 3 s.
DELIVERY_POLICY = {"backoff_base": 0.3, "backoff_cap": 1.5, "max_attempts": 12, "rate_per_second": 0,
                   "stale_sending": 3}
# Unacknowledged messages of a dead worker go back to the queue after this many seconds.
VISIBILITY_TIMEOUT = 5


def unavailable(what):
    message = f"{what}: the integration tests need it (.ci/run starts PostgreSQL, MariaDB and Redis)"
    if REQUIRED:
        pytest.fail(f"MICROCRED_REQUIRE_SERVICES=1 and {message}", pytrace=False)
    pytest.skip(message)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout, message, interval=0.1):
    """Poll ``condition`` until it returns something truthy (returned); fail with ``message()`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not after {timeout} s: {message() if callable(message) else message}", pytrace=False)
        time.sleep(interval)


# --- Servers ---------------------------------------------------------------------------------------


class Database:
    """A database of this session on the local server, and raw SQL on it for the tests' checks."""

    def __init__(self, engine):
        self.engine = engine
        self.port = PORTS[engine]
        self.name = f"microcred_it_{uuid.uuid4().hex[:10]}"
        self._conn = None

    def _connect(self, database):
        """A connection to ``database`` (the server's own when None), autocommitting."""
        if self.engine == "postgresql":
            import psycopg  # pylint: disable=import-outside-toplevel  (only the engine tested needs its driver)

            return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database,
                                   autocommit=True, connect_timeout=5)
        import MySQLdb  # pylint: disable=import-outside-toplevel  (only the engine tested needs its driver)

        conn = MySQLdb.connect(host="127.0.0.1", port=self.port, user="root", passwd="", connect_timeout=5,
                               **({"db": database} if database else {}))
        conn.autocommit(True)  # pylint: disable=not-callable  (MySQLdb's autocommit is a method)
        return conn

    def admin(self, sql):
        """Run one statement as the server's administrator."""
        conn = self._connect("postgres" if self.engine == "postgresql" else None)
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()

    def create(self):
        """Create this test's database (skipped, or failed where services are required, without the server)."""
        try:
            if self.engine == "postgresql":
                self.admin(f"CREATE DATABASE {self.name}")
            else:
                self.admin(f"CREATE DATABASE {self.name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        except ImportError as exc:
            unavailable(f"the {self.engine} driver ({exc})")
        except Exception as exc:  # pylint: disable=broad-except  (any driver error means the server is not there)
            unavailable(f"{self.engine} on 127.0.0.1:{self.port} ({type(exc).__name__}: {exc})")
        result = subprocess.run([PYTHON, "sandbox/manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT,
                                env=django_env(self.env()), capture_output=True, text=True, timeout=300, check=False)
        if result.returncode:
            pytest.fail(f"migrate on {self.engine} failed:\n{result.stdout}\n{result.stderr}", pytrace=False)

    def drop(self):
        """Drop this test's database, closing the connection to it first."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.engine == "postgresql":
            self.admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        else:
            self.admin(f"DROP DATABASE IF EXISTS {self.name}")

    def env(self, port=None):
        return {"SANDBOX_DB": self.engine, "SANDBOX_DB_NAME": self.name, "SANDBOX_DB_HOST": "127.0.0.1",
                "SANDBOX_DB_PORT": str(port or self.port)}

    def query(self, sql, params=()):
        """The rows of ``sql`` on this test's database."""
        if self._conn is None:
            self._conn = self._connect(self.name)
        cursor = self._conn.cursor()
        cursor.execute(sql, params)
        return list(cursor.fetchall())

    def scalar(self, sql, params=()):
        return self.query(sql, params)[0][0]

    @contextmanager
    def holding_award(self, user_id, credential_slug):
        """
        An uncommitted active award of the credential to the learner, in a transaction of our own:
        an evaluation that awards it waits for us at the unique index, inside its transaction.
        Rolled back at the end.
        """
        conn = self._connect(self.name)
        if self.engine == "postgresql":
            conn.autocommit = False
        else:
            conn.autocommit(False)
        try:
            conn.cursor().execute(
                "INSERT INTO openedx_microcred_award (uuid, user_id, credential_id, status, current, issued_at, "
                "revocation_reason, revocation_source, blocks_reaward, evidence, recipient_salt, hidden) "
                "SELECT %s, %s, id, 'active', TRUE, CURRENT_TIMESTAMP, '', '', FALSE, '[]', '', FALSE "
                "FROM openedx_microcred_credential WHERE slug = %s", (uuid.uuid4().hex, user_id, credential_slug))
            yield
        finally:
            conn.rollback()
            conn.close()

    def lock_waits(self):
        """How many sessions on this database wait for a row lock now."""
        if self.engine == "postgresql":
            return self.scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                               (self.name,))
        return self.scalar("SELECT COUNT(*) FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p "
                           "ON p.ID = t.trx_mysql_thread_id WHERE t.trx_state = 'LOCK WAIT' AND p.DB = %s",
                           (self.name,))


class Broker:
    """This session's share of the local Redis: every key under ``prefix``."""

    def __init__(self):
        try:
            import redis  # pylint: disable=import-outside-toplevel  (optional: the tests skip without it)
        except ImportError:
            unavailable("the redis client (pip install 'celery[redis]')")
        self.client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=0, socket_timeout=5)
        try:
            self.client.ping()
        except redis.RedisError as exc:
            unavailable(f"Redis on {REDIS_HOST}:{REDIS_PORT} ({exc})")
        self.prefix = f"microcred-it-{uuid.uuid4().hex[:10]}:"

    def url(self, port=None):
        return f"redis://{REDIS_HOST}:{port or REDIS_PORT}/0"

    def options(self, space):
        """
        Transport options for the processes of one test: their keys under ``space`` (within this
        session's prefix), so that no test gets the messages another left in its queues. Every
        worker looks for expired unacknowledged messages each second; the lock it takes to do so
        expires after 3 s (not 5 min) in case the worker holding it is one a test kills.
        """
        return {"global_keyprefix": f"{self.prefix}{space}:", "visibility_timeout": VISIBILITY_TIMEOUT,
                "unacked_restore_interval": 1, "unacked_restore_throttle": 1, "unacked_mutex_expire": 3}

    def queue_length(self, space, queue):
        return self.client.llen(f"{self.prefix}{space}:{queue}")

    def queued_tasks(self, space, queue):
        """The names of the tasks waiting in ``queue`` (Celery's message protocol 2)."""
        return [json.loads(raw)["headers"]["task"]
                for raw in self.client.lrange(f"{self.prefix}{space}:{queue}", 0, -1)]

    def flush(self):
        keys = list(self.client.scan_iter(match=f"{self.prefix}*", count=1000))
        if keys:
            self.client.delete(*keys)


@pytest.fixture(scope="session")
def broker():
    found = Broker()
    yield found
    found.flush()


@pytest.fixture(scope="session")
def databases():
    """``databases(engine)``: this session's migrated database on that server (made on first use)."""
    made = {}

    def get(engine):
        if engine not in made:
            database = Database(engine)
            database.create()
            made[engine] = database
        return made[engine]

    yield get
    for database in made.values():
        database.drop()


# --- Processes ------------------------------------------------------------------------------------

# One RSA key for the JWT settings of every process of the session (each would make its own).
_JWT_KEY = {}


def _session_cache_dir():
    if "dir" not in _CACHE_DIR:
        _CACHE_DIR["dir"] = tempfile.mkdtemp(prefix="microcred-it-cache-")
        atexit.register(shutil.rmtree, _CACHE_DIR["dir"], True)
    return _CACHE_DIR["dir"]


_CACHE_DIR = {}


def django_env(extra):
    """The environment of a Django process of the tests: sandbox settings, nothing eager, ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    if "jwk" not in _JWT_KEY:
        from sandbox.settings import _jwt_private_jwk  # pylint: disable=import-outside-toplevel  (needed once)

        _JWT_KEY["jwk"] = _jwt_private_jwk()
    env.update({"DJANGO_SETTINGS_MODULE": "sandbox.settings", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
                "SANDBOX_CELERY_EAGER": "0", "SANDBOX_JWT_PRIVATE_JWK": _JWT_KEY["jwk"],
                "SANDBOX_SQLITE": "/nonexistent/not-this-database.sqlite3",
                # The processes of the tests share a cache (as an LMS's do), not the demo's.
                "SANDBOX_CACHE_DIR": _session_cache_dir()})
    env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


class Proc:
    """A process of a test, in its own process group, its output in a log file."""

    def __init__(self, name, argv, env, log_dir, stdin=None):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # pylint: disable=consider-using-with  (closed by stop())
        self.popen = subprocess.Popen(  # pylint: disable=consider-using-with  (ended by stop())
            argv, cwd=ROOT, env=env, stdout=self._log if stdin is None else subprocess.PIPE, stderr=self._log,
            stdin=stdin, start_new_session=True, text=stdin is not None, bufsize=1 if stdin is not None else -1)
        self.pid = self.popen.pid
        self.port = None  # where it listens, for a proxy (Site.proxy)

    def output(self):
        return self.log_path.read_text(errors="replace")

    def tail(self, lines=40):
        return f"--- {self.name} (pid {self.pid}, exit {self.popen.poll()}) ---\n" + \
            "\n".join(self.output().splitlines()[-lines:])

    def alive(self):
        return self.popen.poll() is None

    def wait_for_output(self, text, timeout=30, count=1):
        """Wait until the process printed ``text`` ``count`` times; fail if it exits first."""
        def seen():
            if not self.alive() and self.output().count(text) < count:
                pytest.fail(f"{self.name} exited before printing {text!r}:\n{self.tail()}", pytrace=False)
            return self.output().count(text) >= count

        wait_until(seen, timeout, lambda: f"{self.name} did not print {text!r}:\n{self.tail()}")

    def children(self):
        """The pids of this process's children (a prefork worker's pool processes)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.pid:
                    found.append(int(entry.name))
        return found

    def kill(self, sig=signal.SIGKILL):
        """Signal the whole process group (a prefork worker and its pool)."""
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout=10):
        """Stop the process group: SIGTERM, then SIGKILL for whatever is left."""
        if self.alive():
            self.kill(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill(signal.SIGKILL)  # whatever is left of the group
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.popen.stdin, self.popen.stdout):
            if stream is not None:
                stream.close()
        self._log.close()


@dataclass
class Site:
    """One test's deployment: a database, the broker, the fake Credly, and the processes it starts."""

    db: Database
    broker: Broker
    credly: CredlyServer
    log_dir: Path
    prefix: str
    queue: str = "edx.lms.core.default"
    procs: list = field(default_factory=list)

    def templates(self):
        """The fake Credly's two templates: one for each credential of a test (agent.setup)."""
        return [self.credly.default_template_id, self.credly.second_template_id]

    def accounts(self, timeout=(2, 5)):
        return {"credly": {"backend": "credly", "base_url": self.credly.base_url, "token": self.credly.token,
                           "organization_id": self.credly.organization_id, "timeout": list(timeout),
                           "organizations": ["IT"]}}

    def env(self, *, db_port=None, broker_port=None, accounts=True, **extra):
        """A Django process of this site; ``accounts=False``: no badge platform configured (the LMS)."""
        values = {**self.db.env(db_port), "SANDBOX_CELERY_BROKER": self.broker.url(broker_port),
                  "SANDBOX_CELERY_BROKER_OPTIONS": json.dumps(self.broker.options(self.prefix)),
                  "SANDBOX_CELERY_QUEUE": self.queue, "SANDBOX_DELIVERY_POLICY": json.dumps(DELIVERY_POLICY)}
        if accounts:
            values["SANDBOX_PLATFORM_ACCOUNTS"] = json.dumps(accounts if isinstance(accounts, dict)
                                                             else self.accounts())
        values.update(extra)
        return django_env(values)

    def start(self, name, argv, env, stdin=None):
        proc = Proc(name, argv, env, self.log_dir, stdin=stdin)
        self.procs.append(proc)
        return proc

    def worker(self, name="worker", concurrency=2, pool="prefork", ready=True, **env):
        """A Celery worker of the sandbox's app, consuming this site's queue."""
        argv = [PYTHON, "-m", "celery", "-A", "sandbox.celery_app", "worker", "-l", "INFO", "-Q", self.queue,
                "-P", pool, "-c", str(concurrency), "-n", f"{name}-{self.prefix}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat"]
        proc = self.start(name, argv, self.env(**env))
        if ready:
            proc.wait_for_output(" ready.", timeout=60)
        return proc

    def lms(self, name="lms", **env):
        """
        The "LMS": a Django process of this site with eager Celery off (it cannot award or deliver by
        itself: every task goes to the worker); it sets the test up, sends events with
        ``microcred_replay`` and runs ``microcred_sweep`` as Celery beat would. It has the site's badge
        platform accounts, as the platform's LMS and workers share settings: saving a credential
        that targets an account checks that the account exists and serves the credential's org.
        """
        return Agent(self.start(name, AGENT, self.env(**env), stdin=subprocess.PIPE))

    def racers(self, count, **env):
        """``count`` agent processes that do the same step at the same moment (see Racers)."""
        env.setdefault("SANDBOX_CELERY_BROKER", "memory://")  # what they queue stays in them
        return Racers([Agent(self.start(f"racer-{i}", AGENT, self.env(**env), stdin=subprocess.PIPE))
                       for i in range(count)])

    def proxy(self, name, target_port, listen_port=None):
        """A TCP proxy process to 127.0.0.1:target_port; ``proc.port`` is where it listens."""
        listen_port = listen_port or free_port()
        proc = self.start(name, [PYTHON, str(Path(__file__).with_name("tcpproxy.py")), str(listen_port),
                                 "127.0.0.1", str(target_port)], django_env({}))
        proc.port = listen_port
        proc.wait_for_output("listening", timeout=15)
        return proc

    def queue_length(self, queue):
        return self.broker.queue_length(self.prefix, queue)

    def queued_tasks(self, queue):
        return self.broker.queued_tasks(self.prefix, queue)

    def state(self):
        """This test's awards, deliveries and facts, read with plain SQL (what ``agent state`` gives)."""
        users = "SELECT id FROM auth_user WHERE username LIKE %s"
        like = f"{self.prefix}-%"
        awards = [
            {"id": pk, "user": user, "credential": slug, "status": status, "current": bool(current),
             "signed": bool(signed)}
            for pk, user, slug, status, current, signed in self.db.query(
                "SELECT a.id, a.user_id, c.slug, a.status, a.current, a.document IS NOT NULL "
                "FROM openedx_microcred_award a JOIN openedx_microcred_credential c ON c.id = a.credential_id "
                f"WHERE a.user_id IN ({users}) ORDER BY a.id", (like,))
        ]
        deliveries = [
            {"id": pk, "award": award, "action": action, "state": state, "external_id": external_id,
             "attempts": attempts, "last_error": last_error, "outcome_unknown": bool(unknown)}
            for pk, award, action, state, external_id, attempts, last_error, unknown in self.db.query(
                "SELECT d.id, d.award_id, d.action, d.state, d.external_id, d.attempts, d.last_error, "
                "d.outcome_unknown FROM openedx_microcred_delivery d JOIN openedx_microcred_award a "
                f"ON a.id = d.award_id WHERE a.user_id IN ({users}) ORDER BY d.id", (like,))
        ]
        facts, pending = self.db.query(
            "SELECT COUNT(*), COUNT(pending_since) FROM openedx_microcred_learnerfact "
            f"WHERE user_id IN ({users})", (like,))[0]
        return {"awards": awards, "deliveries": deliveries, "facts": facts, "pending_facts": pending}

    def wait_for_awards(self, expected, timeout=60):
        """Until ``expected`` awards are signed and delivered and no fact awaits evaluation; the state."""
        def done():
            state = self.state()
            ok = (len(state["awards"]) >= expected and all(a["signed"] for a in state["awards"])
                  and len(state["deliveries"]) >= expected
                  and all(d["state"] == "delivered" for d in state["deliveries"]) and not state["pending_facts"])
            return state if ok else None

        return wait_until(done, timeout, lambda: f"{self.state()}\n{self.diagnose()}", interval=0.3)

    def diagnose(self):
        return "\n".join(proc.tail() for proc in self.procs)

    def stop_all(self):
        """SIGTERM to every process at once, then SIGKILL to what is left after a few seconds."""
        for proc in self.procs:
            if proc.alive():
                proc.kill(signal.SIGTERM)
        deadline = time.monotonic() + 8
        for proc in self.procs:
            try:
                proc.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs:
            proc.stop(timeout=0)


AGENT = [PYTHON, "-m", "tests.integration.agent"]


class Agent:
    """A process running agent.py: one JSON step per line in, one ``@@ <JSON>`` answer out."""

    def __init__(self, proc):
        self.proc = proc

    def send(self, step):
        self.proc.popen.stdin.write((step if isinstance(step, str) else json.dumps(step)) + "\n")
        self.proc.popen.stdin.flush()

    def receive(self, timeout=120):
        """The agent's next answer (fails if it prints none within ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        stdout = self.proc.popen.stdout
        while True:
            ready = select.select([stdout], [], [], max(0.0, deadline - time.monotonic()))[0]
            line = stdout.readline() if ready else ""
            if not line:
                pytest.fail(f"{self.proc.name} did not answer:\n{self.proc.tail()}", pytrace=False)
            if line.startswith("@@ "):
                return json.loads(line[3:])

    def call(self, step, timeout=120):
        """Do ``step``; its result (the test fails if it raised)."""
        self.send(step)
        outcome = self.receive(timeout)
        if not outcome["ok"]:
            pytest.fail(f"{self.proc.name}: {step} raised {outcome['error']}\n{outcome['traceback']}", pytrace=False)
        return outcome["result"]

    def setup(self, prefix, learners=1, templates=(), facts=False, events=()):
        return self.call({"op": "setup", "prefix": prefix, "learners": learners, "templates": list(templates),
                          "facts": facts, "events": [[str(f), a, b, m] for f, a, b, m in events]})

    def command(self, name, *args):
        return self.call({"op": "command", "name": name, "args": [str(a) for a in args]})

    def replay(self, path):
        """Send the events of a JSON Lines file through the real signals; what microcred_replay printed."""
        return self.command("microcred_replay", path, "--no-progress", "--strict")

    def sweep(self):
        """What Celery beat does every 5 minutes, now: ``microcred_sweep --older-than 0``."""
        return self.command("microcred_sweep", "--older-than", "0")

    def log(self):
        return self.proc.output()


class Racers:
    """Agents that do the same step at the same moment: each gets ready, then all are told "go" at once."""

    def __init__(self, agents):
        self.agents = agents
        self.procs = [agent.proc for agent in agents]

    def race(self, step, timeout=60):
        """
        Every racer does ``step`` at once (or, given a list, each racer its own step); their
        outcomes ({"ok", "result" or "error"}), in racer order.
        """
        steps = step if isinstance(step, list) else [step] * len(self.agents)
        assert len(steps) == len(self.agents), steps
        for agent, mine in zip(self.agents, steps):
            agent.send({**mine, "race": True})
        for agent in self.agents:
            answer = agent.receive(timeout)
            assert answer == "ready", f"{agent.proc.name}: {answer}\n{agent.proc.tail()}"
        for agent in self.agents:  # the start line: written to each in turn, microseconds apart
            agent.send("go")
        return [agent.receive(timeout) for agent in self.agents]


@pytest.fixture
def credly():
    with CredlyServer() as server:
        server.second_template_id = server.add_template("Stack")
        yield server


@pytest.fixture
def make_site(databases, broker, credly, tmp_path):
    """``make_site(engine)``: a Site on that database; every process it started is killed at the end."""
    sites = []

    def make(engine, queue="edx.lms.core.default"):
        site = Site(databases(engine), broker, credly, tmp_path, f"t{uuid.uuid4().hex[:8]}", queue=queue)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.stop_all()


def badges_ok(site, emails, per_learner=2):
    """Exactly ``per_learner`` live badges upstream for each learner, each made by one accepted POST."""
    credly = site.credly
    for email in emails:
        badges = credly.badges_of(email)
        templates = sorted(b["badge_template"]["id"] for b in badges)
        assert len(badges) == per_learner, (email, badges)
        assert len(set(templates)) == per_learner, templates
    posts = [r for r in credly.requests_to("POST", r"/badges$")
             if (r["json"] or {}).get("recipient_email") in emails]
    accepted = [r for r in posts if r["status"] == 201]
    refused = [r for r in posts if r["status"] == 422]
    assert not refused, refused  # a second badge was attempted and Credly refused it
    return accepted


def assert_each_effect_once(site, setup, state):
    """Every learner holds each credential once, delivered once, and has one badge upstream per credential."""
    awards = Counter((a["user"], a["credential"]) for a in state["awards"])
    assert awards == Counter({(u, c): 1 for u in setup["users"] for c in setup["credentials"]}), state["awards"]
    assert all(a["status"] == "active" and a["current"] and a["signed"] for a in state["awards"]), state["awards"]
    assert Counter(d["award"] for d in state["deliveries"]) == Counter(a["id"] for a in state["awards"])
    assert all(d["state"] == "delivered" and d["action"] == "issue" for d in state["deliveries"]), state["deliveries"]
    assert state["pending_facts"] == 0
    accepted = badges_ok(site, setup["emails"], per_learner=len(setup["credentials"]))
    assert len(accepted) == len(state["awards"])
    upstream = {b["id"] for email in setup["emails"] for b in site.credly.badges_of(email)}
    assert {d["external_id"] for d in state["deliveries"]} == upstream
