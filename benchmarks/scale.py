"""
Scale: (a) the receiver's cost per event as credentials grow, (b) evaluation throughput on a
realistic catalog, on SQLite and MariaDB. One command; prints a table and writes JSON.

(a) Receiver alone. Real openedx-events (persistent grade, passing status, enrollment, certificate)
    go through the plugin's receivers: validate, upsert the LearnerFact, enqueue the evaluation on
    commit. The evaluation is not run: the task's ``apply_async`` only counts what was queued (the
    broker round trip is not ours to measure). The same 1,000 events at 10, 100, 1,000 and 10,000
    credentials, best of 3 rounds: µs (wall and this process's CPU) and SQL queries per event.
    Baselines, same run: the receiver at 10 credentials (the ratio shows it stays flat), and a
    naive receiver that evaluates every credential inline (what the credentials service does) on
    a sample of the same events.

(b) Throughput on a realistic catalog: 1,000 courses in 100 programs; 2,000 credentials, of which
    1,800 are course credentials of mixed leaf types (passed, grade ≥ x, certificate, grade and
    completion, any-of, enrolled-verified and passed) and 200 stacks (100 horizontal "3 of 6" program
    cores, 80 vertical "advanced" levels above them, 20 "gold" levels needing 3 of 4 advanced ones);
    100,000 learners with about a million facts (enrollments, grades, passing, certificates,
    completion) bulk-inserted, the active cohort (5,000) settled by the product's own evaluation
    (progress and awards as they would be). Then 2,000 realistic events (grades rising, passing,
    certificates, enrollments and upgrades) from the active cohort through the receivers with the
    evaluation run in-process (Celery eager), signing left to its own task (benchmarks/signing.py):
    events/s, CPU and queries per event, p50/p95 latency, and where the time goes (product
    functions timed on the way). Baseline, same run, same database: the naive evaluate-everything
    strategy on 50 events from other learners of the cohort. Also a what-if that is not the
    product's path: the receivers only, then the noted learners evaluated 500 at a time by
    ``evaluation.evaluate_learners`` (the back-fill's batched path).

Databases: ``sqlite`` as the demo host configures it (rollback journal, the disk synced at every
commit), ``sqlite-wal`` (the same file in write-ahead-log mode, synchronous=NORMAL: shows what the
syncs cost), ``mysql`` (MariaDB/MySQL: root with no password on 127.0.0.1:3306, as the host's
SANDBOX_DB=mysql). Each part runs in a fresh process on a database of its own, dropped at the end.
The seeded database of (b) is cached between runs (SQLite: a file under benchmarks/results/cache/;
MariaDB: a database ``microcred_bench_cache_<hash>``, only the latest kept); each run measures on a
fresh copy of it. ``--quick`` is a small version that runs in seconds (tests/test_benchmarks_smoke.py).

    .venv/bin/python benchmarks/scale.py [--db sqlite,sqlite-wal,mysql] [--quick] [--json out.json]
                                         [--parts a,b] [--no-cache] [--profile PATH]
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common  # noqa: E402  pylint: disable=wrong-import-position

ROOT = common.ROOT
# Bump when the seeded data of (b) changes in a way the cache key below does not see.
SEED_VERSION = 4

FULL = {
    "sizes": [10, 100, 1000, 10000],
    "receiver_events": 1000,
    "receiver_rounds": 3,
    "receiver_learners": 1000,
    # The naive inline receiver evaluates K credentials per event: it gets about this many
    # credential evaluations in all (at least 10 events, at most naive_max_events).
    "naive_budget": 20000,
    "naive_max_events": 500,
    "programs": 100,
    "learners": 100000,
    "cohort": 5000,
    "stream_events": 2000,
    "naive_events": 50,
}
QUICK = {
    "sizes": [10, 100],
    "receiver_events": 100,
    "receiver_rounds": 2,
    "receiver_learners": 100,
    "naive_budget": 1000,
    "naive_max_events": 100,
    "programs": 3,
    "learners": 500,
    "cohort": 100,
    "stream_events": 100,
    "naive_events": 5,
}

COURSES_PER_PROGRAM = 10
COMPLETABLE_BLOCKS = 100
PASS_CUTOFF = 0.6
SEED_T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
STREAM_T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)

EVENT_TYPES = {
    "passing": "org.openedx.learning.course.passing.status.updated.v1",
    "grade": "org.openedx.learning.course.persistent_grade_summary.changed.v1",
    "certificate": "org.openedx.learning.certificate.created.v1",
    "enrollment": "org.openedx.learning.course.enrollment.created.v1",
    "completion": "completion.blockcompletion.saved",
}


def log(message):
    print(message, file=sys.stderr, flush=True)


# =============================================================================================
# (b) The realistic catalog and learners
# =============================================================================================


def program_course(program, index):
    return f"course-v1:Scale+P{program:03d}C{index}+2026"


def catalog_entries(programs):
    """(slug, criteria, stack_kind) of every credential, children before the stacks above them."""
    entries = []
    for p in range(programs):
        courses = [program_course(p, c) for c in range(COURSES_PER_PROGRAM)]
        for c, key in enumerate(courses):
            kind = c % 5
            if kind == 0:
                criteria = {"type": "course_passed", "course": key}
            elif kind == 1:
                criteria = {"type": "course_grade", "course": key, "min_percent": 70}
            elif kind == 2:
                criteria = {"type": "certificate", "course": key, "mode": "verified"}
            elif kind == 3:
                criteria = {"type": "all", "of": [{"type": "course_grade", "course": key, "min_percent": 60},
                                                  {"type": "course_completion", "course": key, "min_percent": 80}]}
            else:
                criteria = {"type": "any", "of": [{"type": "course_grade", "course": key, "min_percent": 90},
                                                  {"type": "certificate", "course": key}]}
            entries.append((f"p{p}-c{c}", criteria, ""))
        for c in range(8):  # a second credential on eight of the ten courses: 18 per program
            key = courses[c]
            if c % 2 == 0:
                criteria = {"type": "course_grade", "course": key, "min_percent": 85}
                entries.append((f"p{p}-c{c}-distinction", criteria, ""))
            else:
                criteria = {"type": "all", "of": [{"type": "enrolled", "course": key, "modes": ["verified"]},
                                                  {"type": "course_passed", "course": key}]}
                entries.append((f"p{p}-c{c}-verified", criteria, ""))
    for p in range(programs):  # horizontal program cores: any 3 of the first 6 course credentials
        entries.append((f"p{p}-core", {"type": "at_least", "n": 3, "of": [
            {"type": "credential", "credential": f"p{p}-c{c}"} for c in range(6)]}, "horizontal"))
    advanced = [p for p in range(programs) if p % 5 != 4]
    for p in advanced:  # vertical: the core, then 2 of the 4 distinctions
        entries.append((f"p{p}-advanced", {"type": "all", "of": [
            {"type": "credential", "credential": f"p{p}-core"},
            {"type": "at_least", "n": 2, "of": [
                {"type": "credential", "credential": f"p{p}-c{c}-distinction"} for c in (0, 2, 4, 6)]},
        ]}, "vertical"))
    for g in range(len(advanced) // 4):  # gold: 3 of 4 advanced levels of neighbouring programs
        entries.append((f"gold-{g}", {"type": "at_least", "n": 3, "of": [
            {"type": "credential", "credential": f"p{p}-advanced"} for p in advanced[4 * g:4 * g + 4]]},
            "value_added"))
    return entries


def learner_plan(user_id, programs, rng):
    """The courses one learner took (course key → state) as of the end of the seeded history."""
    plan = {}
    chosen = [rng.randrange(programs)]
    if rng.random() < 0.15 and programs > 1:
        chosen.append(rng.randrange(programs))
    for n, program in enumerate(chosen):
        count = rng.choice((2, 3, 3, 4, 4, 5, 6, 8)) if n == 0 else rng.randint(1, 3)
        for c in rng.sample(range(COURSES_PER_PROGRAM), count):
            key = program_course(program, c)
            graded = rng.random() < 0.7
            percent = round(rng.random() ** 2.2, 4) if graded else None  # MOOC-like: most low, ~1 in 3 pass
            plan[key] = {
                "program": program,
                "mode": "verified" if rng.random() < 0.25 else "audit",
                "active": rng.random() >= 0.05,
                "percent": percent,
                "completion": rng.randint(0, COMPLETABLE_BLOCKS) if c % 5 == 3 and rng.random() < 0.6 else None,
            }
    return plan


def plan_facts(user_id, plan, rng, serial):
    """The LearnerFact rows of one learner's plan: (user_id, course, kind, value, event id, type, time)."""
    rows = []

    def add(key, kind, value, minutes):
        serial[0] += 1
        when = SEED_T0 + timedelta(minutes=minutes)
        rows.append((user_id, key, kind, value, f"seed-{serial[0]:09d}", EVENT_TYPES[kind], when))

    for key, state in plan.items():
        base = rng.randrange(500000)
        add(key, "enrollment", {"mode": state["mode"], "is_active": state["active"]}, base)
        if state["percent"] is not None:
            passed = state["percent"] >= PASS_CUTOFF
            add(key, "grade", {"percent": state["percent"], "letter": "Pass" if passed else "", "passed": passed},
                base + 10)
            if passed or rng.random() < 0.1:
                add(key, "passing", {"passed": passed}, base + 11)
            if passed and state["mode"] == "verified":
                add(key, "certificate", {"status": "downloadable", "mode": "verified"}, base + 20)
        if state["completion"] is not None:
            add(key, "completion", {"completed_blocks": state["completion"]}, base + 5)
    return rows


def _db_time(value):
    """A UTC datetime as both backends store it with USE_TZ (naive, UTC)."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


@contextmanager
def deferred_indexes(cursor, vendor, database, table):
    """
    Within: the table's plain (non-unique) secondary indexes are dropped, then built again, with the
    same names and columns, in one pass: a bulk load into indexes that do not fit the cache is
    mostly random I/O. Unique indexes and those a foreign key needs stay.
    """
    if vendor == "sqlite":
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                       "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%%'", [table])
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        yield
        for _, sql in indexes:
            cursor.execute(sql)
        return
    cursor.execute("SELECT column_name FROM information_schema.key_column_usage WHERE table_schema = %s "
                   "AND table_name = %s AND referenced_table_name IS NOT NULL", [database, table])
    foreign = {row[0] for row in cursor.fetchall()}
    cursor.execute("SELECT index_name, column_name, sub_part FROM information_schema.statistics "
                   "WHERE table_schema = %s AND table_name = %s AND non_unique = 1 "
                   "ORDER BY index_name, seq_in_index", [database, table])
    indexes = {}
    for name, column, sub_part in cursor.fetchall():
        indexes.setdefault(name, []).append(f"`{column}`" + (f"({sub_part})" if sub_part else ""))
    indexes = {name: columns for name, columns in indexes.items() if columns[0].split("`")[1] not in foreign}
    if indexes:
        cursor.execute(f"ALTER TABLE `{database}`.`{table}` " + ", ".join(f"DROP INDEX `{n}`" for n in indexes))
    yield
    if indexes:
        cursor.execute(f"ALTER TABLE `{database}`.`{table}` "
                       + ", ".join(f"ADD INDEX `{n}` ({', '.join(c)})" for n, c in indexes.items()))


def seed(config):
    """Build the (b) database: catalog, learners, facts, the cohort settled. Runs in its own process."""
    # pylint: disable=import-outside-toplevel
    from django.db import connection, transaction

    from openedx_microcred import dispatch, evaluation
    from openedx_microcred.catalog import refresh_dependency_index
    from openedx_microcred.models import Award, Credential, LearnerEvent, LearnerFact, LearnerLock, Progress
    from sandbox.host.models import Course

    started = time.perf_counter()
    common.migrate()
    programs, learners = config["programs"], config["learners"]
    # The bulk load is not what is measured: this connection only skips syncs and checks (the data
    # is made unique and consistent here), and SQLite gets a cache that holds the indexes.
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-400000")
        else:
            cursor.execute("SET SESSION unique_checks=0, foreign_key_checks=0")

    entries = catalog_entries(programs)
    Credential.objects.bulk_create(
        [Credential(slug=slug, title=slug, org="Scale", criteria=criteria, stack_kind=kind,
                    course_key=criteria.get("course") if not kind and "course" in criteria else None,
                    state=Credential.State.ACTIVE) for slug, criteria, kind in entries], batch_size=500)
    refresh_dependency_index(list(Credential.objects.all()))
    Course.objects.bulk_create(
        [Course(course_key=program_course(p, c), display_name=f"Program {p} course {c}",
                completable_blocks=COMPLETABLE_BLOCKS) for p in range(programs) for c in range(COURSES_PER_PROGRAM)],
        batch_size=500)
    log(f"  catalog: {len(entries)} credentials over {programs * COURSES_PER_PROGRAM} courses "
        f"({time.perf_counter() - started:.0f} s)")

    joined = _db_time(SEED_T0)
    fact_table = LearnerFact._meta.db_table
    event_table, lock_table = LearnerEvent._meta.db_table, LearnerLock._meta.db_table
    rng = random.Random(20260301)
    serial = [0]
    facts = 0
    chunk = 5000
    with connection.cursor() as cursor, deferred_indexes(cursor, connection.vendor,
                                                         connection.settings_dict["NAME"], fact_table):
        for start in range(1, learners + 1, chunk):
            ids = range(start, min(learners, start + chunk - 1) + 1)
            with transaction.atomic():
                # Only placeholders in VALUES: mysqlclient then sends many rows per statement.
                cursor.executemany(
                    "INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, "
                    "is_staff, is_active, date_joined) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [(u, "!", False, f"learner{u}", "", "", f"learner{u}@example.com", False, True, joined)
                     for u in ids])
                rows = []
                for u in ids:
                    rows.extend(plan_facts(u, learner_plan(u, programs, rng), rng, serial))
                cursor.executemany(
                    f"INSERT INTO {fact_table} (user_id, course_key, kind, value, event_id, event_type, event_time, "
                    "modified, pending_since) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    [(u, key, kind, json.dumps(value), event_id, event_type, _db_time(when), _db_time(when), None)
                     for u, key, kind, value, event_id, event_type, when in rows])
                # Each fact is also the learner's history, evaluated, as migration 0015 leaves it.
                cursor.executemany(
                    f"INSERT INTO {event_table} (user_id, course_key, kind, value, event_id, event_type, event_time, "
                    "evaluated) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    [(u, key, kind, json.dumps(value), event_id, event_type, _db_time(when), True)
                     for u, key, kind, value, event_id, event_type, when in rows])
                newest = {}
                for u, *_, when in rows:
                    newest[u] = max(newest.get(u, when), when)
                cursor.executemany(
                    f"INSERT INTO {lock_table} (user_id, locked_at, evaluated_through) VALUES (%s, %s, %s)",
                    [(u, joined, _db_time(when)) for u, when in sorted(newest.items())])
                facts += len(rows)
    if connection.vendor != "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION unique_checks=1, foreign_key_checks=1")
    log(f"  {learners:,} learners, {facts:,} facts ({time.perf_counter() - started:.0f} s)")

    # The active cohort (the learners the stream's events come from) evaluated as the back-fill
    # does, so that their progress and awards are what they would be before the stream.
    dispatch.queue_signing = lambda award_pk: None  # signing is its own task
    cache = {}
    cohort = list(range(1, config["cohort"] + 1))
    for start in range(0, len(cohort), 500):
        ids = cohort[start:start + 500]
        courses = {}
        for user_id, key in LearnerFact.objects.filter(user_id__in=ids).values_list("user_id", "course_key"):
            courses.setdefault(user_id, set()).add(str(key))
        evaluation.evaluate_learners(courses, cache)
    log(f"  cohort of {len(cohort):,} settled: {Progress.objects.count():,} progress rows, "
        f"{Award.objects.count():,} awards ({time.perf_counter() - started:.0f} s)")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_seed_meta (seconds DOUBLE PRECISION, facts INTEGER)")
        cursor.execute("INSERT INTO bench_seed_meta (seconds, facts) VALUES (%s, %s)",
                       [time.perf_counter() - started, facts])
    return {"seconds": time.perf_counter() - started, "facts": facts}


# =============================================================================================
# (b) The event stream
# =============================================================================================


def cohort_state(user_ids):
    """Per learner, per course: mode, active, percent, passed, certificate, from the stored facts."""
    from openedx_microcred.models import LearnerFact  # pylint: disable=import-outside-toplevel

    state = {}
    for user_id, key, kind, value in LearnerFact.objects.filter(user_id__in=user_ids).values_list(
            "user_id", "course_key", "kind", "value"):
        course = state.setdefault(user_id, {}).setdefault(str(key), {
            "mode": "audit", "active": False, "percent": 0.0, "passed": False, "certificate": False})
        if kind == "enrollment":
            course.update(mode=value["mode"], active=value["is_active"])
        elif kind == "grade":
            course.update(percent=value["percent"], passed=value["passed"])
        elif kind == "certificate":
            course["certificate"] = value["status"] == "downloadable"
    return state


def stream(user_ids, state, count, programs, seed_value, start_minute):
    """``count`` realistic events from these learners: (signal, data, event id, time, what)."""
    rng = random.Random(seed_value)
    events = []
    for n in range(count):
        # Skewed: a regrade or a busy week makes some learners send many events.
        user_id = user_ids[int(len(user_ids) * rng.random() ** 2)]
        user = common.user_data(user_id)
        courses = state.setdefault(user_id, {})
        if not courses:
            key = program_course(rng.randrange(programs), rng.randrange(COURSES_PER_PROGRAM))
            courses[key] = {"mode": "audit", "active": True, "percent": 0.0, "passed": False, "certificate": False}
        key = rng.choice(sorted(courses))
        course = courses[key]
        when = STREAM_T0 + timedelta(minutes=start_minute, seconds=n)
        draw = rng.random()
        if draw < 0.5:  # a grade recomputed after a submission: it only rises here
            course["percent"] = min(1.0, round(course["percent"] + rng.uniform(0.02, 0.25), 4))
            course["passed"] = course["percent"] >= PASS_CUTOFF
            what, (signal, data) = "grade", common.grade_event(user_id, key, course["percent"],
                                                               when if course["passed"] else None)
        elif draw < 0.7:
            what, (signal, data) = "passing", common.passing_event(user, key, course["percent"] >= PASS_CUTOFF)
        elif draw < 0.8:
            if course["passed"] and course["mode"] == "verified":
                course["certificate"] = True
                what, (signal, data) = "certificate", common.certificate_event(user, key, "downloadable", "verified")
            else:
                what, (signal, data) = "certificate", common.certificate_event(
                    user, key, "audit_passing" if course["passed"] else "notpassing", course["mode"], created=False)
        elif course["mode"] == "audit" and rng.random() < 0.5:  # an upgrade to the verified track
            course["mode"] = "verified"
            what, (signal, data) = "enrollment", common.enrollment_event(user, key, "verified", created=False)
        else:  # a new enrollment in another course of the same program
            program = int(key.split("+P")[1][:3])
            new = program_course(program, rng.randrange(COURSES_PER_PROGRAM))
            courses.setdefault(new, {"mode": "audit", "active": True, "percent": 0.0, "passed": False,
                                     "certificate": False})
            what, (signal, data) = "enrollment", common.enrollment_event(user, new, "audit")
        events.append((signal, data, UUID(int=rng.getrandbits(128)), when, what))
    return events


# Where an event's time goes: product functions timed on the way (a few µs each); nested ones are
# indented and included in the one above. A function renamed in the product is left out, not an error.
STAGES = (
    ("receiver: record_fact", "openedx_microcred.handlers", "record_fact"),
    ("evaluation task (Celery eager, all of it)", "openedx_microcred.handlers", "enqueue_evaluation"),
    ("  pending_facts", "openedx_microcred.facts", "pending_facts"),
    ("  affected_credentials", "openedx_microcred.evaluation", "affected_credentials"),
    ("  load_learners", "openedx_microcred.evaluation", "load_learners"),
    ("  rules.decide", "openedx_microcred.rules", "decide"),
    ("  store_decisions", "openedx_microcred.evaluation", "store_decisions"),
    ("    progress rows", "openedx_microcred.evaluation", "_store_progress_rows"),
    ("    award_credential", "openedx_microcred.evaluation", "award_credential"),
    ("    BADGE_AWARDED event", "openedx_microcred.awards", "send_badge_event"),
    ("  mark_evaluated", "openedx_microcred.facts", "mark_evaluated"),
)


@contextmanager
def timed_stages(counter, totals):
    """Within: each STAGES function adds its wall time, CPU time and queries to ``totals[label]``."""
    import importlib  # pylint: disable=import-outside-toplevel

    originals = []

    def timed(label, function):
        def wrapper(*args, **kwargs):
            wall, cpu, queries = time.perf_counter(), time.process_time(), counter.queries
            try:
                return function(*args, **kwargs)
            finally:
                entry = totals.setdefault(label, [0, 0.0, 0.0, 0])
                entry[0] += 1
                entry[1] += time.perf_counter() - wall
                entry[2] += time.process_time() - cpu
                entry[3] += counter.queries - queries
        return wrapper

    for label, module_name, name in STAGES:
        module = importlib.import_module(module_name)
        if callable(getattr(module, name, None)):
            originals.append((module, name, getattr(module, name)))
            setattr(module, name, timed(label, getattr(module, name)))
    try:
        yield
    finally:
        for module, name, function in reversed(originals):
            setattr(module, name, function)


def run_events(events, stages=None):
    """Send the events; per-event latency, statements, and (given a dict) the time of each stage."""
    latencies = []
    with common.counting_statements() as counter, \
            (timed_stages(counter, stages) if stages is not None else nullcontext()):
        cpu = time.process_time()
        started = time.perf_counter()
        for signal, data, event_id, when, _ in events:
            before = time.perf_counter()
            common.send(signal, data, event_id=event_id, time=when)
            latencies.append(time.perf_counter() - before)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    result = {
        "events": len(events),
        "seconds": elapsed,
        "events_per_s": len(events) / elapsed,
        "us_per_event": elapsed / len(events) * 1e6,
        # This process's CPU only (not the database server's, not time waiting for disk syncs or for
        # the core): on a shared machine it moves less than the wall clock.
        "cpu_us_per_event": cpu / len(events) * 1e6,
        "p50_ms": common.percentile(latencies, 0.50) * 1e3,
        "p95_ms": common.percentile(latencies, 0.95) * 1e3,
        "queries_per_event": counter.queries / len(events),
        "statements_per_event": counter.statements / len(events),
    }
    if stages is not None:
        result["stages"] = [
            {"stage": label, "calls_per_event": stages[label][0] / len(events),
             "ms_per_event": stages[label][1] / len(events) * 1e3,
             "cpu_ms_per_event": stages[label][2] / len(events) * 1e3,
             "queries_per_event": stages[label][3] / len(events)}
            for label, _, _ in STAGES if label in stages]
    return result


BATCH = 500


def run_batched(events):
    """
    What-if, not the product's path: the receivers record the facts and only note whom to evaluate;
    then the noted learners are evaluated BATCH at a time by ``evaluation.evaluate_learners`` (the
    back-fill's batched path: the same decisions in a fixed number of queries per batch), and their
    facts marked evaluated. Events/s counts both parts.
    """
    # pylint: disable=import-outside-toplevel
    from openedx_microcred import evaluation, facts, handlers
    from openedx_microcred.models import LearnerFact

    noted = {}

    def note(user_id, course_key):
        noted.setdefault(user_id, set()).add(str(course_key))

    with common.counting_statements() as counter:
        cpu, started = time.process_time(), time.perf_counter()
        with common.patched(handlers, "enqueue_evaluation", note):
            for signal, data, event_id, when, _ in events:
                common.send(signal, data, event_id=event_id, time=when)
        received = time.perf_counter() - started
        cache, users = {}, sorted(noted)
        for start in range(0, len(users), BATCH):
            ids = users[start:start + BATCH]
            pending = list(LearnerFact.objects.filter(user_id__in=ids, pending_since__isnull=False)
                           .values_list("pk", "event_id"))
            evaluation.evaluate_learners({user_id: noted[user_id] for user_id in ids}, cache)
            facts.mark_evaluated(pending)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    return {
        "events": len(events),
        "learners_evaluated": len(users),
        "batch": BATCH,
        "seconds": elapsed,
        "receive_seconds": received,
        "evaluate_seconds": elapsed - received,
        "events_per_s": len(events) / elapsed,
        "us_per_event": elapsed / len(events) * 1e6,
        "cpu_us_per_event": cpu / len(events) * 1e6,
        "queries_per_event": counter.queries / len(events),
        "statements_per_event": counter.statements / len(events),
    }


def measure_stream(config, profile=None):
    """(b) on the database this process was set up on; returns the figures."""
    # pylint: disable=import-outside-toplevel
    from django.db import connection

    from openedx_microcred import dispatch
    from openedx_microcred.models import Award, Credential, LearnerFact, Progress

    queued_signing = []
    dispatch.queue_signing = queued_signing.append  # signing is its own task
    cohort = list(range(1, config["cohort"] + 1))
    rng = random.Random(7)
    rng.shuffle(cohort)
    # Disjoint learners for the warm-up, the measured stream, the baseline's sample and the batched what-if.
    tenth = max(1, len(cohort) // 10)
    warm_ids, naive_ids, batched_ids, indexed_ids = (
        cohort[:tenth], cohort[tenth:2 * tenth], cohort[2 * tenth:4 * tenth], cohort[4 * tenth:])
    state = cohort_state(cohort)
    programs = config["programs"]
    before = {"facts": LearnerFact.objects.count(), "progress": Progress.objects.count(),
              "awards": Award.objects.count()}
    catalog = {
        "courses": programs * COURSES_PER_PROGRAM,
        "credentials": Credential.objects.count(),
        "stacks": Credential.objects.exclude(stack_kind="").count(),
        "learners": config["learners"],
        "active_cohort": len(cohort),
        **before,
    }
    warm = stream(warm_ids, state, max(20, config["stream_events"] // 20), programs, 11, 0)
    indexed = stream(indexed_ids, state, config["stream_events"], programs, 12, 100000)
    naive = stream(naive_ids, state, config["naive_events"], programs, 13, 200000)
    batched = stream(batched_ids, state, config["stream_events"] // 2, programs, 14, 300000)
    mix = {}
    for *_, what in indexed:
        mix[what] = mix.get(what, 0) + 1

    run_events(warm)  # imports, the rule cache, the database's caches
    awards_before, signing_before = Award.objects.count(), len(queued_signing)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    with common.evaluation_strategy("indexed"):
        result_indexed = run_events(indexed, stages={} if not profiler else None)
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    result_indexed["awards"] = Award.objects.count() - awards_before
    result_indexed["signing_tasks_queued"] = len(queued_signing) - signing_before
    awards_before = Award.objects.count()
    with common.evaluation_strategy("naive"):
        result_naive = run_events(naive)
    result_naive["awards"] = Award.objects.count() - awards_before
    awards_before = Award.objects.count()
    result_batched = run_batched(batched)
    result_batched["awards"] = Award.objects.count() - awards_before
    return {
        "database": common.database_version(),
        "vendor": connection.vendor,
        "catalog": catalog,
        "event_mix": mix,
        "indexed": result_indexed,
        "naive": result_naive,
        "speedup": result_indexed["events_per_s"] / result_naive["events_per_s"],
        "batched": result_batched,
        "batched_vs_indexed": result_batched["events_per_s"] / result_indexed["events_per_s"],
    }


# =============================================================================================
# (a) The receiver alone
# =============================================================================================


def receiver_events(learners, count, seed_value):
    """The same mixed stream for every catalog size: four kinds of event over the first five courses."""
    rng = random.Random(seed_value)
    events = []
    for n in range(count):
        user = learners[rng.randrange(len(learners))]
        key = common.course_key(rng.randrange(5))
        when = STREAM_T0 + timedelta(seconds=n)
        draw = n % 4
        if draw == 0:
            signal, data = common.grade_event(user.id, key, round(rng.random(), 4))
        elif draw == 1:
            signal, data = common.passing_event(user, key, rng.random() < 0.4)
        elif draw == 2:
            signal, data = common.enrollment_event(user, key, rng.choice(("audit", "verified")))
        else:
            signal, data = common.certificate_event(user, key, rng.choice(("downloadable", "notpassing")))
        events.append((signal, data, UUID(int=seed_value * 10**9 + n), when, "mixed"))
    return events


def measure_receiver(config):
    """(a) on the database this process was set up on."""
    # pylint: disable=import-outside-toplevel
    from django.db import connection

    from openedx_microcred import dispatch, handlers
    from openedx_microcred.models import Award, Credential, LearnerEvent, LearnerFact, LearnerLock, Progress
    from openedx_microcred.tasks import evaluate_learner_task

    common.migrate()
    learners = common.create_learners(config["receiver_learners"])
    events = receiver_events(learners, config["receiver_events"], 3)
    queued = []
    dispatch.queue_signing = lambda award_pk: None

    def reset():
        LearnerFact.objects.all().delete()
        LearnerEvent.objects.all().delete()
        LearnerLock.objects.all().delete()
        Progress.objects.all().delete()
        Award.objects.all().delete()

    def count_enqueue(*args, **kwargs):
        queued.append(args)

    # The catalogs are built with the bulk index (10,000 credentials through the product's
    # refresh_dependency_index take minutes here); it must be the index the product builds.
    common.build_catalog(10)
    product_index = common.dependency_index()
    common.build_catalog(10, bulk_index=True)
    assert common.dependency_index() == product_index, "the bulk dependency index differs from the product's"
    with common.patched(evaluate_learner_task, "apply_async", count_enqueue):
        run_events(events)  # warm-up: the code, and the database's files grown to the size the rounds need
    rows = []
    for size in config["sizes"]:
        started = time.perf_counter()
        common.build_catalog(size, bulk_index=True)
        log(f"  {size:,} credentials built ({time.perf_counter() - started:.0f} s)")
        assert Credential.objects.count() == size
        rounds = []
        for _ in range(config["receiver_rounds"]):  # the best round: the machine is shared
            reset()
            queued.clear()
            with common.patched(evaluate_learner_task, "apply_async", count_enqueue):
                rounds.append(run_events(events))
            rounds[-1]["evaluations_queued"] = len(queued)
        receiver = min(rounds, key=lambda r: r["us_per_event"])
        receiver["rounds_us_per_event"] = [r["us_per_event"] for r in rounds]
        reset()
        sample = events[:max(10, min(len(events), config["naive_max_events"], config["naive_budget"] // size))]
        with common.patched(handlers, "enqueue_evaluation", common.naive_evaluate_learner):
            naive = run_events(sample)
        reset()
        rows.append({"credentials": size, "receiver": receiver, "naive_inline": naive,
                     "naive_vs_receiver": naive["us_per_event"] / receiver["us_per_event"]})
        log(f"  {size:,}: receiver {receiver['us_per_event']:.0f} µs, naive {naive['us_per_event']:.0f} µs")
    base = rows[0]["receiver"]
    for row in rows:
        row["receiver"]["us_vs_smallest"] = row["receiver"]["us_per_event"] / base["us_per_event"]
        row["receiver"]["cpu_vs_smallest"] = row["receiver"]["cpu_us_per_event"] / base["cpu_us_per_event"]
        row["receiver"]["queries_vs_smallest"] = row["receiver"]["queries_per_event"] / base["queries_per_event"]
    return {"database": common.database_version(), "vendor": connection.vendor, "sizes": rows}


# =============================================================================================
# Orchestration: each measurement in a fresh process on its own database
# =============================================================================================


def seed_key(config):
    """What the seeded database depends on: the seed parameters, the schema and the evaluation code."""
    digest = hashlib.sha256(json.dumps([SEED_VERSION, config["programs"], config["learners"], config["cohort"]])
                            .encode())
    for folder in ("openedx_microcred/migrations", "sandbox/host/migrations"):
        for path in sorted((ROOT / folder).glob("*.py")):
            digest.update(path.name.encode() + path.read_bytes())
    for module in ("rules.py", "evaluation.py", "catalog.py", "awards.py"):
        digest.update((ROOT / "openedx_microcred" / module).read_bytes())
    return digest.hexdigest()[:12]


def is_sqlite(db):
    return db in ("sqlite", "sqlite-wal")


def child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_child(task, db, target, config, profile=None):
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, "--child-db", db,
               "--child-target", str(target), "--child-config", json.dumps(config)]
    if profile:
        command += ["--profile", profile]
    result = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=child_env())
    return json.loads(result.stdout.strip().splitlines()[-1])


def child_main(args):
    config = json.loads(args.child_config)
    if is_sqlite(args.child_db):
        common.setup_django(args.child_db, sqlite_path=args.child_target)
    else:
        common.setup_django(args.child_db, mysql_name=args.child_target)
    if args.child == "receiver":
        result = measure_receiver(config)
    elif args.child == "seed":
        result = seed(config)
    else:
        result = measure_stream(config, args.profile)
    print(json.dumps(result))


def mysql_tables(conn, database):
    cursor = conn.cursor()
    cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [database])
    return sorted(row[0] for row in cursor.fetchall())


def mysql_clone(source, target):
    """A copy of a MariaDB/MySQL database: same tables (with their keys), same rows."""
    common.create_mysql_database(target)
    with common.mysql_admin() as conn:
        cursor = conn.cursor()
        cursor.execute("SET SESSION foreign_key_checks = 0")
        cursor.execute(f"USE `{target}`")
        for table in mysql_tables(conn, source):
            cursor.execute(f"SHOW CREATE TABLE `{source}`.`{table}`")
            cursor.execute(cursor.fetchone()[1])
            with deferred_indexes(cursor, "mysql", target, table):
                cursor.execute(f"INSERT INTO `{target}`.`{table}` SELECT * FROM `{source}`.`{table}`")


class SeededDatabase:
    """The (b) database for one backend: built once per seed key (cached unless told not to), copied per run."""

    def __init__(self, db, config, cache_dir, use_cache, workdir):
        self.db, self.config, self.use_cache, self.workdir = db, config, use_cache, workdir
        self.key = seed_key(config)
        self.cache_dir = cache_dir
        self.copies = []

    @property
    def cached_name(self):
        if is_sqlite(self.db):
            folder = self.cache_dir if self.use_cache else self.workdir
            return folder / f"scale-{self.key}.sqlite3"
        return f"microcred_bench_cache_{self.key}" if self.use_cache else f"microcred_bench_seed_{os.getpid()}"

    def _exists(self):
        if is_sqlite(self.db):
            return Path(self.cached_name).exists()
        with common.mysql_admin() as conn:
            return "bench_seed_meta" in mysql_tables(conn, self.cached_name)

    def _forget_others(self):
        if is_sqlite(self.db):
            for path in self.cache_dir.glob("scale-*.sqlite3"):
                if path.name != Path(self.cached_name).name:
                    path.unlink()
            return
        with common.mysql_admin() as conn:
            cursor = conn.cursor()
            cursor.execute("SHOW DATABASES LIKE 'microcred\\_bench\\_cache\\_%%'")
            for (name,) in cursor.fetchall():
                if name != self.cached_name:
                    common.drop_mysql_database(name)

    def ensure(self):
        """Build unless cached; returns (seconds spent building, whether it came from the cache)."""
        if self.use_cache and self._exists():
            return 0.0, True
        started = time.perf_counter()
        if is_sqlite(self.db):
            if self.use_cache:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                self._forget_others()
            building = Path(str(self.cached_name) + ".building")
            building.unlink(missing_ok=True)
            run_child("seed", "sqlite", building, self.config)  # never WAL: the copies choose
            building.rename(self.cached_name)
        else:
            if self.use_cache:
                self._forget_others()
            common.create_mysql_database(self.cached_name)
            run_child("seed", "mysql", self.cached_name, self.config)
        return time.perf_counter() - started, False

    def copy(self):
        if is_sqlite(self.db):
            target = self.workdir / f"run-{len(self.copies)}.sqlite3"
            shutil.copyfile(self.cached_name, target)
        else:
            target = f"microcred_bench_run_{os.getpid()}_{len(self.copies)}"
            mysql_clone(self.cached_name, target)
        self.copies.append(target)
        return target

    def drop(self, target):
        if is_sqlite(self.db):
            Path(target).unlink(missing_ok=True)
        else:
            common.drop_mysql_database(target)

    def cleanup(self):
        for target in self.copies:
            self.drop(target)
        if not self.use_cache:
            self.drop(self.cached_name)


def receiver_target(db, workdir):
    if is_sqlite(db):
        return workdir / f"receiver-{db}.sqlite3"
    name = f"microcred_bench_receiver_{os.getpid()}"
    common.create_mysql_database(name)
    return name


def measure_database(db, config, args, workdir):
    result = {}
    if "a" in args.parts:
        log(f"[{db}] (a) receiver cost per event, credentials {', '.join(f'{s:,}' for s in config['sizes'])}")
        target = receiver_target(db, workdir)
        try:
            result["receiver"] = run_child("receiver", db, target, config)
        finally:
            if not is_sqlite(db):
                common.drop_mysql_database(target)
    if "b" in args.parts:
        seeded = SeededDatabase(db, config, Path(args.cache_dir), not args.no_cache, workdir)
        try:
            log(f"[{db}] (b) seeding {config['learners']:,} learners"
                + (" (cached)" if seeded.use_cache and seeded._exists() else ""))  # pylint: disable=protected-access
            build_seconds, cached = seeded.ensure()
            started = time.perf_counter()
            target = seeded.copy()
            copy_seconds = time.perf_counter() - started
            log(f"[{db}] (b) stream of {config['stream_events']:,} events (copy made in {copy_seconds:.0f} s)")
            profile = f"{args.profile}.{db}" if args.profile else None
            result["throughput"] = run_child("stream", db, target, config, profile)
            result["throughput"]["setup"] = {"seed_seconds": build_seconds, "from_cache": cached,
                                             "copy_seconds": copy_seconds, "seed_key": seeded.key}
        finally:
            seeded.cleanup()
    return result


def print_tables(results):
    out = ["(a) receiver alone: fact upsert + enqueue on commit (the evaluation is queued, not run); best round",
           f"{'db':<10} {'credentials':>11} {'µs/event':>9} {'CPU µs':>7} {'queries':>7} {'p95 µs':>7} "
           f"{'vs smallest':>11} {'(CPU)':>6} | {'naive inline µs':>15} {'queries':>7} {'events':>6} "
           f"{'naive/receiver':>14}"]
    for db, result in results.items():
        for row in result.get("receiver", {}).get("sizes", []):
            r, n = row["receiver"], row["naive_inline"]
            out.append(f"{db:<10} {row['credentials']:>11,} {r['us_per_event']:>9,.0f} {r['cpu_us_per_event']:>7,.0f} "
                       f"{r['queries_per_event']:>7.1f} {r['p95_ms'] * 1e3:>7,.0f} {r['us_vs_smallest']:>10.2f}x "
                       f"{r['cpu_vs_smallest']:>5.2f}x | {n['us_per_event']:>15,.0f} {n['queries_per_event']:>7.1f} "
                       f"{n['events']:>6,} {row['naive_vs_receiver']:>13,.0f}x")
    out += ["", "(b) realistic catalog: receiver + evaluation in-process (Celery eager), signing left to its task",
            f"{'db':<10} {'strategy':<8} {'events':>6} {'events/s':>9} {'CPU ms':>7} {'queries':>7} {'p50 ms':>7} "
            f"{'p95 ms':>7} {'awards':>6} {'vs naive':>8}"]
    for db, result in results.items():
        t = result.get("throughput")
        if not t:
            continue
        for strategy in ("indexed", "naive", "batched"):
            r = t[strategy]
            ratio = r["events_per_s"] / t["naive"]["events_per_s"]
            latency = f"{r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f}" if "p50_ms" in r else f"{'-':>7} {'-':>7}"
            out.append(f"{db:<10} {strategy:<8} {r['events']:>6,} {r['events_per_s']:>9,.1f} "
                       f"{r['cpu_us_per_event'] / 1e3:>7.1f} {r['queries_per_event']:>7.1f} {latency} "
                       f"{r['awards']:>6,} {ratio:>7.1f}x")
        c = t["catalog"]
        out.append(f"{'':<10} {c['courses']:,} courses, {c['credentials']:,} credentials ({c['stacks']:,} stacks), "
                   f"{c['learners']:,} learners, {c['facts']:,} facts, {c['progress']:,} progress rows, "
                   f"{c['awards']:,} awards; {t['database']}")
    if any(result.get("throughput") for result in results.values()):
        out.append(f"batched: a what-if, not the product's path — receivers only, then the noted learners evaluated "
                   f"{BATCH} at a time by evaluation.evaluate_learners (the back-fill's path)")
    for db, result in results.items():
        stages = result.get("throughput", {}).get("indexed", {}).get("stages")
        if not stages:
            continue
        total = result["throughput"]["indexed"]
        out += ["", f"(b) {db}: where an indexed event's time goes (nested stages are included in the one above)",
                f"{'stage':<44} {'calls':>5} {'ms':>6} {'CPU ms':>6} {'queries':>7}"]
        for stage in stages:
            out.append(f"{stage['stage']:<44} {stage['calls_per_event']:>5.2f} {stage['ms_per_event']:>6.2f} "
                       f"{stage['cpu_ms_per_event']:>6.2f} {stage['queries_per_event']:>7.2f}")
        top = [stage for stage in stages if not stage["stage"].startswith(" ")]
        out.append(f"{'rest (openedx-events dispatch, metadata)':<44} {'':>5} "
                   f"{total['us_per_event'] / 1e3 - sum(t['ms_per_event'] for t in top):>6.2f} "
                   f"{total['cpu_us_per_event'] / 1e3 - sum(t['cpu_ms_per_event'] for t in top):>6.2f} "
                   f"{total['queries_per_event'] - sum(t['queries_per_event'] for t in top):>7.2f}")
    print("\n".join(out), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="sqlite,sqlite-wal,mysql",
                        help="comma-separated: sqlite (as the host configures it: rollback journal, synced at every "
                             "commit), sqlite-wal (write-ahead log, synchronous=NORMAL), mysql (MariaDB)")
    parser.add_argument("--quick", action="store_true", help="a small version that runs in seconds (no cache)")
    parser.add_argument("--parts", default="a,b", help="a (receiver), b (throughput) or both")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "scale.json"))
    parser.add_argument("--cache-dir", default=str(ROOT / "benchmarks" / "results" / "cache"))
    parser.add_argument("--no-cache", action="store_true", help="build the (b) database afresh and drop it after")
    parser.add_argument("--profile", help="write cProfile stats of the (b) indexed stream to PATH.<db>")
    for name in ("sizes", "receiver_events", "receiver_rounds", "naive_budget", "naive_max_events", "stream_events",
                 "naive_events", "learners", "cohort", "programs"):
        parser.add_argument(f"--{name.replace('_', '-')}", help=f"override the configuration's {name}")
    parser.add_argument("--child", choices=("receiver", "seed", "stream"), help=argparse.SUPPRESS)
    parser.add_argument("--child-db", help=argparse.SUPPRESS)
    parser.add_argument("--child-target", help=argparse.SUPPRESS)
    parser.add_argument("--child-config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return
    args.parts = set(args.parts.split(","))
    config = dict(QUICK if args.quick else FULL)
    for name in config:
        value = getattr(args, name, None)
        if value is not None:
            config[name] = [int(v) for v in value.split(",")] if name == "sizes" else int(value)
    if args.quick:
        args.no_cache = True
    databases = [d.strip() for d in args.db.split(",") if d.strip()]
    for db in databases:
        if db not in ("sqlite", "sqlite-wal", "mysql"):
            parser.error(f"unknown database {db!r}")
        if db == "mysql":
            try:
                common.mysql_admin().close()
            except Exception as exc:  # pylint: disable=broad-except
                parser.error(f"cannot reach MariaDB/MySQL as root on {common.MYSQL['host']}:{common.MYSQL['port']} "
                             f"({exc}); leave mysql out of --db")
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="microcred-scale-"))
    results = {}
    try:
        for db in databases:
            results[db] = measure_database(db, config, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_tables(results)
    report = {
        "command": " ".join([Path(sys.executable).name, "benchmarks/scale.py"] + sys.argv[1:]),
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": common.machine(),
        "quick": args.quick,
        "config": config,
        "seconds": time.perf_counter() - started,
        "databases": results,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"written {args.json} ({report['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
