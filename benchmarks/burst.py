"""
(d) A burst of 100,000 events through a real Celery worker, with nothing lost.

A deployment in miniature on this machine: MariaDB (the database Open edX runs on) and the local
Redis as the Celery broker. "LMS" processes send real openedx-events as fast as they can
(``microcred_replay``: every event through the real signal and the plugin's receivers, which
record the fact and queue an evaluation); a Celery worker process (prefork pool) evaluates,
awards, signs each award (Open Badges 3.0, Ed25519) and delivers the badges of the stacks and of
each program's first course to the local Credly server (real sockets). The burst is 10 events per learner on average over a catalog of
200 courses with 400 credentials and 40 stacks (``scale.py``'s programs), 10,000 new learners
enrolling, grades rising, passing, verified certificates; events of many learners interleaved, as
they arrive at a busy LMS.

Measured: how fast the LMS side sends (its CPU per event), how deep the queue gets, how long until
every effect is in the database (every fact evaluated, every award signed, every badge delivered),
the CPU per event of the LMS, the worker and MariaDB. Then it checks that nothing was lost or done
twice, against what the event files say (read as plain JSON, not through the product):

* every (learner, course, kind) of the events has one fact holding the newest event's id;
* no rejected event, no fact still pending evaluation;
* the awards are exactly what the rules engine decides from those facts (each learner's whole
  catalog, evaluated from nothing), one active award per learner and credential, every one signed;
* every award of a credential with a platform target has one delivery, delivered, and the local
  Credly holds exactly one badge for each.

With ``--kill-worker`` the worker is killed (SIGKILL, its whole pool) when half the facts are in,
and a new one started: its unacknowledged tasks come back after the broker's visibility timeout,
and Celery beat's sweeps (run here with ``microcred_sweep`` when the system is idle) requeue what
was lost; the same checks must pass.

Baseline, same run, on a second database seeded the same way: about ``--baseline-events`` events
of the same stream (every event of one learner in ten: whole journeys, as many awards per event as
the burst) replayed by one process with everything inline (Celery eager:
evaluation, signing and delivery in the sending process, as if there were no worker). The same
checks run on its result.

    .venv/bin/python benchmarks/burst.py                    # 100,000 events: about 25 min here
    .venv/bin/python benchmarks/burst.py --kill-worker      # the same, with a worker killed halfway
    .venv/bin/python benchmarks/burst.py --quick            # 2,000 events, about a minute (tests)

Needs MariaDB (root, no password, 127.0.0.1:3306) and Redis (127.0.0.1:6379); makes databases
``microcred_bench_burst_*`` and Redis keys ``microcred-burst-*``, and removes them at the end.
Prints a table and writes ``benchmarks/results/burst.json``.
"""

import argparse
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402  pylint: disable=wrong-import-position
from benchmarks.scale import COURSES_PER_PROGRAM, catalog_entries, program_course  # noqa: E402  pylint: disable=wrong-import-position

ROOT = common.ROOT
REDIS = ("127.0.0.1", 6379)
QUEUE = "edx.lms.core.default"
# The worker's unacknowledged tasks (a killed worker's) go back to the queue after this long.
VISIBILITY_TIMEOUT = 30
# Deliveries: quick retries, no rate limit (the local Credly server is not the limit measured).
DELIVERY_POLICY = {"backoff_base": 0.5, "backoff_cap": 5, "max_attempts": 12, "rate_per_second": 0,
                   "stale_sending": 60}

FULL = {"events": 100000, "learners": 10000, "programs": 20, "baseline_events": 3000, "senders": 2,
        "workers": 1, "concurrency": 2, "evaluation_batch": 0}
QUICK = {"events": 2000, "learners": 200, "programs": 2, "baseline_events": 300, "senders": 2,
         "workers": 1, "concurrency": 2, "evaluation_batch": 0}

BURST_T0 = datetime(2026, 10, 1, 8, 0, tzinfo=timezone.utc)
PASS_CUTOFF = 0.6
KIND_OF_EVENT = {
    "org.openedx.learning.course.enrollment.created.v1": "enrollment",
    "org.openedx.learning.course.persistent_grade_summary.changed.v1": "grade",
    "org.openedx.learning.course.passing.status.updated.v1": "passing",
    "org.openedx.learning.certificate.created.v1": "certificate",
}


def log(message):
    print(message, file=sys.stderr, flush=True)


# =============================================================================================
# Inside Django (child processes): the catalog, the learners, the events, the checks
# =============================================================================================


def prepare(config, workdir, write_events):
    """Migrate, load the catalog (stacks delivered to Credly), make the learners; write the event files."""
    # pylint: disable=import-outside-toplevel
    from django.contrib.auth import get_user_model

    common.migrate()
    entries = create_catalog(config["programs"], "Burst", config["credly_templates"])
    users = get_user_model()
    users.objects.bulk_create([users(username=f"burst{i}", email=f"burst{i}@example.com", first_name="Learner",
                                     last_name=str(i)) for i in range(config["learners"])], batch_size=1000)
    ids = list(users.objects.filter(username__startswith="burst").order_by("id").values_list("id", flat=True))
    result = {"credentials": len(entries), "stacks": sum(1 for e in entries if e[2]),
              "delivered_credentials": sum(1 for slug, _, kind in entries if delivered(slug, kind)),
              "learners": len(ids),
              "courses": config["programs"] * COURSES_PER_PROGRAM}
    if write_events:
        result.update(write_burst(config, ids, workdir))
    return result


def create_catalog(programs, org, templates=None):
    """
    ``scale.py``'s programs as active credentials of ``org`` (those in ``templates`` delivered to
    Credly with their template), their dependency index and their courses; returns the entries.
    """
    # pylint: disable=import-outside-toplevel  (Django is set up by the caller, in a child process)
    from openedx_microcred.catalog import refresh_dependency_index
    from openedx_microcred.models import Credential
    from sandbox.host.models import Course

    templates = templates or {}
    entries = catalog_entries(programs)
    Credential.objects.bulk_create(
        [Credential(slug=slug, title=slug, org=org, criteria=criteria, stack_kind=kind,
                    course_key=criteria.get("course") if not kind and "course" in criteria else None,
                    platform_targets=[{"account": "credly", "template_id": templates[slug]}] if slug in templates else [],
                    state=Credential.State.ACTIVE) for slug, criteria, kind in entries], batch_size=500)
    refresh_dependency_index(list(Credential.objects.all()))
    Course.objects.bulk_create([Course(course_key=program_course(p, c), display_name=f"P{p} C{c}",
                                       completable_blocks=100)
                                for p in range(programs) for c in range(COURSES_PER_PROGRAM)])
    return entries


def delivered(slug, stack_kind):
    """Which credentials go to Credly: every stack, and each program's first course credential ("passed")."""
    return bool(stack_kind) or slug.endswith("-c0")


def burst_events(config, user_ids):
    """The burst as (time, user id, signal, data kwargs), in time order: exactly config['events'] of them."""
    rng = random.Random(20261001)
    users = {u: common.user_data(u, f"burst{n}", f"burst{n}@example.com") for n, u in enumerate(user_ids)}
    taken = {u: set() for u in user_ids}
    program_of = {u: rng.randrange(config["programs"]) for u in user_ids}
    clock = {u: BURST_T0 + timedelta(seconds=rng.randrange(3600)) for u in user_ids}
    events = []

    def at(user, minutes):
        clock[user] += timedelta(minutes=minutes, seconds=rng.randrange(60))
        return clock[user]

    while len(events) < config["events"]:
        for user in user_ids:  # each round, every learner takes one more course
            free = [c for c in range(COURSES_PER_PROGRAM) if c not in taken[user]]
            if not free:
                continue
            course = rng.choice(free)
            taken[user].add(course)
            key = program_course(program_of[user], course)
            verified = rng.random() < 0.3
            events.append((at(user, 1), user, *common.enrollment_event(users[user], key,
                                                                        "verified" if verified else "audit")))
            final = round(rng.random() ** 0.8, 4)  # about half pass: an engaged cohort
            steps = rng.randint(1, 4)
            passed_at = None
            for step in range(1, steps + 1):
                percent = round(final * step / steps, 4)
                when = at(user, 30)
                if percent >= PASS_CUTOFF and passed_at is None:
                    passed_at = when
                events.append((when, user, *common.grade_event(user, key, percent, passed_at)))
            if passed_at is not None:
                events.append((at(user, 1), user, *common.passing_event(users[user], key, True)))
                if verified:
                    events.append((at(user, 60), user, *common.certificate_event(users[user], key)))
        if all(len(t) == COURSES_PER_PROGRAM for t in taken.values()):
            break
    events.sort(key=lambda e: (e[0], e[1]))
    return events[:config["events"]]


def write_burst(config, user_ids, workdir):
    """The burst's JSON Lines files: one per sender (learners split between them), and the baseline's slice."""
    # pylint: disable=import-outside-toplevel
    from openedx_events.data import EventsMetadata

    from openedx_microcred import eventlog

    events = burst_events(config, user_ids)
    senders = config["senders"]
    # The baseline's slice: every event of one learner in `stride`, so it holds whole journeys (and
    # as many awards per event) as the burst does.
    stride = max(1, round(len(events) / config["baseline_events"]))
    in_baseline = set(user_ids[::stride])
    files = [open(Path(workdir) / f"burst-{n}.jsonl", "w", encoding="utf-8") for n in range(senders)]  # noqa: SIM115  pylint: disable=consider-using-with
    baseline = open(Path(workdir) / "baseline.jsonl", "w", encoding="utf-8")  # pylint: disable=consider-using-with
    mix = Counter()
    try:
        for n, (when, user, sig, data) in enumerate(events):
            metadata = EventsMetadata(event_type=sig.event_type, id=uuid.UUID(int=random.Random(n).getrandbits(128),
                                                                              version=4), time=when)
            line = eventlog.dump_event(sig, metadata, **data) + "\n"
            files[user % senders].write(line)
            if user in in_baseline:
                baseline.write(line)
            mix[KIND_OF_EVENT.get(sig.event_type, sig.event_type)] += 1
    finally:
        for stream in files + [baseline]:
            stream.close()
    return {"events": len(events), "event_mix": dict(mix),
            "learners_with_events": len({e[1] for e in events})}


def expected_facts(paths):
    """From the event files, read as plain JSON: (user, course, kind) → the id of its newest event."""
    newest = {}
    for path in paths:
        with open(path, encoding="utf-8") as stream:
            for line in stream:
                event = json.loads(line)
                payload = next(iter(event["data"].values()))
                user = payload.get("user_id") or payload["user"]["id"]
                key = (user, payload["course"]["course_key"], KIND_OF_EVENT[event["event_type"]])
                when = datetime.fromisoformat(event["metadata"]["time"])
                if key not in newest or when > newest[key][0]:
                    newest[key] = (when, event["metadata"]["id"])
    return {key: event_id for key, (_, event_id) in newest.items()}


def _lines(path):
    with open(path, encoding="utf-8") as stream:
        return sum(1 for _ in stream)


def check(paths):
    """Nothing lost, nothing twice: the database against the event files and the rules engine."""
    # pylint: disable=import-outside-toplevel
    from openedx_microcred import rules
    from openedx_microcred.models import Award, Credential, Delivery, LearnerFact, RejectedEvent

    expected = expected_facts(paths)
    stored = {(f.user_id, str(f.course_key), f.kind): f for f in LearnerFact.objects.all()}
    missing_facts = [k for k in expected if k not in stored]
    wrong_facts = [k for k, event_id in expected.items() if k in stored and stored[k].event_id != event_id]
    extra_facts = [k for k in stored if k not in expected]

    credentials = list(Credential.objects.filter(state=Credential.State.ACTIVE))
    rule_list = [c.rule() for c in credentials]
    delivered_slugs = {c.slug for c in credentials if c.platform_targets}
    facts_by_user = {}
    for (user, course, kind), fact in stored.items():
        facts_by_user.setdefault(user, {})[(course, kind)] = fact.to_rule_fact()
    should_hold = {(user, d.slug) for user, facts in facts_by_user.items()
                   for d in rules.decide(rule_list, rules.LearnerState(facts=facts)) if d.held_after}

    awards = list(Award.objects.filter(current=True).values_list("pk", "user_id", "credential__slug", "status",
                                                                 "document"))
    held = Counter((user, slug) for _, user, slug, status, _ in awards if status == Award.Status.ACTIVE)
    deliveries = list(Delivery.objects.values_list("award_id", "action", "state", "external_id"))
    issue = Counter(award for award, action, _, _ in deliveries if action == Delivery.Action.ISSUE)
    to_deliver = {pk for pk, _, slug, _, _ in awards if slug in delivered_slugs}
    external_ids = [ext for _, action, state, ext in deliveries if action == Delivery.Action.ISSUE and ext]
    return {
        "events_checked": sum(_lines(path) for path in paths),
        "facts_expected": len(expected),
        "facts_stored": len(stored),
        "facts_missing": len(missing_facts),
        "facts_not_newest": len(wrong_facts),
        "facts_unexpected": len(extra_facts),
        "facts_pending": LearnerFact.objects.filter(pending_since__isnull=False).count(),
        "rejected_events": RejectedEvent.objects.count(),
        "awards_expected": len(should_hold),
        "awards": sum(held.values()),
        "awards_missing": len(should_hold - set(held)),
        "awards_unexpected": len(set(held) - should_hold),
        "awards_twice": sum(1 for n in held.values() if n > 1),
        "awards_not_active": sum(1 for _, _, _, status, _ in awards if status != Award.Status.ACTIVE),
        "awards_unsigned": sum(1 for *_, document in awards if not document),
        "deliveries_expected": len(to_deliver),
        "deliveries_delivered": sum(1 for award, action, state, _ in deliveries
                                    if action == Delivery.Action.ISSUE and state == Delivery.State.DELIVERED),
        "deliveries_missing": len(to_deliver - set(issue)),
        "deliveries_twice": sum(1 for n in issue.values() if n > 1),
        "deliveries_unexpected": len(set(issue) - to_deliver),
        "external_ids": sorted(external_ids),
    }


def baseline(config, workdir):
    """The slice replayed by one process with everything inline (Celery eager): no worker."""
    # pylint: disable=import-outside-toplevel
    from django.core.management import call_command

    path = str(Path(workdir) / "baseline.jsonl")
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    with open(os.devnull, "w", encoding="utf-8") as quiet:
        call_command("microcred_replay", path, "--no-progress", "--strict", stdout=quiet)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": seconds, "cpu_seconds": cpu, "check": check([path])}


def child_main(args):
    config = json.loads(args.child_config)
    common.setup_django("mysql", mysql_name=args.child_db, eager=args.child == "baseline")
    if args.child == "prepare":
        result = prepare(config, args.child_workdir, write_events=True)
    elif args.child == "prepare-baseline":
        result = prepare(config, args.child_workdir, write_events=False)
    elif args.child == "baseline":
        result = baseline(config, args.child_workdir)
    else:
        result = check(sorted(str(p) for p in Path(args.child_workdir).glob("burst-*.jsonl")))
    print(json.dumps(result))


# =============================================================================================
# The deployment: processes, the broker, the database, watched from outside
# =============================================================================================


def process_cpu(pid):
    """CPU seconds of a running process (user + system), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid):
    """CPU seconds of a process and its live children (a prefork worker and its pool)."""
    total = process_cpu(pid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                total += process_cpu(int(entry.name))
    return total


def mariadb_pid():
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("mariadbd", "mysqld"):
                    return int(entry.name)
            except OSError:
                continue
    return None


class Deployment:
    """The burst database, this run's share of Redis, the local Credly, and the processes."""

    def __init__(self, database, workdir, credly, config):
        import redis  # pylint: disable=import-outside-toplevel

        self.database = database
        self.workdir = Path(workdir)
        self.credly = credly
        self.config = config
        self.prefix = f"microcred-burst-{uuid.uuid4().hex[:8]}:"
        self.redis = redis.Redis(*REDIS, socket_timeout=10)
        self.procs = []
        self.worker_cpu = 0.0  # of the workers that have ended
        self._sql = None

    def env(self, eager=False, accounts=True):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
        env.update({
            "DJANGO_SETTINGS_MODULE": "sandbox.settings", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
            "SANDBOX_DB": "mysql", "SANDBOX_DB_NAME": self.database, "SANDBOX_DB_HOST": common.MYSQL["host"],
            "SANDBOX_DB_PORT": str(common.MYSQL["port"]), "SANDBOX_CELERY_EAGER": "1" if eager else "0",
            "SANDBOX_CELERY_BROKER": f"redis://{REDIS[0]}:{REDIS[1]}/0", "SANDBOX_CELERY_QUEUE": QUEUE,
            "SANDBOX_CELERY_BROKER_OPTIONS": json.dumps({
                "global_keyprefix": self.prefix, "visibility_timeout": VISIBILITY_TIMEOUT,
                "unacked_restore_interval": 5, "unacked_mutex_expire": 30}),
            "SANDBOX_DELIVERY_POLICY": json.dumps(DELIVERY_POLICY),
            "SANDBOX_JWT_PRIVATE_JWK": "",
        })
        if self.config.get("evaluation_batch"):
            env["SANDBOX_EVALUATION_BATCH"] = str(self.config["evaluation_batch"])
        if accounts:
            env["SANDBOX_PLATFORM_ACCOUNTS"] = json.dumps({"credly": {
                "backend": "credly", "base_url": self.credly.base_url, "token": self.credly.token,
                "organization_id": self.credly.organization_id, "timeout": [5, 30], "organizations": ["Burst"]}})
        return env

    def start(self, name, argv, env):
        log_file = open(self.workdir / f"{name}.log", "ab")  # pylint: disable=consider-using-with
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                start_new_session=True)
        proc.name, proc.log_path, proc.started = name, self.workdir / f"{name}.log", time.perf_counter()
        self.procs.append(proc)
        return proc

    def worker(self, n):
        argv = [sys.executable, "-m", "celery", "-A", "sandbox.celery_app", "worker", "-l", "WARNING", "-Q", QUEUE,
                "-P", "prefork", "-c", str(self.config["concurrency"]), "-n", f"burst{n}-{self.prefix}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat"]
        proc = self.start(f"worker-{n}", argv, self.env())
        proc.kind = "worker"
        return proc

    def sender(self, n):
        argv = [sys.executable, "sandbox/manage.py", "microcred_replay", str(self.workdir / f"burst-{n}.jsonl"),
                "--no-progress", "--strict"]
        proc = self.start(f"sender-{n}", argv, self.env(accounts=False))  # the LMS: no platform, no signing
        proc.kind = "sender"
        return proc

    def command(self, *argv):
        return subprocess.run([sys.executable, "sandbox/manage.py", *argv], cwd=ROOT, env=self.env(accounts=False),
                              capture_output=True, text=True, check=True).stdout

    def stop(self, proc, sig=signal.SIGTERM, timeout=60):
        """Stop a process (its whole group); returns its CPU seconds (and its reaped children's)."""
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
        try:
            _, _, usage = os.wait4(proc.pid, 0) if proc.returncode is None else (0, 0, None)
        except ChildProcessError:
            usage = None
        proc.wait(timeout)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group
        except ProcessLookupError:
            pass
        return (usage.ru_utime + usage.ru_stime) if usage else 0.0

    def sender_done(self, proc):
        """Whether the sender has exited (reaped here, for its CPU time); fails the run if it failed."""
        if getattr(proc, "ended", None) is not None:
            return True
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if not pid:
            return False
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.ended = time.perf_counter()
        proc.cpu = usage.ru_utime + usage.ru_stime
        if proc.returncode:
            raise RuntimeError(f"{proc.name} failed:\n{proc.log_path.read_text()[-3000:]}")
        return True

    def sql(self, statement):
        if self._sql is None:
            import MySQLdb  # pylint: disable=import-outside-toplevel

            self._sql = MySQLdb.connect(host=common.MYSQL["host"], port=common.MYSQL["port"],
                                        user=common.MYSQL["user"], passwd=common.MYSQL["password"], db=self.database,
                                        autocommit=True)
        cursor = self._sql.cursor()
        cursor.execute(statement)
        return cursor.fetchone()

    def state(self):
        facts, pending = self.sql("SELECT COUNT(*), COUNT(pending_since) FROM openedx_microcred_learnerfact")
        awards, unsigned = self.sql("SELECT COUNT(*), COALESCE(SUM(document IS NULL), 0) FROM openedx_microcred_award")
        deliveries, undelivered = self.sql("SELECT COUNT(*), COALESCE(SUM(state <> 'delivered'), 0) "
                                           "FROM openedx_microcred_delivery")
        unacked = self.redis.hlen(f"{self.prefix}unacked")
        return {"facts": facts, "pending": pending, "awards": awards, "unsigned": int(unsigned),
                "deliveries": deliveries, "undelivered": int(undelivered),
                "queued": self.redis.llen(f"{self.prefix}{QUEUE}"), "unacked": unacked}

    def cleanup(self):
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self._sql is not None:
            self._sql.close()
        keys = list(self.redis.scan_iter(match=f"{self.prefix}*", count=1000))
        if keys:
            self.redis.delete(*keys)


def settled(state):
    return (not state["pending"] and not state["unsigned"] and not state["undelivered"] and not state["queued"]
            and not state["unacked"])


def run_burst(site, config, expected_facts_count, kill_worker, stall_seconds):
    """Workers up, senders go; watch until every effect is in; the figures."""
    mariadb = mariadb_pid()
    mariadb_cpu0 = process_cpu(mariadb) if mariadb else 0.0
    workers = [site.worker(n) for n in range(config["workers"])]
    time.sleep(3)  # let them connect; the clock starts with the first event sent
    started = time.perf_counter()
    senders = [site.sender(n) for n in range(config["senders"])]
    timeline, killed, sweeps = [], None, []
    max_queued, last_change, last_state, sent_at = 0, started, None, None
    while True:
        time.sleep(1)
        if sent_at is None and all([site.sender_done(p) for p in senders]):
            sent_at = max(p.ended for p in senders)
        state = site.state()
        now = time.perf_counter()
        max_queued = max(max_queued, state["queued"])
        timeline.append({"t": round(now - started, 1), **state})
        if kill_worker and killed is None and state["facts"] >= expected_facts_count // 2:
            victim = workers.pop(0)
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(30)
            killed = {"t": round(now - started, 1), "facts": state["facts"], "queued": state["queued"],
                      "unacked": state["unacked"]}
            log(f"  killed {victim.name} (SIGKILL, the whole pool) at {killed['t']} s; starting another")
            workers.append(site.worker(len(site.procs)))
        if state != last_state:
            last_change, last_state = now, state
        if len(timeline) % 15 == 0:
            log(f"  {now - started:6.0f} s  facts {state['facts']:,}  pending {state['pending']:,}  "
                f"queued {state['queued']:,}  awards {state['awards']:,} (unsigned {state['unsigned']:,})  "
                f"deliveries {state['deliveries']:,} (not yet {state['undelivered']:,})")
        if sent_at is not None and settled(state):
            break
        if sent_at is not None and now - last_change > stall_seconds:
            if len(sweeps) >= 3:
                raise RuntimeError(f"stalled and the sweeps did not help: {state}")
            # Idle with work left: what Celery beat's sweeps would do in the next 5 minutes.
            log(f"  idle for {stall_seconds} s with work left ({state}): microcred_sweep, as beat would")
            sweeps.append({"t": round(now - started, 1), **state,
                           "output": site.command("microcred_sweep", "--older-than", "0").strip()})
            last_change = now
    done = time.perf_counter()
    sender_cpu = sum(p.cpu for p in senders)
    live_worker_cpu = sum(tree_cpu(w.pid) for w in workers)  # before stopping: the pool's share is counted
    for proc in workers:
        site.stop(proc)
    return {
        "seconds": done - started,
        "send_seconds": sent_at - started,
        "drain_after_send_seconds": done - sent_at,
        "sender_seconds": [round(p.ended - p.started, 1) for p in senders],
        "sender_cpu_seconds": sender_cpu,
        "worker_cpu_seconds": live_worker_cpu if not kill_worker else None,
        "mariadb_cpu_seconds": (process_cpu(mariadb) - mariadb_cpu0) if mariadb else None,
        "max_queued": max_queued,
        "killed": killed,
        "sweeps": sweeps,
        "timeline": timeline,
    }


def run_child(task, database, workdir, config):
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--child-db", database,
               "--child-workdir", str(workdir), "--child-config", json.dumps(config)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    env["PYTHONPATH"] = str(ROOT)
    if task == "baseline":
        env.update({k: v for k, v in config["baseline_env"].items()})
    result = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def losses(result, upstream_badges):
    """Everything that must be zero: lost or doubled effects."""
    names = ("facts_missing", "facts_not_newest", "facts_unexpected", "facts_pending", "rejected_events",
             "awards_missing", "awards_unexpected", "awards_twice", "awards_not_active", "awards_unsigned",
             "deliveries_missing", "deliveries_twice", "deliveries_unexpected")
    found = {name: result[name] for name in names if result[name]}
    if result["deliveries_delivered"] != result["deliveries_expected"]:
        found["deliveries_not_delivered"] = result["deliveries_expected"] - result["deliveries_delivered"]
    external = result.pop("external_ids")
    result["upstream_badges"] = len(upstream_badges)
    checks = {
        "badge_ids_on_two_deliveries": len(external) - len(set(external)),
        "deliveries_without_their_badge_upstream": len(set(external) - set(upstream_badges)),
        "badges_upstream_without_a_delivery": len(set(upstream_badges) - set(external)),
    }
    result.update(checks)
    found.update({name: value for name, value in checks.items() if value})
    return found


def print_table(report):
    burst, base = report["burst"], report["baseline"]
    events, base_events = burst["check"]["events_checked"], base["check"]["events_checked"]
    rows = [
        ("events", f"{events:,}", f"{base_events:,}", ""),
        ("LMS side: events/s sent", f"{burst['lms_events_per_s']:,.0f}", f"{base['events_per_s']:,.0f}",
         f"{burst['lms_events_per_s'] / base['events_per_s']:.1f}×"),
        ("LMS side: CPU ms per event", f"{burst['lms_cpu_ms_per_event']:.2f}", f"{base['cpu_ms_per_event']:.2f}",
         f"{base['cpu_ms_per_event'] / burst['lms_cpu_ms_per_event']:.1f}× less"),
        ("end to end: events/s until all settled", f"{burst['events_per_s']:,.0f}", f"{base['events_per_s']:,.0f}",
         f"{burst['events_per_s'] / base['events_per_s']:.2f}×"),
        ("wall s (sending; draining after)", f"{burst['seconds']:,.0f} ({burst['send_seconds']:,.0f}; "
                                             f"{burst['drain_after_send_seconds']:,.0f})", f"{base['seconds']:,.0f}", ""),
        ("deepest queue (tasks)", f"{burst['max_queued']:,}", "–", ""),
        ("worker CPU ms per event", "–" if burst["worker_cpu_ms_per_event"] is None
         else f"{burst['worker_cpu_ms_per_event']:.2f}", "–", ""),
        ("MariaDB CPU ms per event", f"{burst['mariadb_cpu_ms_per_event']:.2f}", "–", ""),
    ]
    for name in ("facts_expected", "facts_stored", "awards_expected", "awards", "deliveries_expected",
                 "deliveries_delivered", "upstream_badges"):
        rows.append((name.replace("_", " "), f"{burst['check'][name]:,}", f"{base['check'][name]:,}", ""))
    rows.append(("lost or twice (must be none)", ", ".join(f"{k} {v}" for k, v in burst["losses"].items()) or "none",
                 ", ".join(f"{k} {v}" for k, v in base["losses"].items()) or "none", ""))
    if burst["killed"]:
        rows.append(("worker killed at", f"{burst['killed']['t']} s ({burst['killed']['facts']:,} facts in)", "", ""))
    rows.append(("sweeps needed", str(len(burst["sweeps"])), "", ""))
    print("\n(d) burst through a real Celery worker (MariaDB, Redis broker, local Credly)")
    header = ("", "burst: LMS + worker", "baseline: inline, no worker", "ratio")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(4)]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 events: a minute (tests/test_benchmarks_smoke.py)")
    parser.add_argument("--kill-worker", action="store_true", help="SIGKILL the worker when half the facts are in")
    parser.add_argument("--stall", type=int, default=60,
                        help="seconds without any change, work left, before sweeping as beat would (default 60)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "burst.json"))
    for name in FULL:
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, help=f"override {name}")
    parser.add_argument("--child", choices=("prepare", "prepare-baseline", "baseline", "check"), help=argparse.SUPPRESS)
    parser.add_argument("--child-db", help=argparse.SUPPRESS)
    parser.add_argument("--child-workdir", help=argparse.SUPPRESS)
    parser.add_argument("--child-config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return
    config = dict(QUICK if args.quick else FULL)
    for name in FULL:
        if getattr(args, name) is not None:
            config[name] = getattr(args, name)
    try:
        common.mysql_admin().close()
        import redis  # pylint: disable=import-outside-toplevel

        redis.Redis(*REDIS, socket_timeout=5).ping()
    except Exception as exc:  # pylint: disable=broad-except
        parser.error(f"needs MariaDB (root on 127.0.0.1:3306) and Redis (127.0.0.1:6379): {exc}")

    from tests.fakes.credly_server import CredlyServer  # pylint: disable=import-outside-toplevel

    run_id = uuid.uuid4().hex[:8]
    burst_db, base_db = f"microcred_bench_burst_{run_id}", f"microcred_bench_burst_{run_id}_base"
    workdir = Path(tempfile.mkdtemp(prefix="microcred-burst-"))
    started = time.perf_counter()
    report = {"command": " ".join([Path(sys.executable).name, "benchmarks/burst.py"] + sys.argv[1:]),
              "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": common.machine(),
              "quick": args.quick, "kill_worker": args.kill_worker, "config": config}
    site = None
    with CredlyServer() as credly, CredlyServer() as base_credly:
        try:
            for name in (burst_db, base_db):
                common.create_mysql_database(name)
            log(f"preparing {burst_db} and {base_db}: catalog, learners, {config['events']:,} events")
            # Each delivered credential has a badge template of its own upstream, as an operator maps them.
            delivered_slugs = [slug for slug, _, kind in catalog_entries(config["programs"]) if delivered(slug, kind)]
            config["credly_templates"] = {slug: credly.add_template(slug) for slug in delivered_slugs}
            report["setup"] = run_child("prepare", burst_db, workdir, config)
            config["credly_templates"] = {slug: base_credly.add_template(slug) for slug in delivered_slugs}
            run_child("prepare-baseline", base_db, workdir, config)
            del config["credly_templates"]

            log(f"baseline: about {config['baseline_events']:,} events (whole journeys of a sample of learners) inline")
            base_site = Deployment(base_db, workdir, base_credly, config)
            config["baseline_env"] = base_site.env(eager=True)
            base = run_child("baseline", base_db, workdir, config)
            del config["baseline_env"]
            base_events = base["check"]["events_checked"]
            base["losses"] = losses(base["check"], list(base_credly.badges))
            base.update(events_per_s=base_events / base["seconds"],
                        cpu_ms_per_event=1000 * base["cpu_seconds"] / base_events)
            report["baseline"] = base

            log(f"burst: {config['senders']} LMS processes send {report['setup']['events']:,} events; "
                f"{config['workers']} worker(s) of {config['concurrency']} processes")
            site = Deployment(burst_db, workdir, credly, config)
            expected = len(expected_facts(sorted(workdir.glob("burst-*.jsonl"))))
            burst = run_burst(site, config, expected, args.kill_worker, args.stall)
            burst["check"] = run_child("check", burst_db, workdir, config)
            events = burst["check"]["events_checked"]
            burst["losses"] = losses(burst["check"], list(credly.badges))
            burst.update(
                events_per_s=events / burst["seconds"],
                lms_events_per_s=events / burst["send_seconds"],
                lms_cpu_ms_per_event=1000 * burst["sender_cpu_seconds"] / events,
                worker_cpu_ms_per_event=None if burst["worker_cpu_seconds"] is None
                else 1000 * burst["worker_cpu_seconds"] / events,
                mariadb_cpu_ms_per_event=None if burst["mariadb_cpu_seconds"] is None
                else 1000 * burst["mariadb_cpu_seconds"] / events)
            report["burst"] = burst
        finally:
            if site is not None:
                site.cleanup()
            for name in (burst_db, base_db):
                common.drop_mysql_database(name)
            shutil.rmtree(workdir, ignore_errors=True)
    report["seconds"] = time.perf_counter() - started
    print_table(report)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    print(f"written {args.json} ({report['seconds']:.0f} s)")
    if report["burst"]["losses"] or report["baseline"]["losses"]:
        print("LOST OR DONE TWICE: see above", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
