"""
What the benchmarks share: Django on a chosen database, real openedx-events sent through the
plugin's receivers, SQL statement counting, the naive evaluate-everything baseline and the small
synthetic catalog of ``event_throughput.py``.

Everything that needs Django imports it inside the function: call ``setup_django`` first.
"""

import os
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MYSQL = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
POSTGRESQL = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}

# Statements that only delimit transactions; every other one is a query.
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN")


# --- Django on a chosen database ----------------------------------------------------------------


def setup_django(db="sqlite", *, sqlite_path=None, mysql_name=None, eager=True):
    """
    Point the demo host's settings at the database (sandbox/settings.py reads these) and set Django up;
    ``mysql_name`` names the MariaDB/MySQL or PostgreSQL database.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")
    os.environ["SANDBOX_CELERY_EAGER"] = "1" if eager else "0"
    if db in ("sqlite", "sqlite-wal"):
        os.environ["SANDBOX_DB"] = "sqlite"
        os.environ["SANDBOX_SQLITE"] = str(sqlite_path)
    elif db == "mysql":
        os.environ["SANDBOX_DB"] = "mysql"
        os.environ["SANDBOX_DB_NAME"] = mysql_name
        os.environ["SANDBOX_DB_HOST"] = MYSQL["host"]
        os.environ["SANDBOX_DB_PORT"] = str(MYSQL["port"])
    elif db == "postgresql":
        os.environ["SANDBOX_DB"] = "postgresql"
        os.environ["SANDBOX_DB_NAME"] = mysql_name
        os.environ["SANDBOX_DB_HOST"] = POSTGRESQL["host"]
        os.environ["SANDBOX_DB_PORT"] = str(POSTGRESQL["port"])
    else:
        raise ValueError(f"unknown database {db!r} (sqlite, sqlite-wal, mysql or postgresql)")
    import django  # pylint: disable=import-outside-toplevel

    django.setup()
    if db == "sqlite-wal":
        from django.db.backends.signals import connection_created  # pylint: disable=import-outside-toplevel

        connection_created.connect(_wal, dispatch_uid="benchmarks.common._wal")


def _wal(sender, connection, **kwargs):  # pylint: disable=unused-argument
    """SQLite in write-ahead-log mode, synced at checkpoints rather than at every commit."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")


def mysql_admin():
    """A raw connection to the MariaDB/MySQL server, no database selected (to create and drop them)."""
    import MySQLdb  # pylint: disable=import-outside-toplevel

    return MySQLdb.connect(host=MYSQL["host"], port=MYSQL["port"], user=MYSQL["user"], passwd=MYSQL["password"],
                           charset="utf8mb4", autocommit=True)


def create_mysql_database(name):
    with mysql_admin() as conn:
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")


def drop_mysql_database(name):
    with mysql_admin() as conn:
        conn.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")


def _postgresql_admin(statement):
    """Run ``statement`` on the PostgreSQL server's own database (to create and drop ours)."""
    import psycopg  # pylint: disable=import-outside-toplevel

    with psycopg.connect(host=POSTGRESQL["host"], port=POSTGRESQL["port"], user=POSTGRESQL["user"],
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(statement)


def create_postgresql_database(name):
    _postgresql_admin(f'DROP DATABASE IF EXISTS "{name}"')
    _postgresql_admin(f'CREATE DATABASE "{name}"')


def drop_postgresql_database(name):
    _postgresql_admin(f'DROP DATABASE IF EXISTS "{name}"')


def migrate():
    from django.core.management import call_command  # pylint: disable=import-outside-toplevel

    call_command("migrate", verbosity=0)


def database_version():
    from django.db import connection  # pylint: disable=import-outside-toplevel

    if connection.vendor == "sqlite":
        import sqlite3  # pylint: disable=import-outside-toplevel

        return f"SQLite {sqlite3.sqlite_version}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        return f"{connection.display_name} {cursor.fetchone()[0]}"


def machine():
    """What the figures were measured on."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"python": platform.python_version(), "cpu": cpu, "cores": os.cpu_count(),
            "platform": platform.platform()}


# --- Counting SQL -------------------------------------------------------------------------------


class StatementCounter:
    """Counts the SQL statements run on the default connection: ``queries`` leaves out transaction control."""

    def __init__(self):
        self.statements = 0
        self.queries = 0

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        if not sql.lstrip().upper().startswith(_TRANSACTION_CONTROL):
            self.queries += 1
        return execute(sql, params, many, context)


class WriteRecorder:
    """
    Counts like StatementCounter and keeps every data-changing statement (INSERT, UPDATE, DELETE,
    with its parameters) in ``writes``, cut into one list per event with :meth:`next_event`.
    """

    _WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")

    def __init__(self):
        self.statements = 0
        self.queries = 0
        self.writes: list[list[tuple]] = [[]]

    def next_event(self):
        self.writes.append([])

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        head = sql.lstrip().upper()
        if not head.startswith(_TRANSACTION_CONTROL):
            self.queries += 1
            if head.startswith(self._WRITES):
                self.writes[-1].append((sql, params, many))
        return execute(sql, params, many, context)


@contextmanager
def recording_writes():
    from django.db import connection  # pylint: disable=import-outside-toplevel

    recorder = WriteRecorder()
    with connection.execute_wrapper(recorder):
        yield recorder


def cursor_floor(writes, alias):
    """
    (Seconds, CPU seconds) to run ``writes`` (per event, as WriteRecorder cut them) through Django's cursor on
    database ``alias``, one transaction per event: the same rows written without the ORM building
    them, nor the reads that decide them. ``alias`` must hold the database as it was before the
    events (its autoincrement counters too, so that ids match the statements' parameters).
    """
    from django.db import connections, transaction  # pylint: disable=import-outside-toplevel

    connection = connections[alias]
    start, cpu = time.perf_counter(), time.process_time()
    for event_writes in writes:
        if not event_writes:
            continue
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            for sql, params, many in event_writes:
                if many:
                    cursor.executemany(sql, params)
                else:
                    cursor.execute(sql, params)
    return time.perf_counter() - start, time.process_time() - cpu


@contextmanager
def counting_statements():
    from django.db import connection  # pylint: disable=import-outside-toplevel

    counter = StatementCounter()
    with connection.execute_wrapper(counter):
        yield counter


def percentile(values, fraction):
    """The value below which ``fraction`` of the sorted values lie (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


# --- Real events --------------------------------------------------------------------------------


def user_data(user_id, username=None, email=None):
    from openedx_events.learning.data import UserData, UserPersonalData  # pylint: disable=import-outside-toplevel

    username = username or f"learner{user_id}"
    return UserData(id=user_id, is_active=True,
                    pii=UserPersonalData(username=username, email=email or f"{username}@example.com"))


def _course(key):
    # pylint: disable=import-outside-toplevel
    from openedx_events.learning.data import CourseData
    from opaque_keys.edx.keys import CourseKey

    return CourseData(course_key=CourseKey.from_string(key) if isinstance(key, str) else key)


def passing_event(user, key, is_passing):
    """COURSE_PASSING_STATUS_UPDATED for ``user`` (a UserData) as (signal, data kwargs)."""
    # pylint: disable=import-outside-toplevel
    from openedx_events.learning import signals
    from openedx_events.learning.data import CoursePassingStatusData

    return signals.COURSE_PASSING_STATUS_UPDATED, {
        "course_passing_status": CoursePassingStatusData(is_passing=is_passing, course=_course(key), user=user)}


def grade_event(user_id, key, percent, passed_timestamp=None):
    """PERSISTENT_GRADE_SUMMARY_CHANGED (it carries only the user id) as (signal, data kwargs)."""
    # pylint: disable=import-outside-toplevel
    from openedx_events.learning import signals
    from openedx_events.learning.data import PersistentCourseGradeData

    return signals.PERSISTENT_GRADE_SUMMARY_CHANGED, {"grade": PersistentCourseGradeData(
        user_id=user_id, course=_course(key), course_edited_timestamp=None, course_version="",
        grading_policy_hash="", percent_grade=percent, letter_grade="Pass" if passed_timestamp else "",
        passed_timestamp=passed_timestamp)}


def certificate_event(user, key, status="downloadable", mode="verified", created=True):
    # pylint: disable=import-outside-toplevel
    from openedx_events.learning import signals
    from openedx_events.learning.data import CertificateData

    signal = signals.CERTIFICATE_CREATED if created else signals.CERTIFICATE_CHANGED
    return signal, {"certificate": CertificateData(user=user, course=_course(key), mode=mode, grade="",
                                                   download_url="", name="", current_status=status)}


def enrollment_event(user, key, mode="audit", is_active=True, created=True):
    # pylint: disable=import-outside-toplevel
    from openedx_events.learning import signals
    from openedx_events.learning.data import CourseEnrollmentData

    signal = signals.COURSE_ENROLLMENT_CREATED if created else signals.COURSE_ENROLLMENT_CHANGED
    return signal, {"enrollment": CourseEnrollmentData(user=user, course=_course(key), mode=mode,
                                                       is_active=is_active, creation_date=None)}


def send(signal, data, event_id=None, time=None):
    """Send one event through the real signal, with the metadata the platform would give it."""
    from openedx_events.data import EventsMetadata  # pylint: disable=import-outside-toplevel

    metadata = EventsMetadata(event_type=signal.event_type, id=event_id, time=time)
    return signal.send_event_with_custom_metadata(metadata, **data)


# --- The baseline: evaluate every credential on every event --------------------------------------


def naive_evaluate_learner(user_id, course_key=None):  # pylint: disable=unused-argument
    """Baseline: every active credential on every event, as the credentials service does."""
    # pylint: disable=import-outside-toplevel,protected-access
    from django.db import transaction

    from openedx_microcred import evaluation, rules
    from openedx_microcred.awards import award_credential
    from openedx_microcred.data import EvaluationResult
    from openedx_microcred.models import Award, Credential, LearnerFact

    credentials = list(Credential.objects.filter(state=Credential.State.ACTIVE))
    rule_list = [c.rule() for c in credentials]
    facts = {(str(f.course_key), f.kind): f.to_rule_fact() for f in LearnerFact.objects.filter(user_id=user_id)}
    held = frozenset(Award.objects.filter(user_id=user_id, current=True).values_list("credential__slug", flat=True))
    decisions = rules.decide(rule_list, rules.LearnerState(facts=facts, held=held))
    by_slug = {c.slug: c for c in credentials}
    with transaction.atomic():
        evaluation._store_progress(user_id, [(by_slug[d.slug], d.outcome) for d in decisions])
        for d in decisions:
            if d.award:
                award_credential(user_id, by_slug[d.slug], evaluation._evidence(d.outcome, {}))
    return EvaluationResult(user_id, [d.slug for d in decisions], [d.slug for d in decisions if d.award], [])


@contextmanager
def evaluation_strategy(strategy):
    """Within: the learner's evaluation (what the task runs) is ``indexed`` (the plugin's) or ``naive``."""
    from openedx_microcred import evaluation  # pylint: disable=import-outside-toplevel

    original = evaluation.evaluate_learner
    if strategy == "naive":
        evaluation.evaluate_learner = naive_evaluate_learner
    elif strategy != "indexed":
        raise ValueError(strategy)
    try:
        yield
    finally:
        evaluation.evaluate_learner = original


@contextmanager
def patched(obj, name, value):
    original = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, original)


# --- The small synthetic catalog of event_throughput.py -----------------------------------------


def course_key(i):
    return f"course-v1:Bench+C{i}+2026"


def build_catalog(size, bulk_index=False):
    """
    `size` credentials over size/2 courses, one stack per ten credentials; returns the number of
    courses. The dependency index is built by the product's ``refresh_dependency_index``, or with
    ``bulk_index`` in a few bulk inserts from the same closure (``bulk_dependency_index``).
    """
    # pylint: disable=import-outside-toplevel
    from django.db import transaction

    from openedx_microcred.catalog import refresh_dependency_index
    from openedx_microcred.models import Award, Credential, Progress

    with transaction.atomic():  # one commit, not one per statement (SQLite syncs the disk at each)
        Award.objects.all().delete()
        Progress.objects.all().delete()
        Credential.objects.all().delete()
        courses = max(size // 2, 5)
        credentials = []
        for i in range(size):
            if i % 10 == 9:
                criteria = {"type": "at_least", "n": 2, "of": [
                    {"type": "credential", "credential": f"cred-{j}"} for j in range(i - 9, i - 6)]}
            else:
                criteria = {"type": "all", "of": [
                    {"type": "course_passed", "course": course_key(i % courses)},
                    {"type": "course_grade", "course": course_key((i + 1) % courses), "min_percent": 60},
                ]}
            credentials.append(Credential(slug=f"cred-{i}", title=f"Credential {i}", org="Bench", criteria=criteria,
                                          state=Credential.State.ACTIVE))
        Credential.objects.bulk_create(credentials, batch_size=500)
        if bulk_index:
            bulk_dependency_index()
        else:
            refresh_dependency_index(list(Credential.objects.all()))
    return courses


def bulk_dependency_index():
    """
    The whole catalog's requires-edges and course dependencies in bulk, from the rules engine's own
    ``course_closure``: what ``refresh_dependency_index`` stores, without its per-credential
    queries (10,000 credentials in seconds rather than minutes). Replaces what is stored.
    """
    # pylint: disable=import-outside-toplevel
    from openedx_microcred import rules
    from openedx_microcred.models import CourseDependency, Credential

    pks = dict(Credential.objects.values_list("slug", "pk"))
    trees = {slug: rules.parse_criteria(criteria)
             for slug, criteria in Credential.objects.values_list("slug", "criteria")}
    through = Credential.requires.through
    through.objects.all().delete()
    CourseDependency.objects.all().delete()
    through.objects.bulk_create([through(from_credential_id=pks[slug], to_credential_id=pks[ref])
                                 for slug, tree in trees.items() for ref in sorted(tree.credentials()) if ref in pks],
                                batch_size=1000)
    CourseDependency.objects.bulk_create([CourseDependency(credential_id=pks[slug], course_key=key)
                                          for slug, courses in rules.course_closure(trees).items()
                                          for key in sorted(courses)], batch_size=1000)


def dependency_index():
    """The stored index, to compare: ({(credential slug, course)}, {(slug, required slug)})."""
    # pylint: disable=import-outside-toplevel
    from openedx_microcred.models import CourseDependency, Credential

    courses = {(slug, str(key)) for slug, key in CourseDependency.objects.values_list("credential__slug", "course_key")}
    edges = set(Credential.requires.through.objects.values_list("from_credential__slug", "to_credential__slug"))
    return courses, edges


def create_learners(count):
    """``count`` users (bulk), returned as the UserData events carry."""
    from django.contrib.auth import get_user_model  # pylint: disable=import-outside-toplevel

    user_model = get_user_model()
    user_model.objects.bulk_create([user_model(username=f"learner{i}", email=f"l{i}@example.com")
                                    for i in range(count)], batch_size=1000)
    return [user_data(u.id, u.username, u.email) for u in user_model.objects.order_by("id")]
